/**
 * A faster writer for the YAML that cdk8s writes, byte for byte the same, with two intended
 * differences, both so that Go's YAML reader (sigs.k8s.io/yaml over go-yaml v2: kubectl, the API
 * server) reads back exactly the object that was written:
 * - strings Go takes for numbers are double-quoted (readAsNumberByGo);
 * - strings holding a character Go reads differently (a line break to Go such as U+2028, a control
 *   character, U+FEFF; see src/rules/yaml-text.ts) are double-quoted with each such character
 *   escaped (goDoubleQuoted), as are the multi-line strings a block scalar cannot carry
 *   (needsGoEscapes).
 * Both hold for this writer and for its fallback (cdk8s's writer, given a string tag that writes
 * those strings); test/cdk8s/go-yaml-roundtrip.test.ts reads the output back with Go.
 *
 * cdk8s turns every object into YAML with `Yaml.stringify` (the `yaml` package with YAML 1.1,
 * `lineWidth: 0`, `keepUndefined`), which first builds a full document tree and then prints it; on a
 * big app that is most of the synth time. Manifests are mostly block maps and sequences of short,
 * plain strings, integers and booleans, and for those the printed form is fixed: `key: value`, two
 * spaces per level, sequences indented under their key, `- ` before each item, multi-line values as
 * literal blocks (`|`, `|-`). This writer prints exactly that, directly, and only that (plus the
 * double-quoted strings above): for any document that holds anything else (a string that `yaml`
 * would quote or print as a block, a float, `undefined`, an empty map inside a sequence, a nested
 * sequence, an object used twice, a class instance, ...) it returns `undefined` and the caller uses
 * cdk8s's own writer for that document. test/cdk8s/yaml-writer.test.ts compares both
 * writers over every example object and thousands of generated documents.
 */
import { Yaml } from 'cdk8s';
import { createRequire } from 'node:module';
import type { Document as YamlDocument, Scalar, ScalarTag, Tags } from 'yaml';
import { GO_UNSAFE_RAW, readAsNumberByGo } from '../rules';

/** The `yaml` package cdk8s itself writes with (its own copy when it has one), for its schema. */
const { Document } = createRequire(require.resolve('cdk8s'))('yaml') as { Document: typeof YamlDocument };

type Tag = { readonly default?: unknown; readonly tag: string; readonly test?: RegExp };

/**
 * The tags of the YAML 1.1 schema that cdk8s writes with, that would read a plain scalar as
 * something other than a string (`yes`, `0755`, `1:20`, `~`, `2001-12-14`, ...): such strings are
 * quoted by `yaml`, so they are not written here.
 */
const NON_STRING_TAGS: readonly Tag[] = (() => {
  const schema = new Document(null, { version: '1.1' }).schema as unknown as { tags: Tag[]; compat?: Tag[] | null };
  return [...schema.tags, ...(schema.compat ?? [])].filter((t) => t.default && t.tag !== 'tag:yaml.org,2002:str' && t.test);
})();

/** Strings Go reads as numbers: decided in src/rules/yaml-text.ts, where the text check uses it too. */
export { readAsNumberByGo };

