/**
 * Registry failures as CleanimgErrors: each has a REG code, the registry URL path, what happened and a fix.
 *
 * | code   | when |
 * |--------|------|
 * | REG001 | 401: no or wrong credentials |
 * | REG002 | 403: credentials valid but access denied |
 * | REG003 | manifest or tag not found |
 * | REG004 | blob not found |
 * | REG005 | TLS: certificate not trusted (unknown CA, self-signed, expired) |
 * | REG006 | TLS: other handshake failure (host name mismatch, protocol) |
 * | REG007 | cannot connect (refused, DNS, reset) |
 * | REG008 | the registry's digest differs from the content's |
 * | REG009 | still failing after retries (429 / 5xx but 501 and 505 / resets) |
 * | REG010 | timeout |
 * | REG011 | plain HTTP refused for a non-local registry |
 * | REG012 | other unexpected registry answer |
 * | REG013 | credential helper failed |
 * | REG014 | docker config file malformed |
 * | REG015 | token service failed |
 * | REG016 | registry rejected a manifest or upload as invalid |
 * | REG017 | CA file unreadable |
 * | REG018 | response too large |
 * | REG019 | unsupported manifest type (Docker schema 1) |
 * | REG020 | the content to upload could not be read |
 */
import { CleanimgError } from '../../errors';

/** The fix for a 401: where credentials come from. */
export function loginFix(registry = '<registry>'): string {
  return `log in with \`docker login ${registry}\` (read from $DOCKER_CONFIG/config.json or ~/.docker/config.json, credential helpers included), or pass --username/--password, or set CLEANIMG_REGISTRY_USERNAME and CLEANIMG_REGISTRY_PASSWORD`;
}
export const LOGIN_FIX = loginFix();

export function registryError(code: string, path: string, message: string, fix: string, summary = 'registry request failed'): CleanimgError {
  return new CleanimgError(summary, [{ code, path, message, fix }]);
}

/** One entry of the distribution error body `{"errors":[{"code","message","detail"}]}`. */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

export function parseErrorBody(body: Buffer | string | undefined): RegistryErrorEntry[] {
  if (!body || body.length === 0) return [];
  try {
    const j = JSON.parse(body.toString()) as { errors?: unknown };
    if (Array.isArray(j.errors))
      return j.errors
        .filter((e): e is { code: unknown; message?: unknown; detail?: unknown } => typeof e === 'object' && e !== null)
        .map((e) => ({ code: String(e.code ?? 'UNKNOWN'), ...(typeof e.message === 'string' ? { message: e.message } : {}), detail: e.detail }));
  } catch {
    /* not JSON */
  }
  return [];
}

function describe(entries: RegistryErrorEntry[], body: Buffer | string | undefined): string {
  if (entries.length) return entries.map((e) => `${e.code}${e.message ? `: ${e.message}` : ''}`).join('; ');
  const text = body ? body.toString().trim().slice(0, 200) : '';
  return text ? `"${text}"` : 'no error body';
}

