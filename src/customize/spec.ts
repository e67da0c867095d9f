/**
 * The cleanimg-customize spec file: the guide's format, accepted exactly as written there,
 * plus a few optional fields.
 *
 * ```yaml
 * base_image: "cleanstart/postgresql:15-prod@sha256:<64 hex>"   # required, pinned by digest
 * arch: amd64                                                   # required: the platform to pick from a multi-arch base
 * variant: prod                                                 # optional, see below
 * copy_files:                                                   # required, at least one entry
 *   - source: certs/corporate-ca.crt                            # relative to the spec file's folder; a file or a folder
 *     destination: /etc/ssl/certs/corporate-ca.crt              # absolute path in the image; a trailing "/" means "into this folder"
 *     mode: "0644"                                              # optional; octal string, or a number; default 0644 for files
 *     owner: "0:0"                                              # optional; "uid:gid", or one number for both; default 0:0
 * directories:                                                  # optional: modes/owners of folders the layer creates
 *   - path: /etc/postgresql
 *     mode: "0750"
 *     owner: "65532:65532"
 * labels: {org.example.team: db}                                # optional, merged into the image config labels
 * annotations: {org.example.ticket: "OPS-1"}                    # optional, added to the manifest (OCI bases)
 * allow_private_keys: false                                     # optional, loudly named override, see inputs.ts
 * unsafe_allow_system_files: [/etc/nsswitch.conf]               # optional, loudly named override: loader and account
 *                                                               #   files this spec may write (see oci/inspect/system-files.ts)
 * trust_ca: [certs/corporate-ca.crt]                            # optional: CAs the image must trust, see trust/prepare.ts
 * trust_env: true                                               # optional: true, or a list of SSL_CERT_FILE, SSL_CERT_DIR,
 *                                                               #   NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, PGSSLROOTCERT
 * ```
 *
 * `copy_files` may be left out when `trust_ca` is given (at least one of the two is required).
 *
 * Decisions written down here because they are visible to users:
 * - Unknown keys are errors (a typo such as `destinaton` must never be ignored).
 * - `mode` in YAML: `mode: 0600` is read as the octal digits written (YAML 1.2 would read the
 *   decimal number 600, which is a different and wrong mode). `"0600"`, `0o600` and `600` all mean
 *   rw-------. Digits 8 and 9 are refused. setuid/setgid bits are refused: a hardened image has no use for them.
 *   World-writable modes are refused (SPEC009), except for a folder with the sticky bit (1777).
 *   In a spec given as an object (the cdk8s/Pulumi faces), a number is taken as its value (`0o600`).
 * - `mode` and `owner` of a folder source apply to every file in it; its folders get 0755 and the same owner.
 *   Folders that the layer needs as parents get 0755 root:root (1777 for /tmp and /var/tmp) unless listed
 *   under `directories`. Note that a folder in the layer replaces the base's metadata for that folder.
 * - `owner` is numeric only (the overlay does not read the base's /etc/passwd); uid/gid up to 2097151 (ustar limit).
 * - `variant`: the guide writes `variant: prod`, the CleanStart image flavour (prod/dev), not a CPU variant.
 *   A value like `v7`/`v8` is used as the platform variant when picking from a multi-arch base;
 *   any other value (prod, dev, ...) is recorded in the history comment and not used for platform matching.
 * - Certificates: a file copied to a CA location that is not a certificate, or has expired, is refused;
 *   a certificate that is not a CA (basicConstraints CA:FALSE or missing) gives a warning (see inputs.ts).
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as YAML from 'yaml';
// zod's functional build (zod/mini) with its English messages: the CLI validates one spec per run,
// and the method-chaining build costs 20 ms more to load (most of `build`'s start-up budget).
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { CleanimgError, type Problem } from '../errors';
import { specDigest } from './spec-core';
import { SYSTEM_PATHS_SHOWN, systemPathOf } from '../oci/inspect/system-files';
import { DEFAULT_TRUST_ENV, TRUST_ENV_NAMES, type TrustEnvVar } from './trust/layouts';

/** A parsed, digest-pinned image reference: `name[:tag]@sha256:<hex>`. */
export interface PinnedReference {
  /** As written in the spec. */
  readonly text: string;
  /** Registry host + repository, e.g. `cleanstart/postgresql` or `127.0.0.1:5000/base`. */
  readonly name: string;
  readonly tag?: string;
  readonly digest: string;
}

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export interface CopyFile {
  readonly source: string;
  readonly destination: string;
  /** Permission bits (0o7777 mask, never setuid/setgid); undefined = defaults (files 0644). */
  readonly mode?: number;
  readonly owner?: Owner;
}

