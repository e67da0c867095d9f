/**
 * Test harness: small shell-less base images built without Docker (umoci), pushed with skopeo.
 *
 *     const reg = await startRegistry();
 *     const base = await pushBaseImage(reg, 'base/app', '1', { files: { '/etc/os-release': 'ID=test\n' } });
 *     base.ref    // '127.0.0.1:PORT/base/app:1@sha256:…'
 *     base.digest // the manifest digest the registry holds (OCI manifest, gzip layer)
 *     const multi = await pushMultiArchBase(reg, 'base/multi', '1');   // an OCI index: amd64 + arm64
 *
 * The images hold only the given files (default: /etc/os-release, /etc/passwd with a non-root user, a small
 * /usr/bin/app "binary"); there is no /bin/sh. The config user is 65532:65532.
 * Note: umoci takes file mtimes from disk, so digests differ between builds (do not compare them across runs).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';

const run = promisify(execFile);

export interface BaseFile {
  content: string | Buffer;
  /** Default 0644. */
  mode?: number;
}

export interface BaseImageOptions {
  /** Absolute image paths → contents. Default: a minimal shell-less root (see DEFAULT_FILES). */
  files?: Record<string, string | Buffer | BaseFile>;
  /** Adds a file of this many MiB of random bytes (streamed to disk, not held in memory). */
  largeFileMiB?: number;
  /** Where the large file goes (default /opt/large.bin). */
  largeFilePath?: string;
  /** Config architecture (default amd64). */
  architecture?: string;
  /** Config user (default 65532:65532). */
  user?: string;
  /** Extra `KEY=value` env entries. */
  env?: string[];
  /** Entrypoint (default ["/usr/bin/app"]). */
  entrypoint?: string[];
}

export const DEFAULT_FILES: Record<string, string | Buffer | BaseFile> = {
  '/etc/os-release': 'ID=cleanimg-test\nNAME="cleanimg test base"\nVERSION_ID=1\n',
  '/etc/passwd': 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
  '/etc/group': 'root:x:0:\nnonroot:x:65532:\n',
  '/usr/bin/app': { content: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), mode: 0o755 },
};

export interface RegistryTarget {
  host: string;
  username?: string;
  password?: string;
}

export interface PushedImage {
  /** `HOST/repo:tag@sha256:…` */
  ref: string;
  repository: string;
  tag: string;
  /** Manifest (or index) digest in the registry. */
  digest: string;
}

export interface PushedMultiArch extends PushedImage {
  /** Per-architecture manifest digests. */
  platforms: Record<string, string>;
}

