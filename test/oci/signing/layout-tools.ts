/**
 * Test helpers: a minimal OCI image layout writer/reader (so skopeo can move images between a layout
 * and a real registry), a registry process, and tool lookup. Test-only; the product's layout code lives
 * elsewhere.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { CleanimgError } from '../../../src/errors';
import type { Descriptor, FetchedManifest, ImageSource } from '../../../src/oci/types';
import { freePort } from '../../support/registry';

export { freePort };

const sha = (b: Uint8Array) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

export function blobPath(dir: string, digest: string): string {
  return path.join(dir, 'blobs', ...digest.split(':'));
}

/** Write blobs and a manifest under `tag` into an OCI layout (created if missing). */
export function writeLayout(dir: string, tag: string, manifest: { bytes: Buffer; mediaType: string }, blobs: Buffer[]): string {
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  for (const b of [...blobs, manifest.bytes]) fs.writeFileSync(blobPath(dir, sha(b)), b);
  const indexFile = path.join(dir, 'index.json');
  const index = fs.existsSync(indexFile) ? JSON.parse(fs.readFileSync(indexFile, 'utf8')) : { schemaVersion: 2, manifests: [] };
  index.manifests = index.manifests.filter((m: Descriptor) => m.annotations?.['org.opencontainers.image.ref.name'] !== tag);
  const digest = sha(manifest.bytes);
  index.manifests.push({ mediaType: manifest.mediaType, digest, size: manifest.bytes.length, annotations: { 'org.opencontainers.image.ref.name': tag } });
  fs.writeFileSync(indexFile, JSON.stringify(index));
  return digest;
}

/** An ImageSource over an OCI layout directory (tags from index.json ref names). */
export class LayoutSource implements ImageSource {
  constructor(readonly dir: string) {}
  get name() {
    return `oci:${this.dir}`;
  }
  async getManifest(ref: string): Promise<FetchedManifest> {
    const index = JSON.parse(fs.readFileSync(path.join(this.dir, 'index.json'), 'utf8'));
    const d = (index.manifests as Descriptor[]).find((m) => m.digest === ref || m.annotations?.['org.opencontainers.image.ref.name'] === ref);
    if (!d) throw new CleanimgError('image not found', [{ code: 'REG003', path: ref, message: `${ref} not in ${this.dir}`, fix: 'copy it in' }]);
    const bytes = await this.getBlob(d.digest);
    return { bytes, mediaType: d.mediaType, digest: d.digest };
  }
  async getBlob(digest: string): Promise<Buffer> {
    const b = fs.readFileSync(blobPath(this.dir, digest));
    if (sha(b) !== digest) throw new Error(`blob ${digest} does not match`);
    return b;
  }
  openLayer = (d: Descriptor): Readable => fs.createReadStream(blobPath(this.dir, d.digest));
}

/** cosign binaries to test against: $COSIGN, the caches where helpers build v2 and v3, or PATH; with their major version. */
export function findCosigns(): { bin: string; major: number }[] {
  const candidates = [process.env.COSIGN, '/root/.cache/cleanimg-tools/cosign-v2/cosign', '/root/.cache/cleanimg-tools/cosign-v3/cosign', '/root/.cache/cleanimg-tools/bin/cosign-v2', '/root/.cache/cleanimg-tools/bin/cosign-v3', '/root/.cache/cleanimg-tools/bin/cosign', 'cosign'].filter(Boolean) as string[];
  const found = new Map<string, { bin: string; major: number }>();
  for (const c of candidates) {
    const r = spawnSync(c, ['version'], { encoding: 'utf8' });
    const m = /GitVersion:\s+v(\d+)\.(\S+)/.exec(`${r.stdout}${r.stderr}`);
    if (r.status === 0 && m) {
      const key = `v${m[1]}.${m[2]}`;
      if (!found.has(key)) found.set(key, { bin: c, major: Number(m[1]) });
    }
  }
  return [...found.values()];
}

export function haveTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}


/** Start Debian's docker-registry on 127.0.0.1:<free port> with storage in `dir`. */
export async function startRegistry(dir: string): Promise<{ addr: string; proc: ChildProcess; stop: () => Promise<void> }> {
  const port = await freePort();
  const cfg = path.join(dir, 'registry.yml');
  fs.writeFileSync(
    cfg,
    `version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: ${path.join(dir, 'data')}}, delete: {enabled: true}}\nhttp: {addr: 127.0.0.1:${port}}\n`,
  );
  const proc = spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  const addr = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  return { addr, proc, stop };
}

export function run(cmd: string, args: string[], env: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A minimal plain-HTTP ImageSource for a test registry on 127.0.0.1 (no auth): enough to read referrers. */
export class HttpSource implements ImageSource {
  constructor(
    readonly addr: string,
    readonly repo: string,
  ) {}
  get name() {
    return `${this.addr}/${this.repo}`;
  }
  async getManifest(ref: string): Promise<FetchedManifest> {
    const res = await fetch(`http://${this.addr}/v2/${this.repo}/manifests/${ref}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json' },
    });
    if (res.status === 404) throw new CleanimgError('image not found', [{ code: 'REG003', path: ref, message: `no manifest ${ref}`, fix: 'push it' }]);
    if (!res.ok) throw new Error(`GET manifest ${ref}: HTTP ${res.status}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    return { bytes, mediaType: res.headers.get('content-type') ?? '', digest: sha(bytes) };
  }
  async getBlob(digest: string): Promise<Buffer> {
    const res = await fetch(`http://${this.addr}/v2/${this.repo}/blobs/${digest}`);
    if (!res.ok) throw new Error(`GET blob ${digest}: HTTP ${res.status}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    if (sha(bytes) !== digest) throw new Error(`blob ${digest} does not match`);
    return bytes;
  }
}
