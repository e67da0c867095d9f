/**
 * A deterministic image layer: the same entries and file contents give the same bytes, on any machine
 * and any Node version.
 *
 * - Entries are sorted by path component (a folder always comes before what it holds), and every parent
 *   folder is written explicitly (0755 root:root unless the caller gives it; /tmp and /var/tmp 1777).
 * - Every header carries the same mtime (SOURCE_DATE_EPOCH, else 0), numeric uid/gid, no user or group
 *   names; long or non-ASCII names use PAX headers (tar-stream writes them with fixed contents).
 * - File contents are streamed from disk in bounded chunks; nothing holds a whole file in memory.
 * - Compression: one gzip member whose DEFLATE stream is cut into fixed 1 MiB segments of the tar, each
 *   compressed on its own and ended byte-aligned (deflate-segment.ts), like pigz. Segments that look
 *   already compressed are stored; the others go through a compressor pinned to one version
 *   (LAYER_CODEC: miniz_oxide in WebAssembly), so the output does not change with the zlib a Node
 *   version bundles, nor with the CPU features that zlib's fast paths pick. The gzip wrapper is written
 *   here: no file name, mtime 0, XFL 0, OS 3 (Unix); the CRC-32 comes from node:zlib's crc32, a pure
 *   function of the bytes. The codec, DEFLATE_CHUNK, STORE_ENTROPY, the entropy sample and the
 *   compressor's version are part of the format: changing any of them changes every digest. Segments
 *   are checked (and stored) on this thread; compressible ones are compressed on worker threads
 *   (LayerOptions.parallelism, segment-pool.ts) or here when those are busy, and written in order, so
 *   the bytes never depend on the worker count.
 * - The compressed blob goes to a temp file while the compressed digest, the diffID (sha256 of the
 *   tar) and the sizes are computed in the same pass.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import type * as tar from 'tar-stream';
import { CleanimgError } from '../errors';
import { checkCodec, compressSegment, DEFLATE_CHUNK, LAYER_CODEC, looksCompressed, preloadCompressor, storeSegment, type DeflateCodec } from './deflate-segment';
import { defaultParallelism, SegmentPool } from './segment-pool';
import { openNoFollow, sameSourceStat, sourceChangedError, sourceStatOf, type SourceStat } from './source-stat';
import { MediaType } from './types';

export interface LayerEntry {
  /** Absolute path inside the image, normalised: `/etc/ssl/certs/ca.crt`. */
  readonly path: string;
  readonly kind: 'file' | 'dir';
  /** For files: the file on disk whose contents are copied. */
  readonly source?: string;
  /**
   * For files: the source as the input checks saw it. When set, the layer is built only from that
   * very file, unchanged (another inode, size or time: LAYER004).
   */
  readonly sourceStat?: SourceStat;
  /**
   * For files: the sha256 (hex) of the bytes the input checks read. When set, the bytes written are
   * hashed as they are read and another hash fails the build (LAYER004): a write through a shared
   * mapping changes the bytes without changing the stat.
   */
  readonly sourceSha256?: string;
  /** Permission bits (& 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export interface BuiltLayer {
  /** The compressed blob on disk (a temp file the caller moves or deletes). */
  readonly path: string;
  /** sha256 of the compressed blob. */
  readonly digest: string;
  /** sha256 of the uncompressed tar (goes into the config's rootfs.diff_ids). */
  readonly diffId: string;
  /** Size of the compressed blob. */
  readonly size: number;
  readonly uncompressedSize: number;
  readonly mediaType: string;
  /** The entries as written, in order, parents included. */
  readonly entries: readonly LayerEntry[];
}

