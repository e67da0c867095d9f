/**
 * Retries, backoff, Retry-After, timeouts, upload restarts and digest verification, through a small
 * fault-injecting HTTP proxy of our own (127.0.0.1) in front of the real registry.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { RegistryClient, parseRetryAfter, type RegistryClientOptions } from '../../../src/oci/registry';
import { pushBaseImage, type PushedImage } from '../../support/base-image';
import { startRegistry, type TestRegistry } from '../../support/registry';
import { blobOf } from './fixtures';
import { failure } from '../../support/expect-error';
import { withRegistryClient } from '../../support/registry-client';

/** `landed`: the request reaches the registry, then the client gets this status (or a reset) instead of its answer. */
type Action = 'proxy' | 'reset' | 'hang' | 'tamper' | { status: number; headers?: Record<string, string> } | { redirect: string } | { landed: number | 'reset' };
type Rule = (req: IncomingMessage, hit: number) => Action;

interface Hit {
  method: string;
  path: string;
}

let reg: TestRegistry;
let proxy: Server;
let proxyHost: string;
let rule: Rule = () => 'proxy';
let hits: Hit[] = [];
let base: PushedImage;

function forward(req: IncomingMessage, res: ServerResponse, tamper: boolean, landed?: number | 'reset'): void {
  const [host, port] = reg.host.split(':');
  const up = httpRequest({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (upRes) => {
    if (landed !== undefined) {
      upRes.resume();
      upRes.on('end', () => {
        if (landed === 'reset') return req.socket.destroy();
        res.writeHead(landed, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `injected ${landed} after the request landed` }] }));
      });
      return;
    }
    if (!tamper) {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
      return;
    }
    const parts: Buffer[] = [];
    upRes.on('data', (c: Buffer) => parts.push(c));
    upRes.on('end', () => {
      const body = Buffer.concat(parts);
      if (body.length) body[body.length - 2] ^= 0x01;
      res.writeHead(upRes.statusCode ?? 502, { ...upRes.headers, 'content-length': String(body.length) });
      res.end(body);
    });
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
}

beforeAll(async () => {
  reg = await startRegistry();
  base = await pushBaseImage(reg, 'base/retry', 'v1');
  proxy = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    hits.push({ method: req.method ?? '', path });
    const n = hits.filter((h) => h.method === req.method && h.path === path).length;
    const action = path === '/v2/' ? 'proxy' : rule(req, n);
    if (action === 'proxy' || action === 'tamper') return forward(req, res, action === 'tamper');
    if (action === 'reset') {
      req.socket.destroy();
      return;
    }
    if (action === 'hang') return;
    if ('landed' in action) return forward(req, res, false, action.landed);
    req.resume();
    if ('redirect' in action) {
      res.writeHead(307, { location: action.redirect });
      res.end();
      return;
    }
    res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers });
    res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: `injected ${action.status}` }] }));
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  proxyHost = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise((r) => proxy?.close(r));
  await reg?.stop();
});

beforeEach(() => {
  rule = () => 'proxy';
  hits = [];
});

function withClient<T>(opts: RegistryClientOptions, f: (c: RegistryClient) => Promise<T>): Promise<T> {
  return withRegistryClient(proxyHost, { retryBaseMs: 10, env: { PATH: process.env.PATH }, ...opts }, f);
}

const count = (method: string, pred: (p: string) => boolean): number => hits.filter((h) => h.method === method && pred(h.path)).length;
const isManifest = (p: string): boolean => p.includes('/manifests/');

