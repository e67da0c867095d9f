import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CleanimgError } from '../../../src/errors';
import {
  COSIGN_PRIVATE_KEY_PEM_TYPE,
  SCRYPT_PARAMS,
  decryptSecretBoxJson,
  encodePem,
  encryptPrivateKey,
  encryptSecretBoxJson,
  generateKeyPair,
  loadPrivateKey,
  loadPrivateKeyFile,
  loadPublicKey,
  parsePemBlocks,
  writeKeyPair,
} from '../../../src/oci/signing/keys';

/** Expect a CleanimgError carrying `code`; returns it for further checks. */
async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string): Promise<CleanimgError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(CleanimgError);
    const err = e as CleanimgError;
    expect(err.problems.map((x) => x.code)).toContain(code);
    expect(err.problems[0]!.fix.length).toBeGreaterThan(10);
    return err;
  }
  throw new Error(`expected a CleanimgError ${code}, nothing was thrown`);
}

/**
 * A fixed vector made independently with Go's golang.org/x/crypto (scrypt.Key + nacl/secretbox.Seal),
 * and checked to decrypt with go-securesystemslib `encrypted.Decrypt` (the code cosign uses):
 * password "cleanimg-test-vector", salt = bytes 0..31, nonce = bytes 100..123, N=32768 r=8 p=1.
 * The plaintext is a sentence, not a key: no key material is committed.
 */
const VECTOR = {
  password: 'cleanimg-test-vector',
  plaintext: 'cleanimg fixed test vector: not a key',
  salt: Buffer.from(Array.from({ length: 32 }, (_, i) => i)),
  nonce: Buffer.from(Array.from({ length: 24 }, (_, i) => 100 + i)),
  json:
    '{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},' +
    '"cipher":{"name":"nacl/secretbox","nonce":"ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7"},' +
    '"ciphertext":"2BIwpef3tWqhZp5sT9jIMzlkbLK4Nj/OVhnudnepo6/v6pX4LqiMWHUwZ02tXfuVy2gA/IU="}',
};

describe('cosign encrypted key format (scrypt + nacl/secretbox)', () => {
  it('decrypts a vector made with Go x/crypto', async () => {
    const plain = await decryptSecretBoxJson(Buffer.from(VECTOR.json), VECTOR.password);
    expect(plain.toString()).toBe(VECTOR.plaintext);
  });

  it('encrypts to the same bytes as Go given the same salt and nonce', async () => {
    const json = await encryptSecretBoxJson(Buffer.from(VECTOR.plaintext), VECTOR.password, { salt: VECTOR.salt, nonce: VECTOR.nonce, scrypt: SCRYPT_PARAMS.legacy });
    expect(json).toBe(VECTOR.json);
  });

  it('rejects the vector under a wrong password, with the fix', async () => {
    const err = await rejectsWith(decryptSecretBoxJson(Buffer.from(VECTOR.json), 'wrong'), 'SIG002');
    expect(err.message).toMatch(/COSIGN_PASSWORD/);
  });

  it('rejects a flipped ciphertext bit as a decryption failure', async () => {
    const doc = JSON.parse(VECTOR.json);
    const ct = Buffer.from(doc.ciphertext, 'base64');
    ct[ct.length - 1]! ^= 1;
    doc.ciphertext = ct.toString('base64');
    await rejectsWith(decryptSecretBoxJson(Buffer.from(JSON.stringify(doc)), VECTOR.password), 'SIG002');
  });

  it('refuses scrypt parameters cosign would refuse (and that could exhaust memory)', async () => {
    const doc = JSON.parse(VECTOR.json);
    doc.kdf.params.N = 1 << 24;
    await rejectsWith(decryptSecretBoxJson(Buffer.from(JSON.stringify(doc)), VECTOR.password), 'SIG004');
    doc.kdf.params.N = 32768;
    doc.cipher.name = 'aes-gcm';
    await rejectsWith(decryptSecretBoxJson(Buffer.from(JSON.stringify(doc)), VECTOR.password), 'SIG004');
  });

  it('refuses a body that is not JSON, or a short nonce', async () => {
    await rejectsWith(decryptSecretBoxJson(Buffer.from('not json'), 'x'), 'SIG001');
    const doc = JSON.parse(VECTOR.json);
    doc.cipher.nonce = Buffer.alloc(12).toString('base64');
    await rejectsWith(decryptSecretBoxJson(Buffer.from(JSON.stringify(doc)), VECTOR.password), 'SIG001');
  });
});

