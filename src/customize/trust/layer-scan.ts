/**
 * Read one image layer as a stream and keep what the trust store needs: every entry's header, the
 * contents of the files a caller asks for (bounded), whiteouts and opaque folders. The bytes are
 * checked against the descriptor's digest and size as they pass; the layer is never held in memory.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { CleanimgError } from '../../errors';
import type { Descriptor } from '../../oci/types';

export type OpenLayerStream = (layer: Descriptor) => Promise<NodeJS.ReadableStream | AsyncIterable<Uint8Array>>;

export interface ScannedEntry {
  readonly type: 'file' | 'dir' | 'symlink' | 'link' | 'other';
  /** Symlink target as written; for hardlinks the linked path (normalised, absolute). */
  readonly linkname?: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** Contents, when the caller asked for this path and it fit the limit. */
  readonly content?: Buffer;
}

export interface ScannedLayer {
  readonly index: number;
  readonly digest: string;
  /** Last entry per normalised path (`/etc/ssl/certs/x`), in this layer only. */
  readonly entries: Map<string, ScannedEntry>;
  /** Paths this layer deletes from the layers below (`.wh.<name>`). */
  readonly whiteouts: Set<string>;
  /** Folders whose lower contents this layer hides (`.wh..wh..opq`). */
  readonly opaque: Set<string>;
  /** Compressed bytes read. */
  readonly bytes: number;
}

export function normalizeImagePath(p: string): string {
  const n = path.posix.normalize(`/${p}`);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

function scanError(code: string, where: string, message: string, fix: string): CleanimgError {
  return new CleanimgError('cannot read the base image\'s trust store', [{ code, path: where, message, fix }]);
}

/**
 * Stream layer `index` and record it. `capture(path, size)` says whether to keep a regular file's
 * contents (files over `maxCapture` bytes are never kept).
 */
export async function scanLayer(
  open: OpenLayerStream,
  layer: Descriptor,
  index: number,
  capture: (p: string, size: number) => boolean,
  maxCapture = 16 << 20,
): Promise<ScannedLayer> {
  const where = `base layer ${index + 1} (${layer.digest})`;
  if (/zstd/.test(layer.mediaType)) throw scanError('TC007', where, `layer media type ${layer.mediaType} (zstd) is not supported`, 'use a base with gzip or uncompressed layers');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tar = require('tar-stream') as typeof import('tar-stream'); // loaded on first use (start-up time)
  const entries = new Map<string, ScannedEntry>();
  const whiteouts = new Set<string>();
  const opaque = new Set<string>();
  const hash = createHash('sha256');
  let bytes = 0;
  const src = await open(layer);
  // Count and hash every byte; the first two say gzip or plain tar.
  const counted = (async function* () {
    for await (const chunk of src as AsyncIterable<Uint8Array>) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      hash.update(b);
      bytes += b.length;
      yield b;
    }
  })();
  const first: Buffer[] = [];
  let firstLen = 0;
  let done = false;
  while (firstLen < 2) {
    const n = await counted.next();
    if (n.done) {
      done = true;
      break;
    }
    first.push(n.value);
    firstLen += n.value.length;
  }
  const head = Buffer.concat(first);
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const body = Readable.from(
    (async function* () {
      if (head.length) yield head;
      if (done) return;
      for (;;) {
        const n = await counted.next();
        if (n.done) return;
        yield n.value;
      }
    })(),
    { objectMode: false },
  );
  const extract = tar.extract();
  const stages: NodeJS.ReadWriteStream[] = gzip ? [zlib.createGunzip()] : [];
  const feeding = (pipeline as (...s: unknown[]) => Promise<void>)(body, ...stages, extract);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const p = normalizeImagePath(h.name);
      const base = path.posix.basename(p);
      if (base === '.wh..wh..opq') {
        opaque.add(path.posix.dirname(p));
        entry.resume();
        continue;
      }
      if (base.startsWith('.wh.')) {
        whiteouts.add(path.posix.join(path.posix.dirname(p), base.slice(4)));
        entry.resume();
        continue;
      }
      const type: ScannedEntry['type'] =
        h.type === 'file' || h.type === 'contiguous-file' ? 'file' : h.type === 'directory' ? 'dir' : h.type === 'symlink' ? 'symlink' : h.type === 'link' ? 'link' : 'other';
      const size = h.size ?? 0;
      let content: Buffer | undefined;
      if (type === 'file' && size <= maxCapture && capture(p, size)) {
        const parts: Buffer[] = [];
        for await (const c of entry) parts.push(c as Buffer);
        content = Buffer.concat(parts);
      } else {
        entry.resume();
      }
      const linkname = type === 'link' ? normalizeImagePath(h.linkname ?? '') : h.linkname ?? undefined;
      entries.set(p, { type, ...(linkname !== undefined && linkname !== null ? { linkname } : {}), mode: (h.mode ?? 0o644) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0, size, ...(content ? { content } : {}) });
    }
    await feeding;
  } catch (e) {
    await feeding.catch(() => undefined);
    if (e instanceof CleanimgError) throw e;
    throw scanError('TC007', where, `cannot read the layer as ${gzip ? 'gzip-compressed ' : ''}tar: ${(e as Error).message}`, 'check that the base image is intact');
  }
  const digest = `sha256:${hash.digest('hex')}`;
  if (digest !== layer.digest || bytes !== layer.size) {
    throw scanError('TC007', where, `the layer was served as ${bytes} bytes with digest ${digest}; the manifest says ${layer.size} bytes, ${layer.digest}`, 'the source served altered or truncated data: do not trust it, and check the registry or mirror');
  }
  return { index, digest: layer.digest, entries, whiteouts, opaque, bytes };
}
