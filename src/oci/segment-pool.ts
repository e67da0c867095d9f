/**
 * Worker threads that compress layer segments (deflate-segment.ts) off the main thread. Results come
 * back by id, so the caller keeps them in order; the bytes never depend on which thread made them.
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { engineFiles, LAYER_CODEC, STORE_ENTROPY, type DeflateCodec } from './deflate-segment';

/**
 * deflateSegment for a worker thread, in plain JavaScript (the worker is started from this text): with
 * `auto`, the worker measures the entropy and stores high-entropy segments itself, so that work is off
 * the main thread too; without it, it always compresses (compressSegment). The compressors load on
 * first use. A test checks the worker and deflateSegment/compressSegment give the same bytes.
 */
function workerSource(files: ReturnType<typeof engineFiles>): string {
  return `
const { parentPort } = require('node:worker_threads');
const files = ${JSON.stringify(files)};
let fflate, foras;
function entropy(b) {
  const n = b.length;
  if (n === 0) return 0;
  const c0 = new Uint32Array(256), c1 = new Uint32Array(256), c2 = new Uint32Array(256), c3 = new Uint32Array(256);
  const end4 = n - (n & 3);
  let i = 0;
  if ((b.byteOffset & 3) === 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset, end4 >>> 2);
    for (let k = 0; k < w.length; k++) { const v = w[k]; c0[v & 255]++; c1[(v >>> 8) & 255]++; c2[(v >>> 16) & 255]++; c3[v >>> 24]++; }
    i = end4;
  }
  for (; i < n; i++) c0[b[i]]++;
  let h = 0;
  for (let j = 0; j < 256; j++) {
    const c = c0[j] + c1[j] + c2[j] + c3[j];
    if (c) { const p = c / n; h -= p * Math.log2(p); }
  }
  return h;
}
function store(seg) {
  const blocks = Math.ceil(seg.length / 65535);
  const res = new Uint8Array(seg.length + 5 * blocks);
  let o = 0;
  for (let off = 0; off < seg.length; off += 65535) {
    const n = Math.min(65535, seg.length - off);
    res[o] = 0; res[o + 1] = n & 255; res[o + 2] = n >> 8; res[o + 3] = ~n & 255; res[o + 4] = (~n >> 8) & 255;
    res.set(seg.subarray(off, off + n), o + 5);
    o += 5 + n;
  }
  return res;
}
function miniz(seg, level) {
  if (!foras) {
    const m = require(files.foras);
    const data = require(files.forasWasm).data;
    m.initSync(Buffer.from(data.slice(data.indexOf(',') + 1), 'base64'));
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
  const res = m.auto && entropy(seg) > m.storeEntropy ? store(seg) : m.engine === 'miniz' ? miniz(seg, m.level) : ffl(seg, m.level);
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
    for (let i = 0; i < size; i++) {
      const w = new Worker(src, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
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

  /** compressSegment on a worker. */
  compress(seg: Uint8Array, codec: DeflateCodec = LAYER_CODEC): Promise<Uint8Array> {
    return this.send(seg, false, codec, false);
  }

  /**
   * deflateSegment on a worker: the entropy check runs there too. With `give`, a segment that starts
   * its own ArrayBuffer is moved to the worker instead of copied (the caller must not use it again).
   */
  deflate(seg: Uint8Array, codec: DeflateCodec = LAYER_CODEC, give = false): Promise<Uint8Array> {
    return this.send(seg, true, codec, give);
  }

  /** Jobs sent and not answered yet. */
  get busy(): number {
    return this.waiting.size;
  }

  private send(seg: Uint8Array, auto: boolean, codec: DeflateCodec, give: boolean): Promise<Uint8Array> {
    if (this.failed) return Promise.reject(this.failed);
    // A copy with its own ArrayBuffer (Buffer#slice would be a view), unless the caller gives its buffer.
    const own = give && seg.byteOffset === 0 && !(seg.buffer instanceof SharedArrayBuffer) ? seg : new Uint8Array(seg);
    const id = this.seq++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const msg = { id, buf: own.buffer, len: own.length, engine: codec.engine, level: codec.level, auto, storeEntropy: STORE_ENTROPY };
      this.workers[id % this.workers.length]!.postMessage(msg, [own.buffer as ArrayBuffer]);
    });
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
