/**
 * One segment of a layer's DEFLATE stream: up to DEFLATE_CHUNK bytes of the tar, compressed on its
 * own and ended byte-aligned with no final bit (what a sync flush writes), so segments written one
 * after another make one stream, as pigz does. Segments that look already compressed are stored.
 *
 * Two compressors, each pinned to one version in package.json, since their bytes are the digest:
 * - **miniz** (LAYER_CODEC, overlay layers): miniz_oxide through flate2, compiled to WebAssembly, from
 *   `@hazae41/foras`. WebAssembly runs the same instructions on every CPU and Node version, so the
 *   bytes do not depend on the machine; Node's own zlib does not promise that (it picks code by CPU
 *   features, and its version moves with Node).
 * - **fflate** (pure JavaScript): only for the embedded base image's layer, published with fflate at
 *   level 6, whose digest is pinned in specs and examples.
 *
 * segment-pool.ts repeats compressSegment in plain JavaScript for its worker threads;
 * a test checks both give the same bytes.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as Fflate from 'fflate';

export type DeflateEngine = 'miniz' | 'fflate';

/** A compressor and its level: part of the layer format. */
export interface DeflateCodec {
  readonly engine: DeflateEngine;
  readonly level: number;
}

/**
 * The overlay layers' compressor (decision, 2026-12-06; part of the format). miniz level 2, because on
 * 1 MiB segments here it gives layers as small as zlib's and fflate's level 1 (the level
 * go-containerregistry and ko use), at half fflate's time: logs 37.4% of the input in 22 ms/MiB
 * against fflate's 38.0% in 46-48 ms/MiB; machine code 42.2% in 26 against 42.2% in 50. miniz level 1
 * is faster still (16 ms/MiB) but 10-15% larger. BENCHMARKS.md has the measurements. Until 2026-12-06
 * the overlay used fflate level 1 (before 2026-11, level 6).
 */
export const LAYER_CODEC: DeflateCodec = Object.freeze({ engine: 'miniz', level: 2 });
/** The embedded base image's layer: published with fflate at level 6; its digest must not move. */
export const BASE_IMAGE_CODEC: DeflateCodec = Object.freeze({ engine: 'fflate', level: 6 });

export const DEFLATE_CHUNK = 1 << 20;
/** Segments whose byte entropy is above this (bits per byte) are stored, not compressed. */
export const STORE_ENTROPY = 7.5;

/** A codec's engine and level, checked: a bad one is a programming error, not a user's. */
export function checkCodec(codec: DeflateCodec): DeflateCodec {
  if ((codec.engine !== 'miniz' && codec.engine !== 'fflate') || !Number.isInteger(codec.level) || codec.level < 1 || codec.level > 9) {
    throw new RangeError(`no such DEFLATE codec: ${JSON.stringify(codec)}`);
  }
  return codec;
}

/** The codec's name and library version, for the layer cache's format tag. */
export function codecTag(codec: DeflateCodec, version: (pkg: string) => string): string {
  return codec.engine === 'miniz' ? `miniz-${codec.level} foras=${version(FORAS)}` : `fflate-${codec.level} fflate=${version('fflate')}`;
}

const FORAS = '@hazae41/foras';

/** What foras exports that we use (its own types describe more). */
interface WasmMemory {
  free(): void;
  copyAndDispose(): Uint8Array;
}
interface Foras {
  initSync(module: Uint8Array): unknown;
  Memory: new (bytes: Uint8Array) => WasmMemory;
  DeflateEncoder: new (level?: number) => { write(m: WasmMemory): void; flush(): void; read(): WasmMemory; free(): void };
}

/**
 * foras's WebAssembly glue and its module (a base64 data URL in a JavaScript file), neither exported by
 * its package: found in the package's folder on the module paths, as require would find the package.
 * We read the data URL rather than let foras's loader fetch() it (which loads Node's HTTP client), and
 * skip its entry point and Node's package resolution (about 7 ms of a short run, measured).
 */
