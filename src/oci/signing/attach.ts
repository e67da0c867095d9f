/**
 * Signing a pushed image and attaching the signature in the formats cosign reads:
 *
 * - `legacy`: the `.sig` tag (simple-signing payload), which cosign v2 and v3 and the admission
 *   verifiers read;
 * - `bundle`: a Sigstore bundle in an OCI referrer (cosign v3's default), through the referrers API
 *   where the registry has it, else the `sha256-<hex>` fallback tag;
 * - `both`: each verifier finds the format it prefers.
 * The default is legacy (see format.ts for why).
 *
 * A signature by the same key that already verifies is not added again (`appended: false`).
 */
import type { RegistryClient } from '../registry/client';
import { RegistryImageSource } from '../registry/source';
import { MediaType, type Descriptor } from '../types';
import { referrersTag, verifyImageBundles } from './bundle';
import { addToReferrersIndex, signImageBundle, type BundleReferrer } from './bundle-sign';
import { isManifestNotFound, prepareSignature, type Blob } from './cosign';
import { DEFAULT_SIGNATURE_FORMAT, type SignatureFormat } from './format';
import type { SigningKey } from './keys';

export { DEFAULT_SIGNATURE_FORMAT, SIGNATURE_FORMATS, parseSignatureFormat, type SignatureFormat } from './format';

export interface AttachedSignatures {
  /** The `.sig` tag image. */
  readonly legacy?: { readonly tag: string; readonly digest: string; readonly appended: boolean };
  /** The bundle referrer: its manifest digest when added now; how the registry lists it. */
  readonly bundle?: { readonly digest?: string; readonly appended: boolean; readonly via: 'referrers-api' | 'fallback-tag'; readonly tag?: string };
}

export interface AttachOptions {
  readonly key: SigningKey;
  /** The repository as the legacy payload names it (`registry/repo`, no tag). */
  readonly repository: string;
  readonly format?: SignatureFormat;
  /** Pushes one blob (the caller counts and reports it). */
  readonly pushBlob: (what: string, blob: Blob) => Promise<void>;
}

/** Signs `subject` (an image manifest in `repo`) and attaches the signature(s); the caller moves tags afterwards. */
export async function signAndAttach(client: RegistryClient, repo: string, subject: Descriptor, opts: AttachOptions): Promise<AttachedSignatures> {
  const format = opts.format ?? DEFAULT_SIGNATURE_FORMAT;
  const source = new RegistryImageSource(client, repo);
  let legacy: AttachedSignatures['legacy'];
  if (format !== 'bundle') {
    const sig = await prepareSignature(source, { imageDigest: subject.digest, repository: opts.repository, key: opts.key });
    if (sig.appended) {
      for (const b of sig.blobs) await opts.pushBlob('signature', b);
      await client.putManifest(repo, sig.tag, sig.manifest, sig.mediaType);
    }
    legacy = { tag: sig.tag, digest: sig.digest, appended: sig.appended };
  }
  const bundle = format === 'legacy' ? undefined : await attachBundle(client, repo, subject, opts, source);
  return { ...(legacy ? { legacy } : {}), ...(bundle ? { bundle } : {}) };
}

async function attachBundle(client: RegistryClient, repo: string, subject: Descriptor, opts: AttachOptions, source: RegistryImageSource): Promise<NonNullable<AttachedSignatures['bundle']>> {
  const existing = await verifyImageBundles(source, subject.digest, opts.key.publicKey);
  if (existing.valid.length > 0) {
    const api = (await source.referrers(subject.digest)) !== undefined;
    return { appended: false, via: api ? 'referrers-api' : 'fallback-tag', ...(api ? {} : { tag: referrersTag(subject.digest) }) };
  }
  return attachReferrer(client, repo, subject, signImageBundle({ subject, key: opts.key }), (b) => opts.pushBlob('signature bundle', b));
}

/**
 * Pushes a referrer (its blobs, then its manifest by digest): indexed by the registry when it answers
 * `OCI-Subject`, else added to the index under the fallback tag.
 */
export async function attachReferrer(client: RegistryClient, repo: string, subject: Descriptor, referrer: BundleReferrer, pushBlob: (b: Blob) => Promise<void>): Promise<NonNullable<AttachedSignatures['bundle']>> {
  for (const b of referrer.blobs) await pushBlob(b);
  const put = await client.putManifestAnswer(repo, referrer.digest, referrer.manifest, referrer.mediaType);
  if (put.ociSubject === subject.digest) return { digest: referrer.digest, appended: true, via: 'referrers-api' };
  // No referrers API: list the referrer in the index under the fallback tag, as cosign does.
  const tag = referrersTag(subject.digest);
  const current = await client.getManifest(repo, tag).then((m) => m.bytes, (e: unknown) => {
    if (isManifestNotFound(e)) return undefined;
    throw e;
  });
  const index = addToReferrersIndex(current, referrer.indexEntry);
  if (index.changed) await client.putManifest(repo, tag, index.bytes, MediaType.OciIndex);
  return { digest: referrer.digest, appended: true, via: 'fallback-tag', tag };
}
