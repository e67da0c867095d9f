/**
 * A local, content-addressed cache of built overlay layers, so that a repeat build of unchanged inputs
 * knows its layer digest without tarring and compressing again (and a repeat push is a few HEADs).
 *
 * Layout (default `$CLEANIMG_CACHE_DIR/layers` — next to the image cache of `pull` — else
 * `$XDG_CACHE_HOME/cleanimg/layers`, else `~/.cache/cleanimg/layers`):
 *   blobs/sha256/<hex>   compressed layer blobs, named by their digest
 *   layers/<key>.json    layer key -> { digest, diffId, size, uncompressedSize }
 *   files/<hash>.json    stat record of one source file -> sha256 of its contents
 *   tmp/                 temp files (layers are built here, so a hard link puts them in the cache)
 *
 * The key (decision): sha256 over everything the layer's bytes depend on and nothing else: a format
 * tag (LAYER_CODEC, DEFLATE_CHUNK, STORE_ENTROPY and the compressor's and tar-stream's versions, part
 * of the byte format), the timestamp (SOURCE_DATE_EPOCH), and every normalised entry (path, kind, mode,
 * uid, gid) with, for files, the size and the sha256 of the contents. So the cache never changes the
 * output: the same key means the same tar and gzip input, whatever the spec file looks like.
 *
 * Content identity without hashing every time (what git does for its index): the sha256 of a source
 * is remembered with the file's stat (device, inode, size, mtime and ctime in nanoseconds). The record
 * is trusted only when every field matches and the file's mtime and ctime are more than RACY_MS older
 * than the moment the record was written ("racy git": a write in the same clock tick as the hashing
 * would not change the times). ctime cannot be set by a user (`touch -d` and utimes() update it), so
 * putting old times back does not fool it. Otherwise the file is hashed again (streamed, ~0.1 s per
 * 50 MiB) and the record renewed; after `touch` the key is the same, after a content change it is not.
 * After a fresh build the sources are stat'ed again, and the layer is stored only if none changed.
 *
 * The private-key scan (private-keys.ts) is a pure function of a file's contents, so its result is kept
 * in the same record (with PRIVATE_KEY_SCAN_VERSION): one read gives both the sha256 and the scan, and an
 * unchanged file is not read at all on a repeat build. A record can be wrong (a write through a dirty
 * shared mapping keeps the stat), so its sha256 goes with the layer entry and the layer builder refuses
 * bytes with another hash (LAYER004): the layer, and the cache entry stored for it, hold scanned bytes. A record without the scanner's current version
 * is not trusted. The scan still runs to the end before anything is pushed: a refused key stops the
 * build before the layer is built.
 *
 * The cached blob itself is trusted by name and size; a push hashes it as it uploads (a corrupt cache
 * file fails before the upload is committed), and writing an OCI layout re-hashes it first (a mismatch
 * evicts it and the layer is built again). Every file is written to a temp name and renamed. Nothing
 * is evicted automatically: delete the folder to reclaim space, or pass --no-cache.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { copyFile, link, mkdir, open, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { dependencyVersion } from '../build-info';
import { cleanimgCacheDir } from '../cache-dir';
import { codecTag, DEFLATE_CHUNK, LAYER_CODEC, SAMPLE_BLOCK, SAMPLE_EVERY, STORE_ENTROPY } from '../oci/deflate-segment';
import type { BuiltLayer, LayerEntry } from '../oci/layer';
import { sameSourceStat, sourceChangedError, sourceStatOf } from '../oci/source-stat';
import { PRIVATE_KEY_SCAN_VERSION } from './private-keys';
import { hashAndScan, readAhead } from './source-read';

/** Records of files changed less than this long before they were hashed are not trusted. */
export const RACY_MS = 2000;

export interface CachedLayer {
  readonly path: string;
  readonly digest: string;
  readonly diffId: string;
  readonly size: number;
  readonly uncompressedSize: number;
}

interface SourceState {
  readonly source: string;
  readonly st: BigIntStats;
  readonly sha256: string;
}

export interface LayerIdentity {
  /** The cache key (hex). */
  readonly key: string;
  /** How many sources were hashed (the others were known by their stat record). */
  readonly hashed: number;
  readonly sources: readonly SourceState[];
}

