/**
 * Writing the signature format cosign v3 writes by default ("new bundle format"), which bundle.ts
 * reads: an in-toto statement (subject: the image digest; predicate type cosign's sign/v1) in a DSSE
 * envelope signed with the key, in a Sigstore bundle v0.3 whose verification material is the key's
 * hint (base64 of the SHA-256 of its DER public key), as cosign writes it for a key. No certificate,
 * no transparency-log entry: verify with `cosign verify --key ... --insecure-ignore-tlog`, as for the
 * `.sig` format.
 *
 * The bundle is the one layer of an OCI artifact manifest whose `subject` is the image: a registry
 * with the referrers API indexes it by itself (it answers the manifest PUT with `OCI-Subject`); for
 * one without, the manifest is added to the OCI index under the fallback tag `sha256-<hex>`
 * (distribution spec, "referrers tag schema"), as cosign does.
 *
 * The bundle and DSSE structures come from `@sigstore/bundle` and the pre-authentication encoding
 * from `@sigstore/core`; the ECDSA signature is Node's.
 */
import { createHash, sign as cryptoSign } from 'node:crypto';
import { bundleToJSON, toDSSEBundle } from '@sigstore/bundle';
import { preAuthEncoding } from '@sigstore/core/dist/dsse';
import { MediaType, type Descriptor } from '../types';
import { COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, SIGSTORE_BUNDLE_MEDIA_TYPE } from './bundle';
import { sha256Digest, type Blob } from './cosign';
import type { SigningKey } from './keys';

export const OCI_EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
const EMPTY_CONFIG = Buffer.from('{}');
const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** A signed bundle, ready to attach: blobs first, then `manifest` by its digest. */
export interface BundleReferrer {
  /** The empty config and the bundle. */
  blobs: Blob[];
  manifest: Buffer;
  mediaType: string;
  digest: string;
  /** The entry for the referrers index (fallback tag), with its artifactType. */
  indexEntry: Descriptor;
  bundle: Buffer;
}

export interface SignBundleOptions {
  /** The signed image: its manifest digest, media type and size (the referrer's `subject`). */
  subject: Pick<Descriptor, 'digest' | 'mediaType' | 'size'>;
  key: SigningKey;
}

/** The key hint cosign writes: base64 of the SHA-256 of the DER (SPKI) public key. */
export function publicKeyHint(key: SigningKey): string {
  return createHash('sha256').update(key.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

/** The in-toto statement cosign signs for an image: its digest as the subject, cosign's sign predicate. */
export function signStatement(imageDigest: string): Buffer {
  const statement = {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ digest: { sha256: imageDigest.slice('sha256:'.length) } }],
    predicateType: COSIGN_SIGN_PREDICATE_TYPE,
    predicate: {},
  };
  return Buffer.from(JSON.stringify(statement), 'utf8');
}

/** Signs `statement` (an in-toto statement) into a Sigstore bundle v0.3, as JSON bytes. */
export function dsseBundle(statement: Buffer, key: SigningKey): Buffer {
  const pae = preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement);
  const signature = cryptoSign('sha256', pae, { key: key.privateKey, dsaEncoding: 'der' });
  const bundle = toDSSEBundle({ artifact: statement, artifactType: IN_TOTO_PAYLOAD_TYPE, signature, keyHint: publicKeyHint(key) });
  // The hint names the key in the verification material only, as cosign writes it: a DSSE verifier
  // (sigstore-go) skips a signature whose keyid differs from its verifier's, and cosign's has none.
  for (const sig of bundle.content.dsseEnvelope.signatures) sig.keyid = '';
  return Buffer.from(JSON.stringify(bundleToJSON(bundle)), 'utf8');
}

/** The OCI artifact manifest that attaches `bundle` to `subject`, as cosign v3 writes it (no timestamp). */
export function bundleReferrer(bundle: Buffer, subject: SignBundleOptions['subject'], predicateType: string, content = 'dsse-envelope'): BundleReferrer {
  const config: Blob = { descriptor: { mediaType: OCI_EMPTY_MEDIA_TYPE, digest: sha256Digest(EMPTY_CONFIG), size: EMPTY_CONFIG.length }, bytes: EMPTY_CONFIG };
  const layer: Blob = { descriptor: { mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, digest: sha256Digest(bundle), size: bundle.length }, bytes: bundle };
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    config: config.descriptor,
    layers: [layer.descriptor],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { 'dev.sigstore.bundle.content': content, 'dev.sigstore.bundle.predicateType': predicateType },
  }), 'utf8');
  const digest = sha256Digest(manifest);
  return {
    blobs: [config, layer],
    manifest,
    mediaType: MediaType.OciManifest,
    digest,
    indexEntry: { mediaType: MediaType.OciManifest, digest, size: manifest.length, artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE },
    bundle,
  };
}

/** Signs the image in the bundle format: a cosign sign/v1 statement in a DSSE bundle, and its referrer manifest. */
export function signImageBundle(opts: SignBundleOptions): BundleReferrer {
  return bundleReferrer(dsseBundle(signStatement(opts.subject.digest), opts.key), opts.subject, COSIGN_SIGN_PREDICATE_TYPE);
}

/**
 * The referrers index under the fallback tag with `entry` added (or the same bytes when it is there
 * already): `existing` is the index's current bytes, or undefined when the tag does not exist.
 */
export function addToReferrersIndex(existing: Buffer | undefined, entry: Descriptor): { bytes: Buffer; changed: boolean } {
  const index = existing ? (JSON.parse(existing.toString('utf8')) as { manifests?: Descriptor[] } & Record<string, unknown>) : { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
  const manifests = Array.isArray(index.manifests) ? index.manifests : [];
  if (manifests.some((m) => m.digest === entry.digest)) return { bytes: existing!, changed: false };
  return { bytes: Buffer.from(JSON.stringify({ ...index, manifests: [...manifests, entry] }), 'utf8'), changed: true };
}
