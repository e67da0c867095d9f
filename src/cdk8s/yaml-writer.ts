/**
 * A faster writer for the YAML that cdk8s writes, byte for byte the same, with one intended
 * difference: strings that Go's YAML reader takes for numbers are double-quoted (readAsNumberByGo).
 *
 * cdk8s turns every object into YAML with `Yaml.stringify` (the `yaml` package with YAML 1.1,
 * `lineWidth: 0`, `keepUndefined`), which first builds a full document tree and then prints it; on a
 * big app that is most of the synth time. Manifests are mostly block maps and sequences of short,
 * plain strings, integers and booleans, and for those the printed form is fixed: `key: value`, two
 * spaces per level, sequences indented under their key, `- ` before each item, multi-line values as
 * literal blocks (`|`, `|-`). This writer prints exactly that, directly, and only that: for any
 * document that holds anything else (a string that
 * `yaml` would quote or print as a block, a float, `undefined`, an empty map inside a sequence, a
 * nested sequence, an object used twice, a class instance, ...) it returns `undefined` and the
 * caller uses cdk8s's own writer for that document. test/cdk8s/yaml-writer.test.ts compares both
 * writers over every example object and thousands of generated documents.
 */
import { Yaml } from 'cdk8s';
import { createRequire } from 'node:module';
import type { Document as YamlDocument, visit as yamlVisit } from 'yaml';

/** The `yaml` package cdk8s itself writes with (its own copy when it has one), for its schema. */
const { Document, visit } = createRequire(require.resolve('cdk8s'))('yaml') as { Document: typeof YamlDocument; visit: typeof yamlVisit };

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

/**
 * Strings that `yaml` (YAML 1.1) prints plain but Go's YAML reader (go-yaml v2, behind kubectl,
 * the API server's YAML input and most scanners) reads as a number: it drops `_` and then tries
 * `strconv.ParseInt(s, 0, 64)` (so `0o17`, `0x1_F`, `1_000`) and its float pattern (so
 * `672.e_-6`). A label value like that would reach the cluster as a number and be refused. Both
 * writers double-quote them; such strings hold only `[0-9A-Za-z_.+-]`, so `"..."` needs no escape.
 */
const GO_INT = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)$/;
const GO_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
export function readAsNumberByGo(s: string): boolean {
  if (s.length === 0 || s.length > 64 || !/^[-+.0-9]/.test(s)) return false;
  const plain = s.replace(/_/g, '');
  return GO_INT.test(plain) || GO_FLOAT.test(plain);
}

/** Characters or positions that make `yaml` quote a one-line string (its `plainString` rules). */
const NEEDS_QUOTES = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u;
/** Above this length `yaml` writes a key in the explicit `? key` form. */
const MAX_KEY = 1000;

/** Strings already found to be plain (most manifests repeat the same few hundred). */
const plainCache = new Map<string, boolean>();

function isPlainString(s: string): boolean {
  const hit = plainCache.get(s);
  if (hit !== undefined) return hit;
  const ok = s.length > 0 && !s.includes('\n') && !CONTROL.test(s) && !NEEDS_QUOTES.test(s)
    && !/^(%|---|\.\.\.)/.test(s) && !NON_STRING_TAGS.some((t) => t.test!.test(s));
  if (plainCache.size < 100_000) plainCache.set(s, ok);
  return ok;
}

/**
 * A multi-line map value as `yaml` writes it (a literal block, `|` when it ends with one newline,
 * `|-` when it ends with none), for values that start and end with a visible character: leading
 * spaces, trailing spaces or blank lines, tabs and control characters change the header or the
 * style, and are left to cdk8s's writer.
 */
function literalBlock(v: string, indent: string): string {
  const body = v.endsWith('\n') ? v.slice(0, -1) : v;
  if (!/^[^\s]/.test(body) || !/[^\s]$/.test(body) || body.includes('\t') || CONTROL.test(body)) throw UNSUPPORTED;
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
        if (!isPlainString(v)) throw UNSUPPORTED;
        return readAsNumberByGo(v) ? `"${v}"` : v;
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
      this.out += ` ${literalBlock(v, `${indent}  `)}\n`;
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
 * The same result as cdk8s's `Yaml.stringify(...docs)`: each document written by
 * {@link fastYamlDocument} when it can, by `original` (cdk8s's own) otherwise.
 */
export function stringifyDocuments(original: (...docs: unknown[]) => string, docs: readonly unknown[]): string {
  return docs.map((d) => {
    if (d === undefined) return '\n';
    const fast = fastYamlDocument(d);
    if (fast !== undefined) {
      yamlWriterStats.fast++;
      return fast;
    }
    yamlWriterStats.fallback++;
    return holdsGoNumberString(d) ? stringifyQuotingGoNumbers(d) : original.call(Yaml, d);
  }).join('---\n');
}

function holdsGoNumberString(v: unknown, seen = new Set<unknown>()): boolean {
  if (typeof v === 'string') return readAsNumberByGo(v);
  if (v === null || typeof v !== 'object' || seen.has(v)) return false;
  seen.add(v);
  if (Array.isArray(v)) return v.some((x) => holdsGoNumberString(x, seen));
  return Object.entries(v).some(([k, x]) => readAsNumberByGo(k) || holdsGoNumberString(x, seen));
}

/** cdk8s's `Yaml.stringify` for one document (same options), with Go-number strings double-quoted. */
function stringifyQuotingGoNumbers(d: unknown): string {
  const options = { keepUndefined: true, lineWidth: 0, version: '1.1' as const };
  const doc = new Document(d, options);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && node.type === undefined && readAsNumberByGo(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString(options);
}

/**
 * Runs `fn` with cdk8s's `Yaml.stringify` (used by `App.synth` and `App.synthYaml`) replaced by
 * {@link stringifyDocuments}, and puts the original back afterwards.
 */
export function withFastYaml<T>(fn: () => T): T {
  const original = Yaml.stringify;
  if ((original as { fastYaml?: boolean }).fastYaml) return fn();
  const replacement = Object.assign((...docs: unknown[]) => stringifyDocuments(original, docs), { fastYaml: true });
  Yaml.stringify = replacement;
  try {
    return fn();
  } finally {
    Yaml.stringify = original;
  }
}