/** Escapes Go's double-quoted scalars decode (scannerc.go, yaml_parser_scan_flow_scalar), as does `yaml`. */
const ESCAPES: Readonly<Record<string, string>> = {
  '\0': '\\0', '\x07': '\\a', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v', '\f': '\\f', '\r': '\\r', '\x1b': '\\e',
  '"': '\\"', '\\': '\\\\', '\x85': '\\N', '\u2028': '\\L', '\u2029': '\\P',
};
const TO_ESCAPE = /[\x00-\x1f"\\\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\u{D800}-\u{DFFF}]/gu;
const hexEscape = (c: string): string => {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/**
 * `s` as a one-line double-quoted scalar that Go's YAML and the `yaml` package both read back as
 * `s`: `"` and `\` escaped, and every character that is not safe raw (GO_UNSAFE_RAW, and TAB and LF)
 * written as an escape: `\N`, `\L`, `\P` for Go's line breaks, the C escapes, `\xXX`, `\uXXXX`.
 * (A lone surrogate comes out as `\uD800`, which Go refuses: the rules refuse such strings first.)
 */
export function goDoubleQuoted(s: string): string {
  return `"${s.replace(TO_ESCAPE, (c) => ESCAPES[c] ?? hexEscape(c))}"`;
}

/**
 * Whether `s` must be written by {@link goDoubleQuoted}: it holds a character Go reads differently
 * when raw; or it is a multi-line string that a block scalar cannot carry: its first line starts
 * with a tab (where Go still looks for indentation, so Go refuses the document), or it is only
 * whitespace (the `yaml` package then writes `|+` with no indentation indicator, and every reader,
 * JS and Go, takes its leading spaces for indentation: `" \n"` comes back as `"\n"`).
 */
export function needsGoEscapes(s: string): boolean {
  return GO_UNSAFE_RAW.test(s) || (s.includes('\n') && (/^\n*\t/.test(s) || /^[ \t\n]*$/.test(s)));
}

/** Whether either writer double-quotes `s` where cdk8s's writer would not (or would quote it unsafely). */
function needsGoQuotes(s: string): boolean {
  return readAsNumberByGo(s) || needsGoEscapes(s);
}

/** Characters or positions that make `yaml` quote a one-line string (its `plainString` rules). */
const NEEDS_QUOTES = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
/** Above this length `yaml` writes a key in the explicit `? key` form. */
const MAX_KEY = 1000;

/** Strings already found to be plain (most manifests repeat the same few hundred). */
const plainCache = new Map<string, boolean>();

function isPlainString(s: string): boolean {
  const hit = plainCache.get(s);
  if (hit !== undefined) return hit;
  const ok = s.length > 0 && !s.includes('\n') && !GO_UNSAFE_RAW.test(s) && !NEEDS_QUOTES.test(s)
    && !/^(%|---|\.\.\.)/.test(s) && !NON_STRING_TAGS.some((t) => t.test!.test(s));
  if (plainCache.size < 100_000) plainCache.set(s, ok);
  return ok;
}

/**
 * A multi-line map value as `yaml` writes it (a literal block, `|` when it ends with one newline,
 * `|-` when it ends with none), for values that start and end with a visible character: leading
 * spaces, trailing spaces or blank lines, tabs and control characters change the header or the
 * style, and are left to cdk8s's writer. (Values with characters Go reads differently never get here.)
 */
function literalBlock(v: string, indent: string): string {
  const body = v.endsWith('\n') ? v.slice(0, -1) : v;
  if (!/^[^\s]/.test(body) || !/[^\s]$/.test(body) || body.includes('\t') || GO_UNSAFE_RAW.test(body)) throw UNSUPPORTED;
  return `|${body === v ? '-' : ''}\n${indent}${body.replace(/\n+/g, `$&${indent}`)}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** Thrown inside the writer when a document holds something it does not handle. */
const UNSUPPORTED = Symbol('unsupported');

class Writer {
  out = '';
  private readonly seen = new Set<object>();

  private enter(o: object): void {
    // `yaml` writes an object met twice as an anchor and an alias.
    if (this.seen.has(o)) throw UNSUPPORTED;
    this.seen.add(o);
  }

  scalar(v: unknown): string {
    switch (typeof v) {
      case 'string':
        if (isPlainString(v)) return readAsNumberByGo(v) ? `"${v}"` : v;
        if (needsGoEscapes(v)) return goDoubleQuoted(v);
        throw UNSUPPORTED;
      case 'number':
        if (!Number.isSafeInteger(v) || Object.is(v, -0)) throw UNSUPPORTED;
        return String(v);
      case 'boolean':
        return v ? 'true' : 'false';
      default:
        if (v === null) return 'null';
        throw UNSUPPORTED;
    }
  }

  key(k: string): string {
    if (k.length > MAX_KEY) throw UNSUPPORTED;
    return this.scalar(k);
  }

  /** A non-empty block map; its first line starts with `first` (an indent, or a sequence item's `- `). */
  map(o: Record<string, unknown>, indent: string, first: string): void {
    this.enter(o);
    let prefix = first;
    for (const k of Object.keys(o)) {
      const v = o[k];
      this.out += `${prefix}${this.key(k)}:`;
      prefix = indent;
      this.value(v, indent);
    }
  }

  /** The rest of a `key:` line, and the lines of the value under it. */
  private value(v: unknown, indent: string): void {
    if (Array.isArray(v)) {
      if (v.length === 0) {
        this.out += ' []\n';
        return;
      }
      this.out += '\n';
      this.seq(v, `${indent}  `);
    } else if (isRecord(v)) {
      if (Object.keys(v).length === 0) {
        this.out += ' {}\n';
        return;
      }
      this.out += '\n';
      this.map(v, `${indent}  `, `${indent}  `);
    } else if (typeof v === 'string' && v.includes('\n')) {
      this.out += ` ${needsGoEscapes(v) ? goDoubleQuoted(v) : literalBlock(v, `${indent}  `)}\n`;
    } else {
      this.out += ` ${this.scalar(v)}\n`;
    }
  }

  /** A non-empty block sequence of scalars and non-empty maps. */
  private seq(a: readonly unknown[], indent: string): void {
    this.enter(a);
    for (let i = 0; i < a.length; i++) {
      if (!(i in a)) throw UNSUPPORTED;
      const item = a[i];
      if (isRecord(item)) {
        if (Object.keys(item).length === 0) throw UNSUPPORTED;
        this.map(item, `${indent}  `, `${indent}- `);
      } else if (Array.isArray(item)) {
        throw UNSUPPORTED;
      } else {
        this.out += `${indent}- ${this.scalar(item)}\n`;
      }
    }
  }
}

/**
 * One document as cdk8s's `Yaml.stringify(doc)` writes it, or `undefined` when the document holds
 * anything this writer does not handle (the caller then uses cdk8s's writer).
 */
export function fastYamlDocument(doc: unknown): string | undefined {
  if (!isRecord(doc) || Object.keys(doc).length === 0) return undefined;
  const w = new Writer();
  try {
    w.map(doc, '', '');
  } catch (e) {
    if (e === UNSUPPORTED) return undefined;
    throw e;
  }
  return w.out;
}

/** Counts of documents written by each writer (for tests and benchmarks). */
export const yamlWriterStats = { fast: 0, fallback: 0 };

/**
 * The same result as cdk8s's `Yaml.stringify(...docs)`, except for the strings Go would read
 * differently: each document written by {@link fastYamlDocument} when it can (and `fast` is not
 * false), by cdk8s's writer otherwise ({@link goSafeYamlDocument}).
 */
export function stringifyDocuments(original: (...docs: unknown[]) => string, docs: readonly unknown[], fast = true): string {
  return docs.map((d) => {
    if (d === undefined) return '\n';
    const direct = fast ? fastYamlDocument(d) : undefined;
    if (direct !== undefined) {
      yamlWriterStats.fast++;
      return direct;
    }
    yamlWriterStats.fallback++;
    return goSafeYamlDocument(original, d);
  }).join('---\n');
}

/**
 * One document as `original` (cdk8s's `Yaml.stringify`) writes it when it holds no string Go would
 * read differently; otherwise as cdk8s writes it (same `yaml` package and options) with those
 * strings double-quoted by {@link goDoubleQuoted}.
 */
export function goSafeYamlDocument(original: (...docs: unknown[]) => string, d: unknown): string {
  if (!holdsGoQuotedString(d)) return original.call(Yaml, d);
  const options = { keepUndefined: true, lineWidth: 0, version: '1.1' as const, customTags: withGoQuotedStrings };
  return new Document(d, options).toString(options);
}

function holdsGoQuotedString(v: unknown, seen = new Set<unknown>()): boolean {
  if (typeof v === 'string') return needsGoQuotes(v);
  if (v === null || typeof v !== 'object' || seen.has(v)) return false;
  seen.add(v);
  if (Array.isArray(v)) return v.some((x) => holdsGoQuotedString(x, seen));
  return Object.entries(v).some(([k, x]) => needsGoQuotes(k) || holdsGoQuotedString(x, seen));
}

/**
 * A string tag for `yaml` that claims the strings of {@link needsGoQuotes} (keys and values) and
 * writes them with {@link goDoubleQuoted}. It comes first, so `yaml` picks it over its own string
 * tag for those strings; `default: true` keeps the tag itself out of the output.
 */
const GO_QUOTED_STRING: ScalarTag = {
  tag: 'tag:yaml.org,2002:str',
  default: true,
  identify: (value) => typeof value === 'string' && needsGoQuotes(value),
  resolve: (source) => source,
  stringify: (item) => goDoubleQuoted(String((item as Scalar).value)),
};
const withGoQuotedStrings = (tags: Tags): Tags => [GO_QUOTED_STRING, ...tags];

/**
 * Runs `fn` with cdk8s's `Yaml.stringify` (used by `App.synth` and `App.synthYaml`) replaced by
 * {@link stringifyDocuments}, and puts the original back afterwards. With `fast: false` every
 * document goes to cdk8s's writer (still with the strings Go reads differently double-quoted).
 */
export function withFastYaml<T>(fn: () => T, options: { readonly fast?: boolean } = {}): T {
  const original = Yaml.stringify;
  if ((original as { fastYaml?: boolean }).fastYaml) return fn();
  const fast = options.fast ?? true;
  const replacement = Object.assign((...docs: unknown[]) => stringifyDocuments(original, docs, fast), { fastYaml: true });
  Yaml.stringify = replacement;
  try {
    return fn();
  } finally {
    Yaml.stringify = original;
  }
}
