/**
 * Find the base image's CA bundle while reading as few layers as possible: layers are read top layer
 * first, each as a stream, and the search stops at the first layer that holds the newest version of a
 * bundle; the layers below it are never fetched. Layers above it must be read (that is how we know
 * they do not change the bundle), so the cost is the layers from the top down to the bundle's.
 *
 * Honoured on the way, as an unpacker would apply them: whiteouts (`.wh.<name>` of the bundle or of a
 * parent folder: it is gone), opaque folders (`.wh..wh..opq`: lower contents are hidden), symlinks
 * (`/etc/ssl/cert.pem -> certs/ca-certificates.crt`, also a symlinked parent folder; resolved again from
 * the top layer, so a later layer's change to the target counts) and hard links.
 *
 * When no layer holds a bundle, every layer is read (a lower layer could still hold another layout's
 * bundle); the result is then "none" and the caller creates a new bundle.
 *
 * Limits (written down because they follow from reading one layer): names in the CApath folder and
 * folder metadata are known only from the layers read; a `<hash>.N` name that only a lower layer has
 * is not seen (a 32-bit hash collision with a lower-layer name is the only case it matters).
 */
import * as path from 'node:path';
import type { Descriptor } from '../../oci/types';
import { BUNDLE_CANDIDATES, type TrustLayout } from './layouts';
import { scanLayer, type OpenLayerStream, type ScannedEntry, type ScannedLayer } from './layer-scan';

