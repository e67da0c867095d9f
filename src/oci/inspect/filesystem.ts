/**
 * The final filesystem of an image, from its layers' tar headers only (file contents are streamed
 * past, never kept): layers applied in order with OCI whiteouts (`.wh.<name>` removes a lower entry,
 * `.wh..wh..opq` empties a lower directory). Layers may be gzip-compressed or plain tar (detected from
 * the bytes, not the media type); zstd is refused with a clear error.
 *
 * The layer bytes are checked against the descriptor's digest while streaming.
 */
import { ContentSniffer, KEPT_FILES } from './content';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { CleanimgError } from '../../errors';
import type { Descriptor } from '../types';

/** Opens a layer blob as a byte stream (from a registry, a layout, or anything else). */
export type OpenLayer = (layer: Descriptor, index: number) => Promise<Readable> | Readable;

export type NodeType = 'file' | 'dir' | 'symlink' | 'other';

export interface FsNode {
  type: NodeType;
  /** For symlinks: the link target as written in the tar. */
  linkname?: string;
  mode: number;
  uid: number;
  gid: number;
  /** Regular files share an inode number with their hardlinks. */
  inode: number;
  /** The layer (0-based) that last wrote this entry. */
  layer: number;
  children?: Map<string, FsNode>;
  /** For an ELF file that is a shell by its contents: which one (see content.ts). */
  shell?: string;
  /** For the files the inspection keeps (/etc/passwd, /etc/group): their text. */
  text?: string;
  /** For `other`: the tar entry type (character-device, block-device, fifo, ...). */
  tarType?: string;
  /** For a file that replaced a file of an earlier layer: that layer. */
  replaces?: number;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE = '.wh..wh..opq';
const MAX_SYMLINK_HOPS = 40;

function inspectError(code: string, where: string, message: string, fix: string): CleanimgError {
  return new CleanimgError('cannot read image layers', [{ code, path: where, message, fix }]);
}

/** `./a//b/` → `/a/b`; `..` cannot climb above the root. */
export function normalizePath(name: string): string {
  const p = path.posix.normalize(`/${name}`);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

function newDir(layer: number, mode = 0o755): FsNode {
  return { type: 'dir', mode, uid: 0, gid: 0, inode: 0, layer, children: new Map() };
}

export class Filesystem {
  readonly root: FsNode = newDir(-1);
  private nextInode = 1;
  /** Number of tar entries read, over all layers. */
  entries = 0;

  /** The node at `p` without following any symlink (`lstat`). */
  lget(p: string): FsNode | undefined {
    let node: FsNode | undefined = this.root;
    for (const part of normalizePath(p).split('/').filter(Boolean)) {
      node = node?.children?.get(part);
      if (!node) return undefined;
    }
    return node;
  }

  /**
   * Resolve `p` as the kernel would (`stat` when `followLast`), following symlinks in every component.
   * Returns the real path and node, or undefined for a missing target or a symlink loop.
   */
  resolve(p: string, followLast = true): { path: string; node: FsNode } | undefined {
    const pending = normalizePath(p).split('/').filter(Boolean);
    const stack: string[] = [];
    let node: FsNode = this.root;
    let hops = 0;
    while (pending.length) {
      const part = pending.shift()!;
      if (part === '.' || part === '') continue;
      if (part === '..') {
        stack.pop();
        node = this.lget(`/${stack.join('/')}`) ?? this.root;
        continue;
      }
      if (node.type !== 'dir') return undefined;
      const child = node.children!.get(part);
      if (!child) return undefined;
      if (child.type === 'symlink' && (pending.length > 0 || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) return undefined;
        const target = child.linkname ?? '';
        const parts = target.split('/').filter(Boolean);
        if (target.startsWith('/')) {
          stack.length = 0;
          node = this.root;
        }
        pending.unshift(...parts);
        continue;
      }
      stack.push(part);
      node = child;
    }
    return { path: `/${stack.join('/')}`, node };
  }

  /** Every entry, depth first, sorted by name: `[path, node]`. */
  *walk(from = this.root, prefix = ''): Generator<[string, FsNode]> {
    if (!from.children) return;
    for (const name of [...from.children.keys()].sort()) {
      const child = from.children.get(name)!;
      const p = `${prefix}/${name}`;
      yield [p, child];
      if (child.type === 'dir') yield* this.walk(child, p);
    }
  }

  private parentDir(p: string, layer: number): FsNode {
    let node = this.root;
    for (const part of p.split('/').filter(Boolean).slice(0, -1)) {
      let child = node.children!.get(part);
      if (!child || child.type !== 'dir') {
        // A missing parent is implied by its child; a non-directory in the way is replaced, as unpackers do.
        child = newDir(layer);
        node.children!.set(part, child);
      }
      node = child;
    }
    return node;
  }

  /** Remove `p` and everything below it. */
  remove(p: string): void {
    const parent = this.lget(path.posix.dirname(normalizePath(p)));
    parent?.children?.delete(path.posix.basename(normalizePath(p)));
  }

  /** Empty the directory `p` (an opaque whiteout). */
  clear(p: string): void {
    const dir = this.lget(p);
    if (dir?.type === 'dir') dir.children!.clear();
  }

  /** Apply one tar header of layer `layer`. Whiteouts are handled by {@link applyLayer}, not here. */
  add(h: EntryHeader, layer: number): void {
    const p = normalizePath(h.name);
    if (p === '/') return;
    const name = path.posix.basename(p);
    const base = { mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, layer };
    const parent = this.parentDir(p, layer);
    const existing = parent.children!.get(name);
    const replaces = existing?.type === 'file' && existing.layer < layer ? { replaces: existing.layer } : {};
    switch (h.type) {
      case 'directory':
        if (existing?.type === 'dir') {
          // A directory entry over a directory keeps its contents and takes the new metadata.
          Object.assign(existing, base);
        } else {
          parent.children!.set(name, { ...newDir(layer, base.mode), ...base });
        }
        return;
      case 'symlink':
        parent.children!.set(name, { type: 'symlink', linkname: h.linkname ?? '', inode: 0, ...base });
        return;
      case 'link': {
        const target = this.lget(normalizePath(h.linkname ?? ''));
        const inode = target && target.type === 'file' ? target.inode : this.nextInode++;
        parent.children!.set(name, { type: 'file', inode, ...base, ...replaces, ...(target?.shell ? { shell: target.shell } : {}), ...(target?.text !== undefined ? { text: target.text } : {}) });
        return;
      }
      case 'file':
      case 'contiguous-file':
        parent.children!.set(name, { type: 'file', inode: this.nextInode++, ...base, ...replaces, ...(h.shell ? { shell: h.shell } : {}), ...(h.text !== undefined ? { text: h.text } : {}) });
        return;
      default:
        parent.children!.set(name, { type: 'other', inode: 0, ...base, tarType: h.type });
    }
  }
}

/** The tar header fields the filesystem keeps. */
export type EntryHeader = Pick<tar.Header, 'name' | 'type' | 'linkname' | 'mode' | 'uid' | 'gid'> & { readonly shell?: string; readonly text?: string };

/** What one layer said, before it is applied to the layers below. */
interface LayerEdits {
  opaque: string[];
  whiteouts: string[];
  entries: EntryHeader[];
}

function applyEdits(fsys: Filesystem, edits: LayerEdits, layer: number): void {
  // Whiteouts hide lower-layer entries only, so they go first; then this layer's entries in tar order.
  for (const dir of edits.opaque) fsys.clear(dir);
  for (const p of edits.whiteouts) fsys.remove(p);
  for (const h of edits.entries) fsys.add(h, layer);
}

async function* sniffAndHash(src: Readable, layer: Descriptor, index: number, kind: { gzip: boolean }): AsyncGenerator<Buffer> {
  const hash = crypto.createHash('sha256');
  let size = 0;
  let head: Buffer | null = Buffer.alloc(0);
  for await (const chunk of src as AsyncIterable<Buffer>) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    hash.update(buf);
    size += buf.length;
    if (head) {
      // Hold the first bytes back until the gzip magic (2 bytes) can be seen.
      head = Buffer.concat([head, buf]);
      if (head.length < 2) continue;
      kind.gzip = head[0] === 0x1f && head[1] === 0x8b;
      const out = head;
      head = null;
      yield out;
      continue;
    }
    yield buf;
  }
  if (head && head.length) yield head;
  const digest = `sha256:${hash.digest('hex')}`;
  if (digest !== layer.digest) {
    throw inspectError('INS002', `layers[${index}]`, `layer bytes have digest ${digest}, the manifest says ${layer.digest}`, 'the source served altered or truncated data: fetch the image again from a trusted source');
  }
  if (layer.size !== size) {
    throw inspectError('INS002', `layers[${index}]`, `layer is ${size} bytes, the manifest says ${layer.size}`, 'the source served altered or truncated data');
  }
}

/** Read one layer's tar headers, streaming; contents pass a sniffer (content.ts) and are discarded. */
async function readLayer(open: OpenLayer, layer: Descriptor, index: number): Promise<LayerEdits> {
  if (/zstd/.test(layer.mediaType)) {
    throw inspectError('INS001', `layers[${index}]`, `layer media type ${layer.mediaType} (zstd) is not supported`, 'use gzip or uncompressed layers');
  }
  const where = `layers[${index}]`;
  let src: Readable;
  try {
    src = await open(layer, index);
  } catch (e) {
    if (e instanceof CleanimgError) throw e;
    throw inspectError('INS004', where, `cannot open layer ${layer.digest}: ${(e as Error).message}`, 'check that the source still has the image and is reachable');
  }
  const edits: LayerEdits = { opaque: [], whiteouts: [], entries: [] };
  const kind = { gzip: false };
  let feeding: Promise<void> | undefined;
  try {
    // Decide gzip vs plain from the first bytes; the generator yields them again.
    const gen = sniffAndHash(src, layer, index, kind);
    const firstChunk = await gen.next();
    const bytes = Readable.from(
      (async function* () {
        if (!firstChunk.done) yield firstChunk.value;
        for (;;) {
          const n = await gen.next();
          if (n.done) return;
          yield n.value;
        }
      })(),
      { objectMode: false },
    );
    const extract = tar.extract();
    const stages: NodeJS.ReadWriteStream[] = kind.gzip ? [zlib.createGunzip()] : [];
    feeding = (pipeline as (...s: unknown[]) => Promise<void>)(bytes, ...stages, extract);
    for await (const entry of extract) {
      const h = entry.header;
      const p = normalizePath(h.name);
      const base = path.posix.basename(p);
      if (base === OPAQUE) {
        edits.opaque.push(path.posix.dirname(p));
      } else if (base.startsWith(WHITEOUT_PREFIX)) {
        edits.whiteouts.push(path.posix.join(path.posix.dirname(p), base.slice(WHITEOUT_PREFIX.length)));
      } else if (h.type === 'file' || h.type === 'contiguous-file') {
        // Contents pass through a sniffer (shells by their strings, the kept files' text), then are dropped.
        const sniffer = new ContentSniffer(KEPT_FILES.has(p));
        for await (const chunk of entry) sniffer.update(chunk as Buffer);
        edits.entries.push({ name: h.name, type: h.type, linkname: h.linkname, mode: h.mode, uid: h.uid, gid: h.gid, shell: sniffer.shell(), text: sniffer.text() });
        continue;
      } else {
        edits.entries.push({ name: h.name, type: h.type, linkname: h.linkname, mode: h.mode, uid: h.uid, gid: h.gid });
      }
      entry.resume();
    }
    await feeding;
  } catch (e) {
    src.destroy();
    await feeding?.catch(() => undefined);
    if (e instanceof CleanimgError) throw e;
    throw inspectError('INS003', where, `cannot read layer ${layer.digest} as ${kind.gzip ? 'gzip-compressed ' : ''}tar: ${(e as Error).message}`, 'check that the image is intact and its layers are tar or tar+gzip');
  }
  return edits;
}

/** Build the final filesystem of an image from its layers, in manifest order. */
export async function readFilesystem(layers: readonly Descriptor[], open: OpenLayer): Promise<Filesystem> {
  const fsys = new Filesystem();
  for (let i = 0; i < layers.length; i++) {
    const edits = await readLayer(open, layers[i]!, i);
    fsys.entries += edits.entries.length + edits.whiteouts.length + edits.opaque.length;
    applyEdits(fsys, edits, i);
  }
  return fsys;
}
