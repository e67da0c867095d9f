/**
 * Signing keys in the formats cosign reads and writes.
 *
 * - cosign's encrypted private keys: PEM type `ENCRYPTED SIGSTORE PRIVATE KEY` (current) or
 *   `ENCRYPTED COSIGN PRIVATE KEY` (older). The PEM body is JSON (go-securesystemslib `encrypted`):
 *   `{"kdf":{"name":"scrypt","params":{"N":..,"r":8,"p":1},"salt":b64},"cipher":{"name":"nacl/secretbox","nonce":b64},"ciphertext":b64}`;
 *   the key is scrypt(password, salt, N, r, p, 32), the cipher NaCl secretbox (XSalsa20-Poly1305, tag first),
 *   the plaintext a DER PKCS#8 private key.
 * - plain PEM EC keys: PKCS#8 `PRIVATE KEY` and SEC1 `EC PRIVATE KEY`.
 * - public keys: PEM SPKI `PUBLIC KEY`.
 *
 * cleanimg signs with ECDSA P-256 + SHA-256 only (cosign's default key type). cosign also accepts
 * RSA, P-384/P-521 and ed25519 keys; we refuse those with a clear error rather than guess the
 * hash cosign would pair with them.
 *
 * Crypto comes from vetted code: node:crypto (OpenSSL) for scrypt, PEM/DER parsing, key generation,
 * ECDSA; @noble/ciphers for XSalsa20-Poly1305 (not in OpenSSL).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa';
import { CleanimgError } from '../../errors';

export const SIGSTORE_PRIVATE_KEY_PEM_TYPE = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_PRIVATE_KEY_PEM_TYPE = 'ENCRYPTED COSIGN PRIVATE KEY';

/** scrypt parameter sets go-securesystemslib accepts on decryption (legacy, standard, OWASP). */
export const SCRYPT_PARAMS = {
  legacy: { N: 32768, r: 8, p: 1 },
  standard: { N: 65536, r: 8, p: 1 },
  owasp: { N: 131072, r: 8, p: 1 },
} as const;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

const SALT_SIZE = 32;
const NONCE_SIZE = 24;
const BOX_KEY_SIZE = 32;

/** A loaded signing key: the private key, its public half and the public key as PEM SPKI. */
export interface SigningKey {
  readonly privateKey: crypto.KeyObject;
  readonly publicKey: crypto.KeyObject;
  readonly publicKeyPem: string;
  /** Which file format the key came from. */
  readonly format: 'sigstore-encrypted' | 'cosign-encrypted' | 'pkcs8' | 'sec1';
}

interface PemBlock {
  type: string;
  body: Buffer;
}

const scryptAsync = promisify(crypto.scrypt) as (
  password: crypto.BinaryLike,
  salt: crypto.BinaryLike,
  keylen: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;

function keyError(code: string, where: string, message: string, fix: string): CleanimgError {
  return new CleanimgError('key rejected', [{ code, path: where, message, fix }]);
}

/** All PEM blocks in a text, in order. Headers (`Proc-Type:` etc.) make a block malformed for our purposes. */
export function parsePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  for (const m of text.matchAll(re)) {
    const raw = m[2]!;
    if (raw.includes(':')) {
      blocks.push({ type: `${m[1]!} (with PEM headers)`, body: Buffer.alloc(0) });
      continue;
    }
    const b64 = raw.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) continue;
    blocks.push({ type: m[1]!, body: Buffer.from(b64, 'base64') });
  }
  return blocks;
}

/** PEM-encode like Go's `pem.EncodeToMemory`: 64-character lines, trailing newline. */
export function encodePem(type: string, body: Uint8Array): string {
  const b64 = Buffer.from(body).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}${lines.length ? '\n' : ''}-----END ${type}-----\n`;
}

function requireP256(key: crypto.KeyObject, where: string, what: string): void {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type === 'ec' && curve === 'prime256v1') return;
  const found = type === 'ec' ? `an EC key on curve ${curve ?? 'unknown'}` : `a${type === 'rsa' ? 'n' : ''} ${type ?? 'unknown'} key`;
  throw keyError(
    'SIG003',
    where,
    `${what} is ${found}; cleanimg signs and verifies with ECDSA P-256 (SHA-256) only, cosign's default key type`,
    'make a P-256 key: `cleanimg-customize generate-key-pair`, `cosign generate-key-pair`, or `openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt`',
  );
}