export interface DirectorySetting {
  readonly path: string;
  readonly mode?: number;
  readonly owner?: Owner;
}

/** A validated spec. Field names follow the file format (snake_case) so messages and code agree. */
export interface CustomizeSpec {
  readonly base_image: PinnedReference;
  readonly arch: string;
  readonly variant?: string;
  readonly copy_files: readonly CopyFile[];
  readonly directories: readonly DirectorySetting[];
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly allow_private_keys: boolean;
  /** Loader and account files (or folders) the overlay may write (INPUT013 otherwise). Absent when empty. */
  readonly unsafe_allow_system_files?: readonly string[];
  /** CA certificate files (relative to the spec folder) the image must trust; absent when not given. */
  readonly trust_ca?: readonly string[];
  /** Environment defaults pointing at the trust store (`trust_env: true` = DEFAULT_TRUST_ENV); absent when not given. */
  readonly trust_env?: readonly TrustEnvVar[];
}

// Defaults, specDigest and isCpuVariant live in spec-core.ts (no YAML/zod needed to use them).
export { DEFAULT_DIR_MODE, DEFAULT_FILE_MODE, isCpuVariant, specDigest } from './spec-core';
/** Largest uid/gid an ustar header holds (7 octal digits). */
export const MAX_ID = 0o7777777;

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);

const ARCHES = ['amd64', 'arm64', 'arm', '386', 'ppc64le', 's390x', 'riscv64', 'mips64le', 'loong64'];
const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', i386: '386', armhf: 'arm', armel: 'arm' };

/** Parse `name[:tag]@sha256:<64 hex>`; returns a problem message and fix when it is not one. */
export function parsePinnedReference(text: string): PinnedReference | { message: string; fix: string } {
  const at = text.lastIndexOf('@');
  const example = 'write it as name[:tag]@sha256:<64 hex digits>, e.g. cleanstart/postgresql:15-prod@sha256:… (get the digest with `skopeo inspect --format {{.Digest}} docker://NAME:TAG`)';
  if (at < 0) {
    return { message: `image "${text}" is not pinned by digest`, fix: example };
  }
  const digest = text.slice(at + 1);
  const left = text.slice(0, at);
  if (!DIGEST_RE.test(digest)) {
    return { message: `"${digest}" is not a sha256 digest (sha256: followed by 64 lowercase hex digits)`, fix: example };
  }
  const lastSlash = left.lastIndexOf('/');
  const colon = left.lastIndexOf(':');
  let name = left;
  let tag: string | undefined;
  if (colon > lastSlash) {
    name = left.slice(0, colon);
    tag = left.slice(colon + 1);
    if (!TAG_RE.test(tag)) {
      return { message: `tag "${tag}" is not a valid tag`, fix: 'tags are up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"' };
    }
  }
  if (!NAME_RE.test(name)) {
    return { message: `"${name}" is not a valid image name`, fix: 'use lowercase repository names such as registry.example.com/team/image' };
  }
  return tag === undefined ? { text, name, digest } : { text, name, tag, digest };
}

function isPinned(r: ReturnType<typeof parsePinnedReference>): r is PinnedReference {
  return 'digest' in r;
}

