/**
 * cosign v3's default image signatures ("new bundle format"): a Sigstore bundle (v0.3 JSON) holding a
 * DSSE envelope over an in-toto statement whose subject is the image digest and whose predicate type is
 * `https://sigstore.dev/cosign/sign/v1`. The bundle is the single layer of an OCI manifest that names
 * the image as its `subject`; registries without the referrers API list such manifests in an index under
 * the fallback tag `sha256-<hex>` (OCI distribution spec), which is what we read here.
 *
 * Key-based verification only: the DSSE signature (ECDSA P-256, SHA-256 over the DSSE pre-authentication
 * encoding) must verify against the given public key; certificates and transparency-log entries in the
 * bundle are not checked (as `cosign verify --key ... --insecure-ignore-tlog`).
 */
import type * as crypto from 'node:crypto';
import { verify as cryptoVerify } from 'node:crypto';
// The DSSE module alone: the package's entry point also loads its X.509 and ASN.1 code (~25 ms).
import { preAuthEncoding } from '@sigstore/core/dist/dsse';
import { MediaType, type Descriptor, type ImageSource } from '../types';
import { errorText, isManifestNotFound, sha256Digest } from './cosign';
import type { RejectedSignature, ValidSignature } from './verify';

export const SIGSTORE_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;

/** The referrers fallback tag for a digest: `sha256:<hex>` → `sha256-<hex>`. */
export function referrersTag(imageDigest: string): string {
  return imageDigest.replace(':', '-');
}

/** DSSE pre-authentication encoding (`DSSEv1 <len(type)> <type> <len(body)> <body>`), from @sigstore/core. */
export function dssePae(payloadType: string, body: Uint8Array): Buffer {
  return preAuthEncoding(payloadType, Buffer.from(body));
}

export interface BundleDoc {
  mediaType?: unknown;
  dsseEnvelope?: { payload?: unknown; payloadType?: unknown; signatures?: { sig?: unknown }[] };
}

/**
 * Check one bundle's bytes: DSSE signature by `publicKey`, in-toto statement naming `imageDigest`, cosign's
 * sign predicate. Returns null when valid, or the reason it is not.
 */
export function checkBundle(
  bytes: Buffer,
  imageDigest: string,
  publicKey: crypto.KeyObject,
  predicateType = COSIGN_SIGN_PREDICATE_TYPE,
): { reason: RejectedSignature['reason']; message: string } | { valid: Omit<ValidSignature, 'layerIndex' | 'layerDigest' | 'format'> } {
  let doc: BundleDoc;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as BundleDoc;
  } catch {
    return { reason: 'payload-json', message: 'bundle is not JSON' };
  }
  try {
    // The bundle's structure as the Sigstore specification has it (loaded only when a bundle is read).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('@sigstore/bundle') as typeof import('@sigstore/bundle')).bundleFromJSON(doc);
  } catch (e) {
    return { reason: 'payload-json', message: `not a valid Sigstore bundle: ${(e as Error).message}` };
  }
  if (!doc.dsseEnvelope) return { reason: 'payload-type', message: 'bundle has no DSSE envelope (only DSSE bundles are cosign image signatures)' };
  return checkDsseEnvelope(doc.dsseEnvelope, imageDigest, publicKey, predicateType);
}

/** A DSSE envelope (in a bundle, or alone as a `.att` layer): signed by `publicKey`, an in-toto statement of `predicateType` about `imageDigest`. */
export function checkDsseEnvelope(
  env: NonNullable<BundleDoc['dsseEnvelope']>,
  imageDigest: string,
  publicKey: crypto.KeyObject,
  predicateType: string,
): { reason: RejectedSignature['reason']; message: string } | { valid: Omit<ValidSignature, 'layerIndex' | 'layerDigest' | 'format'> } {
  if (typeof env.payload !== 'string' || typeof env.payloadType !== 'string' || !Array.isArray(env.signatures)) {
    return { reason: 'payload-type', message: 'the DSSE envelope lacks its payload, payload type or signatures' };
  }
  const body = Buffer.from(env.payload, 'base64');
  const pae = dssePae(env.payloadType, body);
  const sigs = env.signatures.map((s) => (typeof s?.sig === 'string' ? s.sig : '')).filter(Boolean);
  const good = sigs.find((s) => {
    try {
      return cryptoVerify('sha256', pae, { key: publicKey, dsaEncoding: 'der' }, Buffer.from(s, 'base64'));
    } catch {
      return false;
    }
  });
  if (!good) return { reason: 'bad-signature', message: 'DSSE signature does not verify against the key (signed by another key, or altered)' };
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) return { reason: 'payload-type', message: `DSSE payload type is ${env.payloadType}, not ${IN_TOTO_PAYLOAD_TYPE}` };
  let st: { predicateType?: unknown; subject?: { digest?: Record<string, unknown>; annotations?: unknown }[] };
  try {
    st = JSON.parse(body.toString('utf8')) as typeof st;
  } catch {
    return { reason: 'payload-json', message: 'in-toto statement is not JSON' };
  }
  if (st.predicateType !== predicateType) {
    return { reason: 'payload-type', message: `statement predicate is ${String(st.predicateType)}, not ${predicateType === COSIGN_SIGN_PREDICATE_TYPE ? `a cosign signature (${predicateType})` : predicateType}` };
  }
  const hex = imageDigest.slice('sha256:'.length);
  const subject = (Array.isArray(st.subject) ? st.subject : []).find((s) => s?.digest?.sha256 === hex);
  if (!subject) {
    const named = (Array.isArray(st.subject) ? st.subject : []).map((s) => `sha256:${String(s?.digest?.sha256)}`).join(', ');
    return { reason: 'digest-mismatch', message: `statement signs ${named || 'no subject'}, not ${imageDigest}` };
  }
  const optional = subject.annotations && typeof subject.annotations === 'object' ? (subject.annotations as Record<string, unknown>) : null;
  return { valid: { dockerReference: '', imageDigest, optional, signature: good } };
}

