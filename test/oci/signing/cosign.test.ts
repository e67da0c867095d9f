import * as crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CleanimgError } from '../../../src/errors';
import {
  dockerReference,
  prepareSignature,
  sha256Digest,
  signImage,
  signatureTag,
  simpleSigningPayload,
  verifyPayloadSignature,
} from '../../../src/oci/signing/cosign';
import { loadPrivateKey, type SigningKey } from '../../../src/oci/signing/keys';
import { MemoryRepo } from './memory-source';

const randomDigest = () => `sha256:${crypto.randomBytes(32).toString('hex')}`;

async function newKey(): Promise<SigningKey> {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return loadPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), undefined);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CleanimgError);
    return (e as CleanimgError).problems[0]?.code;
  }
  return undefined;
}

describe('simple-signing payload', () => {
  it('is byte-for-byte the JSON cosign writes (field order, optional null)', () => {
    const digest = randomDigest();
    const payload = simpleSigningPayload('127.0.0.1:5000/team/app', digest).toString();
    expect(payload).toBe(
      `{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/team/app"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`,
    );
  });

  it('writes annotations into optional with sorted keys and Go\'s HTML escaping', () => {
    const digest = randomDigest();
    const payload = simpleSigningPayload('r.example/app', digest, { zeta: 'z', alpha: '<a&b>' }).toString();
    expect(payload.endsWith(`"optional":{"alpha":"\\u003ca\\u0026b\\u003e","zeta":"z"}}`)).toBe(true);
    expect(JSON.parse(payload).optional).toEqual({ alpha: '<a&b>', zeta: 'z' });
  });

  it('refuses a digest that is not sha256:<64 hex>', () => {
    expect(codeOf(() => simpleSigningPayload('r.example/app', 'sha256:abc'))).toBe('SIG010');
    expect(codeOf(() => signatureTag('latest'))).toBe('SIG010');
  });
});

describe('dockerReference (go-containerregistry Repository.Name())', () => {
  it.each([
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app'],
    ['registry.example.com/team/app', 'registry.example.com/team/app'],
    ['localhost/app', 'localhost/app'],
    ['nginx', 'index.docker.io/library/nginx'],
    ['docker.io/nginx', 'index.docker.io/library/nginx'],
    ['bitnami/postgresql', 'index.docker.io/bitnami/postgresql'],
  ])('%s → %s', (input, want) => {
    expect(dockerReference(input)).toBe(want);
  });

  it.each(['nginx:1.25', '127.0.0.1:5000/app:tag', `r.example/app@${'sha256:' + 'a'.repeat(64)}`, 'r.example/App', 'r.example/a//b'])('refuses %s', (bad) => {
    expect(codeOf(() => dockerReference(bad))).toBe('SIG011');
  });
});

