/**
 * The embedded default base: `cleanimg.dev/base/static:1`, a tiny shell-less root made by our own
 * deterministic layer code, so that `cdk8s synth` (and tests) can build overlays offline on a fresh clone.
 *
 * What it holds (one layer, shared by both platforms):
 * - /etc/passwd and /etc/group with root (0) and nonroot (65532), /etc/nsswitch.conf, /etc/os-release
 * - /etc/ssl/certs/ (empty: the CA location a spec copies a corporate CA into; SSL_CERT_DIR points at it)
 * - /home/nonroot (0700, 65532:65532), /root (0700), /tmp (1777)
 * - no /bin, no shell, no busybox, no package manager
 * Config: User 65532:65532, WorkingDir /home/nonroot, created 1970-01-01T00:00:00Z.
 *
 * It is an OCI image index over linux/amd64 and linux/arm64/v8 (the same layer, one config per
 * platform), so a spec with `arch: amd64` or `arch: arm64` can use it. Every byte comes from the
 * constants below: the digest is the same on every machine and Node version, and changes only when
 * this file changes (then DEFAULT_BASE_DIGEST must be updated, and a test says so).
 *
 * In an OCI layout, the index is tagged `1`, its platform manifests `1-amd64` and `1-arm64`
 * (umoci unpacks single manifests only).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { CleanimgError } from '../errors';
import { canonicalBytes, epochToRfc3339, sha256Digest } from '../oci/image';
import { BASE_IMAGE_CODEC } from '../oci/deflate-segment';
import { buildLayer, type LayerEntry } from '../oci/layer';
import { isLayout, LayoutImageSource, LayoutWriter } from '../oci/layout';
import { MediaType, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, type Platform } from '../oci/types';

export const DEFAULT_BASE_NAME = 'cleanimg.dev/base/static';
export const DEFAULT_BASE_TAG = '1';
/** The index digest of the embedded base, as this version of cleanimg builds it. */
export const DEFAULT_BASE_DIGEST = 'sha256:434e9e0ab7a435965de267ce47950e59b72009bf4f60325caf72ea70971d7c04';
/** `cleanimg.dev/base/static:1@sha256:…`: what a spec writes as base_image to use the embedded base. */
export const DEFAULT_BASE_REF = `${DEFAULT_BASE_NAME}:${DEFAULT_BASE_TAG}@${DEFAULT_BASE_DIGEST}`;

const UID = 65532;

const FILES: ReadonlyArray<{ path: string; content: string; mode: number }> = [
  { path: '/etc/group', content: 'root:x:0:\nnonroot:x:65532:\n', mode: 0o644 },
  { path: '/etc/nsswitch.conf', content: 'passwd: files\ngroup: files\nhosts: files dns\n', mode: 0o644 },
  {
    path: '/etc/os-release',
    content: 'ID=cleanimg-static\nNAME="cleanimg static base"\nVERSION_ID=1\nPRETTY_NAME="cleanimg static base 1 (shell-less, non-root)"\n',
    mode: 0o644,
  },
  {
    path: '/etc/passwd',
    content: 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
    mode: 0o644,
  },
];

const DIRS: ReadonlyArray<{ path: string; mode: number; uid: number }> = [
  { path: '/etc/ssl', mode: 0o755, uid: 0 },
  { path: '/etc/ssl/certs', mode: 0o755, uid: 0 },
  { path: '/home', mode: 0o755, uid: 0 },
  { path: '/home/nonroot', mode: 0o700, uid: UID },
  { path: '/root', mode: 0o700, uid: 0 },
  { path: '/tmp', mode: 0o1777, uid: 0 },
];

const PLATFORMS: readonly Platform[] = [
  { architecture: 'amd64', os: 'linux' },
  { architecture: 'arm64', os: 'linux', variant: 'v8' },
];

export interface DefaultBase {
  /** The OCI layout holding the base (tags `1`, `1-amd64`, `1-arm64`). */
  readonly dir: string;
  /** `cleanimg.dev/base/static:1@sha256:<index digest>`. */
  readonly ref: string;
  /** The index digest. */
  readonly digest: string;
  /** Platform manifest digests by architecture. */
  readonly platforms: Readonly<Record<string, string>>;
}

interface BuiltBase {
  readonly layerPath: string;
  readonly layerDigest: string;
  /** Blobs other than the layer: configs, manifests, index. */
  readonly blobs: ReadonlyArray<Buffer>;
  readonly index: Descriptor;
  readonly manifests: ReadonlyArray<{ arch: string; descriptor: Descriptor }>;
}