/** Maps an unexpected HTTP status (plus the registry's error body) to a CleanimgError. */
export function statusError(
  status: number,
  method: string,
  path: string,
  body: Buffer | string | undefined,
  context: { registry: string; what?: string; credentials?: string },
): CleanimgError {
  const entries = parseErrorBody(body);
  const codes = new Set(entries.map((e) => e.code));
  const detail = describe(entries, body);
  const target = context.what ?? path;
  if (status === 401)
    return registryError(
      'REG001',
      path,
      context.credentials
        ? `${context.registry} refused the credentials from ${context.credentials} for ${method} ${target} (401 ${detail})`
        : `${context.registry} requires authentication for ${method} ${target} and no credentials were found (401 ${detail})`,
      loginFix(context.registry),
      'registry authentication failed',
    );
  if (status === 403 || codes.has('DENIED'))
    return registryError(
      'REG002',
      path,
      `${context.registry} denied ${method} ${target} (403 ${detail})`,
      'use an account that may read (pull) or write (push) this repository, or check the repository name',
      'registry access denied',
    );
  if (codes.has('MANIFEST_UNKNOWN') || codes.has('NAME_UNKNOWN') || (status === 404 && /\/manifests\//.test(path)))
    return registryError(
      'REG003',
      path,
      `${context.registry} has no ${target} (${status} ${detail})`,
      'check the repository, tag and digest (e.g. `skopeo inspect docker://<ref>`), and that the image was pushed to this registry',
      'image not found',
    );
  if (codes.has('BLOB_UNKNOWN') || (status === 404 && /\/blobs\//.test(path)))
    return registryError(
      'REG004',
      path,
      `${context.registry} has no blob ${target} (${status} ${detail})`,
      'the image references a blob the registry does not have: push the image again',
      'blob not found',
    );
  if (
    codes.has('MANIFEST_INVALID') ||
    codes.has('MANIFEST_BLOB_UNKNOWN') ||
    codes.has('DIGEST_INVALID') ||
    codes.has('SIZE_INVALID') ||
    codes.has('BLOB_UPLOAD_INVALID') ||
    codes.has('TAG_INVALID') ||
    codes.has('NAME_INVALID') ||
    codes.has('UNSUPPORTED') ||
    status === 400
  )
    return registryError(
      'REG016',
      path,
      `${context.registry} rejected ${method} ${target} (${status} ${detail})`,
      'the registry refused the content: check the media type, that every referenced blob was pushed first, and the tag/repository names',
      'registry rejected the request',
    );
  if (retryableStatus(status))
    return registryError(
      'REG009',
      path,
      `${context.registry} kept answering ${status} to ${method} ${target} (${detail})`,
      'the registry failed, is overloaded or is rate-limiting: wait and try again, or raise the retry count',
      'registry unavailable',
    );
  return registryError(
    'REG012',
    path,
    `${context.registry} answered ${status} to ${method} ${target} (${detail})`,
    'check the registry address and that it speaks the OCI distribution API (/v2/)',
    'unexpected registry answer',
  );
}

const CERT_UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** The error code of a Node network error, looking through `cause`. */
export function netErrorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && code !== 'UND_ERR') return code;
    e = (e as { cause?: unknown }).cause;
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isCertificateError(err: unknown): boolean {
  const code = netErrorCode(err);
  return code !== undefined && (CERT_UNTRUSTED.has(code) || code === 'ERR_TLS_CERT_ALTNAME_INVALID');
}

export function isTimeoutError(err: unknown): boolean {
  const code = netErrorCode(err);
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT';
}

/**
 * Statuses worth asking again: 429 and every 5xx (a registry's 500 is often a passing storage or
 * database error) except 501 Not Implemented and 505 HTTP Version Not Supported, which will not change.
 */
export function retryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/** Errors worth retrying on an idempotent request: the connection broke or timed out. */
export function isRetryableNetworkError(err: unknown): boolean {
  if (err instanceof CleanimgError) return false;
  const code = netErrorCode(err);
  return (
    isTimeoutError(err) ||
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ECONNABORTED' ||
    code === 'UND_ERR_SOCKET' ||
    code === 'UND_ERR_CLOSED' ||
    code === 'EAI_AGAIN' ||
    (err instanceof Error && /other side closed|socket hang up/i.test(err.message))
  );
}

function errMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== err.message ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

/** Maps a network-level failure (no HTTP answer) to a CleanimgError. */
export function networkError(err: unknown, url: string, registry: string, opts: { caFile?: boolean; timeoutMs?: number } = {}): CleanimgError {
  if (err instanceof CleanimgError) return err;
  const code = netErrorCode(err);
  const msg = errMessage(err);
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    /* keep url */
  }
  if (code && CERT_UNTRUSTED.has(code))
    return registryError(
      'REG005',
      path,
      `the TLS certificate of ${registry} is not trusted (${code}: ${msg})`,
      opts.caFile
        ? 'the CA file given with --ca-file did not sign this certificate: pass the bundle of the CA that did (often the corporate CA), or --insecure to skip verification (not recommended)'
        : 'pass --ca-file with the CA bundle that signed the registry certificate (often the corporate CA), or --insecure to skip verification (not recommended)',
      'registry TLS certificate not trusted',
    );
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return registryError(
      'REG006',
      path,
      `the TLS certificate of ${registry} does not name this host (${msg})`,
      'use the host name the certificate was issued for, or reissue the certificate with this name in subjectAltName',
      'registry TLS certificate does not match',
    );
  if (code && (code.startsWith('ERR_SSL') || code === 'EPROTO' || code.startsWith('ERR_TLS')))
    return registryError(
      'REG006',
      path,
      `TLS handshake with ${registry} failed (${code}: ${msg})`,
      'check that the registry serves HTTPS on this port; plain HTTP is used only for localhost/127.0.0.1/[::1] or with --insecure',
      'registry TLS handshake failed',
    );
  if (isTimeoutError(err))
    return registryError(
      'REG010',
      path,
      `${registry} did not answer in time${opts.timeoutMs ? ` (${opts.timeoutMs} ms)` : ''} (${code})`,
      'check the network path to the registry, or raise the timeout',
      'registry request timed out',
    );
  return registryError(
    'REG007',
    path,
    `cannot reach ${registry} (${code ?? 'error'}: ${msg})`,
    'check the registry address and port, that it is running, and proxies/firewalls between here and there',
    'registry unreachable',
  );
}
