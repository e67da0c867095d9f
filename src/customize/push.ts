/**
 * Publishing a built overlay: blobs the registry lacks (HEAD, then a cross-repository mount from the
 * base's repository, then upload), the manifest by digest, the signature, and only then the tag — so
 * a failure at any step leaves the tag where it was.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { CleanimgError } from '../errors';
import { refName, type Reference } from '../oci/reference';
import type { PushBlobResult, RegistryClient, StreamingUpload } from '../oci/registry';
import type { SigningKey } from '../oci/signing';
import type { AttachedSignatures, SignatureFormat } from '../oci/signing/attach';
import type { AttachedAttestation } from '../oci/signing/attest';
import type { Descriptor } from '../oci/types';
import type { BuildOverlayResult } from './build';

export interface PushProgress {
  /** Called as bytes of a blob are sent. */
  (event: { what: string; digest: string; sent: number; total: number }): void;
}

export interface PushOverlayOptions {
  /** Client for the target registry. */
  readonly target: RegistryClient;
  /** Where to publish: repository and tag (a digest in the reference is ignored). */
  readonly ref: Reference;
  /** The base's repository reference (for cross-repository mounts, or to copy from another registry). */
  readonly baseRef: Reference;
  /** Client for the base's registry when it is not the target's. */
  readonly baseClient?: RegistryClient;
  /** Where base layers come from when the target lacks them and cannot mount them (e.g. a local OCI layout); default the base's registry. */
  readonly openBaseLayer?: (layer: Descriptor) => Promise<NodeJS.ReadableStream>;
  /** Sign the pushed digest with this key before the tag is moved. */
  readonly signingKey?: SigningKey;
  /** Which signature formats to attach. @default legacy */
  readonly signatureFormat?: SignatureFormat;
  /** With signingKey: also attach the SBOM and provenance attestations (attestations.ts), in the signature's format(s). */
  readonly attest?: { readonly builderVersion: string; readonly specDir: string };
  readonly onProgress?: PushProgress;
  /**
   * The overlay layer, uploaded while it was built: `committed` is LayerStreamer.commit's answer (true:
   * the registry has it; false: it is uploaded from the file as usual), awaited while the other blobs
   * are checked and sent; absent means committed already. A streamed layer also means the tag did not
   * exist when the build began (the CLI streams only then), so the tag is not HEADed again.
   */
  readonly streamedLayer?: { readonly digest: string; readonly committed?: Promise<boolean> };
}

export interface BlobOutcome {
  readonly what: string;
  readonly digest: string;
  readonly size: number;
  readonly outcome: PushBlobResult;
}

export interface PushOverlayResult {
  /** `registry/repository@sha256:...` */
  readonly pinned: string;
  readonly digest: string;
  readonly tag?: string;
  readonly blobs: readonly BlobOutcome[];
  /**
   * True when the tag already named this manifest: nothing was sent (the blobs are reported as
   * `exists`, known from the manifest, not HEADed one by one).
   */
  readonly upToDate: boolean;
  /** Bytes actually uploaded (blobs the registry already had or mounted are not counted). */
  readonly bytesUploaded: number;
  /** The `.sig` tag signature (formats legacy and both). */
  readonly signature?: { readonly tag: string; readonly digest: string; readonly appended: boolean };
  /** The Sigstore bundle referrer (formats bundle and both). */
  readonly bundleSignature?: AttachedSignatures['bundle'];
  /** The attestations attached (with `attest`). */
  readonly attestations?: readonly AttachedAttestation[];
}

/**
 * Uploads the overlay layer while buildOverlay builds it (a cold build: the layer is not in the cache).
 * Pass `onData` as buildOverlay's `onLayerData`; after the build, `commit(build)` closes the upload
 * (true: the registry has the layer; pass `streamedLayer` to pushOverlay), or `abort()` when the build
 * failed. Nothing is referenced by a manifest or tag until pushOverlay runs, so a build refused after
 * its layer was streamed leaves at most an unreferenced blob in the registry (garbage collection
 * removes it), never a tag. Costs: the upload session starts before the digest is known, so a
 * registry that already has this layer receives it again. `streamIf` limits that: it is asked once,
 * when the first byte is built, and when it answers false (the CLI's answer: the tag already exists,
 * i.e. a re-push, most likely of the same layer, e.g. from a CI machine with an empty cache) the layer
 * is only built, and pushOverlay HEADs it before uploading it. With a warm cache the layer is HEADed
 * first, as before.
 */