export interface FoundBundle {
  readonly layout: TrustLayout;
  /** The candidate path the search started from, e.g. `/etc/ssl/cert.pem`. */
  readonly requested: string;
  /** The file itself, symlinks resolved. */
  readonly path: string;
  /** Index (0 = bottom) of the layer holding it. */
  readonly layer: number;
  readonly content: Buffer;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export interface BundleSearch {
  readonly found?: FoundBundle;
  /** Indexes (0 = bottom) of the layers read, in the order read (top first). */
  readonly layersRead: readonly number[];
  /** Compressed bytes fetched, over every layer read. */
  readonly bytesFetched: number;
  /** Notes for the report: whiteouts met, symlinks followed. */
  readonly notes: readonly string[];
  /** The layers read, top first (headers only; used for folder names and metadata). */
  readonly scanned: readonly ScannedLayer[];
}

const MAX_HOPS = 40;

type Outcome =
  | { kind: 'found'; path: string; entry: ScannedEntry; layer: ScannedLayer }
  | { kind: 'gone'; why: string }
  | { kind: 'continue'; path: string }
  | { kind: 'redirect'; path: string; note: string };

function linkTarget(at: string, target: string): string {
  const joined = target.startsWith('/') ? target : path.posix.join(path.posix.dirname(at), target);
  return path.posix.normalize(`/${joined}`);
}

/** What layer `L` says about `p` (a regular file, or a folder when `want` is 'dir'). */
function inLayer(L: ScannedLayer, p: string, want: 'file' | 'dir'): Outcome {
  const parts = p.split('/').filter(Boolean);
  for (let k = 1; k < parts.length; k++) {
    const a = `/${parts.slice(0, k).join('/')}`;
    const e = L.entries.get(a);
    if (e) {
      if (e.type === 'symlink') return { kind: 'redirect', path: path.posix.join(linkTarget(a, e.linkname ?? ''), ...parts.slice(k)), note: `${a} is a symlink to ${e.linkname} (layer ${L.index + 1})` };
      if (e.type !== 'dir') return { kind: 'gone', why: `${a} is not a folder in layer ${L.index + 1}` };
    } else if (L.whiteouts.has(a)) {
      return { kind: 'gone', why: `layer ${L.index + 1} deletes ${a}` };
    }
  }
  const e = L.entries.get(p);
  if (e) {
    if (e.type === 'symlink') return { kind: 'redirect', path: linkTarget(p, e.linkname ?? ''), note: `${p} is a symlink to ${e.linkname} (layer ${L.index + 1})` };
    if (e.type === 'link') return { kind: 'redirect', path: e.linkname ?? p, note: `${p} is a hard link to ${e.linkname} (layer ${L.index + 1})` };
    if ((want === 'file' && e.type === 'file') || (want === 'dir' && e.type === 'dir')) return { kind: 'found', path: p, entry: e, layer: L };
    return { kind: 'gone', why: `${p} is not a ${want === 'file' ? 'regular file' : 'folder'} in layer ${L.index + 1}` };
  }
  if (L.whiteouts.has(p)) return { kind: 'gone', why: `layer ${L.index + 1} deletes ${p} (whiteout)` };
  for (let k = 1; k < parts.length; k++) {
    const a = `/${parts.slice(0, k).join('/')}`;
    if (L.opaque.has(a)) return { kind: 'gone', why: `layer ${L.index + 1} hides the older contents of ${a} (opaque whiteout)` };
  }
  return { kind: 'continue', path: p };
}

/** Resolve `p` through the layers read so far, top first, following symlinks from the top again. */
export function resolveScanned(scanned: readonly ScannedLayer[], p: string, want: 'file' | 'dir', notes: string[] = []): Outcome {
  let cur = p;
  for (let hops = 0; hops <= MAX_HOPS; hops++) {
    let redirected = false;
    for (const L of scanned) {
      const o = inLayer(L, cur, want);
      if (o.kind === 'continue') continue;
      if (o.kind === 'redirect') {
        notes.push(o.note);
        cur = o.path;
        redirected = true;
        break;
      }
      return o;
    }
    if (!redirected) return { kind: 'continue', path: cur };
  }
  return { kind: 'gone', why: `too many symlinks from ${p}` };
}

/**
 * Search the base's layers (manifest order, bottom first) for a CA bundle. `open` streams a layer.
 * The candidates are tried in the order of BUNDLE_CANDIDATES; the bundle in the highest layer wins.
 */
export async function findBundle(layers: readonly Descriptor[], open: OpenLayerStream): Promise<BundleSearch> {
  const scanned: ScannedLayer[] = [];
  const layersRead: number[] = [];
  const notes: string[] = [];
  let bytes = 0;
  let wants = BUNDLE_CANDIDATES.map((c) => ({ ...c, cur: c.path }));
  let next = layers.length - 1;
  const read = async (i: number, capture: Set<string>) => {
    const L = await scanLayer(open, layers[i]!, i, (p) => capture.has(p));
    bytes += L.bytes;
    layersRead.push(i);
    return L;
  };
  for (;;) {
    const found: { want: (typeof wants)[number]; o: Extract<Outcome, { kind: 'found' }> }[] = [];
    const keep: typeof wants = [];
    for (const w of wants) {
      const o = resolveScanned(scanned, w.path, 'file', notes);
      if (o.kind === 'found') found.push({ want: w, o });
      else if (o.kind === 'continue') keep.push({ ...w, cur: o.path });
      else if (o.kind === 'gone') notes.push(`${w.path}: ${o.why}`);
    }
    if (found.length) {
      // The newest: the found entry in the highest layer (scanned is top first, so the lowest position).
      found.sort((a, b) => scanned.indexOf(a.o.layer) - scanned.indexOf(b.o.layer));
      const { want, o } = found[0]!;
      let content = o.entry.content;
      if (!content) {
        // Reached through a link whose target was passed before we knew we wanted it: read that layer again.
        const again = await read(o.layer.index, new Set([o.path]));
        content = again.entries.get(o.path)?.content;
      }
      if (content) {
        return {
          found: { layout: want.layout, requested: want.path, path: o.path, layer: o.layer.index, content, mode: o.entry.mode, uid: o.entry.uid, gid: o.entry.gid },
          layersRead,
          bytesFetched: bytes,
          notes: [...new Set(notes)],
          scanned,
        };
      }
      notes.push(`${o.path} in layer ${o.layer.index + 1} is too large to be a CA bundle`);
    }
    wants = keep;
    if (!wants.length || next < 0) return { layersRead, bytesFetched: bytes, notes: [...new Set(notes)], scanned };
    scanned.push(await read(next, new Set(wants.map((w) => w.cur))));
    next -= 1;
  }
}

/** Names visible in folder `dir` according to the layers read (top first), whiteouts applied. */
export function namesIn(scanned: readonly ScannedLayer[], dir: string): Set<string> {
  const decided = new Map<string, boolean>();
  for (const L of scanned) {
    for (const p of L.entries.keys()) if (path.posix.dirname(p) === dir && !decided.has(path.posix.basename(p))) decided.set(path.posix.basename(p), true);
    for (const p of L.whiteouts) if (path.posix.dirname(p) === dir && !decided.has(path.posix.basename(p))) decided.set(path.posix.basename(p), false);
    if (L.opaque.has(dir) || L.whiteouts.has(dir)) break;
  }
  return new Set([...decided].filter(([, v]) => v).map(([k]) => k));
}

/** A folder's metadata from the highest layer read that has it, if any. */
export function dirMetadata(scanned: readonly ScannedLayer[], dir: string): { mode: number; uid: number; gid: number } | undefined {
  for (const L of scanned) {
    const e = L.entries.get(dir);
    if (e?.type === 'dir') return { mode: e.mode, uid: e.uid, gid: e.gid };
  }
  return undefined;
}