export interface LayerOptions {
  /** Folder for the temp blob; default os.tmpdir(). Put it on the layout's filesystem so a rename suffices. */
  readonly tmpDir?: string;
  /** Seconds since the epoch for every mtime; default from SOURCE_DATE_EPOCH, else 0. */
  readonly sourceDateEpoch?: number;
  /** Default OCI gzip layer; the bytes are the same for Docker's gzip layer type. */
  readonly mediaType?: string;
  /**
   * Called with each piece of the compressed blob, in order, as it is written (awaited, so it applies
   * backpressure). Lets an uploader send the blob while it is being built; the digest is known at the end.
   */
  readonly onData?: (chunk: Uint8Array) => Promise<void> | void;
  /**
   * Called once the last piece went to onData and the blob's digest and size are known, before the
   * temp file is flushed to disk: lets an uploader close its upload while the flush runs. Not awaited.
   */
  readonly onBuilt?: (blob: { readonly digest: string; readonly size: number }) => void;
  /** Worker threads for compression; default defaultParallelism(); 0 compresses on this thread. Bytes are the same either way. */
  readonly parallelism?: number;
  /**
   * Compressor and level, part of the bytes; default LAYER_CODEC. Only for artefacts published with
   * another codec whose digest must not move (the embedded base image: BASE_IMAGE_CODEC).
   */
  readonly codec?: DeflateCodec;
}

// tar-stream loads on first use: a build whose layer comes from the cache never needs it (start-up
// time counts in a re-push).
let tarMod: typeof tar | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tarStream = (): typeof tar => (tarMod ??= require('tar-stream') as typeof tar);

/**
 * Loads what buildLayer needs (tar-stream, the compressor) now: for a caller that is waiting on the
 * network anyway and may build a layer next, so the loading fills the wait instead of following it.
 */
export function preloadLayerModules(): void {
  preloadCompressor();
  tarStream();
}

const READ_CHUNK = 1 << 20;
/**
 * The blob is flushed to disk in the background after every this many bytes written: a layer in the
 * cache must survive a crash, and one fsync after the last byte took 0.11 s per 50 MiB here (2 s per
 * GiB), all of it added to the build's time.
 */
const FLUSH_EVERY = 16 << 20;
/** Largest mtime an ustar header holds (11 octal digits). */
const MAX_EPOCH = 0o77777777777;

/** SOURCE_DATE_EPOCH as reproducible-builds.org defines it: decimal seconds; unset or empty means 0. */
export function resolveSourceDateEpoch(explicit?: number | string, env: NodeJS.ProcessEnv = process.env): number {
  const raw = explicit ?? env['SOURCE_DATE_EPOCH'];
  if (raw === undefined || raw === '') return 0;
  const n = typeof raw === 'number' ? raw : /^[0-9]+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_EPOCH) {
    throw new CleanimgError('invalid SOURCE_DATE_EPOCH', [
      {
        code: 'LAYER001',
        path: 'SOURCE_DATE_EPOCH',
        message: `"${String(raw)}" is not a whole number of seconds since 1970 within the tar range`,
        fix: 'set SOURCE_DATE_EPOCH to decimal seconds, e.g. $(git log -1 --format=%ct), or unset it',
      },
    ]);
  }
  return n;
}

/** Mode for a parent folder nobody specified. */
export function defaultDirMode(p: string): number {
  return p === '/tmp' || p === '/var/tmp' ? 0o1777 : 0o755;
}

function components(p: string): string[] {
  return p.split('/').filter((s) => s.length > 0);
}

/** Byte-wise comparison of path components, so parents sort before children. */
export function comparePaths(a: string, b: string): number {
  const x = components(a);
  const y = components(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    if (x[i] !== y[i]) return Buffer.compare(Buffer.from(x[i]!), Buffer.from(y[i]!));
  }
  return x.length - y.length;
}

function checkPath(p: string): void {
  const parts = components(p);
  if (!p.startsWith('/') || parts.length === 0 || parts.some((s) => s === '.' || s === '..') || p.includes('\0') || /\/\/|\/$/.test(p)) {
    throw new CleanimgError('invalid layer entry', [
      { code: 'LAYER002', path: p, message: 'layer paths must be absolute, normalised and not the root', fix: 'pass paths like /etc/app/config.yaml' },
    ]);
  }
}

/**
 * Validate, add missing parents (0755 root:root, /tmp 1777), and sort. A path listed twice, or a file
 * that is also a parent of something, is an error.
 */