async function buildBase(tmpDir: string): Promise<BuiltBase> {
  const files = path.join(tmpDir, 'files');
  await rm(files, { recursive: true, force: true });
  await mkdir(files, { recursive: true });
  const entries: LayerEntry[] = [];
  for (const [i, f] of FILES.entries()) {
    const src = path.join(files, String(i));
    await writeFile(src, f.content);
    entries.push({ path: f.path, kind: 'file', source: src, mode: f.mode, uid: 0, gid: 0 });
  }
  for (const d of DIRS) entries.push({ path: d.path, kind: 'dir', mode: d.mode, uid: d.uid, gid: d.uid });
  // fflate level 6, what it was published with: its digest is pinned in specs and examples, so it must
  // not move when the overlay's compressor does (overlay layers use LAYER_CODEC).
  const layer = await buildLayer(entries, { sourceDateEpoch: 0, tmpDir, parallelism: 0, mediaType: MediaType.OciLayerGzip, codec: BASE_IMAGE_CODEC });
  const created = epochToRfc3339(0);
  const blobs: Buffer[] = [];
  const manifests: { arch: string; descriptor: Descriptor }[] = [];
  for (const p of PLATFORMS) {
    const config: ImageConfig = {
      created,
      architecture: p.architecture,
      os: p.os,
      ...(p.variant ? { variant: p.variant } : {}),
      config: {
        User: `${UID}:${UID}`,
        Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'SSL_CERT_DIR=/etc/ssl/certs'],
        WorkingDir: '/home/nonroot',
        Labels: { 'org.opencontainers.image.title': 'cleanimg static base', 'org.opencontainers.image.version': DEFAULT_BASE_TAG },
      },
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created, created_by: 'cleanimg base static:1', comment: 'shell-less root: passwd, group, os-release, CA folder; user 65532' }],
    } as ImageConfig;
    const configBytes = canonicalBytes(config);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: sha256Digest(configBytes), size: configBytes.length },
      layers: [{ mediaType: MediaType.OciLayerGzip, digest: layer.digest, size: layer.size }],
    };
    const manifestBytes = canonicalBytes(manifest);
    blobs.push(configBytes, manifestBytes);
    manifests.push({ arch: p.architecture, descriptor: { mediaType: MediaType.OciManifest, digest: sha256Digest(manifestBytes), size: manifestBytes.length, platform: p } });
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: manifests.map((m) => m.descriptor) };
  const indexBytes = canonicalBytes(index);
  blobs.push(indexBytes);
  return {
    layerPath: layer.path,
    layerDigest: layer.digest,
    blobs,
    index: { mediaType: MediaType.OciIndex, digest: sha256Digest(indexBytes), size: indexBytes.length },
    manifests,
  };
}

function result(dir: string, b: BuiltBase): DefaultBase {
  return {
    dir,
    ref: `${DEFAULT_BASE_NAME}:${DEFAULT_BASE_TAG}@${b.index.digest}`,
    digest: b.index.digest,
    platforms: Object.fromEntries(b.manifests.map((m) => [m.arch, m.descriptor.digest])),
  };
}

async function withBuilt<T>(fn: (b: BuiltBase, tmp: string) => Promise<T>): Promise<T> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cleanimg-base-'));
  try {
    return await fn(await buildBase(tmp), tmp);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function writeInto(dir: string, b: BuiltBase): Promise<void> {
  const w = await LayoutWriter.open(dir);
  try {
    await w.putFile(b.layerPath, b.layerDigest, { move: true });
    for (const blob of b.blobs) await w.putBytes(blob);
    await w.commit(b.index, DEFAULT_BASE_TAG);
  } catch (e) {
    await w.abort();
    throw e;
  }
  // The layout now exists: tag the platform manifests too.
  const w2 = await LayoutWriter.open(dir);
  for (const m of b.manifests) await w2.commit(m.descriptor, `${DEFAULT_BASE_TAG}-${m.arch}`);
}

/**
 * Compute the embedded base (without writing a layout): its ref, digest and platform digests.
 * `dir` in the result is empty.
 */
export function describeDefaultBase(): Promise<DefaultBase> {
  return withBuilt(async (b) => result('', b));
}

/**
 * Write the embedded base into `dir`: a new (or empty) folder, or an existing OCI layout (blobs are
 * added and the tags `1`, `1-amd64`, `1-arm64` set). A new layout appears only when complete.
 */
export function writeDefaultBase(dir: string): Promise<DefaultBase> {
  const abs = path.resolve(dir);
  return withBuilt(async (b) => {
    await writeInto(abs, b);
    return result(abs, b);
  });
}

/** `$CLEANIMG_CACHE_DIR`, else `.cache/cleanimg` under the current folder. */
export function defaultCacheDir(): string {
  return path.resolve(process.env.CLEANIMG_CACHE_DIR || path.join('.cache', 'cleanimg'));
}

/** The cache folder for an image pinned by `digest`: `<cache>/images/sha256-<hex>`. */
export function cachedLayoutDir(cacheDir: string, digest: string): string {
  return path.join(cacheDir, 'images', digest.replace(':', '-'));
}

async function hasImage(dir: string, digest: string): Promise<boolean> {
  if (!(await isLayout(dir))) return false;
  try {
    const src = await LayoutImageSource.open(dir);
    return (await src.resolve(DEFAULT_BASE_TAG)).digest === digest;
  } catch {
    return false;
  }
}

/**
 * The embedded base as an OCI layout in the content-addressed cache (`<cacheDir>/images/sha256-<hex>`),
 * written once: later calls find it and write nothing. Never touches the network.
 */
export async function defaultBaseLayout(opts: { cacheDir?: string } = {}): Promise<DefaultBase> {
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  return withBuilt(async (b) => {
    const dir = cachedLayoutDir(cacheDir, b.index.digest);
    if (await hasImage(dir, b.index.digest)) return result(dir, b);
    try {
      await writeInto(dir, b);
    } catch (e) {
      // Another process may have written it at the same time: accept its (identical) layout.
      if (await hasImage(dir, b.index.digest)) return result(dir, b);
      throw e instanceof CleanimgError ? e : new CleanimgError(`cannot write the default base into ${dir}`, [
        { code: 'BASE010', path: dir, message: (e as Error).message, fix: 'make the cache folder writable, or set CLEANIMG_CACHE_DIR' },
      ]);
    }
    return result(dir, b);
  });
}

/** True when a spec's base_image names the embedded base (any digest). */
export function namesDefaultBase(baseName: string): boolean {
  return baseName === DEFAULT_BASE_NAME;
}