function publicOf(privateKey: crypto.KeyObject): { publicKey: crypto.KeyObject; publicKeyPem: string } {
  const publicKey = crypto.createPublicKey(privateKey);
  return { publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

function b64Field(v: unknown, field: string, where: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
    throw keyError('SIG001', where, `encrypted key field "${field}" is missing or not base64`, 'the key file is damaged: export it again (`cosign generate-key-pair` or `cosign import-key-pair`)');
  }
  return Buffer.from(v, 'base64');
}

/**
 * Decrypt the JSON body of a cosign/sigstore encrypted key (go-securesystemslib `encrypted.Decrypt`).
 * Returns the plaintext (a DER PKCS#8 key for cosign files).
 */
export async function decryptSecretBoxJson(json: Uint8Array, password: string | Uint8Array, where = 'key'): Promise<Buffer> {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(json).toString('utf8'));
  } catch {
    throw keyError('SIG001', where, 'the encrypted key body is not JSON', 'the key file is damaged: export it again (`cosign generate-key-pair` or `cosign import-key-pair`)');
  }
  const d = data as { kdf?: { name?: unknown; params?: { N?: unknown; r?: unknown; p?: unknown }; salt?: unknown }; cipher?: { name?: unknown; nonce?: unknown }; ciphertext?: unknown };
  if (d?.kdf?.name !== 'scrypt') {
    throw keyError('SIG004', where, `unknown key derivation "${String(d?.kdf?.name)}" (cosign keys use scrypt)`, 'use a key file written by cosign or cleanimg');
  }
  if (d.cipher?.name !== 'nacl/secretbox') {
    throw keyError('SIG004', where, `unknown cipher "${String(d.cipher?.name)}" (cosign keys use nacl/secretbox)`, 'use a key file written by cosign or cleanimg');
  }
  const params = d.kdf.params ?? {};
  const known = Object.values(SCRYPT_PARAMS).some((s) => s.N === params.N && s.r === params.r && s.p === params.p);
  if (!known) {
    throw keyError(
      'SIG004',
      where,
      `unsupported scrypt parameters N=${String(params.N)} r=${String(params.r)} p=${String(params.p)} (cosign accepts N=32768/65536/131072, r=8, p=1)`,
      'use a key file written by cosign or cleanimg',
    );
  }
  const salt = b64Field(d.kdf.salt, 'kdf.salt', where);
  const nonce = b64Field(d.cipher.nonce, 'cipher.nonce', where);
  const ciphertext = b64Field(d.ciphertext, 'ciphertext', where);
  if (nonce.length !== NONCE_SIZE) {
    throw keyError('SIG001', where, `cipher nonce is ${nonce.length} bytes, expected ${NONCE_SIZE}`, 'the key file is damaged: export it again');
  }
  if (ciphertext.length < 16) {
    throw keyError('SIG001', where, 'ciphertext is shorter than the authentication tag', 'the key file is damaged: export it again');
  }
  const key = await deriveKey(password, salt, params as ScryptParams);
  try {
    return Buffer.from(xsalsa20poly1305(key, nonce).decrypt(ciphertext));
  } catch {
    throw keyError(
      'SIG002',
      where,
      'cannot decrypt the private key: wrong password (or a damaged file)',
      'set COSIGN_PASSWORD to the password the key was created with (empty if it was created without one)',
    );
  } finally {
    key.fill(0);
  }
}

async function deriveKey(password: string | Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  const pw = typeof password === 'string' ? Buffer.from(password, 'utf8') : Buffer.from(password);
  // OpenSSL's scrypt needs 128*N*r*p bytes; allow that plus headroom (the default limit is 32 MiB).
  const maxmem = 128 * params.N * params.r * params.p + 16 * 1024 * 1024;
  return scryptAsync(pw, salt, BOX_KEY_SIZE, { N: params.N, r: params.r, p: params.p, maxmem });
}

export interface EncryptOptions {
  /** scrypt parameters; default: go-securesystemslib's `Standard` set (N=65536, r=8, p=1), as cosign writes. */
  scrypt?: ScryptParams;
  /** Fixed salt (32 bytes), for test vectors only. Default: random. */
  salt?: Uint8Array;
  /** Fixed nonce (24 bytes), for test vectors only. Default: random. */
  nonce?: Uint8Array;
}

