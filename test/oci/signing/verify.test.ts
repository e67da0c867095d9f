import * as crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest, signImage, simpleSigningPayload } from '../../../src/oci/signing/cosign';
import { generateKeyPair, loadPrivateKey, loadPublicKey, type SigningKey } from '../../../src/oci/signing/keys';
import { verifyImageSignatures } from '../../../src/oci/signing/verify';
import { MemoryRepo } from './memory-source';

const randomDigest = () => `sha256:${crypto.randomBytes(32).toString('hex')}`;

describe('verifyImageSignatures', () => {
  let key: SigningKey;
  let other: SigningKey;
  beforeAll(async () => {
    // one key made by our cosign-format generator (encrypted, then loaded), one plain PKCS#8 from node:crypto
    const pair = await generateKeyPair('pw');
    key = await loadPrivateKey(pair.privateKeyPem, 'pw');
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    other = await loadPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), undefined);
  });

  it('round-trips: sign → push → verify, reporting the docker-reference', async () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    repo.push(signImage({ imageDigest: digest, repository: '127.0.0.1:5000/app', key }));
    const res = await verifyImageSignatures(repo, digest, loadPublicKey(key.publicKeyPem));
    expect(res.verified).toBe(true);
    expect(res.rejected).toEqual([]);
    expect(res.valid).toHaveLength(1);
    expect(res.valid[0]).toMatchObject({ layerIndex: 0, dockerReference: '127.0.0.1:5000/app', imageDigest: digest, optional: null });
  });

  it('rejects a signature made by another key', async () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    repo.push(signImage({ imageDigest: digest, repository: 'r.example/app', key: other }));
    const res = await verifyImageSignatures(repo, digest, key.publicKey);
    expect(res.verified).toBe(false);
    expect(res.rejected.map((r) => r.reason)).toEqual(['bad-signature']);
  });

  it('reports no signature image for a digest that was never signed', async () => {
    const repo = new MemoryRepo();
    repo.push(signImage({ imageDigest: randomDigest(), repository: 'r.example/app', key }));
    const res = await verifyImageSignatures(repo, randomDigest(), key.publicKey);
    expect(res.verified).toBe(false);
    expect(res.rejected[0]).toMatchObject({ layerIndex: -1, reason: 'no-signature-image' });
    expect(res.rejected[0]!.message).toMatch(/MANIFEST_UNKNOWN/);
  });

  it('reports a source failure as such, not as "unsigned"', async () => {
    const repo = new MemoryRepo();
    repo.failWith = new Error('ECONNREFUSED');
    const res = await verifyImageSignatures(repo, randomDigest(), key.publicKey);
    expect(res.verified).toBe(false);
    expect(res.rejected).toMatchObject([{ reason: 'source-error' }]);
    expect(res.rejected[0]!.message).toMatch(/ECONNREFUSED/);
  });

  it('rejects a payload that signs another digest, even under this digest\'s tag', async () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    const elsewhere = signImage({ imageDigest: randomDigest(), repository: 'r.example/app', key });
    // move the other image's signature image under this digest's tag (a replay)
    repo.push({ ...elsewhere, tag: `${digest.replace(':', '-')}.sig` });
    const res = await verifyImageSignatures(repo, digest, key.publicKey);
    expect(res.verified).toBe(false);
    expect(res.rejected.map((r) => r.reason)).toEqual(['digest-mismatch']);
  });

  it('rejects a tampered payload: with its digest updated (bad signature) or not (digest mismatch)', async () => {
    const digest = randomDigest();
    const img = signImage({ imageDigest: digest, repository: 'r.example/app', key });
    const forged = Buffer.from(img.payload.toString().replace('r.example/app', 'evil.example/app'));

    // 1. attacker re-points the layer at the forged payload; the signature no longer matches
    const repo1 = new MemoryRepo();
    repo1.push(img);
    const m = JSON.parse(img.manifest.toString());
    m.layers[0].digest = sha256Digest(forged);
    m.layers[0].size = forged.length;
    repo1.blobs.set(m.layers[0].digest, forged);
    repo1.tags.set(img.tag, { bytes: Buffer.from(JSON.stringify(m)), mediaType: img.mediaType });
    const r1 = await verifyImageSignatures(repo1, digest, key.publicKey);
    expect(r1.rejected.map((r) => r.reason)).toEqual(['bad-signature']);

    // 2. a lax source serves different bytes under the original digest
    const repo2 = new MemoryRepo();
    repo2.push(img);
    repo2.lax = true;
    repo2.blobs.set(img.blobs[1]!.descriptor.digest, forged);
    const r2 = await verifyImageSignatures(repo2, digest, key.publicKey);
    expect(r2.rejected.map((r) => r.reason)).toEqual(['payload-digest']);
  });

  it('lists valid and rejected signatures side by side, and why', async () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    const a = signImage({ imageDigest: digest, repository: 'r.example/app', key: other });
    repo.push(a);
    const b = signImage({ imageDigest: digest, repository: 'r.example/app', key, existing: repo.existing(a.tag) });
    repo.push(b);
    const res = await verifyImageSignatures(repo, digest, key.publicKey);
    expect(res.verified).toBe(true);
    expect(res.valid.map((v) => v.layerIndex)).toEqual([1]);
    expect(res.rejected).toMatchObject([{ layerIndex: 0, reason: 'bad-signature' }]);
  });

  it('checks the claimed repository when asked to', async () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    repo.push(signImage({ imageDigest: digest, repository: 'r.example/app', key }));
    const ok = await verifyImageSignatures(repo, digest, key.publicKey, { expectedDockerReference: 'r.example/app' });
    expect(ok.verified).toBe(true);
    const bad = await verifyImageSignatures(repo, digest, key.publicKey, { expectedDockerReference: 'r.example/other' });
    expect(bad.rejected.map((r) => r.reason)).toEqual(['identity-mismatch']);
  });

  it('rejects layers without the signature annotation, with another media type, or a payload of another type', async () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    const payload = simpleSigningPayload('r.example/app', digest);
    const notCosign = Buffer.from(payload.toString().replace('cosign container image signature', 'atomic container signature'));
    const sig = (p: Buffer) => crypto.sign('sha256', p, key.privateKey).toString('base64');
    const layers = [
      { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: payload.length, digest: sha256Digest(payload) },
      { mediaType: 'application/octet-stream', size: payload.length, digest: sha256Digest(payload), annotations: { 'dev.cosignproject.cosign/signature': sig(payload) } },
      { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: notCosign.length, digest: sha256Digest(notCosign), annotations: { 'dev.cosignproject.cosign/signature': sig(notCosign) } },
    ];
    repo.blobs.set(sha256Digest(payload), payload);
    repo.blobs.set(sha256Digest(notCosign), notCosign);
    const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: sha256Digest(Buffer.from('{}')) }, layers };
    repo.tags.set(`${digest.replace(':', '-')}.sig`, { bytes: Buffer.from(JSON.stringify(manifest)), mediaType: manifest.mediaType });
    const res = await verifyImageSignatures(repo, digest, key.publicKey);
    expect(res.verified).toBe(false);
    expect(res.rejected.map((r) => r.reason)).toEqual(['no-signature-annotation', 'media-type', 'payload-type']);
  });

  it('rejects a .sig tag that is an index or not JSON', async () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    const tag = `${digest.replace(':', '-')}.sig`;
    repo.tags.set(tag, { bytes: Buffer.from('{"schemaVersion":2,"manifests":[]}'), mediaType: 'application/vnd.oci.image.index.v1+json' });
    expect((await verifyImageSignatures(repo, digest, key.publicKey)).rejected.map((r) => r.reason)).toEqual(['not-a-manifest']);
    repo.tags.set(tag, { bytes: Buffer.from('<html>'), mediaType: 'text/html' });
    expect((await verifyImageSignatures(repo, digest, key.publicKey)).rejected.map((r) => r.reason)).toEqual(['not-a-manifest']);
  });
});