export class LayerStreamer {
  private upload: Promise<StreamingUpload> | undefined;
  private decision: Promise<boolean> | undefined;
  /** The commit started by onBuilt, for the blob it was started for. */
  private early: { digest: string; size: number; committed: Promise<boolean> } | undefined;

  constructor(
    private readonly target: RegistryClient,
    private readonly repository: string,
    private readonly streamIf: () => Promise<boolean> = async () => true,
  ) {}

  readonly onData = async (chunk: Uint8Array): Promise<void> => {
    if (!(await (this.decision ??= this.streamIf()))) return;
    this.upload ??= this.target.startStreamingUpload(this.repository);
    await (await this.upload).write(chunk);
  };

  /**
   * Pass as buildOverlay's `onLayerBuilt`: closes the upload as soon as the last byte is built (while the
   * layer file is flushed to disk and the image config is written), so the registry's finishing work
   * overlaps ours. commit() then returns this result, for the same digest and size only.
   */
  readonly onBuilt = (blob: { readonly digest: string; readonly size: number }): void => {
    if (!this.upload || this.early) return;
    const committed = this.upload.then((u) => u.commit(blob.digest, blob.size));
    committed.catch(() => undefined); // awaited by commit() or abort()
    this.early = { digest: blob.digest, size: blob.size, committed };
  };

  /** Whether any bytes were streamed (the layer was built, not taken from the cache, and streamIf said yes). */
  get started(): boolean {
    return this.upload !== undefined;
  }

  /** Commits the streamed layer under its digest; false when nothing was streamed or the upload failed. */
  async commit(build: BuildOverlayResult): Promise<boolean> {
    if (!this.upload) return false;
    const { digest, size } = build.layer.descriptor;
    if (this.early) return this.early.digest === digest && this.early.size === size && (await this.early.committed.catch(() => false));
    return (await this.upload).commit(digest, size);
  }

  /**
   * The build failed: cancel the upload. When onBuilt had already closed it, the blob stays in the
   * registry unreferenced (no manifest, no tag: garbage collection removes it), as a cancelled session's
   * bytes would have been sent anyway.
   */
  async abort(): Promise<void> {
    if (this.early) {
      await this.early.committed.catch(() => false);
      return;
    }
    if (this.upload) await (await this.upload).cancel();
  }
}

function streamOf(bytes: Buffer): () => Readable {
  return () => Readable.from([bytes]);
}