let forasPaths: { glue: string; wasm: string } | undefined;
function forasFiles(): { glue: string; wasm: string } {
  if (forasPaths) return forasPaths;
  const rel = path.join(FORAS, 'dist', 'cjs', 'wasm', 'pkg');
  for (const dir of require.resolve.paths(FORAS) ?? []) {
    const glue = path.join(dir, rel, 'foras.cjs');
    if (existsSync(glue)) return (forasPaths = { glue, wasm: path.join(dir, rel, 'foras.wasm.cjs') });
  }
  throw new Error(`${FORAS} is not installed: ${rel}/foras.cjs is on none of the module paths`);
}

let forasWasmMod: Uint8Array | undefined;
/** The WebAssembly module's bytes, from foras's data URL file (read once; the compression workers get these bytes too). */
export function forasWasmBytes(): Uint8Array {
  if (forasWasmMod) return forasWasmMod;
  const file = forasFiles().wasm;
  const m = /"data:application\/wasm;base64,([A-Za-z0-9+/]+=*)"/.exec(readFileSync(file, 'latin1'));
  if (!m) throw new Error(`${file} holds no WebAssembly data URL`);
  return (forasWasmMod = Buffer.from(m[1]!, 'base64'));
}

/** The files a worker thread loads the compressors' JavaScript from: the same installed packages this thread uses. */
export function engineFiles(): { fflate: string; forasGlue: string } {
  return { fflate: require.resolve('fflate'), forasGlue: forasFiles().glue };
}

// Loaded on first use: a build whose layer comes from the cache never needs them.
let fflateMod: typeof Fflate | undefined;
let forasMod: Foras | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fflate = (): typeof Fflate => (fflateMod ??= require('fflate') as typeof Fflate);

function foras(): Foras {
  if (forasMod) return forasMod;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const m = require(forasFiles().glue) as Foras;
  m.initSync(forasWasmBytes());
  return (forasMod = m);
}

/** Loads the overlay's compressor now (for a caller waiting on the network anyway). */
export function preloadCompressor(): void {
  foras();
}

/**
 * Which bytes the entropy check reads: every SAMPLE_EVERY-th block of SAMPLE_BLOCK bytes (blocks 0, 3,
 * 6, ... of the segment, the last one possibly partial), each read whole. A whole block sees every
 * byte of any record shorter than it; a stride of single bytes or words would see one lane of records
 * laid out at a multiple of the stride (12-byte vertices, fixed-width lines) and could store data that
 * compresses. Part of the format (it decides which segments are stored).
 */
export const SAMPLE_BLOCK = 4096;
export const SAMPLE_EVERY = 3;

/**
 * Shannon entropy of the byte histogram of the sample (SAMPLE_BLOCK, SAMPLE_EVERY), in bits per byte:
 * a third of the reading of a full histogram (0.85 against 1.9 ms/MiB here); over 350,000 bytes per
 * segment the estimate stays far from the 7.5 threshold for the data that matters (compressed: ~8,
 * text and code: 4-6.5). Counted in four tables a word at a time when aligned; the unaligned path
 * reads the same bytes one by one, so both give the same counts, and the sum runs in one order, so the
 * result is the same double, and so are the layer bytes.
 */
export function byteEntropy(b: Uint8Array): number {
  const n = b.length;
  if (n === 0) return 0;
  const c0 = new Uint32Array(256);
  const c1 = new Uint32Array(256);
  const c2 = new Uint32Array(256);
  const c3 = new Uint32Array(256);
  const aligned = (b.byteOffset & 3) === 0;
  const w = aligned ? new Uint32Array(b.buffer, b.byteOffset, n >>> 2) : undefined;
  let sampled = 0;
  for (let start = 0; start < n; start += SAMPLE_BLOCK * SAMPLE_EVERY) {
    const end = Math.min(n, start + SAMPLE_BLOCK);
    sampled += end - start;
    let i = start;
    if (w) {
      // SAMPLE_BLOCK is a multiple of 4, so start is word-aligned.
      for (let k = start >>> 2, last = end >>> 2; k < last; k++) {
        const v = w[k]!;
        c0[v & 255]!++;
        c1[(v >>> 8) & 255]!++;
        c2[(v >>> 16) & 255]!++;
        c3[v >>> 24]!++;
      }
      i = end & ~3;
    }
    for (; i < end; i++) c0[b[i]!]!++;
  }
  let h = 0;
  for (let j = 0; j < 256; j++) {
    const c = c0[j]! + c1[j]! + c2[j]! + c3[j]!;
    if (c) {
      const p = c / sampled;
      h -= p * Math.log2(p);
    }
  }
  return h;
}

