/**
 * sha256 content digests (`sha256:<64 hex>`), whole-buffer and streaming, with verification.
 * Hashing uses Node's built-in crypto (OpenSSL).
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { CleanimgError } from '../errors';

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

/** `sha256:<hex>` of the bytes. */
export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function isSha256Digest(s: string): boolean {
  return SHA256_DIGEST.test(s);
}

/** Incremental hasher: feed chunks, then read `digest()` and `size`. */
export class Digester {
  private readonly hash: Hash = createHash('sha256');
  private total = 0;
  private result: string | undefined;
  update(chunk: Uint8Array): this {
    if (this.result !== undefined) throw new Error('Digester: update() after digest()');
    this.hash.update(chunk);
    this.total += chunk.length;
    return this;
  }
  /** Bytes seen so far. */
  get size(): number {
    return this.total;
  }
  /** Finishes the hash (idempotent). */
  digest(): string {
    this.result ??= `sha256:${this.hash.digest('hex')}`;
    return this.result;
  }
}

export function createDigester(): Digester {
  return new Digester();
}

function mismatchError(expected: string, actual: string, size: number, where: string | undefined, expectedSize?: number): CleanimgError {
  const sizeNote = expectedSize !== undefined && expectedSize !== size ? ` (${size} bytes, expected ${expectedSize})` : ` (${size} bytes)`;
  return new CleanimgError('content does not match its digest', [
    {
      code: 'DIG001',
      path: where ?? expected,
      message: `expected ${expected} but the content hashes to ${actual}${sizeNote}`,
      fix: 'the content was altered or truncated in transit or at rest: fetch it again, and check that the reference and the registry are the ones you meant',
    },
  ]);
}

function checkExpected(expected: string, where: string | undefined): void {
  if (!SHA256_DIGEST.test(expected))
    throw new CleanimgError('malformed digest', [
      { code: 'DIG002', path: where ?? expected, message: `"${expected}" is not a sha256 digest`, fix: 'digests look like sha256:<64 lower-case hex digits>' },
    ]);
}

/**
 * Throws DIG001 unless `bytes` hash to `expected` (and, when given, have `expectedSize` bytes).
 * `where` names the object for the message (a URL path, a file, a descriptor field).
 */
export function verifyDigest(bytes: Uint8Array, expected: string, where?: string, expectedSize?: number): void {
  checkExpected(expected, where);
  const actual = sha256Digest(bytes);
  if (actual !== expected || (expectedSize !== undefined && bytes.length !== expectedSize)) throw mismatchError(expected, actual, bytes.length, where, expectedSize);
}

/**
 * A pass-through stream that hashes what flows through it and fails with DIG001 at the end if the
 * digest (or the size, when given) differs. Consumers see the error before the stream ends cleanly,
 * so a mismatching blob is never accepted.
 */
export class VerifyingStream extends Transform {
  private readonly digester = new Digester();
  constructor(
    private readonly expected: string,
    private readonly where?: string,
    private readonly expectedSize?: number,
  ) {
    super();
    checkExpected(expected, where);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.digester.update(chunk);
    if (this.expectedSize !== undefined && this.digester.size > this.expectedSize) {
      cb(mismatchError(this.expected, '(unfinished: more bytes than expected)', this.digester.size, this.where, this.expectedSize));
      return;
    }
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    const actual = this.digester.digest();
    if (actual !== this.expected || (this.expectedSize !== undefined && this.digester.size !== this.expectedSize))
      cb(mismatchError(this.expected, actual, this.digester.size, this.where, this.expectedSize));
    else cb();
  }
}

/** Hashes a whole stream without keeping it: resolves `{digest, size}`. */
export async function digestStream(stream: AsyncIterable<Uint8Array>): Promise<{ digest: string; size: number }> {
  const d = new Digester();
  for await (const chunk of stream) d.update(chunk);
  return { digest: d.digest(), size: d.size };
}
