/**
 * Publish an image from an OCI layout exactly as it is there: the bytes of its manifest (and index)
 * are sent unchanged, so the registry holds the digest that `cdk8s synth` (CustomizedImage) pinned.
 *
 * Order: every blob the registry lacks (HEAD, optional cross-repository mount, upload streamed from the
 * layout), then each platform manifest by digest, then an index by digest, and the tag last. Everything
 * in the layout is checked before anything is sent, so a broken layout pushes nothing and moves no tag.
 */
import { createReadStream } from 'node:fs';
import { CleanimgError } from '../errors';
import { sha256Digest } from '../oci/image';
import { blobPath, LayoutImageSource } from '../oci/layout';
import { isIndexMediaType } from '../oci/platform';
import { refName, type Reference } from '../oci/reference';
import type { RegistryClient } from '../oci/registry';
import type { Descriptor, FetchedManifest, ImageIndex, ImageManifest } from '../oci/types';
import type { BlobOutcome, PushProgress } from './push';

export interface PushLayoutOptions {
  /** The layout folder. */
  readonly layout: string;
  /** A tag in the layout's index.json, or a manifest digest. */
  readonly layoutRef: string;
  readonly target: RegistryClient;
  /** Where to publish; with a tag, the tag is moved last. */
  readonly ref: Reference;
  /** A repository on the target registry to mount blobs from (e.g. the base's). */
  readonly mountFrom?: string;
  /** The digest the caller expects (e.g. the one synth pinned); refused before any upload when it differs. */
  readonly expectDigest?: string;
  readonly onProgress?: PushProgress;
}

export interface PushLayoutResult {
  /** `registry/repository@sha256:…` */
  readonly pinned: string;
  readonly digest: string;
  readonly tag?: string;
  readonly blobs: readonly BlobOutcome[];
  readonly bytesUploaded: number;
}

interface Plan {
  readonly blobs: Descriptor[];
  /** Manifests in push order (children before their index). */
  readonly manifests: FetchedManifest[];
  readonly top: FetchedManifest;
}

function pushError(path: string, message: string, fix: string, code = 'PUSH010'): CleanimgError {
  return new CleanimgError(`cannot push ${path}`, [{ code, path, message, fix }]);
}

async function plan(src: LayoutImageSource, ref: string): Promise<Plan> {
  const top = await src.getManifest(ref);
  const blobs = new Map<string, Descriptor>();
  const manifests: FetchedManifest[] = [];
  const visit = async (m: FetchedManifest, depth: number) => {
    const j = JSON.parse(m.bytes.toString('utf8')) as Partial<ImageManifest & ImageIndex>;
    const mediaType = j.mediaType ?? m.mediaType;
    if (isIndexMediaType(mediaType) || (Array.isArray(j.manifests) && !j.config)) {
      if (depth > 1) throw pushError(src.name, 'nested image indexes are not supported', 'push a single image or a one-level index');
      for (const d of j.manifests ?? []) await visit(await src.getManifest(d.digest), depth + 1);
    } else {
      if (!j.config || !Array.isArray(j.layers)) throw pushError(src.name, `${m.digest} is not an image manifest`, 'point --layout at an image');
      for (const d of [j.config, ...j.layers]) {
        if (!(await src.hasBlob(d.digest))) {
          throw pushError(src.name, `blob ${d.digest} is missing from the layout`, 'rebuild the layout (cdk8s synth, or cleanimg-customize build --output-layout)', 'LAYOUT003');
        }
        blobs.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size });
      }
    }
    if (sha256Digest(m.bytes) !== m.digest) throw pushError(src.name, `manifest ${m.digest} has other content`, 'the layout is corrupt; rebuild it', 'LAYOUT005');
    manifests.push({ ...m, mediaType });
  };
  await visit(top, 0);
  return { blobs: [...blobs.values()], manifests, top: manifests[manifests.length - 1]! };
}

/** Push the image `layoutRef` of an OCI layout to `ref`, bytes unchanged; the tag moves last. */
export async function pushLayoutImage(opts: PushLayoutOptions): Promise<PushLayoutResult> {
  const src = await LayoutImageSource.open(opts.layout);
  const p = await plan(src, opts.layoutRef);
  if (opts.expectDigest && p.top.digest !== opts.expectDigest) {
    throw pushError(`${opts.layout}:${opts.layoutRef}`, `the layout holds ${p.top.digest}, not the expected ${opts.expectDigest}`, 'synthesize again, or push the layout the deployment was synthesized from', 'PUSH011');
  }
  const { target, ref } = opts;
  const repo = ref.repository;
  const blobs: BlobOutcome[] = [];
  let bytesUploaded = 0;
  for (const [i, d] of p.blobs.entries()) {
    const what = `blob ${i + 1}/${p.blobs.length}`;
    const outcome = await target.pushBlob(repo, d, () => createReadStream(blobPath(src.dir, d.digest)), {
      ...(opts.mountFrom ? { from: opts.mountFrom } : {}),
      ...(opts.onProgress ? { onProgress: (sent: number, total: number) => opts.onProgress!({ what, digest: d.digest, sent, total }) } : {}),
    });
    if (outcome === 'uploaded') bytesUploaded += d.size;
    blobs.push({ what, digest: d.digest, size: d.size, outcome });
  }
  for (const m of p.manifests) {
    const got = await target.putManifest(repo, m.digest, m.bytes, m.mediaType);
    if (got !== m.digest) {
      throw pushError(refName(ref), `pushed ${m.digest}, registry answered ${got}`, 'the registry rewrote the manifest; do not use it for pinned deployments', 'PUSH002');
    }
  }
  if (ref.tag) await target.putManifest(repo, ref.tag, p.top.bytes, p.top.mediaType);
  return { pinned: `${refName(ref)}@${p.top.digest}`, digest: p.top.digest, ...(ref.tag ? { tag: ref.tag } : {}), blobs, bytesUploaded };
}
