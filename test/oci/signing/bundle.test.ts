import * as crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { COSIGN_SIGN_PREDICATE_TYPE, SIGSTORE_BUNDLE_MEDIA_TYPE, dssePae, referrersTag, verifyImageBundles } from '../../../src/oci/signing/bundle';
import { sha256Digest, signImage } from '../../../src/oci/signing/cosign';
import { loadPrivateKey, type SigningKey } from '../../../src/oci/signing/keys';
import { describeVerifyResult, verifyImage } from '../../../src/oci/signing/verify';
import { MemoryRepo } from './memory-source';

const randomDigest = () => `sha256:${crypto.randomBytes(32).toString('hex')}`;

async function newKey(): Promise<SigningKey> {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return loadPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), undefined);
}

/** A bundle shaped like cosign v3's (DSSE over an in-toto statement), signed here with node:crypto. */
function makeBundle(key: SigningKey, subjectDigest: string, predicateType = COSIGN_SIGN_PREDICATE_TYPE): Buffer {
  const statement = Buffer.from(
    JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: subjectDigest.split(':')[1] } }], predicateType, predicate: {} }),
  );
  const sig = crypto.sign('sha256', dssePae('application/vnd.in-toto+json', statement), key.privateKey).toString('base64');
  return Buffer.from(
    JSON.stringify({
      mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
      verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [] },
      dsseEnvelope: { payload: statement.toString('base64'), payloadType: 'application/vnd.in-toto+json', signatures: [{ sig, keyid: '' }] },
    }),
  );
}

/** Store a referrer manifest for `imageDigest` holding `bundle`, and list it in the fallback index. */
function addReferrer(repo: MemoryRepo, imageDigest: string, bundle: Buffer, artifactType = SIGSTORE_BUNDLE_MEDIA_TYPE): void {
  const empty = Buffer.from('{}');
  repo.blobs.set(sha256Digest(empty), empty);
  repo.blobs.set(sha256Digest(bundle), bundle);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: sha256Digest(empty) },
      layers: [{ mediaType: artifactType, size: bundle.length, digest: sha256Digest(bundle) }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 100, digest: imageDigest },
    }),
  );
  const md = sha256Digest(manifest);
  repo.tags.set(md, { bytes: manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
  const tag = referrersTag(imageDigest);
  const index = repo.tags.has(tag) ? JSON.parse(repo.tags.get(tag)!.bytes.toString()) : { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
  index.manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: md, size: manifest.length, artifactType });
  repo.tags.set(tag, { bytes: Buffer.from(JSON.stringify(index)), mediaType: 'application/vnd.oci.image.index.v1+json' });
}

describe('Sigstore bundle signatures (cosign v3 default)', () => {
  let key: SigningKey;
  let other: SigningKey;
  beforeAll(async () => {
    key = await newKey();
    other = await newKey();
  });

  it('DSSE pre-authentication encoding matches the DSSE spec example', () => {
    expect(dssePae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it('verifies a bundle by the key for the image digest, and rejects another key\'s', async () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    addReferrer(repo, digest, makeBundle(key, digest));
    addReferrer(repo, digest, makeBundle(other, digest));
    const res = await verifyImageBundles(repo, digest, key.publicKey);
    expect(res.valid.map((v) => [v.layerIndex, v.format])).toEqual([[0, 'bundle']]);
    expect(res.rejected.map((r) => [r.layerIndex, r.reason])).toEqual([[1, 'bad-signature']]);
  });

  it('rejects a statement for another digest, or with another predicate; ignores non-bundle referrers', async () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    addReferrer(repo, digest, makeBundle(key, randomDigest()));
    addReferrer(repo, digest, makeBundle(key, digest, 'https://spdx.dev/Document'));
    addReferrer(repo, digest, Buffer.from('{"spdxVersion":"SPDX-2.3"}'), 'application/spdx+json');
    const res = await verifyImageBundles(repo, digest, key.publicKey);
    expect(res.valid).toEqual([]);
    expect(res.rejected.map((r) => r.reason)).toEqual(['digest-mismatch', 'payload-type']);
  });

  it('reports nothing found when there is no referrers index', async () => {
    const res = await verifyImageBundles(new MemoryRepo(), randomDigest(), key.publicKey);
    expect(res.rejected.map((r) => r.reason)).toEqual(['no-signature-image']);
  });

  it('verifyImage finds both formats, drops the "nothing found" noise once one verifies, and describes the result', async () => {
    const repo = new MemoryRepo();
    const digest = randomDigest();
    addReferrer(repo, digest, makeBundle(key, digest));
    const onlyBundle = await verifyImage(repo, digest, key.publicKey);
    expect(onlyBundle.verified).toBe(true);
    expect(onlyBundle.rejected).toEqual([]);
    repo.push(signImage({ imageDigest: digest, repository: 'r.example/app', key }));
    const both = await verifyImage(repo, digest, key.publicKey);
    expect(both.valid.map((v) => v.format).sort()).toEqual(['bundle', 'sig-tag']);
    const none = await verifyImage(repo, digest, other.publicKey);
    expect(none.verified).toBe(false);
    const lines = describeVerifyResult(none);
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.startsWith('rejected (bad-signature)'))).toBe(true);
  });
});