describe('retries on idempotent requests', () => {
  test('503 with Retry-After: 1 once, then the real answer: waits about a second and succeeds', async () => {
    rule = (req, n) => (isManifest(req.url!) && n === 1 ? { status: 503, headers: { 'retry-after': '1' } } : 'proxy');
    await withClient({}, async (c) => {
      await c.transport.ping();
      const t0 = Date.now();
      const m = await c.getManifest('base/retry', 'v1');
      const waited = Date.now() - t0;
      expect(m.digest).toBe(base.digest);
      expect(count('GET', isManifest)).toBe(2);
      expect(waited).toBeGreaterThanOrEqual(950);
    });
  });

  test('429 and 502 are retried with backoff', async () => {
    rule = (req, n) => (isManifest(req.url!) ? (n === 1 ? { status: 429 } : n === 2 ? { status: 502 } : 'proxy') : 'proxy');
    await withClient({}, async (c) => {
      expect((await c.getManifest('base/retry', base.digest)).digest).toBe(base.digest);
      expect(count('GET', isManifest)).toBe(3);
    });
  });

  test('a plain 500 on a manifest GET and on a manifest PUT is retried; the tag lands once', async () => {
    rule = (req, n) => (isManifest(req.url!) && n === 1 ? { status: 500 } : 'proxy');
    await withClient({}, async (c) => {
      const m = await c.getManifest('base/retry', 'v1');
      expect(m.digest).toBe(base.digest);
      expect(count('GET', isManifest)).toBe(2);
      hits = [];
      const digest = await c.putManifest('base/retry', 'v500', m.bytes, m.mediaType);
      expect(digest).toBe(base.digest);
      expect(count('PUT', isManifest)).toBe(2);
      rule = () => 'proxy';
      expect((await c.getManifest('base/retry', 'v500')).digest).toBe(base.digest);
    });
  });

  test('a manifest PUT that landed but was answered 500, or lost to a reset: HEAD finds it, nothing is sent again', async () => {
    for (const landed of [500, 'reset'] as const) {
      const tag = `landed-${landed}`;
      rule = (req, n) => (req.method === 'PUT' && isManifest(req.url!) && n === 1 ? { landed } : 'proxy');
      hits = [];
      await withClient({}, async (c) => {
        const m = await c.getManifest('base/retry', 'v1');
        expect(await c.putManifest('base/retry', tag, m.bytes, m.mediaType)).toBe(base.digest);
        expect(count('PUT', isManifest), `${landed}: one PUT`).toBe(1);
        expect(count('HEAD', (p) => p.endsWith(`/manifests/${tag}`)), `${landed}: then one HEAD`).toBe(1);
        expect((await c.getManifest('base/retry', tag)).digest).toBe(base.digest);
      });
    }
  });

  test('a tag PUT answered 503 whose HEAD shows other bytes under the tag is sent again', async () => {
    rule = () => 'proxy';
    await withClient({}, async (c) => {
      const m = await c.getManifest('base/retry', 'v1');
      const other = Buffer.from(JSON.stringify({ ...JSON.parse(m.bytes.toString()), annotations: { 'org.example.other': 'yes' } }));
      await c.putManifest('base/retry', 'moving', other, m.mediaType);
      hits = [];
      rule = (req, n) => (req.method === 'PUT' && isManifest(req.url!) && n === 1 ? { status: 503 } : 'proxy');
      expect(await c.putManifest('base/retry', 'moving', m.bytes, m.mediaType)).toBe(base.digest);
      expect(count('PUT', isManifest)).toBe(2);
      expect(count('HEAD', isManifest)).toBe(1);
      expect((await c.getManifest('base/retry', 'moving')).digest).toBe(base.digest);
    });
  });

  test('a 5xx once on each verb of a blob push (HEAD, POST, PUT, DELETE) and on a tag list GET: retried, one upload lands', async () => {
    const b = blobOf(randomBytes(1000));
    const verbs = new Set<string>(); // each verb fails once (an upload session's path is new each time)
    rule = (req) => {
      if ((req.url!.includes('/blobs/') || req.url!.includes('/tags/list')) && !verbs.has(req.method!)) {
        verbs.add(req.method!);
        return { status: req.method === 'HEAD' ? 502 : 500 };
      }
      return 'proxy';
    };
    await withClient({}, async (c) => {
      expect(await c.pushBlob('app/everyverb', b, () => Readable.from([b.bytes]))).toBe('uploaded');
      expect(await c.listTags('base/retry')).toContain('v1');
      // DELETE: cancelling the session whose PUT failed; best effort, its failure changes nothing.
      expect([...verbs].sort()).toEqual(['DELETE', 'GET', 'HEAD', 'POST', 'PUT']);
      expect((await c.getBlob('app/everyverb', b.digest)).equals(b.bytes)).toBe(true);
    });
  });

  test('501 and 505 will not change: not retried', async () => {
    for (const status of [501, 505]) {
      hits = [];
      rule = (req) => (isManifest(req.url!) ? { status } : 'proxy');
      await withClient({}, async (c) => {
        const e = await failure(c.getManifest('base/retry', 'v1'));
        expect(e.message).toContain(String(status));
        expect(e.problems[0]!.code).not.toBe('REG009');
        expect(count('GET', isManifest)).toBe(1);
      });
    }
  });

  test('a connection reset is retried', async () => {
    rule = (req, n) => (isManifest(req.url!) && n === 1 ? 'reset' : 'proxy');
    await withClient({}, async (c) => {
      expect((await c.getManifest('base/retry', 'v1')).digest).toBe(base.digest);
      expect(count('GET', isManifest)).toBe(2);
    });
  });

  test('the retry count is bounded: REG009 after retries + 1 attempts', async () => {
    rule = (req) => (isManifest(req.url!) ? { status: 503 } : 'proxy');
    await withClient({ retries: 2 }, async (c) => {
      const e = await failure(c.getManifest('base/retry', 'v1'));
      expect(e.problems[0]!.code).toBe('REG009');
      expect(e.message).toMatch(/503/);
      expect(count('GET', isManifest)).toBe(3);
    });
  });

  test('a registry that does not answer in time: REG010', async () => {
    rule = (req) => (isManifest(req.url!) ? 'hang' : 'proxy');
    await withClient({ retries: 0, timeoutMs: 400 }, async (c) => {
      await c.transport.ping();
      const t0 = Date.now();
      const e = await failure(c.getManifest('base/retry', 'v1'));
      expect(e.problems[0]!.code).toBe('REG010');
      expect(Date.now() - t0).toBeLessThan(5000);
    });
  });

  test('Retry-After parsing: seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1, 0, 0, 0))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('uploads restart their session instead of retrying a step blindly', () => {
  test('a PATCH failing mid-upload: the session is cancelled, a new one started, the blob arrives intact', async () => {
    const b = blobOf(randomBytes(3 << 20));
    let patches = 0;
    rule = (req) => {
      if (req.method === 'PATCH' && ++patches === 2) return { status: 500 };
      return 'proxy';
    };
    let opened = 0;
    await withClient({ monolithicMaxBytes: 1 << 20, chunkSizeBytes: 1 << 20 }, async (c) => {
      const r = await c.pushBlob('app/restart', b, () => {
        opened++;
        return Readable.from([b.bytes]);
      });
      expect(r).toBe('uploaded');
      expect(opened).toBe(2);
      expect(count('POST', (p) => p.endsWith('/blobs/uploads/'))).toBe(2);
      expect(count('DELETE', (p) => p.includes('/blobs/uploads/'))).toBe(1);
      expect((await c.getBlob('app/restart', b.digest)).equals(b.bytes)).toBe(true);
    });
  });

  test('a final PUT answered 503 is not re-sent on the same session; after the attempts run out: REG009', async () => {
    const b = blobOf(randomBytes(1000));
    rule = (req) => (req.method === 'PUT' && req.url!.includes('/blobs/uploads/') ? { status: 503 } : 'proxy');
    await withClient({ uploadAttempts: 2 }, async (c) => {
      const e = await failure(c.pushBlob('app/putfail', b, () => Readable.from([b.bytes])));
      expect(e.problems[0]!.code).toBe('REG009');
      expect(count('POST', (p) => p.endsWith('/blobs/uploads/'))).toBe(2);
      expect(count('PUT', (p) => p.includes('/blobs/uploads/'))).toBe(2);
      rule = () => 'proxy';
      expect(await c.hasBlob('app/putfail', b.digest)).toBe(false);
    });
  });

  test('a final blob PUT that landed but was answered 500: HEAD finds the blob, no new upload session', async () => {
    const b = blobOf(randomBytes(1000));
    rule = (req, n) => (req.method === 'PUT' && req.url!.includes('/blobs/uploads/') && n === 1 ? { landed: 500 } : 'proxy');
    await withClient({}, async (c) => {
      expect(await c.pushBlob('app/putlanded', b, () => Readable.from([b.bytes]))).toBe('uploaded');
      expect(count('POST', (p) => p.endsWith('/blobs/uploads/'))).toBe(1);
      expect(count('PUT', (p) => p.includes('/blobs/uploads/'))).toBe(1);
      expect((await c.getBlob('app/putlanded', b.digest)).equals(b.bytes)).toBe(true);
    });
  });

  test('a non-retryable rejection (400) fails at once', async () => {
    const b = blobOf(randomBytes(1000));
    rule = (req) => (req.method === 'PUT' && req.url!.includes('/blobs/uploads/') ? { status: 400 } : 'proxy');
    await withClient({}, async (c) => {
      const e = await failure(c.pushBlob('app/reject', b, () => Readable.from([b.bytes])));
      expect(e.problems[0]!.code).toBe('REG016');
      expect(count('POST', (p) => p.endsWith('/blobs/uploads/'))).toBe(1);
    });
  });
});

describe('content altered in transit is refused', () => {
  test('a manifest fetched by digest, or a blob, whose bytes were changed: DIG001', async () => {
    rule = (req) => (req.method === 'GET' && (isManifest(req.url!) || req.url!.includes('/blobs/')) ? 'tamper' : 'proxy');
    await withClient({}, async (c) => {
      const e = await failure(c.getManifest('base/retry', base.digest));
      expect(e.problems[0]!.code).toBe('DIG001');
      expect(e.message).toContain(base.digest);
      rule = () => 'proxy';
      const m = JSON.parse((await c.getManifest('base/retry', base.digest)).bytes.toString()) as { config: { digest: string } };
      rule = (req) => (req.url!.includes('/blobs/') && req.method === 'GET' ? 'tamper' : 'proxy');
      expect((await failure(c.getBlob('base/retry', m.config.digest))).problems[0]!.code).toBe('DIG001');
    });
  });

  test('by tag: bytes that do not match the registry-reported digest are REG008', async () => {
    rule = (req) => (isManifest(req.url!) && req.method === 'GET' ? 'tamper' : 'proxy');
    await withClient({}, async (c) => {
      expect((await failure(c.getManifest('base/retry', 'v1'))).problems[0]!.code).toBe('REG008');
    });
  });
});

describe('connection failures', () => {
  test('nothing listening: REG007', async () => {
    const c = new RegistryClient('127.0.0.1:1', { retries: 0, env: {} });
    try {
      expect((await failure(c.getManifest('a/b', 'v1'))).problems[0]!.code).toBe('REG007');
    } finally {
      await c.close();
    }
  });
});

describe('redirects (blob storage backends)', () => {
  test('a blob GET redirected to another origin is followed without sending the registry credentials there', async () => {
    // A second server standing in for blob storage: records what it receives, serves the registry's bytes.
    const seen: (string | undefined)[] = [];
    const storage = createServer((req, res) => {
      seen.push(req.headers.authorization);
      const [host, port] = reg.host.split(':');
      const up = httpRequest({ host, port: Number(port), method: 'GET', path: req.url }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.end();
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', () => r()));
    const storageOrigin = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`;
    try {
      const m = JSON.parse((await withClient({}, (c) => c.getManifest('base/retry', base.digest))).bytes.toString()) as { config: { digest: string } };
      // The proxy now requires basic auth (any credentials) and redirects blob GETs to the storage server.
      rule = (req) => {
        if (!req.headers.authorization) return { status: 401, headers: { 'www-authenticate': 'Basic realm="test"' } };
        if (req.method === 'GET' && req.url!.includes('/blobs/')) return { redirect: `${storageOrigin}${req.url}` };
        return 'proxy';
      };
      await withClient({ username: 'u', password: 'p' }, async (c) => {
        const cfg = await c.getBlob('base/retry', m.config.digest);
        expect(JSON.parse(cfg.toString())).toHaveProperty('rootfs');
      });
      expect(seen).toEqual([undefined]);
      expect(hits.some((h) => h.method === 'GET' && h.path.includes('/blobs/'))).toBe(true);
    } finally {
      storage.closeAllConnections();
      await new Promise((r) => storage.close(r));
    }
  });
});