describe('signImage', () => {
  let keyA: SigningKey;
  let keyB: SigningKey;
  beforeAll(async () => {
    keyA = await newKey();
    keyB = await newKey();
  });

  it('builds the .sig image cosign pushes: OCI manifest, empty-image config, one annotated layer', () => {
    const digest = randomDigest();
    const img = signImage({ imageDigest: digest, repository: '127.0.0.1:5000/app', key: keyA });
    expect(img.tag).toBe(`${digest.replace(':', '-')}.sig`);
    expect(img.appended).toBe(true);
    expect(img.digest).toBe(sha256Digest(img.manifest));
    expect(img.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');

    const [cfg, layer] = img.blobs;
    expect(layer!.bytes).toEqual(img.payload);
    expect(layer!.descriptor.digest).toBe(sha256Digest(img.payload));
    expect(cfg!.descriptor.digest).toBe(sha256Digest(cfg!.bytes));
    // go-containerregistry's empty image + mutate.Append, marshalled by Go
    expect(cfg!.bytes.toString()).toBe(
      `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${layer!.descriptor.digest}"]},"config":{}}`,
    );
    expect(img.manifest.toString()).toBe(
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
        `"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":${cfg!.bytes.length},"digest":"${cfg!.descriptor.digest}"},` +
        `"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":${img.payload.length},"digest":"${layer!.descriptor.digest}",` +
        `"annotations":{"dev.cosignproject.cosign/signature":"${img.signature}"}}]}`,
    );
    // ECDSA P-256 / SHA-256, DER, base64 over the payload bytes
    const der = Buffer.from(img.signature, 'base64');
    expect(der[0]).toBe(0x30);
    expect(crypto.verify('sha256', img.payload, keyA.publicKey, der)).toBe(true);
    expect(verifyPayloadSignature(img.payload, img.signature, keyB.publicKey)).toBe(false);
    expect(JSON.parse(img.payload.toString()).critical.identity['docker-reference']).toBe('127.0.0.1:5000/app');
  });

  it('appends a second signature to the existing .sig image, keeping the first layer', () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    const first = signImage({ imageDigest: digest, repository: 'r.example/app', key: keyA });
    repo.push(first);
    const second = signImage({ imageDigest: digest, repository: 'r.example/app', key: keyB, existing: repo.existing(first.tag) });
    expect(second.appended).toBe(true);
    const m1 = JSON.parse(first.manifest.toString());
    const m2 = JSON.parse(second.manifest.toString());
    expect(m2.layers).toHaveLength(2);
    expect(m2.layers[0]).toEqual(m1.layers[0]);
    expect(m2.layers[1].annotations['dev.cosignproject.cosign/signature']).toBe(second.signature);
    const cfg = JSON.parse(second.blobs[0]!.bytes.toString());
    expect(cfg.rootfs.diff_ids).toEqual([m1.layers[0].digest, m2.layers[1].digest]);
    expect(cfg.history).toHaveLength(2);
    // Only the new config and the new payload need pushing; the first payload is already there.
    expect(second.blobs.map((b) => b.descriptor.digest)).toEqual([m2.config.digest, m2.layers[1].digest]);
  });

  it('does not append a duplicate: same payload already signed by the same key (cosign\'s dupe detector)', () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    const first = signImage({ imageDigest: digest, repository: 'r.example/app', key: keyA });
    repo.push(first);
    const again = signImage({ imageDigest: digest, repository: 'r.example/app', key: keyA, existing: repo.existing(first.tag) });
    expect(again.appended).toBe(false);
    expect(again.blobs).toEqual([]);
    expect(again.manifest).toEqual(first.manifest);
    expect(again.digest).toBe(first.digest);
  });

  it('refuses an existing .sig tag that is not a signature image, and a config that does not match', () => {
    const digest = randomDigest();
    const bad = { manifest: Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'), config: Buffer.from('{}') };
    expect(codeOf(() => signImage({ imageDigest: digest, repository: 'r.example/app', key: keyA, existing: bad }))).toBe('SIG012');
    const first = signImage({ imageDigest: digest, repository: 'r.example/app', key: keyA });
    expect(codeOf(() => signImage({ imageDigest: digest, repository: 'r.example/app', key: keyB, existing: { manifest: first.manifest, config: Buffer.from('{}') } }))).toBe('SIG012');
    expect(codeOf(() => signImage({ imageDigest: digest, repository: 'r.example/app', key: keyB, existing: { manifest: Buffer.from('nope'), config: Buffer.from('{}') } }))).toBe('SIG012');
  });

  it('refuses a bad digest or a reference with a tag before signing anything', () => {
    expect(codeOf(() => signImage({ imageDigest: 'sha256:1234', repository: 'r.example/app', key: keyA }))).toBe('SIG010');
    expect(codeOf(() => signImage({ imageDigest: randomDigest(), repository: 'r.example/app:v1', key: keyA }))).toBe('SIG011');
  });
});

describe('prepareSignature (read the existing .sig image, then sign)', () => {
  it('starts a new .sig image when none exists, appends when one does', async () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    const a = await newKey();
    const b = await newKey();
    const first = await prepareSignature(repo, { imageDigest: digest, repository: 'r.example/app', key: a });
    expect(JSON.parse(first.manifest.toString()).layers).toHaveLength(1);
    repo.push(first);
    const second = await prepareSignature(repo, { imageDigest: digest, repository: 'r.example/app', key: b });
    expect(JSON.parse(second.manifest.toString()).layers).toHaveLength(2);
  });

  it('refuses a .sig tag whose manifest has no config to append to', async () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    repo.tags.set(signatureTag(digest), { bytes: Buffer.from('{"schemaVersion":2,"manifests":[]}'), mediaType: 'application/vnd.oci.image.index.v1+json' });
    const err = await prepareSignature(repo, { imageDigest: digest, repository: 'r.example/app', key: await newKey() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CleanimgError);
    expect((err as CleanimgError).problems[0]!.code).toBe('SIG012');
  });

  it('does not start over when the existing .sig image cannot be read (other signatures would be lost)', async () => {
    const repo = new MemoryRepo();
    repo.failWith = new Error('ECONNRESET');
    await expect(prepareSignature(repo, { imageDigest: randomDigest(), repository: 'r.example/app', key: await newKey() })).rejects.toThrow('ECONNRESET');
  });
});
