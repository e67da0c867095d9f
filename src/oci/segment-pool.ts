/**
 * Worker threads that compress layer segments (deflate-segment.ts) off the main thread; the entropy
 * check and storing stay on the main thread (layer.ts), which needs no copy for them. Results come
 * back by id, so the caller keeps them in order; the bytes never depend on which thread made them.
 */
import * as os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { engineFiles, forasWasmBytes, LAYER_CODEC, type DeflateCodec } from './deflate-segment';

/**
 * compressSegment for a worker thread, in plain JavaScript (the worker is started from this text); the
 * compressors load on first use. A test checks the worker and compressSegment give the same bytes.
 */
function workerSource(files: ReturnType<typeof engineFiles>): string {
  return `
const { parentPort, workerData } = require('node:worker_threads');
const files = ${JSON.stringify(files)};
let fflate, foras;
function miniz(seg, level) {
  if (!foras) {
    const m = require(files.forasGlue);
    m.initSync(workerData.forasWasm);
    foras = m;
  }
  const enc = new foras.DeflateEncoder(level);
  try {
    const input = new foras.Memory(seg);
    try { enc.write(input); } finally { input.free(); }
    enc.flush();
    enc.flush();
    const out = enc.read().copyAndDispose();
    const n = out.length;
    if (n < 4 || out[n - 4] !== 0 || out[n - 3] !== 0 || out[n - 2] !== 255 || out[n - 1] !== 255) throw new Error('miniz did not end the segment with a sync flush');
    return out;
  } finally {
    enc.free();
  }
}
function ffl(seg, level) {
  fflate ??= require(files.fflate);
  const out = [];
  const d = new fflate.Deflate({ level }, (c) => { if (c.length) out.push(c); });
  d.push(seg, false);
  d.flush(false);
  const r = d.s.r || 0;
  const bits = r & 7;
  const head = bits === 0 ? [0] : bits + 3 <= 8 ? [(r >> 3) & 255] : [(r >> 3) & 255, 0];
  out.push(Uint8Array.from([...head, 0, 0, 255, 255]));
  let n = 0;
  for (const c of out) n += c.length;
  const res = new Uint8Array(n);
  let o = 0;
  for (const c of out) { res.set(c, o); o += c.length; }
  return res;
}
parentPort.on('message', (m) => {
  const seg = new Uint8Array(m.buf, 0, m.len);
  const res = m.engine === 'miniz' ? miniz(seg, m.level) : ffl(seg, m.level);
  parentPort.postMessage({ id: m.id, buf: res.buffer, off: res.byteOffset, len: res.length }, [res.buffer]);
});
`;
}

/** Worker threads running compressSegment; results come back by id, so order is the caller's business. */
export class SegmentPool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private failed: Error | undefined;
  private closing = false;

  constructor(readonly size: number) {
    const src = workerSource(engineFiles());
    const workerData = { forasWasm: forasWasmBytes() }; // the module's bytes, read once by this thread
    // node:worker_threads loads only when a layer has segments to compress on workers.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    for (let i = 0; i < size; i++) {
      const w = new Worker(src, { eval: true, workerData, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
      w.on('message', (m: { id: number; buf: ArrayBuffer; off: number; len: number }) => {
        const p = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        p?.resolve(new Uint8Array(m.buf, m.off, m.len));
      });
      const fail = (e: Error) => {
        this.failed = e;
        for (const p of this.waiting.values()) p.reject(e);
        this.waiting.clear();
      };
      w.on('error', fail);
      w.on('exit', (code) => {
        if (!this.closing) fail(new Error(`compression worker exited with code ${code}`));
      });
      this.workers.push(w);
    }
  }

  /**
   * compressSegment on a worker. With `give`, a segment that starts its own ArrayBuffer is moved to
   * the worker instead of copied (the caller must not use it again).
   */
  compress(seg: Uint8Array, codec: DeflateCodec = LAYER_CODEC, give = false): Promise<Uint8Array> {
    if (this.failed) return Promise.reject(this.failed);
    // A copy with its own ArrayBuffer (Buffer#slice would be a view), unless the caller gives its buffer.
    const own = give && seg.byteOffset === 0 && !(seg.buffer instanceof SharedArrayBuffer) ? seg : new Uint8Array(seg);
    const id = this.seq++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const msg = { id, buf: own.buffer, len: own.length, engine: codec.engine, level: codec.level };
      this.workers[id % this.workers.length]!.postMessage(msg, [own.buffer as ArrayBuffer]);
    });
  }

  /** Jobs sent and not answered yet. */
  get busy(): number {
    return this.waiting.size;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const p of this.waiting.values()) p.reject(new Error('compression stopped'));
    this.waiting.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * Worker threads used by default: one less than the cores (the main thread reads, tars, hashes and
 * writes), at most 4; `CLEANIMG_COMPRESS_WORKERS` overrides it (0 compresses on the main thread). The
 * bytes never depend on it. Measured on a loaded 2-core machine (bench/overlay.ts, BENCHMARKS.md), one
 * worker was not faster than none; on an idle machine it overlaps compression with reading and hashing.
 */
export function defaultParallelism(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['CLEANIMG_COMPRESS_WORKERS'];
  if (v !== undefined && /^[0-9]+$/.test(v)) return Math.min(16, Number(v));
  return Math.min(4, Math.max(0, os.availableParallelism() - 1));
}
