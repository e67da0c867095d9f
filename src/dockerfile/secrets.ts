/**
 * What must not be copied into a final image: private keys, `.env` files and credential files,
 * recognised by name, by destination (key directories) and, when the build context is at hand,
 * by content (PEM / OpenSSH private keys). Also a `.dockerignore` matcher, since what the
 * context sends to the builder decides what `COPY . .` can leak.
 */
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { secretValueReason } from '../rules';

/** Why a file name looks like a secret, or undefined. `name` is a base name or a path. */
export function secretFileNameReason(path: string): string | undefined {
  const base = posix.basename(path.replace(/\\/g, '/').replace(/\/+$/, ''));
  const lower = base.toLowerCase();
  if (/\.key$/.test(lower)) return 'is a private key file (*.key)';
  if (/^id_(rsa|dsa|ecdsa|ed25519)(_sk)?(?!.*\.pub$)/.test(lower)) return 'is an SSH private key (id_*)';
  if (/^\.env(\..+)?$/.test(lower) && !/\.(example|sample|template|dist)$/.test(lower)) return 'is a .env file (environment secrets)';
  if (/\.(p12|pfx|jks|keystore)$/.test(lower)) return 'is a key store (*.p12, *.pfx, *.jks)';
  if (/^credentials/.test(lower)) return 'is a credentials file';
  if (['.npmrc', '.pypirc', '.netrc', '_netrc', '.git-credentials', '.pgpass', '.dockercfg'].includes(lower)) return `is a credentials file (${base} holds registry or login tokens)`;
  if (/(^|\/)\.docker\/config\.json$/.test(path)) return 'is a Docker credentials file (.docker/config.json)';
  return undefined;
}

/** Destinations that only ever hold private keys. */
export function secretDestinationReason(dest: string): string | undefined {
  const d = posix.normalize(`/${dest.replace(/\\/g, '/')}`);
  if (d === '/etc/ssl/private' || d.startsWith('/etc/ssl/private/') || d.startsWith('/etc/pki/tls/private')) return `copies into ${d.startsWith('/etc/pki') ? '/etc/pki/tls/private' : '/etc/ssl/private'}, the private-key directory`;
  if (/(^|\/)\.ssh(\/|$)/.test(d)) return 'copies into a .ssh directory';
  if (/(^|\/)\.docker\/config\.json$/.test(d)) return 'copies a Docker credentials file';
  return undefined;
}

/** Why file content looks like a secret (a private key; a URL with a password), or undefined. */
export function secretContentReason(content: string): string | undefined {
  return secretValueReason(content);
}

// ---- .dockerignore ----

interface IgnoreRule {
  readonly re: RegExp;
  readonly negate: boolean;
}

/** Go's filepath.Match syntax plus `**`, anchored to the context root, as BuildKit reads .dockerignore. */
function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith('^') || body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** A `.dockerignore` matcher: `ignored('src/.env')`. Later lines win; `!` re-includes. */
export function dockerignoreMatcher(content: string): (path: string) => boolean {
  const rules: IgnoreRule[] = [];
  for (let line of content.split(/\r?\n/)) {
    line = line.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    line = posix.normalize(line.replace(/^\/+/, '')).replace(/\/+$/, '');
    if (line === '.' || line === '') continue;
    rules.push({ re: globToRegExp(line), negate });
  }
  return (path: string) => {
    const p = posix.normalize(path.replace(/\\/g, '/').replace(/^\/+/, ''));
    // A pattern matching a parent directory excludes everything under it.
    const prefixes: string[] = [];
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) prefixes.push(parts.slice(0, i).join('/'));
    let ignored = false;
    for (const r of rules) if (prefixes.some((x) => r.re.test(x))) ignored = !r.negate;
    return ignored;
  };
}

// ---- the build context ----

export interface ContextFile {
  /** Path relative to the context, with `/`. */
  readonly path: string;
  readonly abs: string;
}

/** Reads `.dockerignore` of a context (or none). */
export function contextIgnore(context: string): (path: string) => boolean {
  const f = join(context, '.dockerignore');
  return existsSync(f) ? dockerignoreMatcher(readFileSync(f, 'utf8')) : () => false;
}

const MAX_FILES = 20000;

/**
 * The context files a COPY source sends (a file, a directory's files, or a glob over one path
 * level), minus what `.dockerignore` excludes. Symlinks are not followed.
 */
export function contextFilesFor(context: string, source: string, ignored: (p: string) => boolean): ContextFile[] {
  const src = posix.normalize(source.replace(/\\/g, '/').replace(/^\/+/, ''));
  const clean = src === '.' || src === './' ? '' : src.replace(/\/+$/, '').replace(/^\.\//, '');
  if (clean.startsWith('..')) return [];
  const out: ContextFile[] = [];
  const walk = (rel: string) => {
    if (out.length >= MAX_FILES) return;
    if (rel && ignored(rel)) return;
    const abs = rel ? join(context, ...rel.split('/')) : context;
    let st;
    try {
      st = lstatSync(abs);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const n of readdirSync(abs).sort()) walk(rel ? `${rel}/${n}` : n);
    } else if (st.isFile()) out.push({ path: rel, abs });
  };
  if (/[*?[]/.test(clean)) {
    const re = globToRegExp(clean);
    const all: ContextFile[] = [];
    const list = (rel: string, depth: number) => {
      const abs = rel ? join(context, ...rel.split('/')) : context;
      let names: string[];
      try {
        names = readdirSync(abs).sort();
      } catch {
        return;
      }
      for (const n of names) {
        const r = rel ? `${rel}/${n}` : n;
        if (re.test(r)) all.push({ path: r, abs: join(context, ...r.split('/')) });
        else if (depth < clean.split('/').length - 1) list(r, depth + 1);
      }
    };
    list('', 0);
    for (const m of all) walk(m.path);
  } else walk(clean);
  return out;
}

/** The first 256 KiB of a file, as text. */
export function readHead(abs: string): string {
  const fd = openSync(abs, 'r');
  try {
    const buf = Buffer.alloc(256 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

/** A context-relative path for messages. */
export function relPath(context: string, abs: string): string {
  return relative(context, abs).split(sep).join('/');
}