/** Read a mode written as octal digits ("0600", "600", "0o600") or given as a number. */
export function parseMode(v: string | number): number | { message: string; fix: string } {
  let n: number;
  if (typeof v === 'number') {
    n = v;
  } else {
    const m = /^(?:0o|0)?([0-7]{1,4})$/.exec(v.trim());
    if (!m) {
      return { message: `mode "${v}" is not an octal permission`, fix: 'write it as octal digits in quotes, e.g. mode: "0644" (files) or "0755" (executables)' };
    }
    n = parseInt(m[1]!, 8);
  }
  if (!Number.isInteger(n) || n < 0 || n > 0o7777) {
    return { message: `mode ${String(v)} is out of range`, fix: 'use a permission between "0000" and "1777", e.g. "0644"' };
  }
  if (n & 0o6000) {
    return {
      message: `mode ${n.toString(8).padStart(4, '0')} sets setuid/setgid`,
      fix: 'drop the setuid/setgid bits (e.g. "0755"): they are a privilege-escalation path and a non-root hardened image does not need them',
    };
  }
  return n;
}

/**
 * World-writable entries: anyone in the container (or any later layer's owner) may replace them.
 * A folder with the sticky bit (1777, as /tmp) is fine: only a file's owner may remove it there.
 */
export function worldWritableProblem(mode: number, kind: 'file' | 'dir'): { message: string; fix: string } | undefined {
  if (!(mode & 0o002) || (kind === 'dir' && mode & 0o1000)) return undefined;
  const m = mode.toString(8).padStart(4, '0');
  return kind === 'file'
    ? { message: `mode ${m} makes the files world-writable`, fix: 'drop the "others may write" bit (e.g. "0644", or "0755" for executables)' }
    : { message: `mode ${m} makes the folder world-writable without the sticky bit`, fix: 'use "0755", or "1777" for a shared scratch folder (sticky: only owners remove their files)' };
}

/** Read an owner: "uid:gid", "uid" (gid = uid), or one number. Names are refused (no /etc/passwd lookup). */
export function parseOwner(v: string | number): Owner | { message: string; fix: string } {
  const fix = 'write numeric ids, e.g. owner: "65532:65532" (the overlay does not read the base image\'s /etc/passwd)';
  let uid: number;
  let gid: number;
  if (typeof v === 'number') {
    uid = gid = v;
  } else {
    const m = /^([0-9]+)(?::([0-9]+))?$/.exec(v.trim());
    if (!m) return { message: `owner "${v}" is not "uid:gid" with numbers`, fix };
    uid = Number(m[1]);
    gid = m[2] === undefined ? uid : Number(m[2]);
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid < 0 || gid < 0 || uid > MAX_ID || gid > MAX_ID) {
    return { message: `owner ${String(v)} is out of range`, fix: `ids are integers from 0 to ${MAX_ID}` };
  }
  return { uid, gid };
}

function problemOf(r: object): r is { message: string; fix: string } {
  return 'message' in r && 'fix' in r;
}

z.config(en());

type Ctx = z.core.ParsePayload;
function refuse(ctx: Ctx, code: string, p: { message: string; fix: string }): never {
  ctx.issues.push({ code: 'custom', message: p.message, params: { code, fix: p.fix }, input: ctx.value, path: [] });
  return z.NEVER;
}

/** A mode for files (`kind` file) or folders: SPEC005 when unreadable or setuid/setgid, SPEC009 when world-writable. */
const modeSchema = (kind: 'file' | 'dir') => z.pipe(z.union([z.string(), z.number()]), z.transform((v: string | number, ctx) => {
  const r = parseMode(v);
  if (typeof r !== 'number') return refuse(ctx, 'SPEC005', r);
  const w = worldWritableProblem(r, kind);
  return w ? refuse(ctx, 'SPEC009', w) : r;
}));
const ownerSchema = z.pipe(z.union([z.string(), z.number()]), z.transform((v: string | number, ctx) => {
  const r = parseOwner(v);
  return problemOf(r) ? refuse(ctx, 'SPEC006', r) : r;
}));
const nonEmpty = z.string().check(z.minLength(1));
const mapSchema = z.record(z.string().check(z.minLength(1)), z.string());