describe('generateKeyPair / loadPrivateKey', () => {
  it('writes a cosign key (SIGSTORE PEM, standard scrypt parameters) that loads back to the same key', async () => {
    const pair = await generateKeyPair('correct horse');
    const blocks = parsePemBlocks(pair.privateKeyPem);
    expect(blocks.map((b) => b.type)).toEqual(['ENCRYPTED SIGSTORE PRIVATE KEY']);
    const doc = JSON.parse(blocks[0]!.body.toString());
    expect(Object.keys(doc)).toEqual(['kdf', 'cipher', 'ciphertext']);
    expect(doc.kdf.params).toEqual({ N: 65536, r: 8, p: 1 });
    expect(Buffer.from(doc.kdf.salt, 'base64')).toHaveLength(32);
    expect(Buffer.from(doc.cipher.nonce, 'base64')).toHaveLength(24);
    // Go's pem.EncodeToMemory: 64-character lines
    for (const line of pair.privateKeyPem.split('\n').filter((l) => l && !l.startsWith('-----'))) expect(line.length).toBeLessThanOrEqual(64);

    const key = await loadPrivateKey(pair.privateKeyPem, 'correct horse');
    expect(key.format).toBe('sigstore-encrypted');
    expect(key.publicKeyPem).toBe(pair.publicKeyPem);
    const msg = Buffer.from('hello');
    const sig = crypto.sign('sha256', msg, key.privateKey);
    expect(crypto.verify('sha256', msg, loadPublicKey(pair.publicKeyPem), sig)).toBe(true);
  });

  it('uses a fresh salt and nonce each time', async () => {
    const a = await encryptSecretBoxJson(Buffer.from('x'), 'pw', { scrypt: SCRYPT_PARAMS.legacy });
    const b = await encryptSecretBoxJson(Buffer.from('x'), 'pw', { scrypt: SCRYPT_PARAMS.legacy });
    expect(JSON.parse(a).kdf.salt).not.toBe(JSON.parse(b).kdf.salt);
    expect(JSON.parse(a).cipher.nonce).not.toBe(JSON.parse(b).cipher.nonce);
  });

  it('loads the older ENCRYPTED COSIGN PRIVATE KEY type and an empty password', async () => {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = await encryptPrivateKey(privateKey, '', { pemType: COSIGN_PRIVATE_KEY_PEM_TYPE, scrypt: SCRYPT_PARAMS.legacy });
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n/);
    const key = await loadPrivateKey(pem, '');
    expect(key.format).toBe('cosign-encrypted');
    expect(key.publicKey.export({ type: 'spki', format: 'der' })).toEqual(crypto.createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  });

  it('refuses a wrong or missing password', async () => {
    const pair = await generateKeyPair('right');
    await rejectsWith(loadPrivateKey(pair.privateKeyPem, 'wrong', 'cosign.key'), 'SIG002');
    const err = await rejectsWith(loadPrivateKey(pair.privateKeyPem, undefined, 'cosign.key'), 'SIG005');
    expect(err.problems[0]!.path).toBe('cosign.key');
  });

  it('loads plain PKCS#8 and SEC1 P-256 keys (SEC1 as openssl writes it, after an EC PARAMETERS block)', async () => {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const sec1 = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    const ecParams = encodePem('EC PARAMETERS', Buffer.from('06082a8648ce3d030107', 'hex'));
    const want = crypto.createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
    const a = await loadPrivateKey(pkcs8, undefined);
    const b = await loadPrivateKey(ecParams + sec1, undefined);
    expect([a.format, b.format]).toEqual(['pkcs8', 'sec1']);
    expect(a.publicKeyPem).toBe(want);
    expect(b.publicKeyPem).toBe(want);
  });

  it('refuses RSA, ed25519 and P-384 keys with the reason (cleanimg signs with P-256 only)', async () => {
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    await rejectsWith(loadPrivateKey(rsa.export({ type: 'pkcs8', format: 'pem' }).toString(), undefined), 'SIG003');
    await rejectsWith(loadPrivateKey(rsa.export({ type: 'pkcs1', format: 'pem' }).toString(), undefined), 'SIG003');
    const ed = crypto.generateKeyPairSync('ed25519').privateKey;
    const err = await rejectsWith(loadPrivateKey(ed.export({ type: 'pkcs8', format: 'pem' }).toString(), undefined), 'SIG003');
    expect(err.message).toMatch(/ed25519/);
    const p384 = crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    const err2 = await rejectsWith(loadPrivateKey(p384.export({ type: 'pkcs8', format: 'pem' }).toString(), undefined), 'SIG003');
    expect(err2.message).toMatch(/secp384r1/);
    // and an encrypted cosign file holding a P-384 key
    const enc = encodePem('ENCRYPTED SIGSTORE PRIVATE KEY', Buffer.from(await encryptSecretBoxJson(p384.export({ type: 'pkcs8', format: 'der' }), 'pw', { scrypt: SCRYPT_PARAMS.legacy })));
    await rejectsWith(loadPrivateKey(enc, 'pw'), 'SIG003');
  });

  it('refuses malformed files: no PEM, a public key, a damaged body, an OpenSSL-encrypted key', async () => {
    await rejectsWith(loadPrivateKey('hello', undefined), 'SIG001');
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await rejectsWith(loadPrivateKey(publicKey.export({ type: 'spki', format: 'pem' }).toString(), undefined), 'SIG001');
    await rejectsWith(loadPrivateKey(encodePem('PRIVATE KEY', Buffer.from('garbage')), undefined), 'SIG001');
    await rejectsWith(loadPrivateKey(encodePem('ENCRYPTED SIGSTORE PRIVATE KEY', Buffer.from('{')), 'pw'), 'SIG001');
    const opensslEnc = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    await rejectsWith(loadPrivateKey(opensslEnc, 'pw'), 'SIG001');
  });
});

