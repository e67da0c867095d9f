/**
 * Fill the content-addressed base cache once, so later builds (and `cdk8s synth`) read the base
 * offline: `cleanimg-customize pull REF@sha256:…` copies the pinned image (an index with the chosen
 * platforms, or one manifest), its configs and layers into `<cache>/images/sha256-<hex>`, every blob
 * verified against its digest. An entry appears only when complete (the layout is assembled in a temp
 * folder and renamed), and an entry already present is not fetched again.
 * This is the only place the base cache touches the network, and only when a person or pipeline runs it.
 */
import { existsSync } from 'node:fs';
import { CleanimgError } from '../errors';
import { sha256Digest } from '../oci/image';
import { LayoutWriter } from '../oci/layout';
import { isIndexMediaType } from '../oci/platform';
import type { Reference } from '../oci/reference';
import type { RegistryImageSource } from '../oci/registry';
import type { Descriptor, FetchedManifest, ImageIndex, ImageManifest } from '../oci/types';
import { cachedLayoutDir } from './base-image';

export interface PullOptions {
  readonly source: RegistryImageSource;
  /** Must carry a digest. */
  readonly ref: Reference;
  readonly cacheDir: string;
  /** For an index: copy only these architectures (the index itself is kept whole). @default all */
  readonly arches?: readonly string[];
}

export interface PullResult {
  readonly dir: string;
  readonly digest: string;
  /** False when the cache already held the image. */
  readonly fetched: boolean;
  readonly manifests: number;
  readonly blobs: number;
}

const PULL_TAG = 'base';

function verified(m: FetchedManifest, digest: string, where: string): FetchedManifest {
  const got = sha256Digest(m.bytes);
  if (got !== digest) {
    throw new CleanimgError(`${where} served other content`, [{ code: 'BASE002', path: where, message: `asked for ${digest}, got ${got}`, fix: 'do not trust this registry or mirror; check it' }]);
  }
  return m;
}

export async function pullToCache(opts: PullOptions): Promise<PullResult> {
  const digest = opts.ref.digest;
  if (!digest) {
    throw new CleanimgError('pull needs a pinned reference', [{ code: 'PULL001', path: 'ref', message: 'the reference has no digest', fix: 'pass name[:tag]@sha256:<digest>, as in the spec\'s base_image' }]);
  }
  const dir = cachedLayoutDir(opts.cacheDir, digest);
  if (existsSync(dir)) return { dir, digest, fetched: false, manifests: 0, blobs: 0 };
  const src = opts.source;
  const top = verified(await src.getManifest(digest), digest, src.name);
  const manifests: FetchedManifest[] = [];
  const topJson = JSON.parse(top.bytes.toString('utf8')) as Partial<ImageIndex & ImageManifest>;
  if (isIndexMediaType(topJson.mediaType ?? top.mediaType) || (Array.isArray(topJson.manifests) && !topJson.config)) {
    const wanted = (topJson.manifests ?? []).filter((d) => !opts.arches || (d.platform && opts.arches.includes(d.platform.architecture)));
    if (wanted.length === 0) {
      throw new CleanimgError('nothing to pull', [{ code: 'PULL002', path: '--arch', message: `the index has no manifest for ${opts.arches?.join(', ')}`, fix: 'choose an architecture the index offers' }]);
    }
    for (const d of wanted) manifests.push(verified(await src.getManifest(d.digest), d.digest, src.name));
  }
  const images = manifests.length ? manifests : [top];
  const w = await LayoutWriter.open(dir);
  let blobs = 0;
  try {
    for (const m of images) {
      const j = JSON.parse(m.bytes.toString('utf8')) as ImageManifest;
      if (!j.config || !Array.isArray(j.layers)) throw new CleanimgError('not an image', [{ code: 'PULL003', path: m.digest, message: 'the manifest has no config or layers', fix: 'pin an image or an image index' }]);
      await w.putBytes(await src.getBlob(j.config.digest), j.config.digest);
      for (const l of j.layers as Descriptor[]) {
        if (await w.hasBlob(l.digest)) continue;
        await w.putStream(await src.openBlob(l.digest), l.digest);
        blobs++;
      }
      blobs++;
      await w.putBytes(m.bytes, m.digest);
    }
    await w.putBytes(top.bytes, digest);
    await w.commit({ mediaType: topJson.mediaType ?? top.mediaType, digest, size: top.bytes.length }, opts.ref.tag ?? PULL_TAG);
  } catch (e) {
    await w.abort();
    if (existsSync(dir)) return { dir, digest, fetched: false, manifests: 0, blobs: 0 };
    throw e;
  }
  return { dir, digest, fetched: true, manifests: images.length, blobs };
}