const specSchema = z.strictObject({
  base_image: z.pipe(z.string(), z.transform((v: string, ctx) => {
    const r = parsePinnedReference(v.trim());
    return isPinned(r) ? r : refuse(ctx, 'SPEC004', r);
  })),
  arch: z.pipe(z.string(), z.transform((v: string, ctx) => {
    const a = ARCH_ALIASES[v] ?? v;
    if (!ARCHES.includes(a)) {
      return refuse(ctx, 'SPEC007', { message: `arch "${v}" is not a known architecture`, fix: `use one of ${ARCHES.join(', ')}` });
    }
    return a;
  })),
  variant: z.optional(z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'variant must be a word such as prod, dev or v8' }))),
  copy_files: z.optional(
    z.array(
      z.strictObject({
        source: nonEmpty,
        destination: nonEmpty,
        mode: z.optional(modeSchema('file')),
        owner: z.optional(ownerSchema),
      }),
    ).check(z.minLength(1, { message: 'copy_files needs at least one entry' })),
  ),
  directories: z.optional(z.array(z.strictObject({ path: nonEmpty, mode: z.optional(modeSchema('dir')), owner: z.optional(ownerSchema) }))),
  labels: z.optional(mapSchema),
  annotations: z.optional(mapSchema),
  allow_private_keys: z.optional(z.boolean()),
  unsafe_allow_system_files: z.optional(z.array(z.pipe(nonEmpty, z.transform((v: string, ctx) => (systemPathOf(v) !== undefined
    ? v
    : refuse(ctx, 'SPEC010', { message: `${v} is not a loader or account file or folder, so it needs no override`, fix: `remove it; the list takes ${SYSTEM_PATHS_SHOWN.join(', ')} and paths in those folders` })))))),
  trust_ca: z.optional(z.array(nonEmpty).check(z.minLength(1, { message: 'trust_ca needs at least one CA file' }))),
  trust_env: z.optional(z.pipe(
    z.union([z.boolean(), z.array(z.string())]),
    z.transform((v: boolean | string[], ctx) => {
      if (typeof v === 'boolean') return v ? [...DEFAULT_TRUST_ENV] : [];
      const bad = v.filter((n) => !(TRUST_ENV_NAMES as string[]).includes(n));
      if (bad.length) {
        return refuse(ctx, 'SPEC008', { message: `trust_env names ${bad.map((b) => `"${b}"`).join(', ')}, which cleanimg does not set`, fix: `use true (${DEFAULT_TRUST_ENV.join(', ')}) or a list of ${TRUST_ENV_NAMES.join(', ')}` });
      }
      return [...new Set(v)].sort((a, b) => TRUST_ENV_NAMES.indexOf(a as TrustEnvVar) - TRUST_ENV_NAMES.indexOf(b as TrustEnvVar)) as TrustEnvVar[];
    }),
  )),
});

/** `copy_files[1].destination` style paths, as users write them. */
export function fieldPath(p: readonly PropertyKey[]): string {
  let s = '';
  for (const k of p) {
    if (typeof k === 'number') s += `[${k}]`;
    else s += s ? `.${String(k)}` : String(k);
  }
  return s || '(spec)';
}

const FIXES: Record<string, string> = {
  base_image: 'set base_image: "name[:tag]@sha256:<64 hex>"',
  arch: 'set arch, e.g. arch: amd64',
  copy_files: 'list the files to add: copy_files: [{source: path/in/spec/folder, destination: /absolute/path}]',
  source: 'give a path relative to the spec file, e.g. source: certs/corporate-ca.crt',
  destination: 'give an absolute path in the image, e.g. destination: /etc/ssl/certs/corporate-ca.crt',
  labels: 'write labels as a map of strings; quote values such as "true" or "1"',
  annotations: 'write annotations as a map of strings; quote values such as "true" or "1"',
  allow_private_keys: 'write allow_private_keys: true or false',
  unsafe_allow_system_files: 'list absolute paths: unsafe_allow_system_files: [/etc/nsswitch.conf]',
  trust_ca: 'list CA certificate files relative to the spec file: trust_ca: [certs/corporate-ca.crt]',
  trust_env: `write trust_env: true, or a list of ${TRUST_ENV_NAMES.join(', ')}`,
};

