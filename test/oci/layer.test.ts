import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { crc32, gunzipSync, inflateRawSync as inflateRaw } from 'node:zlib';
import { CleanimgError } from '../../src/errors';
import { BASE_IMAGE_CODEC, byteEntropy, compressSegment, deflateSegment, DEFLATE_CHUNK, engineFiles, LAYER_CODEC, preloadCompressor, STORE_ENTROPY } from '../../src/oci/deflate-segment';
import { buildLayer, normalizeEntries, resolveSourceDateEpoch, type LayerEntry } from '../../src/oci/layer';
import { SegmentPool } from '../../src/oci/segment-pool';
import { cleanupTmp, run, tmp, write } from '../customize/fixtures';

afterAll(cleanupTmp);

const repoRoot = path.resolve(__dirname, '../..');

/**
 * Recorded with LAYER_CODEC (miniz level 2, foras 2.1.4), 1 MiB segments, entropy threshold 7.5,
 * tar-stream 3.2. Until 2026-12-06 (fflate 0.8.3 level 1) it was
 * sha256:9ffab2fa4bbb74650cf464ae0e95905921a84b63ca634a0512c9a1f70869059e, 1505435 bytes.
 */
const GOLDEN = {
  digest: 'sha256:e77d842cfb3134fc32f6ad9d990069eba30ef13328e2dbc2fa3152a634e684a3',
  diffId: 'sha256:0042d7458cb6dd93502bc589e60f8dd313ad1c3d69471b3fbdfceb1391c7b8c8',
  size: 1505503,
};
/** The same input with fflate 0.8.3 at level 6 (BASE_IMAGE_CODEC: the embedded base image's layer). */
const GOLDEN_LEVEL_6 = {
  digest: 'sha256:200032ff1681389419ae81eefc17def02af75d90a7711f98bad75c5a2dad50a0',
  diffId: 'sha256:0042d7458cb6dd93502bc589e60f8dd313ad1c3d69471b3fbdfceb1391c7b8c8',
  size: 1505400,
};

function entriesFor(src: string): LayerEntry[] {
  return [
    { path: '/etc/postgresql/custom.conf', kind: 'file', source: path.join(src, 'custom.conf'), mode: 0o640, uid: 0, gid: 65532 },
    { path: '/etc/ssl/certs/corporate-ca.crt', kind: 'file', source: path.join(src, 'ca.crt'), mode: 0o644, uid: 0, gid: 0 },
    { path: '/usr/local/bin/agent', kind: 'file', source: path.join(src, 'agent'), mode: 0o755, uid: 0, gid: 0 },
    { path: '/opt/app', kind: 'dir', mode: 0o750, uid: 65532, gid: 65532 },
    { path: `/opt/app/${'long-name-'.repeat(12)}/file.txt`, kind: 'file', source: path.join(src, 'custom.conf'), mode: 0o600, uid: 65532, gid: 65532 },
    { path: '/opt/app/données.txt', kind: 'file', source: path.join(src, 'custom.conf'), mode: 0o644, uid: 65532, gid: 65532 },
  ];
}

/** The layer blob for a tar, made the slow way: each segment through deflateSegment on this thread. */
function referenceBlob(tarBytes: Buffer): Buffer {
  const parts: Uint8Array[] = [Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03])];
  for (let off = 0; off < tarBytes.length; off += DEFLATE_CHUNK) parts.push(...deflateSegment(tarBytes.subarray(off, off + DEFLATE_CHUNK)));
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(tarBytes) >>> 0, 0);
  trailer.writeUInt32LE(tarBytes.length % 2 ** 32, 4);
  parts.push(Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]), trailer);
  return Buffer.concat(parts);
}

function sha256File(f: string): string {
  return `sha256:${createHash('sha256').update(readFileSync(f)).digest('hex')}`;
}

