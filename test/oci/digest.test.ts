import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, test } from 'vitest';
import { CleanimgError } from '../../src/errors';
import { createDigester, digestStream, sha256Digest, verifyDigest, VerifyingStream } from '../../src/oci/digest';

const hex = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('digests', () => {
  test('sha256Digest of known vectors', () => {
    expect(sha256Digest(Buffer.alloc(0))).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Digest('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  test('streaming hasher equals the one-shot digest, in any chunking', async () => {
    const data = randomBytes(300_000);
    const d = createDigester();
    for (let i = 0; i < data.length; i += 7919) d.update(data.subarray(i, i + 7919));
    expect(d.digest()).toBe(hex(data));
    expect(d.size).toBe(data.length);
    expect(d.digest()).toBe(hex(data));
    expect(() => d.update(Buffer.from('x'))).toThrow();
    expect(await digestStream(Readable.from([data.subarray(0, 5), data.subarray(5)]))).toEqual({ digest: hex(data), size: data.length });
  });

  test('verifyDigest accepts matching bytes and throws DIG001 naming both digests otherwise', () => {
    const data = Buffer.from('hello');
    expect(() => verifyDigest(data, hex(data))).not.toThrow();
    const other = hex(Buffer.from('hellO'));
    try {
      verifyDigest(data, other, '/v2/x/blobs/y');
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(CleanimgError);
      const p = (e as CleanimgError).problems[0]!;
      expect(p.code).toBe('DIG001');
      expect(p.path).toBe('/v2/x/blobs/y');
      expect(p.message).toContain(other);
      expect(p.message).toContain(hex(data));
    }
    expect(() => verifyDigest(data, hex(data), undefined, 6)).toThrow(/expected 6/);
    expect(() => verifyDigest(data, 'sha256:abc')).toThrow(/DIG002/);
  });

  test('VerifyingStream passes good data and fails bad data at the end', async () => {
    const data = randomBytes(100_000);
    const out: Buffer[] = [];
    await pipeline(Readable.from([data]), new VerifyingStream(hex(data), 'blob', data.length), async function* (src) {
      for await (const c of src) out.push(c as Buffer);
    });
    expect(Buffer.concat(out).equals(data)).toBe(true);
    const tampered = Buffer.from(data);
    tampered[500] ^= 1;
    await expect(pipeline(Readable.from([tampered]), new VerifyingStream(hex(data), 'blob'), async function* (src) {
      for await (const _ of src) void _;
    })).rejects.toThrow(/DIG001/);
    await expect(pipeline(Readable.from([data, Buffer.from('x')]), new VerifyingStream(hex(data), 'blob', data.length), async function* (src) {
      for await (const _ of src) void _;
    })).rejects.toThrow(/DIG001/);
  });
});