/**
 * Find and verify cosign v3 bundle signatures for `imageDigest` through the referrers API, or the
 * fallback tag where the source has no API.
 * Returns valid and rejected entries (layerIndex = position in the referrers index); nothing found is
 * reported as one `no-signature-image` rejection.
 */
export async function verifyImageBundles(
  source: ImageSource,
  imageDigest: string,
  publicKey: crypto.KeyObject,
  isNotFound: (err: unknown) => boolean = isManifestNotFound,
  predicateType = COSIGN_SIGN_PREDICATE_TYPE,
): Promise<{ valid: ValidSignature[]; rejected: RejectedSignature[] }> {
  const valid: ValidSignature[] = [];
  const rejected: RejectedSignature[] = [];
  // The referrers API where the registry has it, else the fallback tag.
  const fromApi = source.referrers ? await source.referrers(imageDigest).catch(() => undefined) : undefined;
  const tag = fromApi ? `referrers/${imageDigest}` : referrersTag(imageDigest);
  let index: { manifests?: Descriptor[]; mediaType?: string };
  try {
    const fetched = fromApi ? { bytes: fromApi, mediaType: MediaType.OciIndex } : await source.getManifest(tag);
    index = JSON.parse(fetched.bytes.toString('utf8')) as typeof index;
    if ((index.mediaType ?? fetched.mediaType) !== MediaType.OciIndex || !Array.isArray(index.manifests)) {
      rejected.push({ layerIndex: -1, reason: 'not-a-manifest', message: `${tag} is not an OCI index of referrers`, format: 'bundle' });
      return { valid, rejected };
    }
  } catch (e) {
    const missing = isNotFound(e);
    rejected.push({ layerIndex: -1, reason: missing ? 'no-signature-image' : 'source-error', message: `${missing ? 'no referrers index' : 'cannot read'} ${source.name}:${tag} (${errorText(e)})`, format: 'bundle' });
    return { valid, rejected };
  }
  const manifests = index.manifests!;
  let seen = 0;
  for (let i = 0; i < manifests.length; i++) {
    const d = manifests[i]!;
    if (d.artifactType !== SIGSTORE_BUNDLE_MEDIA_TYPE) continue; // other referrers (SBOMs, ...) are not signatures
    const reject = (reason: RejectedSignature['reason'], message: string, layerDigest?: string) => rejected.push({ layerIndex: i, layerDigest, reason, message, format: 'bundle' });
    let m: { subject?: Descriptor; layers?: Descriptor[]; annotations?: Record<string, string> };
    try {
      const fetched = await source.getManifest(d.digest);
      if (fetched.digest !== d.digest && sha256Digest(fetched.bytes) !== d.digest) throw new Error('manifest does not match its digest');
      m = JSON.parse(fetched.bytes.toString('utf8')) as typeof m;
    } catch (e) {
      seen++;
      reject('payload-fetch', `cannot read referrer ${d.digest}: ${errorText(e)}`);
      continue;
    }
    // A referrer that says it holds another predicate (an attestation, for a signature) is not looked at.
    const named = m.annotations?.['dev.sigstore.bundle.predicateType'];
    if (named !== undefined && named !== predicateType) continue;
    seen++;
    if (m.subject?.digest !== imageDigest) {
      reject('digest-mismatch', `referrer ${d.digest} has subject ${String(m.subject?.digest)}, not ${imageDigest}`);
      continue;
    }
    const layer = (m.layers ?? []).find((l) => l.mediaType === SIGSTORE_BUNDLE_MEDIA_TYPE);
    if (!layer || typeof layer.size !== 'number' || layer.size > MAX_BUNDLE_BYTES) {
      reject('media-type', `referrer ${d.digest} has no Sigstore bundle layer`);
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = await source.getBlob(layer.digest);
    } catch (e) {
      reject('payload-fetch', `cannot read bundle ${layer.digest}: ${errorText(e)}`, layer.digest);
      continue;
    }
    if (sha256Digest(bytes) !== layer.digest) {
      reject('payload-digest', `bundle ${layer.digest} does not match its digest`, layer.digest);
      continue;
    }
    const res = checkBundle(bytes, imageDigest, publicKey, predicateType);
    if ('valid' in res) valid.push({ layerIndex: i, layerDigest: layer.digest, ...res.valid, format: 'bundle' });
    else reject(res.reason, `referrer ${i}: ${res.message}`, layer.digest);
  }
  if (seen === 0) rejected.push({ layerIndex: -1, reason: 'no-signature-image', message: `${tag} lists no Sigstore bundles${predicateType === COSIGN_SIGN_PREDICATE_TYPE ? '' : ` of ${predicateType}`}`, format: 'bundle' });
  return { valid, rejected };
}
