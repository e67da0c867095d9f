/**
 * Regular expressions the CEL validations share with the JavaScript rules, written in the syntax
 * both engines accept: RE2 (what CEL's `matches` runs in the API server) and JavaScript. No
 * look-around, no back-references; case-insensitivity as a leading `(?i)` for RE2.
 *
 * They restate `oci/reference.ts` and `secret-patterns.ts` (which keep theirs private); the tests in
 * `test/rules/cel/patterns.test.ts` run both sides over the same samples so they cannot drift apart.
 */

const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const HOST = `${HOST_LABEL}(?:\\.${HOST_LABEL})*`;
const IPV6 = '\\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9]+)?\\]';
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
/** A first path component without a dot: with a dot (and a `/` after it) the parser reads a registry. */
const FIRST_COMPONENT = '[a-z0-9]+(?:(?:_|__|-+)[a-z0-9]+)*';
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';

/**
 * A well-formed reference pinned by a sha256 digest, in the grammar of `src/oci/reference.ts`
 * (`isDigestPinned`): `[registry[:port]/]repository[:tag]@sha256:<64 hex>`. Two edges are looser
 * than the parser and cannot matter in a cluster: a port is any 1-5 digits (the parser wants
 * 1-65535), and the 255-character name limit is not counted.
 */
export const DIGEST_PINNED = `^(?:(?:(?:${HOST}|${IPV6})(?::[0-9]{1,5})?|${FIRST_COMPONENT})/${COMPONENT}(?:/${COMPONENT})*|${COMPONENT})(?::${TAG})?@sha256:[a-f0-9]{64}$`;

/** The first word of an argv that starts a shell: `sh`, `/bin/bash`, `busybox`... */
export const SHELL_ARGV0 = '^(?:.*/)?(?:sh|bash|ash|dash|zsh|ksh|csh|tcsh|busybox)$';

/** A name that holds a secret (`DB_PASSWORD`, `api-key`), case-insensitive. */
export const SECRET_NAME = '(?i)(?:pass(?:word|wd|phrase)?|secret|token|api[-_.]?key|private[-_.]?key|credential|auth[-_.]?key|access[-_.]?key|client[-_.]?secret|dsn)$';
/** A name with a secret word as one of its parts (`password_hash`). */
export const SECRET_NAME_PART = '(?i)(?:^|[-_.])(?:password|passwd|secret|token|apikey|api[-_.]key|private[-_.]key|credentials?)(?:[-_.]|$)';
/** A name that points at a secret rather than holding one: `*_FILE`, `*_PATH`. */
export const REFERENCE_SUFFIX = '(?i)[-_.](?:file|path|dir|ref|name|secret[-_.]?name)$';
/** A PEM or OpenSSH private key. */
export const PRIVATE_KEY = '-----BEGIN (?:[A-Z0-9 ]+ )?PRIVATE KEY-----';
/** A URL carrying a password: `scheme://user:password@host`. */
export const URL_WITH_PASSWORD = '(?i)\\b[a-z][a-z0-9+.-]*://[^\\s/:@]+:[^\\s/@]+@';

/** A JavaScript RegExp for one of these patterns (for tests and tools): `(?i)` becomes the `i` flag. */
export function toJsRegExp(pattern: string): RegExp {
  return pattern.startsWith('(?i)') ? new RegExp(pattern.slice(4), 'i') : new RegExp(pattern);
}
