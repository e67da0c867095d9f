/**
 * The embedded default base: deterministic bytes (same digest in any folder, equal to the documented
 * DEFAULT_BASE_DIGEST), readable by skopeo and umoci, shell-less, user 65532, written once to the cache.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_BASE_DIGEST, DEFAULT_BASE_REF, defaultBaseLayout, describeDefaultBase, writeDefaultBase } from '../../src/customize/base-image';
import { parseSpecObject } from '../../src/customize/spec';
import { splitLayoutArg } from '../../src/cli/commands/base';
import { runCli } from '../support/cli';

const tmp = mkdtempSync(join(tmpdir(), 'cleanimg-base-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function walk(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(root, rel))) {
    const r = `${rel}/${n}`;
    out.push(r);
    if (statSync(join(root, r)).isDirectory()) out.push(...walk(root, r));
  }
  return out;
}

describe('embedded default base', () => {
  it('has the same digest in two folders, equal to the documented DEFAULT_BASE_DIGEST', async () => {
    const a = await writeDefaultBase(join(tmp, 'a'));
    const b = await writeDefaultBase(join(tmp, 'nested', 'b'));
    expect(a.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(b.digest).toBe(a.digest);
    expect(b.platforms).toEqual(a.platforms);
    // If this fails, the base's bytes changed: update DEFAULT_BASE_DIGEST and the docs that quote it.
    expect(a.digest).toBe(DEFAULT_BASE_DIGEST);
    expect(a.ref).toBe(DEFAULT_BASE_REF);
    expect((await describeDefaultBase()).digest).toBe(a.digest);
    // The layer blob is byte-identical too.
    const blobs = (d: string) => readdirSync(join(d, 'blobs', 'sha256')).sort();
    expect(blobs(b.dir)).toEqual(blobs(a.dir));
  });

  it('is a valid spec base reference', () => {
    const spec = parseSpecObject({ base_image: DEFAULT_BASE_REF, arch: 'amd64', copy_files: [{ source: 'x', destination: '/x' }] });
    expect(spec.base_image.digest).toBe(DEFAULT_BASE_DIGEST);
  });

  it('is read by skopeo: index digest, user 65532:65532 per platform', () => {
    const dir = join(tmp, 'a');
    const top = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${dir}:1`], { encoding: 'utf8' }));
    expect(top.Digest).toBe(DEFAULT_BASE_DIGEST);
    for (const arch of ['amd64', 'arm64']) {
      const cfg = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${dir}:1-${arch}`], { encoding: 'utf8' }));
      expect(cfg.architecture).toBe(arch);
      expect(cfg.config.User).toBe('65532:65532');
      expect(cfg.created).toBe('1970-01-01T00:00:00Z');
    }
  });

  it('unpacks with umoci: passwd/group with nonroot, os-release, CA folder, and no shell', () => {
    const bundle = join(tmp, 'bundle');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${join(tmp, 'a')}:1-amd64`, bundle]);
    const root = join(bundle, 'rootfs');
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(/^nonroot:x:65532:65532:/m);
    expect(readFileSync(join(root, 'etc/group'), 'utf8')).toMatch(/^nonroot:x:65532:$/m);
    expect(readFileSync(join(root, 'etc/os-release'), 'utf8')).toMatch(/^ID=cleanimg-static$/m);
    expect(statSync(join(root, 'etc/ssl/certs')).isDirectory()).toBe(true);
    expect((statSync(join(root, 'tmp')).mode & 0o7777).toString(8)).toBe('1777');
    const files = walk(root);
    expect(files.filter((f) => /\/(sh|bash|ash|dash|busybox)$/.test(f))).toEqual([]);
    expect(existsSync(join(root, 'bin'))).toBe(false);
    expect(existsSync(join(root, 'usr'))).toBe(false);
  });

  it('is written to the content-addressed cache once; later calls write nothing', async () => {
    const cache = join(tmp, 'cache');
    const first = await defaultBaseLayout({ cacheDir: cache });
    expect(first.dir).toBe(join(cache, 'images', DEFAULT_BASE_DIGEST.replace(':', '-')));
    const before = statSync(join(first.dir, 'index.json')).mtimeMs;
    const listing = readdirSync(join(first.dir, 'blobs', 'sha256')).sort();
    await new Promise((r) => setTimeout(r, 20));
    const second = await defaultBaseLayout({ cacheDir: cache });
    expect(second.dir).toBe(first.dir);
    expect(statSync(join(first.dir, 'index.json')).mtimeMs).toBe(before);
    expect(readdirSync(join(first.dir, 'blobs', 'sha256')).sort()).toEqual(listing);
    expect(readdirSync(join(cache, 'images'))).toEqual([DEFAULT_BASE_DIGEST.replace(':', '-')]);
  });

  it('refuses a folder with other files, and leaves it unchanged', async () => {
    const dir = join(tmp, 'occupied');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await expect(writeDefaultBase(dir)).rejects.toThrow(/LAYOUT001[\s\S]*empty or new folder/);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
    expect(readdirSync(tmp).filter((n) => n.startsWith('occupied.'))).toEqual([]);
  });

  it('CLI: `base` prints the ref; `base --output-layout DIR --json` writes the layout', async () => {
    const r = await runCli(['base']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(DEFAULT_BASE_REF);
    const dir = join(tmp, 'cli-layout');
    const j = await runCli(['base', '--output-layout', dir, '--json']);
    expect(j.code).toBe(0);
    const report = JSON.parse(j.out);
    expect(report).toMatchObject({ ok: true, digest: DEFAULT_BASE_DIGEST, dir });
    const idx = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    expect(idx.manifests.map((m: any) => m.annotations['org.opencontainers.image.ref.name'])).toEqual(['1', '1-amd64', '1-arm64']);
  });

  it('push --layout reads DIR[:TAG]', () => {
    expect(splitLayoutArg('dist/images/pg:custom')).toEqual({ dir: 'dist/images/pg', ref: 'custom' });
    expect(splitLayoutArg('dist/images/pg')).toEqual({ dir: 'dist/images/pg', ref: 'latest' });
    expect(splitLayoutArg('/a:b/layout')).toEqual({ dir: '/a:b/layout', ref: 'latest' });
    expect(splitLayoutArg('/a:b/layout:v1')).toEqual({ dir: '/a:b/layout', ref: 'v1' });
  });
});