/** Encrypt bytes as go-securesystemslib `encrypted.Encrypt` does; returns the JSON text, fields in Go's order. */
export async function encryptSecretBoxJson(plaintext: Uint8Array, password: string | Uint8Array, opts: EncryptOptions = {}): Promise<string> {
  const params = opts.scrypt ?? SCRYPT_PARAMS.standard;
  const salt = opts.salt ?? crypto.randomBytes(SALT_SIZE);
  const nonce = opts.nonce ?? crypto.randomBytes(NONCE_SIZE);
  if (salt.length !== SALT_SIZE) throw new RangeError(`salt must be ${SALT_SIZE} bytes`);
  if (nonce.length !== NONCE_SIZE) throw new RangeError(`nonce must be ${NONCE_SIZE} bytes`);
  const key = await deriveKey(password, salt, params);
  const ciphertext = xsalsa20poly1305(key, nonce).encrypt(plaintext);
  key.fill(0);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return JSON.stringify({
    kdf: { name: 'scrypt', params: { N: params.N, r: params.r, p: params.p }, salt: b64(salt) },
    cipher: { name: 'nacl/secretbox', nonce: b64(nonce) },
    ciphertext: b64(ciphertext),
  });
}

/** Encrypt a private key as a cosign key file (`ENCRYPTED SIGSTORE PRIVATE KEY` PEM, as cosign ≥ 2.0 writes). */
export async function encryptPrivateKey(privateKey: crypto.KeyObject, password: string | Uint8Array, opts: EncryptOptions & { pemType?: string } = {}): Promise<string> {
  requireP256(privateKey, 'key', 'the private key');
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const json = await encryptSecretBoxJson(der, password, opts);
  der.fill(0);
  return encodePem(opts.pemType ?? SIGSTORE_PRIVATE_KEY_PEM_TYPE, Buffer.from(json, 'utf8'));
}

/**
 * Load a private key for signing: cosign's encrypted key files (password needed; the CLI passes
 * COSIGN_PASSWORD), or plain PEM PKCS#8 / SEC1 EC P-256 keys (password ignored).
 * `where` names the file in errors.
 */
export async function loadPrivateKey(pem: string | Uint8Array, password: string | Uint8Array | undefined, where = 'key'): Promise<SigningKey> {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
  const blocks = parsePemBlocks(text);
  const usable = blocks.filter((b) => b.type !== 'EC PARAMETERS');
  if (usable.length === 0) {
    throw keyError('SIG001', where, 'no PEM private key found', 'pass a cosign key file (cosign.key) or a PEM EC P-256 private key (`-----BEGIN PRIVATE KEY-----` or `-----BEGIN EC PRIVATE KEY-----`)');
  }
  const block = usable[0]!;
  switch (block.type) {
    case SIGSTORE_PRIVATE_KEY_PEM_TYPE:
    case COSIGN_PRIVATE_KEY_PEM_TYPE: {
      if (password === undefined) {
        throw keyError('SIG005', where, 'the key is encrypted and no password was given', 'set COSIGN_PASSWORD to the key\'s password (an empty value if it has none)');
      }
      const der = await decryptSecretBoxJson(block.body, password, where);
      let privateKey: crypto.KeyObject;
      try {
        privateKey = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      } catch {
        throw keyError('SIG001', where, 'the decrypted key is not a PKCS#8 private key', 'the key file is damaged: export it again');
      } finally {
        der.fill(0);
      }
      requireP256(privateKey, where, 'the private key');
      return { privateKey, ...publicOf(privateKey), format: block.type === SIGSTORE_PRIVATE_KEY_PEM_TYPE ? 'sigstore-encrypted' : 'cosign-encrypted' };
    }
    case 'PRIVATE KEY':
    case 'EC PRIVATE KEY': {
      let privateKey: crypto.KeyObject;
      try {
        privateKey = crypto.createPrivateKey({ key: block.body, format: 'der', type: block.type === 'PRIVATE KEY' ? 'pkcs8' : 'sec1' });
      } catch {
        throw keyError('SIG001', where, `the ${block.type} block is not a valid ${block.type === 'PRIVATE KEY' ? 'PKCS#8' : 'SEC1 EC'} key`, 'the key file is damaged: export it again');
      }
      requireP256(privateKey, where, 'the private key');
      return { privateKey, ...publicOf(privateKey), format: block.type === 'PRIVATE KEY' ? 'pkcs8' : 'sec1' };
    }
    case 'RSA PRIVATE KEY':
      throw keyError('SIG003', where, 'the private key is an RSA key; cleanimg signs with ECDSA P-256 (SHA-256) only, cosign\'s default key type', 'make a P-256 key: `cleanimg-customize generate-key-pair` or `cosign generate-key-pair`');
    case 'ENCRYPTED PRIVATE KEY':
      throw keyError('SIG001', where, 'OpenSSL-encrypted PKCS#8 keys are not a cosign format', 'decrypt it (`openssl pkcs8 -in KEY -out plain.pem`) or convert it with `cosign import-key-pair --key plain.pem`');
    case 'PUBLIC KEY':
      throw keyError('SIG001', where, 'this is a public key; signing needs the private key', 'pass the private key file (cosign.key), and give cosign.pub to `verify --key`');
    default:
      throw keyError('SIG001', where, `unsupported PEM block "${block.type}"`, 'pass a cosign key file (cosign.key) or a PEM EC P-256 private key');
  }
}

