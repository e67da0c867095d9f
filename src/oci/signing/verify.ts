/**
 * Verify cosign key-based signatures of an image (the `.sig` tag format), as `cosign verify --key
 * cosign.pub --insecure-ignore-tlog` does: for each layer of `sha256-<hex>.sig`, the payload must match
 * its digest, the signature annotation must verify against the key over the payload bytes, and the
 * payload must be a cosign simple-signing document naming the image's digest.
 *
 * Works over any `ImageSource` for the image's repository (registry or OCI layout).
 */
import type * as crypto from 'node:crypto';
import { MediaType, type Descriptor, type ImageSource } from '../types';
import { verifyImageBundles } from './bundle';
import { COSIGN_SIGNATURE_TYPE, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, errorText, isManifestNotFound, sha256Digest, signatureTag, verifyPayloadSignature } from './cosign';

/** Payloads larger than this are not simple-signing documents (they are a few hundred bytes). */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

export interface ValidSignature {
  layerIndex: number;
  layerDigest: string;
  /** The repository the signer claimed (`critical.identity.docker-reference`). */
  dockerReference: string;
  /** `critical.image.docker-manifest-digest`, equal to the verified digest. */
  imageDigest: string;
  /** The payload's `optional` object (cosign `-a` annotations), or null. */
  optional: Record<string, unknown> | null;
  signature: string;
  /** Where it was found: the `.sig` tag (cosign v2, `--new-bundle-format=false`) or a Sigstore bundle referrer (cosign v3 default). */
  format: SignatureFormat;
}

export type SignatureFormat = 'sig-tag' | 'bundle';

export type RejectReason =
  | 'no-signature-image'
  | 'source-error'
  | 'not-a-manifest'
  | 'media-type'
  | 'no-signature-annotation'
  | 'payload-fetch'
  | 'payload-digest'
  | 'bad-signature'
  | 'payload-json'
  | 'payload-type'
  | 'digest-mismatch'
  | 'identity-mismatch';

export interface RejectedSignature {
  /** The layer, or -1 when the whole signature image was unusable. */
  layerIndex: number;
  layerDigest?: string;
  reason: RejectReason;
  /** One sentence for people. */
  message: string;
  format: SignatureFormat;
}

export interface VerifyResult {
  /** The tag that was read, `sha256-<hex>.sig`. */
  signatureTag: string;
  imageDigest: string;
  /** True when at least one signature is valid. */
  verified: boolean;
  valid: ValidSignature[];
  rejected: RejectedSignature[];
}

export interface VerifyOptions {
  /**
   * When given, a signature whose `docker-reference` differs is rejected (`identity-mismatch`).
   * cosign does not check this by default; pass it to pin the repository. Compare normalised names
   * (see `dockerReference()`).
   */
  expectedDockerReference?: string;
  /** Which `getManifest` errors mean "no such tag" (default: our registry client's REG003); others are reported as `source-error`. */
  isNotFound?: (err: unknown) => boolean;
}