function zodProblems(issues: readonly z.core.$ZodIssue[], origin: string): Problem[] {
  const out: Problem[] = [];
  for (const is of issues) {
    const where = fieldPath(is.path);
    const params = (is as { params?: { code?: string; fix?: string } }).params;
    if (is.code === 'custom' && params?.code) {
      out.push({ code: params.code, path: where, message: is.message, fix: params.fix ?? '' });
    } else if (is.code === 'unrecognized_keys') {
      for (const k of is.keys) {
        const full = fieldPath([...is.path, k]);
        out.push({
          code: 'SPEC003',
          path: full,
          message: `unknown field "${k}"`,
          fix: suggest(k, knownKeys(is.path)),
        });
      }
    } else {
      const last = [...is.path].reverse().find((k) => typeof k === 'string') as string | undefined;
      const fix = (last && FIXES[last]) || (last === 'mode' ? 'write mode: "0644"' : last === 'owner' ? 'write owner: "uid:gid"' : `fix the value in ${origin}`);
      let message = is.message;
      if (is.code === 'invalid_type' && /received undefined/.test(is.message)) message = `required field is missing`;
      else if (is.code === 'invalid_union') message = 'expected a string or a number';
      out.push({ code: 'SPEC002', path: where, message, fix });
    }
  }
  return out;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function suggest(key: string, known: string[]): string {
  const best = known.map((k) => [k, distance(key.toLowerCase(), k)] as const).sort((x, y) => x[1] - y[1])[0];
  if (best && best[1] <= Math.max(2, Math.floor(best[0].length / 3))) return `did you mean "${best[0]}"? Known fields: ${known.join(', ')}`;
  return `remove it or correct the spelling; known fields: ${known.join(', ')}`;
}

function knownKeys(p: readonly PropertyKey[]): string[] {
  if (p.length === 0) return Object.keys(specSchema.shape);
  if (p[0] === 'copy_files') return ['source', 'destination', 'mode', 'owner'];
  if (p[0] === 'directories') return ['path', 'mode', 'owner'];
  return [];
}

/**
 * Validate a spec given as a plain object (already parsed YAML/JSON, or built in code by a construct).
 * Throws a CleanimgError listing every problem.
 */
export function parseSpecObject(input: unknown, origin = 'the spec'): CustomizeSpec {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new CleanimgError(`${origin} is not a valid cleanimg-customize spec`, [
      { code: 'SPEC002', path: '(spec)', message: 'the spec must be a mapping of fields', fix: 'start the file with base_image:, arch: and copy_files:' },
    ]);
  }
  // jitless: a spec is parsed once per run, so compiling zod's fast path (new Function) costs more than it saves.
  const r = specSchema.safeParse(input, { jitless: true });
  // copy_files may be left out when trust_ca says what to add.
  const fields = input as Record<string, unknown>;
  const nothing: Problem[] =
    fields['copy_files'] === undefined && fields['trust_ca'] === undefined
      ? [{ code: 'SPEC002', path: 'copy_files', message: 'required field is missing', fix: `${FIXES['copy_files']} (or name CA certificates with trust_ca:)` }]
      : [];
  if (!r.success || nothing.length) {
    throw new CleanimgError(`${origin} is not a valid cleanimg-customize spec`, [...nothing, ...(r.success ? [] : zodProblems(r.error.issues, origin))]);
  }
  const v = r.data;
  const spec: CustomizeSpec = {
    base_image: v.base_image,
    arch: v.arch,
    ...(v.variant !== undefined ? { variant: v.variant } : {}),
    copy_files: (v.copy_files ?? []).map((c) => ({
      source: c.source,
      destination: c.destination,
      ...(c.mode !== undefined ? { mode: c.mode } : {}),
      ...(c.owner !== undefined ? { owner: c.owner } : {}),
    })),
    directories: (v.directories ?? []).map((d) => ({
      path: d.path,
      ...(d.mode !== undefined ? { mode: d.mode } : {}),
      ...(d.owner !== undefined ? { owner: d.owner } : {}),
    })),
    labels: v.labels ?? {},
    annotations: v.annotations ?? {},
    allow_private_keys: v.allow_private_keys ?? false,
    // Only when given, so specs without them keep their digest.
    ...(v.unsafe_allow_system_files?.length ? { unsafe_allow_system_files: v.unsafe_allow_system_files } : {}),
    ...(v.trust_ca !== undefined ? { trust_ca: v.trust_ca } : {}),
    ...(v.trust_env !== undefined && v.trust_env.length ? { trust_env: v.trust_env } : {}),
  };
  return spec;
}

