/**
 * Attestations (in-toto statements, e.g. an SBOM and a provenance statement) signed with the image's
 * key, attached in the formats `cosign attest` writes:
 *
 * - `legacy`: DSSE envelopes as layers of the `sha256-<hex>.att` image (media type
 *   `application/vnd.dsse.envelope.v1+json`, the predicate type in a `predicateType` annotation);
 * - `bundle`: one Sigstore bundle referrer per statement (attach.ts), its predicate type in the
 *   `dev.sigstore.bundle.predicateType` annotation;
 * - `both`.
 *
 * An attestation of the same predicate type that this key already made for the image is not added
 * again, in either format.
 */
import type * as crypto from 'node:crypto';
import type { RegistryClient } from '../registry/client';
import { RegistryImageSource } from '../registry/source';
import type { Descriptor, ImageSource } from '../types';
import { attachReferrer } from './attach';
import { checkDsseEnvelope, verifyImageBundles, type BundleDoc } from './bundle';
import { bundleReferrer, dsseBundle } from './bundle-sign';
import { SIGNATURE_ANNOTATION, appendLayer, cosignImageBase, errorText, isManifestNotFound, readExistingSignatureImage, type Blob } from './cosign';
import type { SignatureFormat } from './format';
import type { SigningKey } from './keys';

export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

export interface StatementToAttach {
  readonly predicateType: string;
  readonly statement: Buffer;
}

export interface AttachedAttestation {
  readonly predicateType: string;
  readonly format: 'legacy' | 'bundle';
  readonly appended: boolean;
  /** legacy: the `.att` tag; bundle: the fallback tag, when the registry has no referrers API. */
  readonly tag?: string;
  readonly via?: 'referrers-api' | 'fallback-tag';
}

/** `sha256:<hex>` → `sha256-<hex>.att`, the tag cosign keeps attestations under. */
export function attestationTag(imageDigest: string): string {
  return `${imageDigest.replace(':', '-')}.att`;
}

export async function attachAttestations(
  client: RegistryClient,
  repo: string,
  subject: Descriptor,
  statements: readonly StatementToAttach[],
  opts: { readonly key: SigningKey; readonly format?: SignatureFormat; readonly pushBlob: (what: string, blob: Blob) => Promise<void> },
): Promise<AttachedAttestation[]> {
  const format = opts.format ?? 'legacy';
  const out: AttachedAttestation[] = [];
  if (format !== 'bundle') out.push(...(await attachLegacy(client, repo, subject, statements, opts)));
  if (format !== 'legacy') out.push(...(await attachBundles(client, repo, subject, statements, opts)));
  return out;
}

async function attachBundles(client: RegistryClient, repo: string, subject: Descriptor, statements: readonly StatementToAttach[], opts: { key: SigningKey; pushBlob: (what: string, blob: Blob) => Promise<void> }): Promise<AttachedAttestation[]> {
  const source = new RegistryImageSource(client, repo);
  const via = (await source.referrers(subject.digest)) ? 'referrers-api' as const : 'fallback-tag' as const;
  const out: AttachedAttestation[] = [];
  for (const s of statements) {
    const existing = await verifyImageBundles(source, subject.digest, opts.key.publicKey, undefined, s.predicateType);
    if (existing.valid.length > 0) {
      out.push({ predicateType: s.predicateType, format: 'bundle', appended: false, via });
      continue;
    }
    const referrer = bundleReferrer(dsseBundle(s.statement, opts.key), subject, s.predicateType);
    const r = await attachReferrer(client, repo, subject, referrer, (b) => opts.pushBlob(`attestation ${s.predicateType}`, b));
    out.push({ predicateType: s.predicateType, format: 'bundle', appended: true, via: r.via, ...(r.tag ? { tag: r.tag } : {}) });
  }
  return out;
}

