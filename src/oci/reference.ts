/**
 * Image references, parsed and printed the way docker and crane do:
 *
 *     [registry[:port]/]repository[:tag][@sha256:<64 hex>]
 *
 * - The first path component is a registry when it contains `.` or `:`, is `localhost`, is an IPv6
 *   literal in brackets, or has upper-case letters; otherwise the registry is Docker Hub (`docker.io`).
 * - On Docker Hub a one-component repository gets the `library/` prefix (`nginx` -> `docker.io/library/nginx`),
 *   and `index.docker.io` / `registry-1.docker.io` are written as `docker.io`.
 * - Repository components are lower-case: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, joined by `/`.
 * - Tags: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`. Digests: `sha256:` and 64 lower-case hex digits.
 * - A reference with neither tag nor digest has neither here: use {@link refTarget} to get `latest`.
 */
import { CleanimgError } from '../errors';

export interface Reference {
  /** Registry host with optional port, e.g. `docker.io`, `ghcr.io`, `127.0.0.1:5000`, `[::1]:5000`. */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `library/nginx`, `team/app`. */
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:<64 hex>` */
  readonly digest?: string;
}

export const DOCKER_HUB = 'docker.io';
/** The host that serves the registry API for Docker Hub. */
export const DOCKER_HUB_API = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9]+)?\]$/;
const MAX_NAME = 255;

function refError(code: string, input: string, message: string, fix: string): CleanimgError {
  return new CleanimgError(`invalid image reference "${input}"`, [{ code, path: input || '(empty)', message, fix }]);
}

const FORMAT_FIX = 'write it as [registry[:port]/]repository[:tag][@sha256:<64 hex digits>], e.g. ghcr.io/team/app:1.0@sha256:…';

/** Checks a digest string; returns it or throws REF004. */
export function checkDigest(digest: string, input = digest): string {
  if (SHA256_DIGEST.test(digest)) return digest;
  const m = /^([A-Za-z0-9+._-]+):(.*)$/.exec(digest);
  if (!m) throw refError('REF004', input, `digest "${digest}" has no algorithm prefix`, 'digests look like sha256:<64 lower-case hex digits>');
  if (m[1] !== 'sha256')
    throw refError('REF004', input, `digest algorithm "${m[1]}" is not supported`, 'use a sha256 digest (sha256:<64 lower-case hex digits>)');
  if (/[A-F]/.test(m[2]!) && /^[a-fA-F0-9]{64}$/.test(m[2]!))
    throw refError('REF004', input, `digest "${digest}" has upper-case hex`, 'write the hex digits in lower case');
  if (!/^[a-fA-F0-9]*$/.test(m[2]!))
    throw refError('REF004', input, `digest "${digest}" contains characters that are not hex digits`, 'a sha256 digest is 64 hex digits (0-9, a-f)');
  throw refError('REF004', input, `sha256 digest has ${m[2]!.length} hex digits, expected 64`, 'copy the full digest (sha256: followed by 64 hex digits)');
}

/** True for registries on this machine, where plain HTTP is allowed (as docker and crane do). */
export function isLocalRegistry(registry: string): boolean {
  const host = registryHostname(registry).toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** The host part of `host[:port]` (IPv6 literals keep their brackets removed). */
export function registryHostname(registry: string): string {
  if (registry.startsWith('[')) {
    const end = registry.indexOf(']');
    return end > 0 ? registry.slice(1, end) : registry;
  }
  const i = registry.lastIndexOf(':');
  return i >= 0 ? registry.slice(0, i) : registry;
}

/** The host that serves the distribution API for a registry name (`docker.io` -> `registry-1.docker.io`). */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

function looksLikeRegistry(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[') || first !== first.toLowerCase();
}

function checkRegistry(registry: string, input: string): void {
  let host = registry;
  let port: string | undefined;
  if (registry.startsWith('[')) {
    const end = registry.indexOf(']');
    if (end < 0) throw refError('REF002', input, `registry "${registry}" has an unclosed IPv6 bracket`, 'write IPv6 registries as [::1]:5000');
    host = registry.slice(0, end + 1);
    const rest = registry.slice(end + 1);
    if (rest) {
      if (!rest.startsWith(':')) throw refError('REF002', input, `registry "${registry}" is malformed`, 'write IPv6 registries as [::1]:5000');
      port = rest.slice(1);
    }
    if (!IPV6.test(host)) throw refError('REF002', input, `registry "${registry}" is not a valid IPv6 literal`, 'write IPv6 registries as [::1]:5000');
  } else {
    const i = registry.indexOf(':');
    if (i >= 0) {
      host = registry.slice(0, i);
      port = registry.slice(i + 1);
    }
    if (!HOST.test(host)) throw refError('REF002', input, `registry host "${host}" is not a valid host name`, FORMAT_FIX);
  }
  if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) > 65535 || Number(port) === 0))
    throw refError('REF002', input, `registry port "${port}" is not a number between 1 and 65535`, 'write the registry as host:port, e.g. 127.0.0.1:5000');
}

/** Parses an image reference; throws a CleanimgError (REF001…REF006) naming what is wrong. */
export function parseReference(input: string): Reference {
  const s = input.trim();
  if (!s) throw refError('REF001', input, 'the image reference is empty', FORMAT_FIX);
  if (/\s/.test(s)) throw refError('REF001', input, 'the image reference contains white space', FORMAT_FIX);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s))
    throw refError('REF001', input, 'the image reference has a URL scheme', 'drop the scheme: write registry/repository:tag, not https://registry/repository:tag');

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = checkDigest(rest.slice(at + 1), input);
    rest = rest.slice(0, at);
  }

  // The tag is after the last ':' that follows the last '/' (a ':' before it belongs to the registry port).
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash && !(slash < 0 && rest.startsWith('[') && colon < rest.indexOf(']'))) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag))
      throw refError('REF005', input, tag ? `tag "${tag}" is not valid` : 'the tag after ":" is empty', 'tags are 1-128 characters of letters, digits, _ . - and do not start with . or -');
  }

  let registry = DOCKER_HUB;
  let repository = rest;
  const firstSlash = rest.indexOf('/');
  if (firstSlash >= 0 && looksLikeRegistry(rest.slice(0, firstSlash))) {
    registry = rest.slice(0, firstSlash);
    repository = rest.slice(firstSlash + 1);
    checkRegistry(registry, input);
    if (DOCKER_HUB_ALIASES.has(registry.toLowerCase())) registry = DOCKER_HUB;
  } else if (rest.startsWith('[') || (firstSlash < 0 && looksLikeRegistry(rest) && rest.includes(':'))) {
    throw refError('REF003', input, 'the reference names a registry but no repository', 'add the repository after the registry: host:port/repository:tag');
  }

  if (!repository) throw refError('REF003', input, 'the repository name is empty', FORMAT_FIX);
  const components = repository.split('/');
  for (const c of components) {
    if (!c) throw refError('REF003', input, `repository "${repository}" has an empty path component`, 'remove the doubled or trailing "/"');
    if (c !== c.toLowerCase() && COMPONENT.test(c.toLowerCase()))
      throw refError('REF003', input, `repository "${repository}" contains upper-case letters`, `repository names are lower case: use "${repository.toLowerCase()}"`);
    if (!COMPONENT.test(c))
      throw refError(
        'REF003',
        input,
        `repository component "${c}" is not valid`,
        'repository components are lower-case letters and digits, separated by single ".", "_", "__" or "-" runs, and cannot start or end with a separator',
      );
  }
  if (registry === DOCKER_HUB && components.length === 1) repository = `library/${repository}`;
  const name = `${registry}/${repository}`;
  if (name.length > MAX_NAME) throw refError('REF006', input, `the image name is ${name.length} characters, more than ${MAX_NAME}`, 'use a shorter repository name');

  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** True when the reference names a digest (a tag alongside it is only informative). */
export function isDigestPinned(ref: Reference | string): boolean {
  const r = typeof ref === 'string' ? parseReference(ref) : ref;
  return r.digest !== undefined;
}

/** The same reference pinned to `digest` (the tag, if any, is kept for readability). */
export function withDigest(ref: Reference, digest: string): Reference {
  return { ...ref, digest: checkDigest(digest) };
}

/** The same reference with a tag instead of a digest. */
export function withTag(ref: Reference, tag: string): Reference {
  if (!TAG.test(tag)) throw refError('REF005', tag, `tag "${tag}" is not valid`, 'tags are 1-128 characters of letters, digits, _ . - and do not start with . or -');
  return { registry: ref.registry, repository: ref.repository, tag };
}

/** What to ask the registry for: the digest if pinned, else the tag, else `latest`. */
export function refTarget(ref: Reference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** `registry/repository` */
export function refName(ref: Reference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The fully qualified form: `registry/repository[:tag][@digest]`, e.g. `docker.io/library/nginx:1.25`. */
export function refString(ref: Reference): string {
  return `${refName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The short form docker prints: no `docker.io/`, no `library/`. */
export function familiarString(ref: Reference): string {
  let name = refName(ref);
  if (ref.registry === DOCKER_HUB) name = ref.repository.startsWith('library/') && ref.repository.split('/').length === 2 ? ref.repository.slice(8) : ref.repository;
  return `${name}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}
