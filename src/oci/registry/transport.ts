/**
 * HTTP transport to one registry host: TLS trust (custom CA bundle, `insecure`), the https→http
 * fallback for local registries, per-request timeouts, and bounded retries with exponential backoff
 * on 429 and 5xx (not 501/505), connection resets and timeouts (honouring `Retry-After`).
 *
 * Only replayable requests (no body, or a Buffer body) are retried here. Streaming uploads are not:
 * the client restarts the whole upload session instead.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type * as https from 'node:https';
import type * as tls from 'node:tls';
import { Readable } from 'node:stream';
import { isLocalRegistry } from '../reference';
import { isCertificateError, isRetryableNetworkError, netErrorCode, networkError, registryError, retryableStatus, statusError } from './errors';

export interface TransportOptions {
  /** PEM file(s) with CA certificates to trust in addition to the system roots (the corporate CA case). */
  caFile?: string | readonly string[];
  /** Skip TLS verification and allow plain HTTP for any host. */
  insecure?: boolean;
  /** Per-request timeout for connecting, for the response headers, and between body chunks (ms, default 60 000). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 4). */
  retries?: number;
  /** First backoff delay (ms, default 250); doubles per attempt, with jitter. */
  retryBaseMs?: number;
  /** Upper bound for one wait, including Retry-After (ms, default 30 000). */
  retryMaxDelayMs?: number;
  userAgent?: string;
  /** Force a scheme instead of probing (tests). */
  scheme?: 'https' | 'http';
}

/** A response body: a readable stream of the bytes, plus `dump()` to discard the rest (the connection stays usable). */
export type ResponseBody = Readable & { dump(): Promise<void> };

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: ResponseBody;
  url: string;
  /** No answer of the registry: a retry found that the request had taken effect (SendRequest.landed). */
  landed?: true;
}

export interface SendRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** A path on the registry (`/v2/...`) or an absolute URL (upload locations, token realms, redirects). */
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Override `retries` (0 = no retry). Streaming bodies are never retried. */
  retries?: number;
  /**
   * For a request that may have taken effect although its answer was lost or a 5xx (a manifest PUT):
   * asked before each re-send; true ends the retries with a 201 answer marked `landed`.
   */
  landed?: () => Promise<boolean>;
}


/**
 * HTTP on Node's own http/https modules, with keep-alive agents. (This used undici; loading it cost
 * 0.05-0.3 s, and its first connection compiles a WebAssembly HTTP parser, another ~0.03 s: most of a
 * repeat push, which is mostly start-up. Node's http parser is built in.) `timeoutMs` is the socket's
 * idle timeout: it covers connecting, waiting for the response headers, and the gaps between body
 * chunks, like undici's connect/headers/body timeouts; a timeout fails the request with ETIMEDOUT.
 */
function sendHttp(
  agent: http.Agent,
  secure: boolean,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer | Readable | undefined,
  timeoutMs: number,
): Promise<{ statusCode: number; headers: Record<string, string | string[]>; body: ResponseBody }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod: typeof http | typeof https = secure ? (require('node:https') as typeof https) : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    let response: http.IncomingMessage | undefined;
    const fail = (e: Error) => {
      if (!settled) {
        settled = true;
        reject(e);
      }
    };
    const req = mod.request(url, { method, headers, agent, timeout: timeoutMs });
    req.on('timeout', () => {
      const e = Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
      if (response) response.destroy(e);
      req.destroy(e);
    });
    req.on('error', (e) => {
      if (body !== undefined && !Buffer.isBuffer(body) && !body.destroyed) body.destroy();
      fail(e);
    });
    req.on('response', (res) => {
      response = res;
      settled = true;
      const dump = (): Promise<void> =>
        new Promise<void>((done, failed) => {
          if (res.complete || res.readableEnded || res.destroyed) return done();
          res.once('end', () => done());
          res.once('close', () => done());
          res.once('error', failed);
          res.resume();
        });
      // Repeated headers stay separate values (Node joins most of them with ", ", which would merge
      // two WWW-Authenticate challenges into one): one value as a string, several as an array.
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(res.headersDistinct)) if (v) headers[k] = v.length === 1 ? v[0]! : v;
      resolve({ statusCode: res.statusCode ?? 0, headers, body: Object.assign(res, { dump }) });
    });
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else if (body.destroyed) req.destroy(Object.assign(new Error('the request body was closed before it was sent'), { code: 'ECONNABORTED' }));
    else {
      body.once('error', (e) => req.destroy(e));
      // A body destroyed before its end would leave the request waiting for the rest.
      body.once('close', () => {
        if (!body.readableEnded) req.destroy(Object.assign(new Error('the request body was closed before its end'), { code: 'ECONNABORTED' }));
      });
      body.pipe(req);
    }
  });
}