/** The default layer cache folder: $CLEANIMG_CACHE_DIR/layers, else $XDG_CACHE_HOME/cleanimg/layers, else ~/.cache/cleanimg/layers. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return cleanimgCacheDir('layers', env);
}

let formatTag: string | undefined;
/** Everything besides the entries that the layer's bytes depend on. */
export function layerFormatTag(): string {
  formatTag ??= `cleanimg-layer/2 deflate=${codecTag(LAYER_CODEC, dependencyVersion)} chunk=${DEFLATE_CHUNK} store=${STORE_ENTROPY}/${SAMPLE_BLOCK}x${SAMPLE_EVERY} tar-stream=${dependencyVersion('tar-stream')}`;
  return formatTag;
}

function sameStat(a: BigIntStats, b: BigIntStats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(file, 'r');
  try {
    for await (const chunk of readAhead(fh)) h.update(chunk);
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

interface StatRecord {
  source: string;
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
  recordedAtMs: number;
  sha256: string;
  /** The private-key scan (private-keys.ts, with the scanner's version) and the shell sniff of these contents. */
  keyScan?: { version: number; result: string | null; shell?: string | null };
}

export interface Inspected {
  readonly state: SourceState;
  readonly hashed: boolean;
  readonly privateKey: string | null;
  readonly shell: string | null;
}

export class LayerCache {
  /** Records of files changed less than `racyMs` before they were hashed are not trusted (default RACY_MS). */
  readonly racyMs: number;

  constructor(readonly dir: string = defaultCacheDir(), opts: { racyMs?: number } = {}) {
    this.racyMs = opts.racyMs ?? RACY_MS;
  }

  /** Folder for temp files, on the cache's filesystem (build layers here so they can be linked in). */
  get tmpDir(): string {
    return path.join(this.dir, 'tmp');
  }

  blobPath(digest: string): string {
    return path.join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  private async ensureDirs(): Promise<void> {
    for (const d of ['blobs/sha256', 'layers', 'files', 'tmp']) await mkdir(path.join(this.dir, d), { recursive: true });
  }

  private recordPath(source: string): string {
    return path.join(this.dir, 'files', `${createHash('sha256').update(source).digest('hex')}.json`);
  }

  private async writeAtomic(file: string, text: string): Promise<void> {
    const tmp = path.join(this.tmpDir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(tmp, text, { mode: 0o644 });
    try {
      await rename(tmp, file);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  /**
   * The sha256 of a source's contents and its private-key scan: from this process's memory or the
   * file's stat record when that can be trusted, else from one read of the file (which renews the record).
   */
  async inspect(source: string, fh?: FileHandle): Promise<Inspected> {
    const statNow = () => (fh ? fh.stat({ bigint: true }) : stat(source, { bigint: true }));
    const st = await statNow();
    const recPath = this.recordPath(source);
    try {
      const rec = JSON.parse(await readFile(recPath, 'utf8')) as StatRecord;
      const changedMs = Number((st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs) / 1_000_000n);
      if (
        rec.source === source &&
        rec.dev === String(st.dev) && rec.ino === String(st.ino) && rec.size === String(st.size) &&
        rec.mtimeNs === String(st.mtimeNs) && rec.ctimeNs === String(st.ctimeNs) &&
        changedMs < rec.recordedAtMs - this.racyMs &&
        /^[0-9a-f]{64}$/.test(rec.sha256) &&
        rec.keyScan?.version === PRIVATE_KEY_SCAN_VERSION && rec.keyScan.shell !== undefined
      ) {
        return { state: { source, st, sha256: rec.sha256 }, hashed: false, privateKey: rec.keyScan.result, shell: rec.keyScan.shell };
      }
    } catch {
      /* no record, or unreadable: read the file */
    }
    await this.ensureDirs();
    const recordedAtMs = Date.now();
    const { sha256, privateKey, shell } = await hashAndScan(source, fh);
    const after = await statNow();
    if (sameStat(st, after)) {
      const rec: StatRecord = {
        source, dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), recordedAtMs, sha256,
        keyScan: { version: PRIVATE_KEY_SCAN_VERSION, result: privateKey, shell },
      };
      await this.writeAtomic(recPath, JSON.stringify(rec)).catch(() => undefined);
    }
    return { state: { source, st, sha256 }, hashed: true, privateKey, shell };
  }

  /**
   * The cache key of a layer: normalised entries (parents included, sorted) and the timestamp. `known`:
   * sources this build already inspected (the private-key scan, see build.ts), used while their stat is
   * unchanged, so each input is read at most once before the layer is built.
   */
  async identify(entries: readonly LayerEntry[], sourceDateEpoch: number, known?: ReadonlyMap<string, Inspected>): Promise<LayerIdentity> {
    await this.ensureDirs();
    const sources: SourceState[] = [];
    let hashed = 0;
    const parts: unknown[] = [];
    for (const e of entries) {
      if (e.kind === 'file') {
        const src = path.resolve(e.source!);
        const k = known?.get(src);
        const now = k ? await stat(src, { bigint: true }) : undefined;
        const c = k && now && sameStat(k.state.st, now) ? { ...k, hashed: false } : await this.inspect(src);
        // The key must name the bytes the input checks read, which are the bytes the layer will hold.
        if (e.sourceStat && !sameSourceStat(sourceStatOf(c.state.st), e.sourceStat)) throw sourceChangedError(src, 'it was replaced or modified after the input checks read it');
        if (e.sourceSha256 && c.state.sha256 !== e.sourceSha256) throw sourceChangedError(src, 'its bytes differ from those the input checks read');
        if (c.hashed) hashed++;
        sources.push(c.state);
        parts.push([e.path, e.kind, e.mode, e.uid, e.gid, String(c.state.st.size), c.state.sha256]);
      } else {
        parts.push([e.path, e.kind, e.mode, e.uid, e.gid]);
      }
    }
    const key = createHash('sha256').update(JSON.stringify({ format: layerFormatTag(), epoch: sourceDateEpoch, entries: parts })).digest('hex');
    return { key, hashed, sources };
  }

  /** The cached layer for a key, if its blob is present with the recorded size. */
  async lookup(key: string): Promise<CachedLayer | undefined> {
    try {
      const rec = JSON.parse(await readFile(path.join(this.dir, 'layers', `${key}.json`), 'utf8')) as Omit<CachedLayer, 'path'>;
      if (!/^sha256:[0-9a-f]{64}$/.test(rec.digest) || !/^sha256:[0-9a-f]{64}$/.test(rec.diffId)) return undefined;
      const p = this.blobPath(rec.digest);
      const st = await stat(p);
      if (!st.isFile() || st.size !== rec.size) return undefined;
      return { path: p, digest: rec.digest, diffId: rec.diffId, size: rec.size, uncompressedSize: rec.uncompressedSize };
    } catch {
      return undefined;
    }
  }

  /** Re-hash a cached blob; on a mismatch remove it (and its key) and return false. */
  async verify(key: string, layer: CachedLayer): Promise<boolean> {
    const got = `sha256:${await hashFile(layer.path)}`;
    if (got === layer.digest) return true;
    await unlink(layer.path).catch(() => undefined);
    await unlink(path.join(this.dir, 'layers', `${key}.json`)).catch(() => undefined);
    return false;
  }

  /**
   * Store a freshly built layer under its key, if none of the sources changed since they were
   * identified. The blob is hard-linked (copied across filesystems) into the cache; `built.path` stays
   * where it is. Returns false when nothing was stored.
   */
  async store(id: LayerIdentity, built: BuiltLayer): Promise<boolean> {
    for (const s of id.sources) {
      const now = await stat(s.source, { bigint: true }).catch(() => undefined);
      if (!now || !sameStat(now, s.st)) return false;
    }
    await this.ensureDirs();
    const dest = this.blobPath(built.digest);
    try {
      await link(built.path, dest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        if (code !== 'EXDEV' && code !== 'EPERM') throw e;
        const tmp = path.join(this.tmpDir, `.blob.${randomBytes(6).toString('hex')}.tmp`);
        await copyFile(built.path, tmp);
        await rename(tmp, dest);
      }
    }
    const rec: Omit<CachedLayer, 'path'> = { digest: built.digest, diffId: built.diffId, size: built.size, uncompressedSize: built.uncompressedSize };
    await this.writeAtomic(path.join(this.dir, 'layers', `${id.key}.json`), JSON.stringify(rec));
    return true;
  }
}