async function writeLarge(path: string, mib: number): Promise<void> {
  const out = createWriteStream(path);
  for (let i = 0; i < mib; i++) {
    if (!out.write(randomBytes(1 << 20))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

/** Builds a single-platform image into the OCI layout `layout` (created if it does not exist yet; the path must not exist or be a layout) under `tag`. */
export async function buildBaseImage(layout: string, tag: string, opts: BaseImageOptions = {}): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'cleanimg-base-'));
  try {
    try {
      readFileSync(join(layout, 'oci-layout'));
    } catch {
      await run('umoci', ['init', '--layout', layout]);
    }
    await run('umoci', ['new', '--image', `${layout}:${tag}`]);
    const bundle = join(work, 'bundle');
    await run('umoci', ['unpack', '--rootless', '--image', `${layout}:${tag}`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    for (const [path, f] of Object.entries(opts.files ?? DEFAULT_FILES)) {
      if (!path.startsWith('/')) throw new Error(`base image file paths must be absolute: ${path}`);
      const file: BaseFile = typeof f === 'string' || Buffer.isBuffer(f) ? { content: f } : f;
      const target = join(rootfs, path);
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      writeFileSync(target, file.content);
      chmodSync(target, file.mode ?? 0o644);
    }
    if (opts.largeFileMiB) {
      const target = join(rootfs, opts.largeFilePath ?? '/opt/large.bin');
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      await writeLarge(target, opts.largeFileMiB);
    }
    await run('umoci', ['repack', '--image', `${layout}:${tag}`, bundle]);
    const cfg = ['config', '--image', `${layout}:${tag}`, '--config.user', opts.user ?? '65532:65532', '--architecture', opts.architecture ?? 'amd64', '--os', 'linux'];
    for (const e of opts.env ?? ['PATH=/usr/bin']) cfg.push('--config.env', e);
    for (const e of opts.entrypoint ?? ['/usr/bin/app']) cfg.push('--config.entrypoint', e);
    await run('umoci', cfg);
    await run('umoci', ['gc', '--layout', layout]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function skopeoDest(reg: RegistryTarget): string[] {
  const args = ['--dest-tls-verify=false'];
  if (reg.username) args.push('--dest-creds', `${reg.username}:${reg.password ?? ''}`);
  return args;
}

/** `skopeo copy oci:LAYOUT:TAG docker://HOST/REPO:TAG`; returns the pushed digest. `all` copies every image of an index. */
export async function pushLayout(layout: string, layoutTag: string, reg: RegistryTarget, repository: string, tag: string, all = false): Promise<string> {
  const digestFile = join(mkdtempSync(join(tmpdir(), 'cleanimg-digest-')), 'digest');
  try {
    await run('skopeo', ['copy', '--quiet', ...(all ? ['--all'] : []), ...skopeoDest(reg), '--digestfile', digestFile, `oci:${layout}:${layoutTag}`, `docker://${reg.host}/${repository}:${tag}`]);
    return readFileSync(digestFile, 'utf8').trim();
  } finally {
    rmSync(dirname(digestFile), { recursive: true, force: true });
  }
}

/** Builds a shell-less image and pushes it to `reg` as `repository:tag`. */
export async function pushBaseImage(reg: RegistryTarget, repository: string, tag: string, opts: BaseImageOptions = {}): Promise<PushedImage> {
  const tmp = mkdtempSync(join(tmpdir(), 'cleanimg-layout-'));
  const layout = join(tmp, 'layout');
  try {
    await buildBaseImage(layout, tag, opts);
    const digest = await pushLayout(layout, tag, reg, repository, tag);
    return { ref: `${reg.host}/${repository}:${tag}@${digest}`, repository, tag, digest };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

interface LayoutIndex {
  schemaVersion: 2;
  manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string>; platform?: object }[];
}

/**
 * Builds an amd64 and an arm64 image (same files, each with its own /etc/arch), assembles an OCI image
 * index over both in the layout, and pushes all of it with `skopeo copy --all`.
 */
export async function pushMultiArchBase(reg: RegistryTarget, repository: string, tag: string, opts: BaseImageOptions = {}): Promise<PushedMultiArch> {
  const tmp = mkdtempSync(join(tmpdir(), 'cleanimg-layout-'));
  const layout = join(tmp, 'layout');
  try {
    const archs = ['amd64', 'arm64'];
    for (const arch of archs) {
      const files = { ...(opts.files ?? DEFAULT_FILES), '/etc/arch': `${arch}\n` };
      await buildBaseImage(layout, `img-${arch}`, { ...opts, files, architecture: arch });
    }
    const indexPath = join(layout, 'index.json');
    const top = JSON.parse(readFileSync(indexPath, 'utf8')) as LayoutIndex;
    const platforms: Record<string, string> = {};
    const manifests = archs.map((arch) => {
      const d = top.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === `img-${arch}`);
      if (!d) throw new Error(`layout lost image img-${arch}`);
      platforms[arch] = d.digest;
      return { mediaType: d.mediaType, digest: d.digest, size: d.size, platform: { architecture: arch, os: 'linux', ...(arch === 'arm64' ? { variant: 'v8' } : {}) } };
    });
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
    const hex = createHash('sha256').update(index).digest('hex');
    writeFileSync(join(layout, 'blobs', 'sha256', hex), index);
    top.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${hex}`, size: index.length, annotations: { 'org.opencontainers.image.ref.name': tag } });
    writeFileSync(indexPath, JSON.stringify(top));
    const digest = await pushLayout(layout, tag, reg, repository, tag, true);
    return { ref: `${reg.host}/${repository}:${tag}@${digest}`, repository, tag, digest, platforms };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