export function normalizeEntries(entries: readonly LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) {
    checkPath(e.path);
    if (e.kind === 'file' && !e.source) {
      throw new CleanimgError('invalid layer entry', [{ code: 'LAYER002', path: e.path, message: 'a file entry needs a source', fix: 'set source to the file on disk' }]);
    }
    for (const id of [e.uid, e.gid]) {
      if (!Number.isInteger(id) || id < 0 || id > 0o7777777) {
        throw new CleanimgError('invalid layer entry', [{ code: 'LAYER002', path: e.path, message: `id ${id} out of range`, fix: 'use uid/gid from 0 to 2097151' }]);
      }
    }
    if (byPath.has(e.path)) {
      throw new CleanimgError('invalid layer entry', [{ code: 'LAYER003', path: e.path, message: 'the path is listed twice', fix: 'give each path once' }]);
    }
    byPath.set(e.path, { ...e, mode: e.mode & 0o7777 });
  }
  for (const e of [...byPath.values()]) {
    const parts = components(e.path);
    for (let i = 1; i < parts.length; i++) {
      const parent = '/' + parts.slice(0, i).join('/');
      const have = byPath.get(parent);
      if (have && have.kind === 'file') {
        throw new CleanimgError('invalid layer entry', [
          { code: 'LAYER003', path: parent, message: `is a file but ${e.path} needs it to be a folder`, fix: 'move one of them' },
        ]);
      }
      if (!have) byPath.set(parent, { path: parent, kind: 'dir', mode: defaultDirMode(parent), uid: 0, gid: 0 });
    }
  }
  return [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
}

/** The tar name of an entry: no leading slash, folders end with "/". */
export function tarName(e: LayerEntry): string {
  const n = e.path.slice(1);
  return e.kind === 'dir' ? `${n}/` : n;
}

/** Gzip member header: magic, deflate, no flags, mtime 0, XFL 0, OS 3 (Unix). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);
/** An empty, final, stored DEFLATE block: ends the stream (we are byte-aligned when it is written). */
const FINAL_BLOCK = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]);
/**
 * Streams bytes through DEFLATE in fixed-size, independent segments and writes one gzip member to a
 * file, hashing what it writes. Compressible segments may be compressed on worker threads; results are
 * written in segment order, so the bytes do not depend on the number of workers.
 */