/** In YAML, keep what was written for `mode:` numbers (`0600` must mean octal, not decimal 600). */
function keepModeDigits(doc: YAML.Document.Parsed): void {
  YAML.visit(doc, {
    Pair(_key, pair) {
      if (YAML.isScalar(pair.key) && pair.key.value === 'mode' && YAML.isScalar(pair.value) && typeof pair.value.value === 'number') {
        const src = pair.value.source;
        if (typeof src === 'string' && /^(?:0o)?[0-9]+$/.test(src)) pair.value = new YAML.Scalar(src);
      }
      return undefined;
    },
  });
}

/** Parse spec text (YAML; JSON is YAML too). `origin` names the file in messages. */
export function parseSpec(text: string, origin = 'spec'): CustomizeSpec {
  const docs = YAML.parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length !== 1) {
    throw new CleanimgError(`${origin} is not a valid cleanimg-customize spec`, [
      {
        code: 'SPEC001',
        path: origin,
        message: list.length === 0 ? 'the file is empty' : `the file holds ${list.length} YAML documents`,
        fix: 'write exactly one YAML document with base_image:, arch: and copy_files:',
      },
    ]);
  }
  const doc = list[0] as YAML.Document.Parsed;
  if (doc.errors.length) {
    throw new CleanimgError(
      `${origin} is not valid YAML`,
      doc.errors.map((e) => ({
        code: 'SPEC001',
        path: e.linePos ? `${origin}:${e.linePos[0].line}:${e.linePos[0].col}` : origin,
        message: e.message.split('\n')[0]!,
        fix: 'correct the YAML syntax (indentation, quotes, "key: value" pairs)',
      })),
    );
  }
  keepModeDigits(doc);
  return parseSpecObject(doc.toJS({ maxAliasCount: 100 }), origin);
}

export interface LoadedSpec {
  readonly spec: CustomizeSpec;
  /** Absolute path of the spec file. */
  readonly specPath: string;
  /** The folder that sources resolve against. */
  readonly specDir: string;
  /** sha256 of the validated spec content (canonical), independent of formatting and of where the file lives. */
  readonly specDigest: string;
}

/** Read and validate a spec file. */
export async function loadSpec(specPath: string): Promise<LoadedSpec> {
  const abs = path.resolve(specPath);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CleanimgError(`cannot read spec ${specPath}`, [
      {
        code: 'SPEC001',
        path: specPath,
        message: code === 'ENOENT' ? 'the spec file does not exist' : `the spec file cannot be read (${code ?? String(e)})`,
        fix: 'pass the path of a readable spec file with --spec',
      },
    ]);
  }
  const spec = parseSpec(text, path.basename(abs));
  return { spec, specPath: abs, specDir: path.dirname(abs), specDigest: specDigest(spec) };
}
