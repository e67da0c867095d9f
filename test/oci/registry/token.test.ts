/**
 * Bearer token auth against a real registry: docker-registry configured with `auth: token`, trusting a test
 * signing certificate, and a small token service of our own (127.0.0.1) that checks Basic credentials and
 * issues ES256 JWTs with the granted `access` claims, as Docker Hub's or Harbor's token services do.
 */
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { RegistryClient, parseChallenge, type RegistryClientOptions } from '../../../src/oci/registry';
import { pushBaseImage, type PushedImage } from '../../support/base-image';
import { generateCa, startRegistry, type TestRegistry } from '../../support/registry';
import { blobOf, makeImage } from './fixtures';
import { failure } from '../../support/expect-error';
import { withRegistryClient } from '../../support/registry-client';

const SERVICE = 'cleanimg-test-registry';
const ISSUER = 'cleanimg-test-issuer';
const USER = 'pusher';
const PASS = randomBytes(9).toString('hex');
const REFRESH = randomBytes(9).toString('hex');

interface TokenRequest {
  user?: string;
  scopes: string[];
}

const tmp = mkdtempSync(join(tmpdir(), 'cleanimg-token-test-'));
let tokenServer: Server;
let reg: TestRegistry;
let base: PushedImage;
let requests: TokenRequest[] = [];

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