/** Verify the cosign signatures of `imageDigest` found in `source` (the image's repository) against `publicKey`. */
export async function verifyImageSignatures(source: ImageSource, imageDigest: string, publicKey: crypto.KeyObject, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const tag = signatureTag(imageDigest);
  const result: VerifyResult = { signatureTag: tag, imageDigest, verified: false, valid: [], rejected: [] };
  const whole = (reason: RejectReason, message: string) => {
    result.rejected.push({ layerIndex: -1, reason, message, format: 'sig-tag' });
    return result;
  };

  let manifestBytes: Buffer;
  let manifestMediaType: string;
  try {
    const fetched = await source.getManifest(tag);
    manifestBytes = fetched.bytes;
    manifestMediaType = fetched.mediaType;
  } catch (e) {
    const missing = (opts.isNotFound ?? isManifestNotFound)(e);
    return whole(missing ? 'no-signature-image' : 'source-error', `${missing ? 'no signature image' : 'cannot read'} ${source.name}:${tag} (${errorText(e)})`);
  }
  let manifest: { schemaVersion?: unknown; mediaType?: unknown; layers?: unknown };
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as typeof manifest;
  } catch {
    return whole('not-a-manifest', `${tag} is not JSON`);
  }
  const mt = typeof manifest.mediaType === 'string' ? manifest.mediaType : manifestMediaType;
  if (manifest.schemaVersion !== 2 || !Array.isArray(manifest.layers) || (mt !== MediaType.OciManifest && mt !== MediaType.DockerManifest)) {
    return whole('not-a-manifest', `${tag} is not an image manifest (media type ${String(mt)})`);
  }

  const layers = manifest.layers as Descriptor[];
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    const reject = (reason: RejectReason, message: string) => result.rejected.push({ layerIndex: i, layerDigest: layer?.digest, reason, message, format: 'sig-tag' });
    if (!layer || typeof layer.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(layer.digest)) {
      reject('not-a-manifest', `layer ${i} has no sha256 digest`);
      continue;
    }
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
      reject('media-type', `layer ${i} has media type ${String(layer.mediaType)}, not ${SIMPLE_SIGNING_MEDIA_TYPE}`);
      continue;
    }
    const b64sig = layer.annotations?.[SIGNATURE_ANNOTATION];
    if (typeof b64sig !== 'string' || b64sig === '') {
      reject('no-signature-annotation', `layer ${i} has no ${SIGNATURE_ANNOTATION} annotation`);
      continue;
    }
    if (typeof layer.size !== 'number' || layer.size > MAX_PAYLOAD_BYTES) {
      reject('payload-fetch', `layer ${i} declares size ${String(layer.size)}, more than a signature payload can be`);
      continue;
    }
    let payload: Buffer;
    try {
      payload = await source.getBlob(layer.digest);
    } catch (e) {
      reject('payload-fetch', `cannot read payload ${layer.digest}: ${errorText(e)}`);
      continue;
    }
    // The source checks digests too; check again here so a lax source cannot slip a payload through.
    if (sha256Digest(payload) !== layer.digest || payload.length !== layer.size) {
      reject('payload-digest', `payload of layer ${i} does not match its digest/size in the manifest`);
      continue;
    }
    if (!verifyPayloadSignature(payload, b64sig, publicKey)) {
      reject('bad-signature', `signature in layer ${i} does not verify against the key (signed by another key, or payload/signature altered)`);
      continue;
    }
    let doc: { critical?: { identity?: { 'docker-reference'?: unknown }; image?: { 'docker-manifest-digest'?: unknown }; type?: unknown }; optional?: unknown };
    try {
      doc = JSON.parse(payload.toString('utf8')) as typeof doc;
    } catch {
      reject('payload-json', `payload of layer ${i} is not JSON`);
      continue;
    }
    if (doc?.critical?.type !== COSIGN_SIGNATURE_TYPE) {
      reject('payload-type', `payload of layer ${i} has type ${JSON.stringify(doc?.critical?.type)}, not "${COSIGN_SIGNATURE_TYPE}"`);
      continue;
    }
    const signedDigest = doc.critical.image?.['docker-manifest-digest'];
    if (signedDigest !== imageDigest) {
      reject('digest-mismatch', `layer ${i} signs ${String(signedDigest)}, not ${imageDigest}`);
      continue;
    }
    const ref = doc.critical.identity?.['docker-reference'];
    const dockerRef = typeof ref === 'string' ? ref : '';
    if (opts.expectedDockerReference !== undefined && dockerRef !== opts.expectedDockerReference) {
      reject('identity-mismatch', `layer ${i} was signed for ${dockerRef || '(no reference)'}, not ${opts.expectedDockerReference}`);
      continue;
    }
    const optional = doc.optional && typeof doc.optional === 'object' && !Array.isArray(doc.optional) ? (doc.optional as Record<string, unknown>) : null;
    result.valid.push({ layerIndex: i, layerDigest: layer.digest, dockerReference: dockerRef, imageDigest: signedDigest, optional, signature: b64sig, format: 'sig-tag' });
  }
  if (layers.length === 0) whole('not-a-manifest', `${tag} has no signature layers`);
  result.verified = result.valid.length > 0;
  return result;
}

/**
 * Verify an image's cosign signatures in both formats cosign writes: the `.sig` tag (cosign v2, and v3 with
 * `--new-bundle-format=false`) and Sigstore bundles listed under the referrers fallback tag (cosign v3's
 * default). Bundles carry no docker-reference, so `expectedDockerReference` applies to `.sig` signatures only.
 * "Nothing found" entries are listed only when no signature verified.
 */
export async function verifyImage(source: ImageSource, imageDigest: string, publicKey: crypto.KeyObject, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const legacy = await verifyImageSignatures(source, imageDigest, publicKey, opts);
  const bundles = await verifyImageBundles(source, imageDigest, publicKey, opts.isNotFound);
  const valid = [...legacy.valid, ...bundles.valid];
  const rejected = [...legacy.rejected, ...bundles.rejected].filter((r) => valid.length === 0 || r.reason !== 'no-signature-image');
  return { signatureTag: legacy.signatureTag, imageDigest, verified: valid.length > 0, valid, rejected };
}

/** Lines for people: one per valid signature, one per rejected one with the reason. */
export function describeVerifyResult(res: VerifyResult): string[] {
  const lines = res.valid.map((v) =>
    v.format === 'bundle'
      ? `valid: Sigstore bundle signature (referrer ${v.layerIndex}) for ${v.imageDigest}`
      : `valid: cosign signature (layer ${v.layerIndex} of ${res.signatureTag}) for ${v.dockerReference}@${v.imageDigest}`,
  );
  for (const r of res.rejected) lines.push(`rejected (${r.reason}): ${r.message}`);
  return lines;
}