/** Pushes a built overlay (and its signature); moves the tag last. */
export async function pushOverlay(build: BuildOverlayResult, opts: PushOverlayOptions): Promise<PushOverlayResult> {
  const { target, ref } = opts;
  const repo = ref.repository;
  const sameRegistry = !opts.baseClient || opts.baseClient === target || opts.baseClient.registry === target.registry;
  let bytesUploaded = 0;

  const push = async (what: string, desc: Pick<Descriptor, 'digest' | 'size'>, open: () => Readable | AsyncIterable<Uint8Array>, from?: string, isNew = false): Promise<BlobOutcome> => {
    const outcome = await target.pushBlob(repo, desc, open, {
      ...(from ? { from } : {}),
      ...(isNew ? { isNew } : {}),
      ...(opts.onProgress ? { onProgress: (sent: number, total: number) => opts.onProgress!({ what, digest: desc.digest, sent, total }) } : {}),
    });
    if (outcome === 'uploaded') bytesUploaded += desc.size;
    return { what, digest: desc.digest, size: desc.size, outcome };
  };

  // Up to date already? When the tag names exactly this manifest, the registry holds it and every blob
  // it references (a registry accepts a manifest only when its blobs are present, and keeps them while
  // it is referenced), so one HEAD replaces the blob HEADs and both manifest PUTs, as
  // go-containerregistry's remote.Write does. A registry without the tag, or with another digest under
  // it, gets the full push below.
  // A failing HEAD (some registries answer 401/403 for a repository that does not exist yet) only
  // means "push everything": the real errors surface there.
  const current = ref.tag && !opts.streamedLayer ? await target.headManifest(repo, ref.tag).catch(() => undefined) : undefined;
  const upToDate = current?.digest === build.manifestDigest;

  // Base layers: the registry usually has them (same repository) or mounts them (same registry).
  // Only when it can do neither (another registry, or a refused mount) are they streamed across from
  // the base's repository, never held in memory. All blobs are checked (and sent) concurrently.
  const baseClient = opts.baseClient ?? target;
  const work: { what: string; desc: Pick<Descriptor, 'digest' | 'size'>; open: () => Readable | AsyncIterable<Uint8Array>; from?: string; isNew?: boolean }[] = [];
  for (const [i, layer] of build.baseLayers.entries()) {
    const open = opts.openBaseLayer ? () => streamAwaited(opts.openBaseLayer!(layer)) : () => streamFrom(baseClient, opts.baseRef.repository, layer);
    work.push({ what: `base layer ${i + 1}/${build.baseLayers.length}`, desc: layer, open, ...(sameRegistry && !opts.openBaseLayer ? { from: opts.baseRef.repository } : {}) });
  }
  work.push({ what: 'overlay layer', desc: build.layer.descriptor, open: () => createReadStream(build.layer.path) });
  // A streamed layer was built for a tag that did not exist, and its config names that layer: almost
  // surely new too, so it is sent without a HEAD first (one round trip less before the manifest; a
  // registry that has it after all receives its few hundred bytes again).
  work.push({ what: 'config', desc: build.configDescriptor, open: streamOf(build.configBytes), ...(opts.streamedLayer ? { isNew: true } : {}) });
  const streamed = (w: (typeof work)[number]) => w.what === 'overlay layer' && opts.streamedLayer?.digest === w.desc.digest;
  const blobs: BlobOutcome[] = upToDate
    ? work.map((w) => ({ what: w.what, digest: w.desc.digest, size: w.desc.size, outcome: 'exists' as const }))
    : await Promise.all(
        work.map(async (w) => {
          if (!streamed(w) || !(await (opts.streamedLayer!.committed ?? true))) return push(w.what, w.desc, w.open, w.from, w.isNew);
          bytesUploaded += w.desc.size; // sent while it was built
          return { what: w.what, digest: w.desc.digest, size: w.desc.size, outcome: 'uploaded' as const };
        }),
      );

  const digest = upToDate ? build.manifestDigest : await target.putManifest(repo, build.manifestDigest, build.manifestBytes, build.manifestMediaType);
  if (digest !== build.manifestDigest) {
    throw new CleanimgError('the registry stored a different manifest', [{ code: 'PUSH002', path: refName(ref), message: `pushed ${build.manifestDigest}, registry answered ${digest}`, fix: 'the registry rewrote the manifest; do not use it for signed images' }]);
  }

  let signed: AttachedSignatures = {};
  let attestations: AttachedAttestation[] | undefined;
  if (opts.signingKey) {
    const { signAndAttach } = await import('../oci/signing/attach.js'); // loaded only to sign (start-up time)
    const subject = { mediaType: build.manifestMediaType, digest, size: build.manifestBytes.length };
    signed = await signAndAttach(target, repo, subject, {
      key: opts.signingKey,
      repository: refName(ref),
      ...(opts.signatureFormat ? { format: opts.signatureFormat } : {}),
      pushBlob: async (what, b) => { blobs.push(await push(what, b.descriptor, streamOf(b.bytes))); },
    });
    if (opts.attest) {
      const [{ overlayAttestations }, { attachAttestations }] = await Promise.all([import('./attestations.js'), import('../oci/signing/attest.js')]);
      const statements = await overlayAttestations(build, refName(ref), digest, opts.attest.builderVersion, opts.attest.specDir);
      attestations = await attachAttestations(target, repo, subject, statements, {
        key: opts.signingKey,
        ...(opts.signatureFormat ? { format: opts.signatureFormat } : {}),
        pushBlob: async (what, b) => { blobs.push(await push(what, b.descriptor, streamOf(b.bytes))); },
      });
    }
  }

  if (ref.tag && !upToDate) await target.putManifest(repo, ref.tag, build.manifestBytes, build.manifestMediaType);
  return {
    pinned: `${refName(ref)}@${digest}`, digest, ...(ref.tag ? { tag: ref.tag } : {}), upToDate, blobs, bytesUploaded,
    ...(signed.legacy ? { signature: signed.legacy } : {}), ...(signed.bundle ? { bundleSignature: signed.bundle } : {}),
    ...(attestations ? { attestations } : {}),
  };
}

async function* streamAwaited(stream: Promise<NodeJS.ReadableStream>): AsyncIterable<Uint8Array> {
  for await (const chunk of await stream) yield chunk as Uint8Array;
}

async function* streamFrom(client: RegistryClient, repo: string, desc: Descriptor): AsyncIterable<Uint8Array> {
  const stream = await client.getBlobStream(repo, desc.digest, desc.size);
  for await (const chunk of stream) yield chunk as Uint8Array;
}
