/**
 * The layer cache: a cached layer is the layer a fresh build gives (same digest, same bytes), the key
 * follows contents (not stat data), and bad cache contents are never used for output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import * as path from 'node:path';
import { buildOverlay, type BuildOverlayOptions } from '../../src/customize/build';
import { LayerCache, defaultCacheDir, layerFormatTag } from '../../src/customize/cache';
import { PRIVATE_KEY_SCAN_VERSION } from '../../src/customize/inputs';
import { buildLayer, normalizeEntries, type LayerEntry } from '../../src/oci/layer';
import { LayoutImageSource } from '../../src/oci/layout';
import { cleanupTmp, makeBaseLayout, sha256, specYaml, tmp, write, writeSpec, type BaseImage } from './fixtures';

afterAll(cleanupTmp);

describe('defaultCacheDir', () => {
  it('follows CLEANIMG_CACHE_DIR (its layers/), then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(defaultCacheDir({ CLEANIMG_CACHE_DIR: '/x/y', XDG_CACHE_HOME: '/c' })).toBe('/x/y/layers');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/c' })).toBe('/c/cleanimg/layers');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative' })).toMatch(/\.cache\/cleanimg\/layers$/);
    expect(layerFormatTag()).toMatch(/^cleanimg-layer\/2 deflate=miniz-2 foras=2\.1\.4 chunk=1048576 store=7\.5\/4096x3 tar-stream=\d/);
  });
});

describe('LayerCache keys', () => {
  let dir: string;
  let file: string;
  let entries: LayerEntry[];
  beforeAll(() => {
    dir = tmp();
    file = write(path.join(dir, 'src/data.txt'), 'hello world\n'.repeat(1000));
    entries = normalizeEntries([{ path: '/opt/data.txt', kind: 'file', source: file, mode: 0o644, uid: 0, gid: 0 }]);
  });

  it('is the same after touch and for the same contents elsewhere; differs for other contents, modes or timestamps', async () => {
    const cache = new LayerCache(path.join(dir, 'cache'));
    const a = await cache.identify(entries, 0);
    expect(a.hashed).toBe(1);
    const past = new Date(Date.now() + 5000);
    utimesSync(file, past, past);
    const b = await cache.identify(entries, 0);
    expect(b.key).toBe(a.key);
    const copy = write(path.join(dir, 'other/data.txt'), readFileSync(file));
    expect((await cache.identify(normalizeEntries([{ ...entries.at(-1)!, source: copy }]), 0)).key).toBe(a.key);
    expect((await cache.identify(normalizeEntries([{ ...entries.at(-1)!, mode: 0o600 }]), 0)).key).not.toBe(a.key);
    expect((await cache.identify(entries, 1)).key).not.toBe(a.key);
    const changed = write(path.join(dir, 'other/data.txt'), 'hello world\n'.repeat(999) + 'HELLO WORLD\n');
    expect((await cache.identify(normalizeEntries([{ ...entries.at(-1)!, source: changed }]), 0)).key).not.toBe(a.key);
  });

  it('trusts a stat record only while dev, inode, size, mtime and ctime match; restoring the mtime does not fool it', async () => {
    const cache = new LayerCache(path.join(dir, 'cache-fast'), { racyMs: 0 });
    const f = write(path.join(dir, 'fast/a.bin'), 'aaaa');
    const list = normalizeEntries([{ path: '/a.bin', kind: 'file', source: f, mode: 0o644, uid: 0, gid: 0 }]);
    await new Promise((r) => setTimeout(r, 20));
    const first = await cache.identify(list, 0);
    expect(first.hashed).toBe(1);
    const again = await cache.identify(list, 0);
    expect(again.hashed).toBe(0); // the fast path: known by its stat record
    expect(again.key).toBe(first.key);
    // Same size, and the old mtime put back: ctime still moves, so the file is hashed again.
    const st = statSync(f);
    writeFileSync(f, 'bbbb');
    utimesSync(f, st.atime, st.mtime);
    const after = await cache.identify(list, 0);
    expect(after.hashed).toBe(1);
    expect(after.key).not.toBe(first.key);
  });

  it('does not trust records of files changed just before they were hashed (racy)', async () => {
    const cache = new LayerCache(path.join(dir, 'cache-racy'));
    const f = write(path.join(dir, 'racy/a.bin'), 'x');
    const list = normalizeEntries([{ path: '/a.bin', kind: 'file', source: f, mode: 0o644, uid: 0, gid: 0 }]);
    await cache.identify(list, 0);
    expect((await cache.identify(list, 0)).hashed).toBe(1);
  });

  it('stores a built layer and gives it back with the same digests; a missing or truncated blob is a miss', async () => {
    const cache = new LayerCache(path.join(dir, 'cache-store'));
    const id = await cache.identify(entries, 0);
    expect(await cache.lookup(id.key)).toBeUndefined();
    const built = await buildLayer(entries, { tmpDir: cache.tmpDir, sourceDateEpoch: 0 });
    expect(await cache.store(id, built)).toBe(true);
    const hit = await cache.lookup(id.key);
    expect(hit).toMatchObject({ digest: built.digest, diffId: built.diffId, size: built.size, uncompressedSize: built.uncompressedSize });
    expect(sha256(readFileSync(hit!.path))).toBe(built.digest);
    expect(await cache.verify(id.key, hit!)).toBe(true);
    writeFileSync(hit!.path, readFileSync(hit!.path).subarray(0, 10));
    expect(await cache.lookup(id.key)).toBeUndefined();
  });

  it('does not store a layer whose sources changed after they were identified', async () => {
    const cache = new LayerCache(path.join(dir, 'cache-changed'));
    const f = write(path.join(dir, 'changing/a.txt'), 'one\n');
    const list = normalizeEntries([{ path: '/a.txt', kind: 'file', source: f, mode: 0o644, uid: 0, gid: 0 }]);
    const id = await cache.identify(list, 0);
    writeFileSync(f, 'two\n');
    const built = await buildLayer(list, { tmpDir: cache.tmpDir });
    expect(await cache.store(id, built)).toBe(false);
    expect(await cache.lookup(id.key)).toBeUndefined();
  });
});

describe('buildOverlay with a layer cache', () => {
  let root: string;
  let base: BaseImage;
  let specDir: string;
  let specPath: string;
  let source: LayoutImageSource;
  beforeAll(async () => {
    root = tmp();
    base = makeBaseLayout(root);
    specDir = path.join(root, 'spec');
    write(path.join(specDir, 'config/app.conf'), 'threads = 4\n'.repeat(5000));
    write(path.join(specDir, 'tools/tool.bin'), Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251)));
    specPath = writeSpec(specDir, specYaml(`cleanstart/app:1@${base.digest}`, [
      { source: 'config/app.conf', destination: '/etc/app/app.conf' },
      { source: 'tools', destination: '/usr/local/lib/tools' },
    ]));
    source = await LayoutImageSource.open(base.layout);
  });
  const opts = (o: Partial<BuildOverlayOptions> = {}): BuildOverlayOptions => ({ specPath, source, sourceDateEpoch: 0, ...o });

  it('gives the digest of a fresh build: without cache, cold, warm, after touch, and a new one after a content change', async () => {
    const cache = new LayerCache(path.join(root, 'cache'));
    const fresh = await buildOverlay(opts());
    await fresh.dispose();
    expect(fresh.cache).toBe('off');
    const cold = await buildOverlay(opts({ cache }));
    await cold.dispose();
    expect(cold.cache).toBe('stored');
    const warm = await buildOverlay(opts({ cache }));
    expect(warm.cache).toBe('hit');
    expect(sha256(readFileSync(warm.layer.path))).toBe(fresh.layer.digest);
    await warm.dispose();
    expect(statSync(warm.layer.path).isFile()).toBe(true); // dispose leaves the cache's blob alone
    for (const r of [cold, warm]) {
      expect(r.manifestDigest).toBe(fresh.manifestDigest);
      expect(r.layer.digest).toBe(fresh.layer.digest);
      expect(r.layer.diffId).toBe(fresh.layer.diffId);
      expect(r.layer.entries).toEqual(fresh.layer.entries);
    }
    const later = new Date(Date.now() + 3_600_000);
    utimesSync(path.join(specDir, 'config/app.conf'), later, later);
    const touched = await buildOverlay(opts({ cache }));
    await touched.dispose();
    expect(touched.cache).toBe('hit');
    expect(touched.manifestDigest).toBe(fresh.manifestDigest);

    write(path.join(specDir, 'config/app.conf'), 'threads = 8\n'.repeat(5000));
    const changed = await buildOverlay(opts({ cache }));
    await changed.dispose();
    const changedFresh = await buildOverlay(opts());
    await changedFresh.dispose();
    expect(changed.cache).toBe('stored');
    expect(changed.layer.digest).not.toBe(fresh.layer.digest);
    expect(changed.manifestDigest).toBe(changedFresh.manifestDigest);
    write(path.join(specDir, 'config/app.conf'), 'threads = 4\n'.repeat(5000));
  });

  it('writes an output layout from the cache without moving the cached blob; a corrupt cached blob is rebuilt', async () => {
    const cache = new LayerCache(path.join(root, 'cache2'));
    const first = await buildOverlay(opts({ cache, outputLayout: path.join(root, 'out1'), tag: 't' }));
    await first.dispose();
    const blob = cache.blobPath(first.layer.digest);
    const second = await buildOverlay(opts({ cache, outputLayout: path.join(root, 'out2'), tag: 't' }));
    await second.dispose();
    expect(second.cache).toBe('hit');
    expect(second.manifestDigest).toBe(first.manifestDigest);
    expect(sha256(readFileSync(path.join(root, 'out2/blobs/sha256', first.layer.digest.slice(7))))).toBe(first.layer.digest);
    expect(statSync(blob).size).toBe(first.layer.size);

    const bytes = readFileSync(blob);
    bytes[bytes.length - 20] ^= 0xff;
    writeFileSync(blob, bytes);
    const third = await buildOverlay(opts({ cache, outputLayout: path.join(root, 'out3'), tag: 't' }));
    await third.dispose();
    expect(third.cache).toBe('stored');
    expect(third.manifestDigest).toBe(first.manifestDigest);
    expect(sha256(readFileSync(path.join(root, 'out3/blobs/sha256', first.layer.digest.slice(7))))).toBe(first.layer.digest);
    expect(sha256(readFileSync(blob))).toBe(first.layer.digest);
    expect(readdirSync(cache.tmpDir).filter((n) => !n.startsWith('.'))).toEqual([]);
  });
});

describe('LayerCache.inspect: the private-key scan shares the content hash', () => {
  it('reads a file once for both, remembers the scan in the stat record, and scans again after a change', async () => {
    const dir = tmp();
    const cache = new LayerCache(path.join(dir, 'cache'), { racyMs: 0 });
    const key = write(path.join(dir, 'k.pem'), '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n');
    const plain = write(path.join(dir, 'p.txt'), 'nothing secret\n');
    await new Promise((r) => setTimeout(r, 20));
    const k1 = await cache.inspect(key);
    expect(k1.hashed).toBe(true);
    expect(k1.privateKey).toMatch(/EC PRIVATE KEY/);
    expect(k1.state.sha256).toBe(sha256(readFileSync(key)).slice(7));
    const k2 = await cache.inspect(key);
    expect(k2.hashed).toBe(false); // from the stat record: the file was not read
    expect(k2.privateKey).toBe(k1.privateKey);
    expect((await cache.inspect(plain)).privateKey).toBeNull();
    // The record names the scanner's version; a record without one is not trusted for the scan.
    const recDir = path.join(dir, 'cache', 'files');
    for (const f of readdirSync(recDir)) {
      const rec = JSON.parse(readFileSync(path.join(recDir, f), 'utf8'));
      expect(rec.keyScan.version).toBe(PRIVATE_KEY_SCAN_VERSION);
      delete rec.keyScan;
      writeFileSync(path.join(recDir, f), JSON.stringify(rec));
    }
    expect((await cache.inspect(key)).hashed).toBe(true);
    // New contents: scanned again (a key now), and the key file overwritten with the same size: no longer a key.
    writeFileSync(plain, '-----BEGIN PRIVATE KEY-----\n');
    expect((await cache.inspect(plain)).privateKey).toMatch(/PRIVATE KEY/);
    writeFileSync(key, 'x'.repeat(readFileSync(key).length));
    await new Promise((r) => setTimeout(r, 20));
    expect((await cache.inspect(key)).privateKey).toBeNull();
  });

  it('reads a large file whole, through a name or an open handle at any position: the sha256 of every byte, a key across a 1 MiB seam', async () => {
    const dir = tmp();
    const cache = new LayerCache(path.join(dir, 'cache'), { racyMs: 0 });
    const bytes = Buffer.alloc((5 << 19) + 3, 'a'); // 2.5 MiB and 3 bytes: two full reads and a short one
    bytes.write('-----BEGIN PRIVATE KEY-----', (1 << 20) - 10, 'latin1');
    const f = write(path.join(dir, 'big.bin'), bytes);
    const byName = await cache.inspect(f);
    expect(byName.state.sha256).toBe(sha256(bytes).slice(7));
    expect(byName.privateKey).toMatch(/PEM "PRIVATE KEY"/);
    rmSync(path.join(dir, 'cache'), { recursive: true });
    const fh = await open(f, 'r');
    try {
      await fh.read(Buffer.alloc(4096), 0, 4096, null); // the handle's own position is not where the read starts
      const byHandle = await cache.inspect(f, fh);
      expect(byHandle.hashed).toBe(true);
      expect(byHandle.state.sha256).toBe(byName.state.sha256);
      expect(byHandle.privateKey).toBe(byName.privateKey);
    } finally {
      await fh.close();
    }
  });

  it('a build with a cache refuses a private key on a warm cache too, and pushes nothing', async () => {
    const root = tmp();
    const base = makeBaseLayout(root);
    const specDir = path.join(root, 'spec');
    write(path.join(specDir, 'id_ecdsa'), '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----\n');
    const specPath = writeSpec(specDir, specYaml(`cleanstart/app:1@${base.digest}`, [{ source: 'id_ecdsa', destination: '/etc/app/id' }]));
    const source = await LayoutImageSource.open(base.layout);
    const cache = new LayerCache(path.join(root, 'cache'), { racyMs: 0 });
    await new Promise((r) => setTimeout(r, 20));
    await expect(buildOverlay({ specPath, source, cache })).rejects.toThrow(/OpenSSH private key/);
    const [rec] = readdirSync(path.join(root, 'cache', 'files'));
    const before = statSync(path.join(root, 'cache', 'files', rec!), { bigint: true }).mtimeNs;
    await new Promise((r) => setTimeout(r, 20));
    await expect(buildOverlay({ specPath, source, cache })).rejects.toThrow(/OpenSSH private key/);
    // The second run refused from the remembered scan: the record was trusted, not rewritten.
    expect(statSync(path.join(root, 'cache', 'files', rec!), { bigint: true }).mtimeNs).toBe(before);
    expect(readdirSync(path.join(root, 'cache', 'blobs', 'sha256'))).toEqual([]);
  });
});