class DeterministicGzipFile {
  /** The segment being filled: a buffer of its own, handed to a worker (not copied) when full. */
  private pending = Buffer.allocUnsafeSlow(DEFLATE_CHUNK);
  private filled = 0;
  private crc = 0;
  private inputSize = 0;
  private readonly hash = createHash('sha256');
  private readonly queue: Promise<Uint8Array[]>[] = [];
  private pool: SegmentPool | undefined;
  size = 0;
  /** Bytes written since the last flush to disk was started, and that flush (see emit). */
  private unflushed = 0;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly fh: FileHandle,
    private readonly parallelism: number,
    private readonly onData?: (chunk: Uint8Array) => Promise<void> | void,
    private readonly codec: DeflateCodec = LAYER_CODEC,
  ) {}

  async start(): Promise<void> {
    await this.emit([GZIP_HEADER]);
  }

  async write(data: Buffer): Promise<void> {
    this.crc = crc32(data, this.crc);
    this.inputSize += data.length;
    let off = 0;
    while (off < data.length) {
      const n = Math.min(DEFLATE_CHUNK - this.filled, data.length - off);
      data.copy(this.pending, this.filled, off, off + n);
      this.filled += n;
      off += n;
      if (this.filled === DEFLATE_CHUNK) {
        const full = this.pending;
        this.pending = Buffer.allocUnsafeSlow(DEFLATE_CHUNK);
        this.filled = 0;
        await this.segment(full, true, true);
      }
    }
  }

  /**
   * Queue one segment and write out what is ready, keeping order. `give`: the segment's buffer is no
   * longer used by the caller (a full segment), so a worker may take it without a copy.
   *
   * The entropy check runs here: a segment to store (already compressed data) is stored here, never
   * sent to a thread, and a layer of such data starts no worker at all. A compressible segment goes to
   * a free worker, started once a layer has a full one (small layers stay in-thread); when every worker
   * is busy, this thread compresses it itself instead of waiting (on compressible data it would
   * otherwise mostly wait, one core idle).
   * Which thread compresses what never changes the bytes: they are deflateSegment's, written in order.
   */
  private async segment(seg: Buffer, more: boolean, give = false): Promise<void> {
    if (seg.length && looksCompressed(seg)) {
      this.queue.push(Promise.resolve(storeSegment(seg)));
    } else if (seg.length) {
      if (!this.pool && more && this.parallelism > 0) this.pool = new SegmentPool(this.parallelism);
      if (this.pool && this.pool.busy < this.pool.size) {
        const p = this.pool.compress(seg, this.codec, give).then((b) => [b]);
        p.catch(() => undefined); // awaited in order below; this only marks an early failure as handled
        this.queue.push(p);
      } else {
        this.queue.push(Promise.resolve(compressSegment(seg, this.codec)));
      }
    }
    const limit = more ? Math.max(1, 2 * (this.pool?.size ?? 0)) : 0;
    while (this.queue.length > limit) await this.emit(await this.queue.shift()!);
  }

  async end(): Promise<string> {
    await this.segment(this.pending.subarray(0, this.filled), false);
    this.filled = 0;
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.inputSize % 0x100000000, 4);
    await this.emit([FINAL_BLOCK, trailer]);
    return `sha256:${this.hash.digest('hex')}`;
  }

  /** Stop the workers; whatever is still queued is dropped (its rejections are handled here). */
  async close(): Promise<void> {
    const left = this.queue.splice(0);
    const settled = Promise.allSettled(left);
    await this.pool?.close();
    await settled;
    await this.flushing?.catch(() => undefined);
  }

  private async emit(chunks: Uint8Array[]): Promise<void> {
    for (const c of chunks) {
      this.hash.update(c);
      this.size += c.length;
      let off = 0;
      while (off < c.length) {
        const { bytesWritten } = await this.fh.write(c, off, c.length - off);
        off += bytesWritten;
      }
      this.unflushed += c.length;
      if (this.unflushed >= FLUSH_EVERY && !this.flushing) {
        // Put what is written on disk while the rest is built (not awaited here): the sync at the end
        // then has only the tail to write, instead of the whole layer after the last byte.
        this.unflushed = 0;
        this.flushing = this.fh.datasync().finally(() => (this.flushing = undefined));
        this.flushing.catch(() => undefined); // a failure shows in sync() below
      }
      if (this.onData) await this.onData(c);
    }
  }

  /** Waits for a flush started while writing, then makes the whole file durable. */
  async sync(): Promise<void> {
    await this.flushing?.catch(() => undefined);
    await this.fh.sync();
  }
}

/** Feed one file's contents into a tar entry, reading at most `size` bytes and checking nothing changed. */
type Sink = ReturnType<tar.Pack['entry']>;

async function streamFile(sink: Sink, e: LayerEntry, size: number, fh: FileHandle): Promise<void> {
  const hash = e.sourceSha256 ? createHash('sha256') : undefined;
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(size - total, 1)));
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) break;
    total += bytesRead;
    if (total > size) break;
    const bytes = bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    hash?.update(bytes);
    const ok = sink.write(bytes);
    if (!ok) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
    if (total === size) {
      // Detect growth: one more byte means the file changed while we read it.
      const probe = Buffer.alloc(1);
      const r = await fh.read(probe, 0, 1, null);
      if (r.bytesRead) total += 1;
      break;
    }
  }
  if (total !== size) {
    throw new CleanimgError('a source file changed while the layer was built', [
      { code: 'LAYER004', path: e.source ?? e.path, message: `expected ${size} bytes, read ${total}`, fix: 'do not modify the inputs during a build, then run it again' },
    ]);
  }
  if (hash && hash.digest('hex') !== e.sourceSha256) throw changedSource(e, 'its bytes differ from those the input checks read (written in place without a new mtime or ctime, e.g. through a shared mapping)');
}

function entryDone(sink: Sink): Promise<void> {
  return new Promise((resolve, reject) => {
    sink.once('error', reject);
    sink.once('finish', () => resolve());
    sink.once('close', () => resolve());
  });
}

const changedSource = (e: LayerEntry, what: string) => sourceChangedError(e.source ?? e.path, what);