/**
 * A segment as stored DEFLATE blocks (at most 65535 bytes each), byte-aligned, not final: one buffer,
 * so it is one write to the file and the upload rather than two per block.
 */
export function storeSegment(seg: Uint8Array): Uint8Array[] {
  const blocks = Math.ceil(seg.length / 0xffff);
  const out = Buffer.allocUnsafeSlow(seg.length + 5 * blocks);
  let o = 0;
  for (let off = 0; off < seg.length; off += 0xffff) {
    const n = Math.min(0xffff, seg.length - off);
    out[o] = 0x00; // BFINAL 0, BTYPE 00 (stored); padding to the byte boundary
    out.writeUInt16LE(n, o + 1);
    out.writeUInt16LE(~n & 0xffff, o + 3);
    out.set(seg.subarray(off, off + n), o + 5);
    o += 5 + n;
  }
  return [out];
}

/**
 * miniz: write the segment, then two sync flushes. flate2's Writer::flush (the version foras pins)
 * asks for the sync flush before it empties its 32 KiB output buffer; when that buffer is exactly full
 * the request is lost, and the segment's end stays in the compressor (one segment in 51 of the
 * benchmark's log data). The second flush starts with the buffer empty, so it always completes the
 * segment; when the first one worked, the second adds an empty block (6 bytes). Both are the format.
 */
function minizSegment(seg: Uint8Array, level: number): Uint8Array {
  const m = foras();
  const enc = new m.DeflateEncoder(level);
  try {
    const input = new m.Memory(seg);
    try {
      enc.write(input);
    } finally {
      input.free();
    }
    enc.flush();
    enc.flush();
    const out = enc.read().copyAndDispose();
    const n = out.length;
    // A sync flush ends with an empty stored block's LEN/NLEN: anything else is a broken compressor.
    if (n < 4 || out[n - 4] !== 0 || out[n - 3] !== 0 || out[n - 2] !== 0xff || out[n - 1] !== 0xff) throw new Error('miniz did not end the segment with a sync flush');
    return out;
  } finally {
    enc.free();
  }
}

/**
 * fflate: a segment ended with an empty non-final stored block so it is byte-aligned. fflate 0.8's
 * flush(true) writes that block at a wrong offset when a partial byte is pending, so it is not used:
 * fflate keeps the pending byte in its state (bit count in r & 7, the byte in r >> 3) and we write the
 * block ourselves.
 */
function fflateSegment(seg: Uint8Array, level: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const d = new (fflate().Deflate)({ level: level as NonNullable<Fflate.DeflateOptions['level']> }, (chunk) => {
    if (chunk.length) out.push(chunk);
  });
  d.push(seg, false);
  d.flush(false);
  const r = (d as unknown as { s: { r?: number } }).s.r ?? 0;
  const bits = r & 7;
  const head = bits === 0 ? [0x00] : bits + 3 <= 8 ? [(r >> 3) & 0xff] : [(r >> 3) & 0xff, 0x00];
  out.push(Uint8Array.from([...head, 0x00, 0x00, 0xff, 0xff]));
  return out;
}

/** A segment compressed with the codec, byte-aligned, not final. */
export function compressSegment(seg: Uint8Array, codec: DeflateCodec = LAYER_CODEC): Uint8Array[] {
  return codec.engine === 'miniz' ? [minizSegment(seg, codec.level)] : fflateSegment(seg, codec.level);
}

/**
 * One segment of the DEFLATE stream: high-entropy segments (already compressed data) are stored, which
 * is fast and loses nothing; the rest are compressed with the codec.
 */
export function deflateSegment(seg: Uint8Array, codec: DeflateCodec = LAYER_CODEC): Uint8Array[] {
  if (seg.length === 0) return [];
  return looksCompressed(seg) ? storeSegment(seg) : compressSegment(seg, codec);
}

/** The store decision: the segment's sampled entropy is above STORE_ENTROPY (already compressed data). */
export function looksCompressed(seg: Uint8Array): boolean {
  return byteEntropy(seg) > STORE_ENTROPY;
}
