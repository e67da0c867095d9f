/**
 * Registry authentication: anonymous, Basic, and Bearer token auth
 * (401 + `WWW-Authenticate: Bearer realm=...,service=...,scope=...` → GET realm?service&scope with Basic
 * credentials if any → `{token|access_token, expires_in}`), tokens cached per scope set until they expire.
 */
import { header, readBody, type Transport } from './transport';
import type { Credentials } from './credentials';
import { loginFix, parseErrorBody, registryError } from './errors';

export interface Challenge {
  scheme: string; // lower-case: 'bearer' | 'basic' | ...
  params: Record<string, string>;
}

/** Parses a `WWW-Authenticate` value (first challenge). Values may be quoted and contain commas. */
export function parseChallenge(value: string): Challenge | undefined {
  const m = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(.*)$/s.exec(value);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = m[2]!;
  re.lastIndex = 0;
  let p: RegExpExecArray | null;
  while (re.lastIndex < rest.length && (p = re.exec(rest)) !== null) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

/** `repository:<repo>:<actions>` */
export function repoScope(repo: string, actions: string): string {
  return `repository:${repo}:${actions}`;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

export class Authenticator {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();
  private credsPromise: Promise<Credentials | undefined> | undefined;
  /** Token requests made (for tests and diagnostics). */
  tokenRequests = 0;

  constructor(
    private readonly transport: Transport,
    private readonly credentials: () => Promise<Credentials | undefined>,
  ) {}

  private creds(): Promise<Credentials | undefined> {
    this.credsPromise ??= this.credentials();
    return this.credsPromise;
  }

  /** Where the credentials came from (`options`, `environment`, a config path or helper), or undefined when anonymous. */
  async credentialSource(): Promise<string | undefined> {
    return (await this.creds())?.source;
  }

  /** Records the challenge from a ping or a 401. */
  setChallenge(value: string | undefined): void {
    const ch = value ? parseChallenge(value) : undefined;
    if (ch && ch.scheme !== this.challenge?.scheme) this.tokens.clear();
    if (ch) this.challenge = ch;
  }

  /** Scopes named by the last Bearer challenge (`scope="a b"`), to merge with ours after a 401. */
  get challengeScopes(): string[] {
    const sc = this.challenge?.scheme === 'bearer' ? this.challenge.params.scope : undefined;
    return sc ? sc.split(' ').filter(Boolean) : [];
  }

  get scheme(): string | undefined {
    return this.challenge?.scheme;
  }

  /** Forgets cached tokens for these scopes (after a 401 with a token). */
  invalidate(scopes: readonly string[]): void {
    this.tokens.delete(scopeKey(scopes));
  }

  /** The Authorization header value for requests needing `scopes`, or undefined for anonymous access. */
  async authorization(scopes: readonly string[]): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) {
      // The registry allowed anonymous /v2/. Send Basic credentials only when we have them.
      return undefined;
    }
    if (ch.scheme === 'basic') {
      const c = await this.creds();
      if (!c) return undefined;
      return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
    }
    if (ch.scheme === 'bearer') {
      const key = scopeKey(scopes);
      const hit = this.tokens.get(key);
      if (hit && hit.expiresAt > Date.now()) return `Bearer ${hit.token}`;
      // Concurrent requests for the same scopes share one token request.
      let pending = this.inflight.get(key);
      if (!pending) {
        pending = this.fetchToken(ch, scopes).finally(() => this.inflight.delete(key));
        this.inflight.set(key, pending);
      }
      const token = await pending;
      this.tokens.set(key, token);
      return `Bearer ${token.token}`;
    }
    throw registryError(
      'REG001',
      '/v2/',
      `${this.transport.registry} asks for "${ch.scheme}" authentication, which is not supported`,
      'use a registry with Basic or Bearer token authentication',
      'unsupported registry authentication',
    );
  }

  private async fetchToken(ch: Challenge, scopes: readonly string[]): Promise<CachedToken> {
    const realm = ch.params.realm;
    if (!realm)
      throw registryError('REG015', '/v2/', `${this.transport.registry} sent a Bearer challenge without a realm`, 'the registry is misconfigured: report it to its operator', 'token service failed');
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw registryError('REG015', realm, `the token realm "${realm}" is not a URL`, 'the registry is misconfigured: report it to its operator', 'token service failed');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw registryError('REG015', realm, `the token realm uses ${url.protocol}`, 'the registry is misconfigured: report it to its operator', 'token service failed');
    const c = await this.creds();
    const service = ch.params.service;
    this.tokenRequests++;
    let res;
    if (c?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.password, client_id: 'cleanimg' });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.transport.send({
        method: 'POST',
        url: url.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
      });
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (c) headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
      res = await this.transport.send({ method: 'GET', url: url.toString(), headers });
    }
    const body = await readBody(res, 1 << 20, url.pathname);
    if (res.status === 401 || res.status === 403) {
      const detail = parseErrorBody(body)
        .map((e) => `${e.code}: ${e.message ?? ''}`)
        .join('; ');
      throw registryError(
        'REG001',
        url.pathname,
        `the token service of ${this.transport.registry} refused ${c ? `the credentials from ${c.source}` : 'anonymous access'} for ${scopes.join(' ') || 'the registry'} (${res.status}${detail ? ` ${detail}` : ''})`,
        loginFix(this.transport.registry),
        'registry authentication failed',
      );
    }
    if (res.status !== 200)
      throw registryError('REG015', url.pathname, `the token service answered ${res.status}: ${body.toString().slice(0, 200)}`, 'try again later, or check the registry status', 'token service failed');
    let j: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      j = JSON.parse(body.toString()) as typeof j;
    } catch {
      throw registryError('REG015', url.pathname, 'the token service answered with something that is not JSON', 'check the registry status', 'token service failed');
    }
    const token = typeof j.token === 'string' && j.token ? j.token : typeof j.access_token === 'string' ? j.access_token : undefined;
    if (!token) throw registryError('REG015', url.pathname, 'the token service answered without a token', 'check the registry status', 'token service failed');
    const ttl = typeof j.expires_in === 'number' && j.expires_in > 0 ? j.expires_in : 60;
    // Refresh a little early so a token does not expire between our check and the registry's.
    return { token, expiresAt: Date.now() + Math.max(1, ttl - 10) * 1000 };
  }

  /** The 401's challenge, if it asks for different scopes or scheme than we had. */
  static challengeOf(res: { headers: Record<string, string | string[] | undefined> }): string | undefined {
    return header(res, 'www-authenticate');
  }
}

function scopeKey(scopes: readonly string[]): string {
  return [...scopes].sort().join(' ');
}