describe('loadPublicKey', () => {
  it('loads a PEM SPKI P-256 key and refuses other things', async () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const k = loadPublicKey(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    expect(k.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    await rejectsWith(() => loadPublicKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'cosign.pub'), 'SIG006');
    await rejectsWith(() => loadPublicKey(encodePem('PUBLIC KEY', Buffer.from('nope'))), 'SIG006');
    const rsaPub = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    await rejectsWith(() => loadPublicKey(rsaPub.export({ type: 'spki', format: 'pem' }).toString()), 'SIG003');
  });
});

describe('writeKeyPair', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('writes cosign.key (0600) and cosign.pub, and refuses to overwrite them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cleanimg-keys-'));
    dirs.push(dir);
    const { keyPath, pubPath } = await writeKeyPair(dir, 'pw');
    expect(fs.statSync(keyPath).mode & 0o777).toBe(0o600);
    const key = await loadPrivateKeyFile(keyPath, 'pw');
    expect(fs.readFileSync(pubPath, 'utf8')).toBe(key.publicKeyPem);
    const before = fs.readFileSync(keyPath, 'utf8');
    await rejectsWith(writeKeyPair(dir, 'other'), 'SIG007');
    expect(fs.readFileSync(keyPath, 'utf8')).toBe(before);
    expect(fs.readdirSync(dir).sort()).toEqual(['cosign.key', 'cosign.pub']);
  });

  it('refuses when only cosign.pub exists, and writes no key beside it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cleanimg-keys-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'cosign.pub'), 'old');
    await rejectsWith(writeKeyPair(dir, 'pw'), 'SIG007');
    expect(fs.readdirSync(dir)).toEqual(['cosign.pub']);
    expect(fs.readFileSync(path.join(dir, 'cosign.pub'), 'utf8')).toBe('old');
  });

  it('names the file when it cannot be read', async () => {
    const err = await rejectsWith(loadPrivateKeyFile('/nonexistent/cosign.key', 'pw'), 'SIG001');
    expect(err.problems[0]!.path).toBe('/nonexistent/cosign.key');
  });
});