describe('buildLayer', () => {
  let src: string;
  let out: string;
  beforeAll(() => {
    const d = tmp();
    src = path.join(d, 'src');
    out = path.join(d, 'out');
    write(path.join(src, 'custom.conf'), 'max_connections = 200\n');
    write(path.join(src, 'ca.crt'), 'not checked here\n');
    // 3 MiB of mixed data: several DEFLATE chunks and tar blocks.
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    write(path.join(src, 'agent'), big);
    write(path.join(out, '.keep'), '');
  });

  it('writes a tar that GNU tar lists with our modes, numeric owners, fixed mtime and explicit parents', async () => {
    const l = await buildLayer(entriesFor(src), { tmpDir: out, sourceDateEpoch: 0 });
    const listing = run('tar', ['-tvzf', l.path, '--full-time']).trim().split('\n');
    const rows = listing.map((line) => {
      const f = line.split(/\s+/);
      return `${f[0]} ${f[1]} ${f[3]} ${f[4]} ${f.slice(5).join(' ')}`;
    });
    const long = 'long-name-'.repeat(12);
    expect(rows).toEqual([
      'drwxr-xr-x 0/0 1970-01-01 00:00:00 etc/',
      'drwxr-xr-x 0/0 1970-01-01 00:00:00 etc/postgresql/',
      '-rw-r----- 0/65532 1970-01-01 00:00:00 etc/postgresql/custom.conf',
      'drwxr-xr-x 0/0 1970-01-01 00:00:00 etc/ssl/',
      'drwxr-xr-x 0/0 1970-01-01 00:00:00 etc/ssl/certs/',
      '-rw-r--r-- 0/0 1970-01-01 00:00:00 etc/ssl/certs/corporate-ca.crt',
      'drwxr-xr-x 0/0 1970-01-01 00:00:00 opt/',
      'drwxr-x--- 65532/65532 1970-01-01 00:00:00 opt/app/',
      '-rw-r--r-- 65532/65532 1970-01-01 00:00:00 opt/app/données.txt',
      `drwxr-xr-x 0/0 1970-01-01 00:00:00 opt/app/${long}/`,
      `-rw------- 65532/65532 1970-01-01 00:00:00 opt/app/${long}/file.txt`,
      'drwxr-xr-x 0/0 1970-01-01 00:00:00 usr/',
      'drwxr-xr-x 0/0 1970-01-01 00:00:00 usr/local/',
      'drwxr-xr-x 0/0 1970-01-01 00:00:00 usr/local/bin/',
      '-rwxr-xr-x 0/0 1970-01-01 00:00:00 usr/local/bin/agent',
    ]);
    // Owners show as numbers because the headers carry no user or group names.
    expect(listing.join('\n')).not.toMatch(/root/);
  });

  it('reports digests and sizes that independent tools agree with', async () => {
    const l = await buildLayer(entriesFor(src), { tmpDir: out });
    expect(sha256File(l.path)).toBe(l.digest);
    expect(readFileSync(l.path).length).toBe(l.size);
    const tarBytes = execFileSync('gzip', ['-dc', l.path], { maxBuffer: 64 << 20 });
    expect(`sha256:${createHash('sha256').update(tarBytes).digest('hex')}`).toBe(l.diffId);
    expect(tarBytes.length).toBe(l.uncompressedSize);
    // gzip header: magic, deflate, no flags (no file name), mtime 0, XFL 0, OS 3.
    expect([...readFileSync(l.path).subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  });

  it('a layer past the background flushes (every 16 MiB written) is whole: digests and sizes as gzip and sha256 read them', async () => {
    const dir = tmp();
    // Random (stored) and text (compressed) parts, so the file gets about 40 MiB and several flushes.
    write(path.join(dir, 'random.bin'), randomBytes(36 << 20));
    write(path.join(dir, 'text.log'), Buffer.from('level=info msg="request served" status=200\n'.repeat(400_000)));
    const entries: LayerEntry[] = ['random.bin', 'text.log'].map((f) => ({ path: `/data/${f}`, kind: 'file', source: path.join(dir, f), mode: 0o644, uid: 0, gid: 0 }));
    const l = await buildLayer(entries, { tmpDir: out });
    expect(l.size).toBeGreaterThan(2 * (16 << 20)); // at least two flushes while writing
    expect(sha256File(l.path)).toBe(l.digest);
    expect(readFileSync(l.path).length).toBe(l.size);
    const tarBytes = execFileSync('gzip', ['-dc', l.path], { maxBuffer: 128 << 20 });
    expect(`sha256:${createHash('sha256').update(tarBytes).digest('hex')}`).toBe(l.diffId);
  });

  it('gives the same digest again, after touch, and from a copy in another folder', async () => {
    const a = await buildLayer(entriesFor(src), { tmpDir: out });
    const b = await buildLayer(entriesFor(src), { tmpDir: out });
    for (const f of readdirSync(src)) utimesSync(path.join(src, f), new Date(), new Date('2030-01-01'));
    const c = await buildLayer(entriesFor(src), { tmpDir: out });
    const copy = path.join(path.dirname(src), 'elsewhere', 'deeper', 'src');
    cpSync(src, copy, { recursive: true });
    const d = await buildLayer(entriesFor(copy), { tmpDir: out });
    // Input order does not matter either.
    const e = await buildLayer([...entriesFor(src)].reverse(), { tmpDir: out });
    expect(new Set([a.digest, b.digest, c.digest, d.digest, e.digest]).size).toBe(1);
    expect(new Set([a.diffId, c.diffId, d.diffId]).size).toBe(1);
    expect(a.path).not.toBe(b.path);
  });

  it('changes with content, mode, owner and SOURCE_DATE_EPOCH, and is fixed for a given epoch', async () => {
    const base = await buildLayer(entriesFor(src), { tmpDir: out });
    const e1 = await buildLayer(entriesFor(src), { tmpDir: out, sourceDateEpoch: 1_700_000_000 });
    const e2 = await buildLayer(entriesFor(src), { tmpDir: out, sourceDateEpoch: 1_700_000_000 });
    expect(e1.digest).toBe(e2.digest);
    expect(e1.digest).not.toBe(base.digest);
    expect(run('tar', ['-tvzf', e1.path, '--full-time'], { env: { ...process.env, TZ: 'UTC' } })).toContain('2023-11-14 22:13:20');
    const modes = entriesFor(src).map((x) => (x.path === '/usr/local/bin/agent' ? { ...x, mode: 0o700 } : x));
    expect((await buildLayer(modes, { tmpDir: out })).digest).not.toBe(base.digest);
    const owners = entriesFor(src).map((x) => (x.path === '/usr/local/bin/agent' ? { ...x, uid: 1 } : x));
    expect((await buildLayer(owners, { tmpDir: out })).digest).not.toBe(base.digest);
    const src2 = path.join(path.dirname(src), 'src2');
    cpSync(src, src2, { recursive: true });
    writeFileSync(path.join(src2, 'custom.conf'), 'max_connections = 201\n');
    expect((await buildLayer(entriesFor(src2), { tmpDir: out })).digest).not.toBe(base.digest);
  });

  it('byteEntropy gives exactly the one-table histogram result over its sample (every third 4 KiB block), aligned or not, any length', async () => {
    const { randomBytes } = await import('node:crypto');
    const reference = (b: Uint8Array): number => {
      if (b.length === 0) return 0;
      const counts = new Uint32Array(256);
      let n = 0;
      for (let i = 0; i < b.length; i++) {
        if (Math.floor(i / 4096) % 3 === 0) {
          counts[b[i]!]!++;
          n++;
        }
      }
      let h = 0;
      for (let i = 0; i < 256; i++) {
        const c = counts[i]!;
        if (c) {
          const p = c / n;
          h -= p * Math.log2(p);
        }
      }
      return h;
    };
    const pool = Buffer.concat([randomBytes(70_000), Buffer.from('threads = 4\n'.repeat(6000)), Buffer.alloc(5000)]);
    const cases = [[0, 0], [0, 1], [1, 3], [2, 7], [0, 4095], [0, 4096], [1, 4097], [0, 12_289], [3, 12_290], [2, 12_288 + 4095], [0, pool.length], [5, 100_001], [70_000 - 9, 20_000]] as const;
    for (const [off, len] of cases) {
      const b = pool.subarray(off, off + len);
      expect(byteEntropy(b), `${off}+${len}`).toBe(reference(b));
    }
    // Records with one random byte each: the sample sees every lane, so its estimate is the full
    // histogram's (one lane alone would look random, and the data would be stored).
    const full = (b: Uint8Array): number => {
      const counts = new Uint32Array(256);
      for (const x of b) counts[x]!++;
      return [...counts].reduce((h, c) => (c ? h - (c / b.length) * Math.log2(c / b.length) : h), 0);
    };
    const rnd = randomBytes(1 << 18);
    for (const width of [2, 4, 8, 12, 16, 24]) {
      const rec = Buffer.alloc(DEFLATE_CHUNK);
      for (let i = 0; i * width < rec.length; i++) rec[i * width] = rnd[i]!;
      expect(Math.abs(byteEntropy(rec) - full(rec)), `${width}-byte records`).toBeLessThan(0.02);
      expect(byteEntropy(rec)).toBeLessThan(STORE_ENTROPY);
    }
    // Lines of 12 bytes: a word stride of 12 bytes would see 4 letters of each.
    const lines = Buffer.from('threads = 4\n'.repeat(90_000));
    expect(Math.abs(byteEntropy(lines) - full(lines))).toBeLessThan(0.01);
  });

  it('stores already-compressed data and compresses the rest; the stream is valid for gzip and node:zlib', async () => {
    const { randomBytes } = await import('node:crypto');
    const { gunzipSync, inflateRawSync } = await import('node:zlib');
    const rnd = randomBytes(DEFLATE_CHUNK + 12345);
    const text = Buffer.from('max_connections = 200\n'.repeat(60_000));
    expect(byteEntropy(rnd)).toBeGreaterThan(7.9);
    expect(byteEntropy(text)).toBeLessThan(5);
    expect(byteEntropy(Buffer.alloc(1000))).toBe(0);
    // A segment is byte-aligned DEFLATE without a final block: add one to check it alone.
    const fin = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]);
    for (const seg of [rnd.subarray(0, DEFLATE_CHUNK), text.subarray(0, DEFLATE_CHUNK)]) {
      expect(inflateRawSync(Buffer.concat([...deflateSegment(seg), fin])).equals(seg)).toBe(true);
    }
    write(path.join(src, 'random.bin'), rnd);
    write(path.join(src, 'text.conf'), text);
    const mk = (name: string) => [{ path: `/data/${name}`, kind: 'file' as const, source: path.join(src, name), mode: 0o644, uid: 0, gid: 0 }];
    const r = await buildLayer(mk('random.bin'), { tmpDir: out });
    const t = await buildLayer(mk('text.conf'), { tmpDir: out });
    expect(r.size).toBeGreaterThan(rnd.length); // stored: input plus block headers
    expect(r.size).toBeLessThan(r.uncompressedSize + 1024);
    expect(t.size).toBeLessThan(text.length / 50);
    for (const l of [r, t]) expect(`sha256:${createHash('sha256').update(gunzipSync(readFileSync(l.path))).digest('hex')}`).toBe(l.diffId);
  });

  it('ends every segment byte-aligned so segments concatenate, for any mix of data and size', async () => {
    const { randomBytes } = await import('node:crypto');
    const { inflateRawSync } = await import('node:zlib');
    const fin = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]);
    const inputs: Buffer[] = [];
    const parts: Uint8Array[] = [];
    for (const size of [1, 2, 3, 7, 100, 1000, 2048, 3000, 5000, 20_000, 70_000, 300_000, DEFLATE_CHUNK]) {
      for (const seg of [
        Buffer.alloc(size),
        randomBytes(size),
        Buffer.from('max_connections = 200\n'.repeat(size / 10 + 1)).subarray(0, size),
        Buffer.concat([randomBytes(size), Buffer.alloc(1024)]), // a tar's last segment: data, then zero padding
      ]) {
        const p = deflateSegment(seg);
        expect(inflateRawSync(Buffer.concat([...p, fin])).equals(seg), `${size} bytes`).toBe(true);
        inputs.push(seg);
        parts.push(...p);
      }
    }
    expect(inflateRawSync(Buffer.concat([...parts, fin])).equals(Buffer.concat(inputs))).toBe(true);
  });

  it('completes a miniz segment whose first sync flush the encoder drops (the second flush finishes it)', () => {
    // Log-like text from a fixed generator; at 90,698 bytes flate2's 32 KiB output buffer is exactly
    // full when the input is written, and foras's single flush then leaves the segment unfinished.
    const words = ('the of and to in is for on that with as by at from this be are or an it not config server request value error ' +
      'table index user data time file log debug info warn cache layer image push build digest registry manifest').split(' ');
    let x = 7;
    const r = () => ((x ^= x << 13), (x >>>= 0), (x ^= x >>> 17), (x ^= x << 5), (x >>>= 0));
    let text = '';
    while (text.length < 200_000) text += `${r() % 100000} ${words[r() % words.length]} ${words[r() % words.length]} ${words[r() % words.length]}=${r() % 10000}\n`;
    const seg = Buffer.from(text).subarray(0, 90_698);
    // The precondition, with foras alone: one flush does not end in a sync marker here.
    preloadCompressor(); // initialises foras's WebAssembly, which the require below shares
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const foras = require(engineFiles().forasGlue);
    const once = new foras.DeflateEncoder(LAYER_CODEC.level);
    const input = new foras.Memory(seg);
    once.write(input);
    input.free();
    once.flush();
    const single = Buffer.from(once.read().copyAndDispose());
    once.free();
    expect(single.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff])), 'this input no longer loses the first flush: find another').toBe(false);
    const fin = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]);
    expect(() => inflateRaw(Buffer.concat([single, fin]))).toThrow();
    // Ours: complete, byte-aligned, and the same on a worker.
    const ours = Buffer.concat(compressSegment(seg));
    expect(ours.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff]))).toBe(true);
    expect(inflateRaw(Buffer.concat([ours, fin])).equals(seg)).toBe(true);
  });

  it('gives the same bytes with any number of compression workers', async () => {
    const text = Buffer.from('shared_buffers = 512MB\n'.repeat(300_000)); // ~7 MiB: several compressible segments
    write(path.join(src, 'many-segments.conf'), text);
    const entries = [...entriesFor(src), { path: '/etc/app/many.conf', kind: 'file' as const, source: path.join(src, 'many-segments.conf'), mode: 0o644, uid: 0, gid: 0 }];
    const results = [];
    for (const parallelism of [0, 1, 3]) results.push(await buildLayer(entries, { tmpDir: out, parallelism }));
    expect(new Set(results.map((r) => r.digest)).size).toBe(1);
    expect(results[0]!.size).toBeLessThan(results[0]!.uncompressedSize - text.length * 0.9); // the text was compressed
    // The worker's JavaScript and compressSegment agree byte for byte.
    const pool = new SegmentPool(2);
    try {
      for (const seg of [text.subarray(0, DEFLATE_CHUNK), text.subarray(5, 70_000), Buffer.from('x'), Buffer.concat([Buffer.alloc(3000, 7), Buffer.from('tail')])]) {
        expect(Buffer.from(await pool.compress(seg)).equals(Buffer.concat(compressSegment(seg)))).toBe(true);
        expect(Buffer.from(await pool.compress(seg, BASE_IMAGE_CODEC)).equals(Buffer.concat(compressSegment(seg, BASE_IMAGE_CODEC)))).toBe(true);
      }
    } finally {
      await pool.close();
    }
  });

  it('gives the same bytes whichever thread compresses which segment (workers, this thread while they are busy, buffers handed over)', async () => {
    // Compressible and random segments alternating, files ending just before, on and just after a
    // segment boundary (the tar headers shift them), so every path of the scheduler is taken: a worker
    // answer, this thread taking a segment while the worker is busy, a stored segment in between, a
    // full segment handed to the worker without a copy, the short last segment.
    const text = Buffer.from('wal_level = replica\nmax_wal_senders = 10\n'.repeat(120_000)); // ~4.9 MiB
    const sizes = [DEFLATE_CHUNK - 1, DEFLATE_CHUNK, DEFLATE_CHUNK + 1, 3 * DEFLATE_CHUNK, 2 * DEFLATE_CHUNK - 512];
    const entries = sizes.flatMap((n, i) => {
      const t = path.join(src, `text-${i}.conf`);
      const r = path.join(src, `random-${i}.bin`);
      write(t, text.subarray(i * 1000, i * 1000 + n));
      write(r, randomBytes(n));
      return [
        { path: `/opt/mix/text-${i}.conf`, kind: 'file' as const, source: t, mode: 0o644, uid: 0, gid: 0 },
        { path: `/opt/mix/random-${i}.bin`, kind: 'file' as const, source: r, mode: 0o644, uid: 0, gid: 0 },
      ];
    });
    const results = [];
    for (const parallelism of [0, 1, 2, 0]) results.push(await buildLayer(entries, { tmpDir: out, parallelism }));
    expect(new Set(results.map((r) => r.digest)).size).toBe(1);
    expect(new Set(results.map((r) => r.diffId)).size).toBe(1);
    // The reference: the tar through deflateSegment, one segment at a time, on this thread.
    const tarBytes = inflateRaw(readFileSync(results[0]!.path).subarray(10, -8));
    expect(`sha256:${createHash('sha256').update(referenceBlob(tarBytes)).digest('hex')}`).toBe(results[0]!.digest);
  });

  it('stores high-entropy segments on this thread, for any worker count, with the bytes deflateSegment gives', async () => {
    const rnd = randomBytes(3 * DEFLATE_CHUNK + 12345);
    write(path.join(src, 'random.bin'), rnd);
    const entries = [{ path: '/opt/random.bin', kind: 'file' as const, source: path.join(src, 'random.bin'), mode: 0o644, uid: 0, gid: 0 }];
    const results = [];
    for (const parallelism of [0, 1, 2]) results.push(await buildLayer(entries, { tmpDir: out, parallelism }));
    expect(new Set(results.map((r) => r.digest)).size).toBe(1);
    expect(results[0]!.size).toBeGreaterThan(rnd.length); // stored, not compressed
    // The blob is the tar's segments through deflateSegment, stored ones included.
    const tarBytes = gunzipSync(readFileSync(results[2]!.path));
    expect(referenceBlob(tarBytes).equals(readFileSync(results[2]!.path))).toBe(true);
  });

  it('hands every compressed piece to onData, in order', async () => {
    const pieces: Buffer[] = [];
    const l = await buildLayer(entriesFor(src), { tmpDir: out, onData: (c) => void pieces.push(Buffer.from(c)) });
    expect(Buffer.concat(pieces).equals(readFileSync(l.path))).toBe(true);
  });

  it('rejects (no crash) when onData fails, at the gzip header or later, and leaves no temp file', async () => {
    const before = readdirSync(out).filter((f) => f.endsWith('.tmp')).length;
    for (const failAt of [0, 1]) {
      let n = 0;
      const onData = () => {
        if (n++ === failAt) throw new Error(`refused piece ${failAt}`);
      };
      await expect(buildLayer(entriesFor(src), { tmpDir: out, onData })).rejects.toThrow(`refused piece ${failAt}`);
    }
    await new Promise((r) => setTimeout(r, 20)); // an unhandled 'error' would surface here and fail the run
    expect(readdirSync(out).filter((x) => x.endsWith('.tmp')).length).toBe(before);
  });

  it('reads SOURCE_DATE_EPOCH from the environment and refuses bad values', () => {
    expect(resolveSourceDateEpoch(undefined, {})).toBe(0);
    expect(resolveSourceDateEpoch(undefined, { SOURCE_DATE_EPOCH: '1700000000' })).toBe(1_700_000_000);
    expect(resolveSourceDateEpoch(5, { SOURCE_DATE_EPOCH: '1700000000' })).toBe(5);
    expect(() => resolveSourceDateEpoch(undefined, { SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(CleanimgError);
    expect(() => resolveSourceDateEpoch(-1)).toThrow(/SOURCE_DATE_EPOCH/);
  });

  it('refuses duplicate paths and a file used as a folder, and leaves no temp file on failure', async () => {
    const before = readdirSync(out).filter((f) => f.endsWith('.tmp')).length;
    const f = path.join(src, 'custom.conf');
    expect(() => normalizeEntries([{ path: '/a', kind: 'file', source: f, mode: 0o644, uid: 0, gid: 0 }, { path: '/a', kind: 'dir', mode: 0o755, uid: 0, gid: 0 }])).toThrow(/listed twice/);
    expect(() => normalizeEntries([{ path: '/a', kind: 'file', source: f, mode: 0o644, uid: 0, gid: 0 }, { path: '/a/b', kind: 'file', source: f, mode: 0o644, uid: 0, gid: 0 }])).toThrow(/needs it to be a folder/);
    expect(() => normalizeEntries([{ path: 'rel', kind: 'dir', mode: 0o755, uid: 0, gid: 0 }])).toThrow(CleanimgError);
    await expect(buildLayer([{ path: '/x', kind: 'file', source: path.join(src, 'missing'), mode: 0o644, uid: 0, gid: 0 }], { tmpDir: out })).rejects.toThrow();
    expect(readdirSync(out).filter((x) => x.endsWith('.tmp')).length).toBe(before);
  });

  it('matches the recorded digest of a fixed input (the format is frozen; a change here changes every image digest)', async () => {
    // Deterministic content: text, zeros, and pseudo-random bytes from a sha256 chain (high entropy, stored).
    const prng = Buffer.alloc(1_500_000);
    let h = createHash('sha256').update('cleanimg').digest();
    for (let o = 0; o < prng.length; o += 32) {
      h.copy(prng, o);
      h = createHash('sha256').update(h).digest();
    }
    const dir = path.join(path.dirname(src), 'golden');
    write(path.join(dir, 'app.conf'), 'listen = 8080\n'.repeat(100_000));
    write(path.join(dir, 'blob.bin'), prng);
    write(path.join(dir, 'zeros'), Buffer.alloc(300_000));
    const entries: LayerEntry[] = [
      { path: '/etc/app/app.conf', kind: 'file', source: path.join(dir, 'app.conf'), mode: 0o640, uid: 0, gid: 65532 },
      { path: '/opt/blob.bin', kind: 'file', source: path.join(dir, 'blob.bin'), mode: 0o755, uid: 0, gid: 0 },
      { path: '/var/lib/app/zeros', kind: 'file', source: path.join(dir, 'zeros'), mode: 0o600, uid: 65532, gid: 65532 },
    ];
    const l = await buildLayer(entries, { tmpDir: out, sourceDateEpoch: 1_700_000_000 });
    expect({ digest: l.digest, diffId: l.diffId, size: l.size }).toEqual(GOLDEN);
    const l6 = await buildLayer(entries, { tmpDir: out, sourceDateEpoch: 1_700_000_000, codec: BASE_IMAGE_CODEC, parallelism: 0 });
    expect({ digest: l6.digest, diffId: l6.diffId, size: l6.size }).toEqual(GOLDEN_LEVEL_6);
  });

  it('gives the same bytes on Node 22 as on this Node', () => {
    // Run one script under this Node and under Node 22 (fetched as an npm package), both through tsx.
    const script = path.join(out, 'layer-digest.ts');
    writeFileSync(
      script,
      `import { buildLayer } from ${JSON.stringify(path.join(repoRoot, 'src/oci/layer.ts'))};
const entries = JSON.parse(process.argv[2]!);
buildLayer(entries, { tmpDir: ${JSON.stringify(out)}, sourceDateEpoch: 1700000000, parallelism: 2 }).then((l) => console.log(JSON.stringify({ v: process.version, digest: l.digest, diffId: l.diffId })));
`,
    );
    // Include several compressible segments so Node 22 runs the worker threads too.
    write(path.join(src, 'node22.conf'), Buffer.from('work_mem = 4MB\n'.repeat(250_000)));
    const arg = JSON.stringify([...entriesFor(src), { path: '/etc/app/node22.conf', kind: 'file', source: path.join(src, 'node22.conf'), mode: 0o644, uid: 0, gid: 0 }]);
    const here = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', script, arg], { cwd: repoRoot, encoding: 'utf8' }));
    const r = spawnSync('npx', ['-y', '-p', 'node@22', 'node', '--import', 'tsx', script, arg], { cwd: repoRoot, encoding: 'utf8', timeout: 180_000 });
    expect(r.status, r.stderr).toBe(0);
    const n22 = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(n22.v).toMatch(/^v22\./);
    expect(here.v).not.toBe(n22.v);
    expect(n22.digest).toBe(here.digest);
    expect(n22.diffId).toBe(here.diffId);
  }, 240_000);
});
