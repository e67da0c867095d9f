/**
 * The HTTP transport on Node's http module: repeated headers stay separate, bodies can be dumped, and
 * a request body closed before its end fails the request instead of hanging it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Transport } from '../../../src/oci/registry';
import { header } from '../../../src/oci/registry/transport';

let server: Server;
let host: string;
let received = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/v2/') {
      res.writeHead(200);
      res.end('{}');
      return;
    }
    if (req.url === '/two-challenges') {
      res.setHeader('www-authenticate', ['Bearer realm="https://auth.example/token",service="reg"', 'Basic realm="reg"']);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"errors":[]}');
      return;
    }
    req.on('data', (c: Buffer) => (received += c.length));
    req.on('end', () => {
      res.writeHead(202);
      res.end('x'.repeat(100_000));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

describe('Transport on node:http', () => {
  test('a loopback registry that speaks plain HTTP is found with one ping, and node:tls is not loaded for it', async () => {
    const t = new Transport(host);
    try {
      expect(await t.base()).toBe(`http://${host}`);
      expect(t.attempts).toBe(1);
    } finally {
      t.close();
    }
    // In a fresh process (this one's test runner has loaded TLS already), from the compiled modules.
    // Asynchronously: the server answering the child runs in this process.
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const script = `const { Transport } = require(${JSON.stringify(require.resolve('../../../lib/oci/registry/index.js'))});
const t = new Transport(${JSON.stringify(host)});
t.base().then((b) => { t.close(); console.log(JSON.stringify({ b, tls: process.moduleLoadList.some((m) => m === 'NativeModule tls') })); });`;
    const r = await promisify(execFile)(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ b: `http://${host}`, tls: false });
  });

  test('two WWW-Authenticate headers stay two values; header() gives the first', async () => {
    const t = new Transport(host, { scheme: 'http' });
    try {
      const res = await t.send({ method: 'GET', url: '/two-challenges' });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toEqual(['Bearer realm="https://auth.example/token",service="reg"', 'Basic realm="reg"']);
      expect(header(res, 'WWW-Authenticate')).toMatch(/^Bearer realm=/);
      expect(header(res, 'content-type')).toBe('application/json');
      await res.body.dump();
    } finally {
      await t.close();
    }
  });

  test('a streamed body is sent whole; a body destroyed before its end fails the request', async () => {
    const t = new Transport(host, { scheme: 'http', retries: 0 });
    try {
      const body = new PassThrough();
      const pending = t.send({ method: 'PATCH', url: '/upload', body });
      for (let i = 0; i < 10; i++) body.write(Buffer.alloc(100_000, i));
      body.end();
      const res = await pending;
      expect(res.status).toBe(202);
      await res.body.dump(); // the 100 kB answer is drained, the connection stays usable
      expect(received).toBe(1_000_000);

      const broken = new PassThrough();
      broken.on('error', () => undefined);
      const failing = t.send({ method: 'PATCH', url: '/upload', body: broken });
      broken.write(Buffer.alloc(10));
      setTimeout(() => broken.destroy(), 20); // closed without an error: must not leave the request waiting
      await expect(failing).rejects.toThrow();
      // The transport still works afterwards.
      const again = await t.send({ method: 'PATCH', url: '/upload', body: Buffer.from('ok') });
      expect(again.status).toBe(202);
      await again.body.dump();
    } finally {
      await t.close();
    }
  });
});
