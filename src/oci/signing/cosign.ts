/**
 * cosign's key-based image signatures (the "legacy" `.sig` tag format that `cosign sign --key`
 * writes with `--new-bundle-format=false`, and that `cosign verify --key` v2 and v3 read):
 *
 * - the payload is a "simple signing" JSON document naming the repository and the manifest digest,
 *   exactly as sigstore's `payload.Cosign.MarshalJSON` writes it;
 * - the signature is ECDSA P-256 over SHA-256 of the payload bytes, ASN.1 DER, base64 (standard, padded);
 * - the signature image is tagged `sha256-<hex>.sig` in the image's repository: an OCI manifest whose
 *   config is a go-containerregistry "empty image" config with one diff_id per layer, and one layer per
 *   signature (the payload bytes, media type `application/vnd.dev.cosign.simplesigning.v1+json`,
 *   annotation `dev.cosignproject.cosign/signature`). A new signature is appended to the existing image,
 *   unless the same payload is already there with a signature our key verifies (cosign's dupe detector).
 *
 * Everything here is pure: it takes bytes and returns bytes; the caller pushes them.
 */
import * as crypto from 'node:crypto';
import { CleanimgError } from '../../errors';
import { MediaType, type Descriptor, type ImageSource } from '../types';
import { GO_ZERO_TIME, goConfigFile, goManifest, goObject, goString, goValue, type GoManifestFields } from './gojson';
import type { SigningKey } from './keys';
import { sha256Digest } from '../digest';

export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';
export const SIMPLE_SIGNING_MEDIA_TYPE = MediaType.CosignSimpleSigning;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

function sigError(code: string, where: string, message: string, fix: string): CleanimgError {
  return new CleanimgError('signing refused', [{ code, path: where, message, fix }]);
}

function requireDigest(digest: string, where: string): void {
  if (!DIGEST_RE.test(digest)) {
    throw sigError('SIG010', where, `"${digest}" is not a sha256 manifest digest`, 'pass the pushed manifest digest, `sha256:` followed by 64 lowercase hex digits');
  }
}

/** The tag cosign stores an image's signatures under: `sha256:<hex>` → `sha256-<hex>.sig`. */
export function signatureTag(imageDigest: string): string {
  requireDigest(imageDigest, 'digest');
  return `${imageDigest.replace(':', '-')}.sig`;
}

const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * The repository name as go-containerregistry's `Repository.Name()` writes it, which is what cosign
 * puts in `docker-reference`: Docker Hub names get `index.docker.io/` (and `library/` for official
 * images); a tag or digest is refused (cosign signs the repository, not the tag).
 */
export function dockerReference(repository: string): string {
  const where = 'docker-reference';
  if (repository.includes('@') || repository.split('/').pop()!.includes(':')) {
    throw sigError('SIG011', where, `"${repository}" carries a tag or digest`, 'pass the repository alone, e.g. `registry.example.com/team/app`');
  }
  const parts = repository.split('/');
  let registry = '';
  if (parts.length > 1 && (parts[0]!.includes('.') || parts[0]!.includes(':') || parts[0] === 'localhost')) {
    registry = parts.shift()!;
  }
  if (registry === '' || registry === 'docker.io' || registry === 'index.docker.io') {
    registry = 'index.docker.io';
    if (parts.length === 1) parts.unshift('library');
  }
  if (!/^[a-zA-Z0-9.-]+(:[0-9]+)?$/.test(registry) && !/^\[[0-9a-fA-F:]+\](:[0-9]+)?$/.test(registry)) {
    throw sigError('SIG011', where, `"${registry}" is not a registry host`, 'pass a repository like `registry.example.com/team/app`');
  }
  for (const c of parts) {
    if (!COMPONENT_RE.test(c)) {
      throw sigError('SIG011', where, `repository component "${c}" is not valid (lowercase letters, digits, separators . _ __ -)`, 'pass a valid repository name');
    }
  }
  return `${registry}/${parts.join('/')}`;
}

/**
 * The simple-signing payload, byte for byte as cosign writes it:
 * `{"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},"type":"cosign container image signature"},"optional":null}`.
 * `annotations` (cosign's `-a key=value`) go in `optional`, keys sorted as Go writes a map.
 * `docker-reference` is written as given: pass the output of {@link dockerReference}.
 */
export function simpleSigningPayload(dockerRef: string, imageDigest: string, annotations?: Record<string, string>): Buffer {
  requireDigest(imageDigest, 'digest');
  const optional = annotations && Object.keys(annotations).length ? goValue(annotations) : 'null';
  const json = goObject([
    [
      'critical',
      goObject([
        ['identity', goObject([['docker-reference', goString(dockerRef)]])],
        ['image', goObject([['docker-manifest-digest', goString(imageDigest)]])],
        ['type', goString(COSIGN_SIGNATURE_TYPE)],
      ]),
    ],
    ['optional', optional],
  ]);
  return Buffer.from(json, 'utf8');
}