beforeAll(async () => {
  const signer = generateCa(tmp, 'token-signer');
  const key = createPrivateKey(readFileSync(signer.keyFile));
  const certDer = new X509Certificate(readFileSync(signer.certFile)).raw.toString('base64');

  tokenServer = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    if (req.method === 'POST') {
      // OAuth2 refresh-token grant (docker's `identitytoken`).
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(parts).toString());
        if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== REFRESH) {
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad refresh token' }] }));
          return;
        }
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        requests.push({ user: 'refresh', scopes });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: issue(USER, scopes), expires_in: 300 }));
      });
      return;
    }
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (u !== USER || p !== PASS) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
      user = u;
    }
    const scopes = url.searchParams.getAll('scope');
    requests.push({ ...(user ? { user } : {}), scopes });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: issue(user, scopes), expires_in: 300 }));
  });

  function issue(user: string | undefined, scopes: string[]): string {
    // The user gets what they ask for; anonymous callers may only pull from public/*.
    const access = scopes.flatMap((s) => {
      const [type, name, actions] = s.split(':');
      const wanted = (actions ?? '').split(',');
      const granted = user ? wanted : name?.startsWith('public/') ? wanted.filter((a) => a === 'pull') : [];
      return type === 'repository' && granted.length ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer] };
    const claims = { iss: ISSUER, sub: user ?? '', aud: SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(sig)}`;
  }
  await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', () => r()));
  const realm = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;
  reg = await startRegistry({ token: { realm, service: SERVICE, issuer: ISSUER, rootCertBundle: signer.certFile } });
  base = await pushBaseImage({ host: reg.host, username: USER, password: PASS }, 'base/tok', 'v1');
});

afterAll(async () => {
  tokenServer?.closeAllConnections();
  await new Promise((r) => tokenServer?.close(r));
  await reg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  requests = [];
});

function withClient<T>(opts: RegistryClientOptions, f: (c: RegistryClient) => Promise<T>): Promise<T> {
  return withRegistryClient(reg.host, { env: { PATH: process.env.PATH, HOME: tmp }, retries: 0, ...opts }, f);
}

describe('bearer token auth', () => {
  test('pull: one token for repository:<repo>:pull, fetched with the credentials and cached', async () => {
    await withClient({ username: USER, password: PASS }, async (c) => {
      expect((await c.getManifest('base/tok', 'v1')).digest).toBe(base.digest);
      expect((await c.getManifest('base/tok', base.digest)).digest).toBe(base.digest);
      expect(await c.headManifest('base/tok', 'v1')).toMatchObject({ digest: base.digest });
      expect(requests).toEqual([{ user: USER, scopes: ['repository:base/tok:pull'] }]);
      expect(c.auth.tokenRequests).toBe(1);
    });
  });

  test('concurrent requests for the same scope share one token request', async () => {
    await withClient({ username: USER, password: PASS }, async (c) => {
      const all = await Promise.all(Array.from({ length: 6 }, () => c.getManifest('base/tok', 'v1')));
      expect(all.every((m) => m.digest === base.digest)).toBe(true);
      expect(c.auth.tokenRequests).toBe(1);
      expect(requests).toHaveLength(1);
    });
  });

  test('push with a cross-repository mount asks for pull,push on the target and pull on the source', async () => {
    const m = JSON.parse((await withClient({ username: USER, password: PASS }, (c) => c.getManifest('base/tok', 'v1'))).bytes.toString()) as {
      layers: { digest: string; size: number }[];
    };
    requests = [];
    await withClient({ username: USER, password: PASS }, async (c) => {
      const layer = m.layers[0]!;
      expect(await c.pushBlob('app/tok', layer, () => Readable.from([]), { from: 'base/tok' })).toBe('mounted');
      expect(requests.map((r) => r.scopes)).toContainEqual(['repository:app/tok:pull,push', 'repository:base/tok:pull']);
      const img = await makeImage({ '/etc/t': 't' });
      for (const b of [img.layer, img.config]) expect(await c.pushBlob('app/tok', b, () => Readable.from([b.bytes]))).toBe('uploaded');
      expect(await c.putManifest('app/tok', 'v1', img.manifest.bytes, img.mediaType)).toBe(img.manifest.digest);
      expect(requests.map((r) => r.scopes)).toContainEqual(['repository:app/tok:pull,push']);
      expect(requests.every((r) => r.user === USER)).toBe(true);
    });
  });

  test('an identitytoken in the docker config is exchanged with the refresh-token grant', async () => {
    const dir = mkdtempSync(join(tmp, 'docker-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: '', identitytoken: REFRESH } } }));
    await withClient({ env: { PATH: process.env.PATH, HOME: tmp, DOCKER_CONFIG: dir } }, async (c) => {
      expect((await c.getManifest('base/tok', 'v1')).digest).toBe(base.digest);
    });
    expect(requests).toEqual([{ user: 'refresh', scopes: ['repository:base/tok:pull'] }]);
  });

  test('wrong password: the token service refuses, REG001 with the login fix', async () => {
    const e = await withClient({ username: USER, password: 'nope' }, (c) => failure(c.getManifest('base/tok', 'v1')));
    expect(e.problems[0]!.code).toBe('REG001');
    expect(e.problems[0]!.fix).toMatch(/docker login/);
    expect(e.message).toMatch(/token service/);
  });

  test('anonymous: a token without access is not enough, REG001', async () => {
    const e = await withClient({}, (c) => failure(c.getManifest('base/tok', 'v1')));
    expect(e.problems[0]!.code).toBe('REG001');
    expect(requests.length).toBeGreaterThanOrEqual(1);
    expect(requests.every((r) => r.user === undefined)).toBe(true);
  });

  test('anonymous pull where the token service allows it', async () => {
    await pushBaseImage({ host: reg.host, username: USER, password: PASS }, 'public/base', 'v1');
    requests = [];
    await withClient({}, async (c) => {
      expect((await c.getManifest('public/base', 'v1')).mediaType).toMatch(/manifest/);
      expect(requests).toEqual([{ scopes: ['repository:public/base:pull'] }]);
      // Pushing needs credentials.
      const b = blobOf(randomBytes(10));
      expect((await failure(c.pushBlob('public/base', b, () => Readable.from([b.bytes])))).problems[0]!.code).toBe('REG001');
    });
  });
});

describe('challenge parsing', () => {
  test('quoted values with commas, unquoted values, case-insensitive scheme', () => {
    expect(parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' },
    });
    expect(parseChallenge('Basic realm=Registry')).toEqual({ scheme: 'basic', params: { realm: 'Registry' } });
    expect(parseChallenge('bearer realm="a\\"b", error="insufficient_scope"')).toEqual({ scheme: 'bearer', params: { realm: 'a"b', error: 'insufficient_scope' } });
  });
});
