/**
 * What "looks like a secret" in places meant for non-secret data (ConfigMaps, literal env values).
 * Deliberately conservative on names and strict on values: a false positive is fixed by renaming
 * a key; a false negative leaks a credential into Git.
 */

const SECRET_NAME = /(pass(word|wd|phrase)?|secret|token|api[-_.]?key|private[-_.]?key|credential|auth[-_.]?key|access[-_.]?key|client[-_.]?secret|dsn)$/i;
const SECRET_NAME_PART = /(^|[-_.])(password|passwd|secret|token|apikey|api[-_.]key|private[-_.]key|credentials?)([-_.]|$)/i;

/** Names that point at a secret rather than hold one: `POSTGRES_PASSWORD_FILE`, `TOKEN_PATH`. */
const REFERENCE_SUFFIX = /[-_.](file|path|dir|ref|name|secret[-_.]?name)$/i;

/** True for names such as `DB_PASSWORD`, `api-key`, `secret_key`, `database.password`; false for `*_FILE`, `*_PATH`. */
export function looksLikeSecretName(name: string): boolean {
  if (REFERENCE_SUFFIX.test(name)) return false;
  return SECRET_NAME.test(name) || SECRET_NAME_PART.test(name);
}

const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9 ]+ )?PRIVATE KEY-----/;
const OPENSSH_KEY = /-----BEGIN OPENSSH PRIVATE KEY-----/;
const URL_WITH_PASSWORD = /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i;

/** Why a value looks like a secret, or undefined. */
export function secretValueReason(value: string): string | undefined {
  if (PEM_PRIVATE_KEY.test(value) || OPENSSH_KEY.test(value)) return 'contains a private key';
  if (URL_WITH_PASSWORD.test(value)) return 'contains a URL with a password (scheme://user:password@host)';
  return undefined;
}