/** The statements missing from the `.att` image, appended in one new manifest under the tag. */
async function attachLegacy(client: RegistryClient, repo: string, subject: Descriptor, statements: readonly StatementToAttach[], opts: { key: SigningKey; pushBlob: (what: string, blob: Blob) => Promise<void> }): Promise<AttachedAttestation[]> {
  const source = new RegistryImageSource(client, repo);
  const tag = attestationTag(subject.digest);
  const existing = await readExistingSignatureImage(source, subject.digest, undefined, tag);
  const have = existing ? await legacyChecks(source, subject.digest, opts.key.publicKey, Buffer.from(existing.manifest)) : [];
  let base = cosignImageBase(existing);
  let image: ReturnType<typeof appendLayer> | undefined;
  const out: AttachedAttestation[] = [];
  for (const s of statements) {
    if (have.some((h) => h.predicateType === s.predicateType && h.valid)) {
      out.push({ predicateType: s.predicateType, format: 'legacy', appended: false, tag });
      continue;
    }
    const envelope = Buffer.from(JSON.stringify((JSON.parse(dsseBundle(s.statement, opts.key).toString()) as BundleDoc).dsseEnvelope), 'utf8');
    // cosign reads every layer of the image as a signature layer: the annotation must be there, empty
    // (the signature is inside the envelope).
    image = appendLayer(base, envelope, DSSE_ENVELOPE_MEDIA_TYPE, { [SIGNATURE_ANNOTATION]: '', predicateType: s.predicateType });
    base = { manifest: JSON.parse(image.manifest.toString()), config: JSON.parse(image.blobs[0]!.bytes.toString()) };
    await opts.pushBlob(`attestation ${s.predicateType}`, image.blobs[1]!); // the envelope layer
    out.push({ predicateType: s.predicateType, format: 'legacy', appended: true, tag });
  }
  if (image) {
    // Only the last config is referenced: the ones of the images in between are never pushed.
    await opts.pushBlob('attestations config', image.blobs[0]!);
    await client.putManifest(repo, tag, image.manifest, image.mediaType);
  }
  return out;
}

interface LegacyCheck {
  readonly predicateType?: string;
  readonly valid: boolean;
  readonly reason?: string;
}

/** Each DSSE layer of a `.att` manifest, checked against the key and the image. */
async function legacyChecks(source: ImageSource, imageDigest: string, publicKey: crypto.KeyObject, manifest: Buffer): Promise<LegacyCheck[]> {
  const layers = ((JSON.parse(manifest.toString('utf8')) as { layers?: Descriptor[] }).layers ?? []).filter((l) => l.mediaType === DSSE_ENVELOPE_MEDIA_TYPE);
  const out: LegacyCheck[] = [];
  for (const l of layers) {
    const predicateType = l.annotations?.['predicateType'];
    try {
      const env = JSON.parse((await source.getBlob(l.digest)).toString('utf8')) as NonNullable<BundleDoc['dsseEnvelope']>;
      const r = checkDsseEnvelope(env, imageDigest, publicKey, predicateType ?? '');
      out.push({ ...(predicateType ? { predicateType } : {}), valid: 'valid' in r, ...('valid' in r ? {} : { reason: `${r.reason}: ${r.message}` }) });
    } catch (e) {
      out.push({ ...(predicateType ? { predicateType } : {}), valid: false, reason: `cannot read ${l.digest}: ${errorText(e)}` });
    }
  }
  return out;
}

export interface AttestationCheck {
  readonly predicateType: string;
  readonly verified: boolean;
  /** Where a valid one was found. */
  readonly formats: readonly ('legacy' | 'bundle')[];
  /** Why not, when not verified. */
  readonly reasons: readonly string[];
}

/** For each predicate type: is there an attestation of the image signed by `publicKey`, in either format? */
export async function verifyAttestations(source: ImageSource, imageDigest: string, publicKey: crypto.KeyObject, predicateTypes: readonly string[]): Promise<AttestationCheck[]> {
  const att = await readExistingSignatureImage(source, imageDigest, isManifestNotFound, attestationTag(imageDigest)).catch(() => null);
  const legacy = att ? await legacyChecks(source, imageDigest, publicKey, Buffer.from(att.manifest)) : [];
  const out: AttestationCheck[] = [];
  for (const predicateType of predicateTypes) {
    const bundles = await verifyImageBundles(source, imageDigest, publicKey, undefined, predicateType);
    const legacyOk = legacy.some((l) => l.predicateType === predicateType && l.valid);
    const formats = [...(legacyOk ? ['legacy' as const] : []), ...(bundles.valid.length ? ['bundle' as const] : [])];
    const reasons = formats.length ? [] : [
      ...legacy.filter((l) => l.predicateType === predicateType).map((l) => `.att: ${l.reason}`),
      ...bundles.rejected.map((x) => `bundle ${x.reason}: ${x.message}`),
    ];
    out.push({ predicateType, verified: formats.length > 0, formats, reasons });
  }
  return out;
}