/** ECDSA P-256 / SHA-256 signature over the payload bytes, DER, base64: the annotation value cosign writes. */
export function signPayload(payload: Uint8Array, key: SigningKey): string {
  return crypto.sign('sha256', payload, { key: key.privateKey, dsaEncoding: 'der' }).toString('base64');
}

/** True when `b64sig` is a valid signature of `payload` by `publicKey` (DER ECDSA, SHA-256). */
export function verifyPayloadSignature(payload: Uint8Array, b64sig: string, publicKey: crypto.KeyObject): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64sig)) return false;
  const sig = Buffer.from(b64sig, 'base64');
  try {
    return crypto.verify('sha256', payload, { key: publicKey, dsaEncoding: 'der' }, sig);
  } catch {
    return false;
  }
}

export { sha256Digest };

export interface Blob {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** What the caller pushes: blobs first (skip those the repository has), then the manifest under `tag`. */
export interface SignatureImage {
  /** `sha256-<hex>.sig`, in the signed image's repository. */
  tag: string;
  manifest: Buffer;
  mediaType: string;
  /** Digest of `manifest`. */
  digest: string;
  /** The config and the new signature layer. Layers of an existing signature image are referenced, not repeated: they are already in the repository. */
  blobs: Blob[];
  /** False when an equal signature by the same key was already there (nothing needs pushing; `manifest` is the existing one). */
  appended: boolean;
  /** The payload that was signed and its base64 signature. */
  payload: Buffer;
  signature: string;
}

/** An existing signature image, as read from the repository: its manifest bytes and config bytes. */
export interface ExistingSignatureImage {
  manifest: Uint8Array;
  config: Uint8Array;
}

export interface SignImageOptions {
  /** The signed image's manifest digest, `sha256:<hex>`. */
  imageDigest: string;
  /** The repository (no tag): normalised with {@link dockerReference} for the payload. */
  repository: string;
  key: SigningKey;
  /** cosign's `-a key=value` annotations, written to the payload's `optional`. */
  annotations?: Record<string, string>;
  /** The `.sig` image already in the repository, if any: the new signature is appended to it. */
  existing?: ExistingSignatureImage | null;
}

/** go-containerregistry's empty image config, given OCI media types as cosign does. */
function emptyConfig(): Record<string, unknown> {
  return { architecture: '', created: GO_ZERO_TIME, os: '', rootfs: { type: 'layers', diff_ids: [] }, config: {} };
}

function parseExisting(existing: ExistingSignatureImage): { manifest: GoManifestFields; config: Record<string, unknown> } {
  const where = 'signature image';
  let manifest: GoManifestFields;
  let config: Record<string, unknown>;
  try {
    manifest = JSON.parse(Buffer.from(existing.manifest).toString('utf8')) as GoManifestFields;
    config = JSON.parse(Buffer.from(existing.config).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw sigError('SIG012', where, 'the existing signature manifest or config is not JSON', 'delete the broken `sha256-<hex>.sig` tag, then sign again');
  }
  const okMedia = manifest?.mediaType === undefined || manifest.mediaType === MediaType.OciManifest || manifest.mediaType === MediaType.DockerManifest;
  if (!manifest || manifest.schemaVersion !== 2 || !okMedia || !manifest.config || !Array.isArray(manifest.layers)) {
    throw sigError('SIG012', where, 'the existing `.sig` tag is not an image manifest', 'delete the `sha256-<hex>.sig` tag (it is not a cosign signature image), then sign again');
  }
  if (sha256Digest(existing.config) !== manifest.config.digest) {
    throw sigError('SIG012', where, 'the existing signature config does not match its digest in the manifest', 'pass the config blob the manifest names');
  }
  if (manifest.layers.length >= 1000) {
    throw sigError('SIG013', where, 'the signature image already has 1000 signatures (cosign\'s limit)', 'remove old signatures (`cosign clean`), then sign again');
  }
  return { manifest, config };
}

/**
 * Sign an image digest and build the `.sig` image cosign would push: a fresh one, or `existing` with one
 * more layer. Bad input throws a CleanimgError and returns nothing.
 */
export function signImage(opts: SignImageOptions): SignatureImage {
  const tag = signatureTag(opts.imageDigest);
  const ref = dockerReference(opts.repository);
  const payload = simpleSigningPayload(ref, opts.imageDigest, opts.annotations);
  const payloadDigest = sha256Digest(payload);

  const base = cosignImageBase(opts.existing);
  if (opts.existing) {
    // cosign's dupe detector: same payload, same media type, no new annotations, and a signature our key verifies.
    for (const layer of base.manifest.layers) {
      const existingSig = layer.annotations?.[SIGNATURE_ANNOTATION];
      if (layer.digest === payloadDigest && layer.mediaType === SIMPLE_SIGNING_MEDIA_TYPE && existingSig && verifyPayloadSignature(payload, existingSig, opts.key.publicKey)) {
        const manifest = Buffer.from(opts.existing.manifest);
        return {
          tag,
          manifest,
          mediaType: base.manifest.mediaType ?? MediaType.OciManifest,
          digest: sha256Digest(manifest),
          blobs: [],
          appended: false,
          payload,
          signature: existingSig,
        };
      }
    }
  }

  const signature = signPayload(payload, opts.key);
  const image = appendLayer(base, payload, SIMPLE_SIGNING_MEDIA_TYPE, { [SIGNATURE_ANNOTATION]: signature });
  return { tag, ...image, appended: true, payload, signature };
}

/** A cosign image (`.sig` or `.att` tag) as parsed: its manifest fields and config. */
export type CosignImageBase = { manifest: GoManifestFields; config: Record<string, unknown> };

/** A fresh, empty cosign image (go-containerregistry's empty image with OCI media types). */
export function emptyCosignImage(): CosignImageBase {
  return {
    manifest: { schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, size: 0, digest: '' }, layers: [] },
    config: emptyConfig(),
  };
}

/** Parses an existing cosign image (SIG012/SIG013 when it is not one, or is full), or starts an empty one. */
export function cosignImageBase(existing: ExistingSignatureImage | null | undefined): CosignImageBase {
  return existing ? parseExisting(existing) : emptyCosignImage();
}

/**
 * `base` with one more layer (`bytes`, its media type and annotations), as cosign appends one: the
 * config's diff_ids and history grow by one, in Go's JSON. Returns the manifest and the two new blobs.
 */
export function appendLayer(base: CosignImageBase, bytes: Buffer, mediaType: string, annotations: Record<string, string>): Pick<SignatureImage, 'manifest' | 'mediaType' | 'digest' | 'blobs'> {
  const digest = sha256Digest(bytes);
  const layer: Descriptor = { mediaType, size: bytes.length, digest, annotations };
  const rootfs = (base.config.rootfs ?? { type: 'layers' }) as { type?: string; diff_ids?: string[] };
  const history = Array.isArray(base.config.history) ? [...(base.config.history as object[])] : [];
  const config = { ...base.config, rootfs: { ...rootfs, diff_ids: [...(rootfs.diff_ids ?? []), digest] }, history: [...history, {}] };
  const configBytes = Buffer.from(goConfigFile(config), 'utf8');
  const configDesc: Descriptor = { mediaType: base.manifest.config.mediaType, size: configBytes.length, digest: sha256Digest(configBytes) };
  const manifestBytes = Buffer.from(goManifest({ ...base.manifest, config: { ...base.manifest.config, ...configDesc }, layers: [...base.manifest.layers, layer] }), 'utf8');
  return {
    manifest: manifestBytes,
    mediaType: base.manifest.mediaType ?? MediaType.OciManifest,
    digest: sha256Digest(manifestBytes),
    blobs: [{ descriptor: configDesc, bytes: configBytes }, { descriptor: { mediaType, size: bytes.length, digest }, bytes }],
  };
}

/** True for the "manifest not found" errors of our registry client (REG003). Pass your own for other sources. */
export function isManifestNotFound(err: unknown): boolean {
  return err instanceof CleanimgError && err.problems.some((p) => p.code === 'REG003');
}

/**
 * Read the `.sig` image already stored for `imageDigest`, or null when there is none. Any other failure
 * (network, auth) is thrown: signing must not replace a signature image it could not read, or other
 * signatures would be lost.
 */
export async function readExistingSignatureImage(
  source: ImageSource,
  imageDigest: string,
  isNotFound: (err: unknown) => boolean = isManifestNotFound,
  tag = signatureTag(imageDigest),
): Promise<ExistingSignatureImage | null> {
  let manifest: Buffer;
  try {
    manifest = (await source.getManifest(tag)).bytes;
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
  let configDigest: unknown;
  try {
    configDigest = (JSON.parse(manifest.toString('utf8')) as { config?: { digest?: unknown } }).config?.digest;
  } catch {
    configDigest = undefined;
  }
  if (typeof configDigest !== 'string') {
    throw sigError('SIG012', `${source.name}:${tag}`, 'the existing `.sig` tag is not an image manifest', 'delete the `sha256-<hex>.sig` tag (it is not a cosign signature image), then sign again');
  }
  return { manifest, config: await source.getBlob(configDigest) };
}

/** Read any existing `.sig` image from `source`, then sign: what `--sign-key` needs before pushing. */
export async function prepareSignature(
  source: ImageSource,
  opts: Omit<SignImageOptions, 'existing'>,
  isNotFound?: (err: unknown) => boolean,
): Promise<SignatureImage> {
  const existing = await readExistingSignatureImage(source, opts.imageDigest, isNotFound);
  return signImage({ ...opts, existing });
}

/** One line about an error for a report: a CleanimgError's first problem, else the message's first line. */
export function errorText(e: unknown): string {
  if (e instanceof CleanimgError && e.problems.length) return `${e.problems[0]!.code} ${e.problems[0]!.message}`;
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}