/** Opens an entry's source, never through a symlink where the checks saw a file. */
async function openSource(e: LayerEntry): Promise<FileHandle> {
  try {
    return e.sourceStat ? await openNoFollow(e.source!) : await open(e.source!, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw changedSource(e, 'it was replaced by a symlink after the input checks read it');
    throw err;
  }
}

/**
 * Build a layer blob from entries (parents are added, entries sorted). Returns where it is and its digests.
 * On error the temp file is removed.
 */
export async function buildLayer(entries: readonly LayerEntry[], opts: LayerOptions = {}): Promise<BuiltLayer> {
  const list = normalizeEntries(entries);
  const epoch = resolveSourceDateEpoch(opts.sourceDateEpoch);
  const mtime = new Date(epoch * 1000);
  const tmpDir = opts.tmpDir ?? os.tmpdir();
  const tmpPath = path.join(tmpDir, `.cleanimg-layer-${randomBytes(8).toString('hex')}.tmp`);
  const fh = await open(tmpPath, 'wx', 0o644);
  const codec = checkCodec(opts.codec ?? LAYER_CODEC);
  const gz = new DeterministicGzipFile(fh, opts.parallelism ?? defaultParallelism(), opts.onData, codec);
  const diff = createHash('sha256');
  let uncompressed = 0;
  const pack = tarStream().pack();
  // A failure before the loop below reads the pack (e.g. onData refusing the gzip header) destroys it
  // with an error that nothing else listens for: without this, a crash instead of a rejected build.
  pack.on('error', () => undefined);
  let ok = false;
  try {
    // The gzip header goes out first, so an uploader (onData) starts its session now; loading the tar
    // writer and the compressor fills that round trip instead of following it.
    const started = gz.start();
    started.catch(() => undefined); // awaited just below; this only marks an early failure as handled
    tarStream();
    if (codec.engine === 'miniz') preloadCompressor();
    await started;
    const produce = (async () => {
      for (const e of list) {
        const header: Partial<tar.Header> & { name: string } = { name: tarName(e), mode: e.mode, uid: e.uid, gid: e.gid, mtime };
        if (e.kind === 'dir') {
          await new Promise<void>((resolve, reject) => {
            pack.entry({ ...header, type: 'directory', size: 0 }, (err) => (err ? reject(err) : resolve()));
          });
          continue;
        }
        const src = await openSource(e);
        try {
          const st = await src.stat({ bigint: true });
          if (!st.isFile()) {
            throw new CleanimgError('not a regular file', [
              { code: 'LAYER005', path: e.source!, message: 'the source is not a regular file', fix: 'copy regular files and folders only' },
            ]);
          }
          const seen = sourceStatOf(st);
          if (e.sourceStat && !sameSourceStat(seen, e.sourceStat)) throw changedSource(e, 'it was replaced or modified after the input checks read it');
          const sink = pack.entry({ ...header, type: 'file', size: Number(st.size) });
          const done = entryDone(sink);
          done.catch(() => undefined); // awaited below; a failed streamFile destroys the sink, which must not crash the process
          await streamFile(sink, e, Number(st.size), src);
          (sink as unknown as { end(): void }).end();
          await done;
          if (!sameSourceStat(seen, sourceStatOf(await src.stat({ bigint: true })))) throw changedSource(e, 'it was modified while the layer was built');
        } finally {
          await src.close();
        }
      }
      pack.finalize();
    })();
    produce.catch((err: unknown) => pack.destroy(err as Error));
    for await (const chunk of pack) {
      const b = chunk as Buffer;
      diff.update(b);
      uncompressed += b.length;
      await gz.write(b);
    }
    await produce;
    const digest = await gz.end();
    opts.onBuilt?.({ digest, size: gz.size });
    await gz.sync();
    ok = true;
    return {
      path: tmpPath,
      digest,
      diffId: `sha256:${diff.digest('hex')}`,
      size: gz.size,
      uncompressedSize: uncompressed,
      mediaType: opts.mediaType ?? MediaType.OciLayerGzip,
      entries: list,
    };
  } finally {
    if (!ok) pack.destroy(new Error('layer build aborted'));
    await gz.close();
    await fh.close();
    if (!ok) await unlink(tmpPath).catch(() => undefined);
  }
}