export function header(res: Pick<Response, 'headers'>, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Reads a response body, refusing more than `limit` bytes (REG018). */
export async function readBody(res: Response, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      res.body.destroy();
      throw registryError('REG018', what, `the response is larger than ${limit} bytes`, 'this is not a manifest/config-sized object: check the reference', 'registry response too large');
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** A promise's outcome as a value: it never rejects, so it can wait unobserved. */
async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

export class Transport {
  readonly registry: string;
  readonly local: boolean;
  private readonly httpAgent: http.Agent;
  private readonly httpsOptions: https.AgentOptions;
  private httpsAgent: https.Agent | undefined;
  private readonly opts: Required<Pick<TransportOptions, 'timeoutMs' | 'retries' | 'retryBaseMs' | 'retryMaxDelayMs'>> & TransportOptions;
  private basePromise: Promise<{ base: string; challenge?: string }> | undefined;
  /** Requests sent (attempts included): for tests and diagnostics. */
  attempts = 0;
  /** Set by close(): no request starts after it (one started early, e.g. a HEAD that overlaps start-up, ends there). */
  private closed = false;

  constructor(registry: string, opts: TransportOptions = {}) {
    this.registry = registry;
    this.local = isLocalRegistry(registry);
    this.opts = { timeoutMs: 60_000, retries: 4, retryBaseMs: 250, retryMaxDelayMs: 30_000, ...opts };
    let ca: string[] | undefined;
    const files = opts.caFile === undefined ? [] : typeof opts.caFile === 'string' ? [opts.caFile] : [...opts.caFile];
    if (files.length) {
      // node:tls loads only here (and for https): a run against a plain-HTTP registry never needs it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      ca = [...(require('node:tls') as typeof tls).rootCertificates];
      for (const f of files) {
        let pem: string;
        try {
          pem = readFileSync(f, 'utf8');
        } catch (e) {
          throw registryError('REG017', f, `cannot read the CA file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'pass --ca-file with a readable PEM bundle', 'CA file unreadable');
        }
        if (!pem.includes('-----BEGIN CERTIFICATE-----'))
          throw registryError('REG017', f, 'the CA file holds no PEM certificate', 'pass a PEM file with one or more "-----BEGIN CERTIFICATE-----" blocks', 'CA file unusable');
        ca.push(pem);
      }
    }
    this.httpAgent = new http.Agent({ keepAlive: true });
    this.httpsOptions = { keepAlive: true, ...(ca ? { ca } : {}), ...(opts.insecure ? { rejectUnauthorized: false } : {}) };
  }

  get hasCaFile(): boolean {
    return this.opts.caFile !== undefined;
  }

  /**
   * Finds the scheme by pinging `/v2/` (https first; http only for local registries, where it is asked
   * first, or with `insecure`)
   * and returns the base URL and the auth challenge of the ping, if any.
   */
  ping(): Promise<{ base: string; challenge?: string }> {
    this.basePromise ??= this.doPing().catch((e: unknown) => {
      this.basePromise = undefined;
      throw e;
    });
    return this.basePromise;
  }

  private async doPing(): Promise<{ base: string; challenge?: string }> {
    const host = this.registry;
    const tryBase = async (base: string): Promise<{ base: string; challenge?: string }> => {
      const res = await this.rawSend({ method: 'GET', url: `${base}/v2/` });
      const body = await readBody(res, 1 << 20, '/v2/').catch(() => Buffer.alloc(0));
      if (res.status === 200) return { base };
      if (res.status === 401) {
        const ch = header(res, 'www-authenticate');
        return { base, ...(ch ? { challenge: ch } : {}) };
      }
      throw statusError(res.status, 'GET', '/v2/', body, { registry: host, what: 'the API root /v2/' });
    };
    if (this.opts.scheme) return tryBase(`${this.opts.scheme}://${host}`);
    // A loopback registry is asked over plain HTTP first: its traffic never leaves this machine, and
    // local registries (kind's, k3d's, a test registry) mostly speak plain HTTP, so one ping answers
    // without loading TLS (about 17 ms of a run's start here). One that does not answer as a registry
    // there (a TLS port answers plain HTTP with a 400) is then asked over https as any other.
    const plainFirst = this.local ? await settle(tryBase(`http://${host}`)) : undefined;
    if (plainFirst?.ok) return plainFirst.value;
    // Elsewhere, where plain HTTP may be the answer (--insecure), it is asked at the same time (one
    // round trip less when it is); it is used only when the https ping fails in a way that allows
    // falling back.
    const plain = plainFirst ?? (this.opts.insecure ? settle(tryBase(`http://${host}`)) : undefined);
    try {
      return await tryBase(`https://${host}`);
    } catch (httpsErr) {
      const mayFallBack = plain !== undefined && !isCertificateError(httpsErr) && !(httpsErr instanceof Error && httpsErr.name === 'CleanimgError');
      if (!mayFallBack) {
        const code = netErrorCode(httpsErr);
        if (!this.local && !this.opts.insecure && (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG'))
          throw registryError(
            'REG011',
            '/v2/',
            `${host} does not speak HTTPS (${code}); it may be a plain-HTTP registry, which is used only for localhost, 127.0.0.1 and [::1]`,
            'serve the registry over HTTPS, or pass --insecure to allow plain HTTP for this registry',
            'plain HTTP refused',
          );
        throw networkError(httpsErr, `https://${host}/v2/`, host, { caFile: this.hasCaFile, timeoutMs: this.opts.timeoutMs });
      }
      const r = await plain;
      if (r.ok) return r.value;
      throw networkError(r.error, `http://${host}/v2/`, host, { timeoutMs: this.opts.timeoutMs });
    }
  }

  async base(): Promise<string> {
    return (await this.ping()).base;
  }

  /** Resolves a registry path or absolute URL against the base URL. */
  async resolve(url: string): Promise<string> {
    if (/^https?:\/\//.test(url)) return url;
    return new URL(url, `${await this.base()}/`).toString();
  }

  backoff(attempt: number): number {
    const exp = this.opts.retryBaseMs * 2 ** attempt;
    return Math.min(this.opts.retryMaxDelayMs, Math.round(exp * (0.5 + Math.random() * 0.5)));
  }

  /** One request with retries, after the scheme is known. Errors without an HTTP answer become CleanimgErrors. */
  async send(req: SendRequest): Promise<Response> {
    const url = await this.resolve(req.url);
    return this.rawSend({ ...req, url });
  }

  private async rawSend(req: SendRequest): Promise<Response> {
    const replayable = req.body === undefined || Buffer.isBuffer(req.body);
    const retries = replayable ? (req.retries ?? this.opts.retries) : 0;
    const headers: Record<string, string> = { 'user-agent': this.opts.userAgent ?? 'cleanimg', ...req.headers };
    for (let attempt = 0; ; attempt++) {
      let res: Awaited<ReturnType<typeof sendHttp>>;
      try {
        if (this.closed) throw Object.assign(new Error('the registry client was closed'), { code: 'ERR_REGISTRY_CLIENT_CLOSED' });
        this.attempts++;
        const u = new URL(req.url);
        const secure = u.protocol === 'https:';
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const agent = secure ? (this.httpsAgent ??= new (require('node:https') as typeof https).Agent(this.httpsOptions)) : this.httpAgent;
        res = await sendHttp(agent, secure, u, req.method, headers, req.body, this.opts.timeoutMs);
      } catch (e) {
        if (attempt < retries && !this.closed && isRetryableNetworkError(e)) {
          if (await tookEffect(req)) return landedResponse(req.url);
          await sleep(this.backoff(attempt));
          continue;
        }
        // Ping needs the raw error to decide on the http fallback.
        if (req.url.endsWith('/v2/') && req.method === 'GET') throw e;
        throw networkError(e, req.url, this.registry, { caFile: this.hasCaFile, timeoutMs: this.opts.timeoutMs });
      }
      if (retryableStatus(res.statusCode) && attempt < retries) {
        const after = parseRetryAfter(header({ headers: res.headers }, 'retry-after'));
        await res.body.dump().catch(() => undefined);
        if (await tookEffect(req)) return landedResponse(req.url);
        await sleep(Math.min(this.opts.retryMaxDelayMs, after ?? this.backoff(attempt)));
        continue;
      }
      return { status: res.statusCode, headers: res.headers, body: res.body, url: req.url };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.httpAgent.destroy();
    this.httpsAgent?.destroy();
  }
}

/** Whether a request that failed without a usable answer took effect anyway (false when unknown). */
async function tookEffect(req: SendRequest): Promise<boolean> {
  if (!req.landed) return false;
  return req.landed().catch(() => false);
}

function landedResponse(url: string): Response {
  const body = Object.assign(Readable.from([]), { dump: async () => undefined }) as ResponseBody;
  return { status: 201, headers: {}, body, url, landed: true };
}