/** Read and load a private key file. */
export async function loadPrivateKeyFile(file: string, password: string | Uint8Array | undefined): Promise<SigningKey> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    throw keyError('SIG001', file, `cannot read the key file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the path given to --sign-key');
  }
  return loadPrivateKey(text, password, file);
}

/** Load a PEM SPKI public key (as cosign.pub), ECDSA P-256 only. A private key file is refused (pass the public half). */
export function loadPublicKey(pem: string | Uint8Array, where = 'public key'): crypto.KeyObject {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
  const block = parsePemBlocks(text).find((b) => b.type === 'PUBLIC KEY');
  if (!block) {
    const other = parsePemBlocks(text)[0];
    throw keyError(
      'SIG006',
      where,
      other ? `expected a "PUBLIC KEY" PEM block, found "${other.type}"` : 'no PEM public key found',
      'pass the public key (cosign.pub, `-----BEGIN PUBLIC KEY-----`); `cosign public-key --key cosign.key` prints it',
    );
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey({ key: block.body, format: 'der', type: 'spki' });
  } catch {
    throw keyError('SIG006', where, 'the PUBLIC KEY block is not a valid SPKI public key', 'export it again: `cosign public-key --key cosign.key > cosign.pub`');
  }
  requireP256(key, where, 'the public key');
  return key;
}

export async function loadPublicKeyFile(file: string): Promise<crypto.KeyObject> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    throw keyError('SIG006', file, `cannot read the public key file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the path given to --key');
  }
  return loadPublicKey(text, file);
}

export interface GeneratedKeyPair {
  /** `ENCRYPTED SIGSTORE PRIVATE KEY` PEM, as `cosign generate-key-pair` writes to cosign.key. */
  privateKeyPem: string;
  /** PEM SPKI, as cosign writes to cosign.pub. */
  publicKeyPem: string;
}

/** Make a new ECDSA P-256 key pair, the private key encrypted with `password` in cosign's format. */
export async function generateKeyPair(password: string | Uint8Array, opts: EncryptOptions = {}): Promise<GeneratedKeyPair> {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const privateKeyPem = await encryptPrivateKey(privateKey, password, opts);
  return { privateKeyPem, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/**
 * Generate a key pair and write `<prefix>.key` (mode 0600) and `<prefix>.pub` in `dir`, like
 * `cosign generate-key-pair`. Refuses to overwrite existing files. Both files are written under temporary
 * names and then hard-linked into place (which fails rather than overwrite), so a failure leaves neither a
 * half-written key nor a key without its public half.
 */
export async function writeKeyPair(dir: string, password: string | Uint8Array, prefix = 'cosign'): Promise<{ keyPath: string; pubPath: string }> {
  const keyPath = path.join(dir, `${prefix}.key`);
  const pubPath = path.join(dir, `${prefix}.pub`);
  for (const p of [keyPath, pubPath]) {
    if (fs.existsSync(p)) {
      throw keyError('SIG007', p, 'file already exists; refusing to overwrite a key', 'move the old key pair away or choose another folder/prefix');
    }
  }
  const pair = await generateKeyPair(password);
  const tmpKey = `${keyPath}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const tmpPub = `${pubPath}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  let linkedKey = false;
  try {
    await fs.promises.writeFile(tmpKey, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
    await fs.promises.writeFile(tmpPub, pair.publicKeyPem, { mode: 0o644, flag: 'wx' });
    // link() fails if the name exists, so a key that appeared meanwhile is never overwritten
    await fs.promises.link(tmpKey, keyPath);
    linkedKey = true;
    await fs.promises.link(tmpPub, pubPath);
  } catch (e) {
    if (linkedKey) await fs.promises.rm(keyPath, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw keyError('SIG007', keyPath, 'a key file appeared while writing; refusing to overwrite a key', 'move the old key pair away or choose another folder/prefix');
    }
    throw e;
  } finally {
    await fs.promises.rm(tmpKey, { force: true });
    await fs.promises.rm(tmpPub, { force: true });
  }
  return { keyPath, pubPath };
}
