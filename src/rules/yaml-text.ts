/**
 * HD033: manifests are read the same by Go's YAML.
 *
 * kubectl, the API server's YAML input and most scanners read YAML with go-yaml v2 (through
 * sigs.k8s.io/yaml), a YAML 1.1 reader; the guards here read it with the `yaml` package. Where the two
 * disagree, a manifest the guards pass can mean something else in the cluster. From go-yaml v2's
 * reader and scanner (go.yaml.in/yaml/v2 v2.4.3, readerc.go and scannerc.go):
 *
 * - Line breaks: go-yaml breaks lines at CR, LF, NEL (U+0085), LINE SEPARATOR (U+2028) and
 *   PARAGRAPH SEPARATOR (U+2029) (`is_break`); `yaml` only at LF and CR LF. Text after a raw U+2028
 *   in a plain value or a comment becomes, for Go, a new line: `hostPID: true` there is a key.
 * - Characters go-yaml refuses raw: only TAB, LF, CR, #x20-#x7E, NEL, #xA0-#xD7FF, #xE000-#xFFFD and
 *   #x10000-#x10FFFF may appear (readerc.go: "control characters are not allowed"), and only as
 *   UTF-8; `yaml` reads the others as characters.
 * - U+FEFF: go-yaml skips a byte order mark at the start of a line (`yaml_parser_scan_to_next_token`,
 *   whose `is_bom` looks at the start of its buffer, not at the current character); `yaml` keeps it.
 * - A tab where a block scalar's indentation is still being found: go-yaml refuses the document
 *   ("found a tab character where an indentation space is expected"), `yaml` reads it.
 *
 * Inside a double-quoted scalar each of these characters can be written as an escape that both
 * read back the same (`\N`, `\L`, `\P`, `\xXX`, `\uXXXX`): HardenedApp's writer does so. A lone
 * surrogate cannot be written at all (UTF-8 has no encoding for it): the rule refuses it on the
 * object, so construction and every guard refuse it, and it refuses the other cases in the text of
 * manifests written by anyone else (the synth plugin, `cleanimg-customize check`).
 */
import { isUtf8 } from 'node:buffer';
import { Document as YamlDocument, isScalar, parseAllDocuments, visit, type Document } from 'yaml';
import { objectId, type Finding, type Json, type KubeObject, type Rule, type Violation } from './rule';

/**
 * Characters that never appear raw in YAML written for Go: C0 controls other than TAB and LF, DEL,
 * C1 controls (NEL among them), U+2028, U+2029, U+FEFF, U+FFFE, U+FFFF and lone surrogates. A string
 * holding any of them is written double-quoted, each of them escaped.
 */
export const GO_UNSAFE_RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\u{D800}-\u{DFFF}]/u;

/**
 * Strings that `yaml` (YAML 1.1) prints plain but Go's YAML reader (go-yaml v2, behind kubectl,
 * the API server's YAML input and most scanners) reads as a number: it drops `_` and then tries
 * `strconv.ParseInt(s, 0, 64)` (so `0o17`, `0x1_F`, `1_000`) and its float pattern (so
 * `672.e_-6`). A label value like that would reach the cluster as a number and be refused. Both
 * writers double-quote them (src/cdk8s/yaml-writer.ts); such strings hold only `[0-9A-Za-z_.+-]`, so
 * `"..."` needs no escape. The text check finds them written plain by anyone else.
 */
const GO_INT = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)$/;
const GO_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
export function readAsNumberByGo(s: string): boolean {
  if (!/^[-+.0-9]/.test(s)) return false;
  const plain = s.replace(/_/g, '');
  return GO_INT.test(plain) || GO_FLOAT.test(plain);
}

/** A lone surrogate (with the `u` flag a pair is one character and does not match). */
const LONE_SURROGATE = /[\u{D800}-\u{DFFF}]/u;
/** Any surrogate, paired or not: a cheaper test first (most strings have none). */
const ANY_SURROGATE = /[\ud800-\udfff]/;
const unencodableString = (s: string) => ANY_SURROGATE.test(s) && LONE_SURROGATE.test(s);

/**
 * Whether any string (or key) under `value` holds a lone surrogate: a walk that allocates nothing,
 * run on every object the guards check, so the rule costs little when (as nearly always) there is none.
 */
function holdsUnencodable(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return unencodableString(value);
  // The depth cap stops a cyclic object (which no writer could write either); manifests are far shallower.
  if (value === null || typeof value !== 'object' || depth > 1000) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (holdsUnencodable(value[i], depth + 1)) return true;
    return false;
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] === MERGE_KEY || unencodableString(keys[i]!) || holdsUnencodable((value as Json)[keys[i]!], depth + 1)) return true;
  }
  return false;
}

/** A key that Go's YAML (YAML 1.1) reads as a merge key when it is written plain, as cdk8s's writer writes it. */
const MERGE_KEY = '<<';

const u = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;

/** A JSON pointer segment, with lone surrogates shown as `\uXXXX` (they cannot be printed either). */
function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1').replace(/[\u{D800}-\u{DFFF}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function loneSurrogate(s: string, what: string): string | undefined {
  const m = LONE_SURROGATE.exec(s);
  if (!m) return undefined;
  return `${what} holds a lone surrogate (${u(m[0].charCodeAt(0))} at index ${m.index}), which UTF-8 cannot encode: no YAML or JSON gets this string to the cluster`;
}

/** Every string (keys included) that cannot be encoded, with its JSON pointer. */
function unencodable(value: unknown, path: string, out: Finding[], seen: Set<object>): void {
  if (typeof value === 'string') {
    const message = loneSurrogate(value, 'the string');
    if (message) out.push({ path: path || '/', message, fix: SURROGATE_FIX });
    return;
  }
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) unencodable(value[i], `${path}/${i}`, out, seen);
    return;
  }
  for (const key of Object.keys(value)) {
    const at = `${path}/${escapePointer(key)}`;
    const message = loneSurrogate(key, `the key ${JSON.stringify(key)}`);
    if (message) out.push({ path: at, message, fix: SURROGATE_FIX });
    if (key === MERGE_KEY) out.push({ path: at, message: 'a key named "<<": written plain (as cdk8s writes it), Go\'s YAML reads a merge key and merges its map into this object, where the guards do not look', fix: 'remove the "<<" key; no Kubernetes field has that name' });
    unencodable((value as Json)[key], at, out, seen);
  }
}

const SURROGATE_FIX = 'remove the lone surrogate (a character above U+FFFF is a high surrogate U+D800-U+DBFF followed by a low one U+DC00-U+DFFF)';

export const HD033: Rule = {
  id: 'HD033',
  title: 'manifests are read the same by Go\'s YAML',
  fix: 'write manifests with HardenedApp (its writer escapes the characters Go reads differently: U+0085, U+2028, U+2029, control characters, U+FEFF) and remove lone surrogates, which UTF-8 cannot carry',
  check(object: KubeObject): Finding[] {
    if (!holdsUnencodable(object, 0)) return [];
    const out: Finding[] = [];
    unencodable(object, '', out, new Set());
    return out;
  },
};

/** One place in a manifest's text that Go's YAML reads differently from the `yaml` package. */
export interface YamlTextFinding {
  /** Offset in the decoded text (UTF-16 code units). */
  readonly offset: number;
  /** 1-based line and column, counting lines at LF as editors do. */
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly fix: string;
  /**
   * `value` for a plain scalar Go reads as another value (`on`, `0777`): in a document that is not a
   * Kubernetes object (a CI workflow's `on:`) it changes nothing kubectl applies. Every other finding
   * (line breaks, encodings, tags, tabs, merge keys) can hide or make an object, wherever it is.
   */
  readonly scope?: 'value';
}

const USE_HARDENED_APP = 'use HardenedApp (its writer escapes it) or remove the character';

const NAMES: Record<number, string> = {
  0x0d: 'CARRIAGE RETURN', 0x85: 'NEXT LINE', 0x2028: 'LINE SEPARATOR', 0x2029: 'PARAGRAPH SEPARATOR', 0xfeff: 'BYTE ORDER MARK',
};

/** What Go does with one raw character (or a CR not followed by LF), and the fix. */
function describe(ch: string): { message: string; fix: string } {
  const code = ch.charCodeAt(0);
  const name = `${u(code)}${NAMES[code] ? ` (${NAMES[code]})` : ''}`;
  if (code === 0x0d || code === 0x85 || code === 0x2028 || code === 0x2029) {
    const where = code === 0x0d ? 'a carriage return not followed by a line feed' : `the text contains ${name}`;
    return { message: `${where} written raw; Go's YAML reads it as a line break, the JS parser as a character`, fix: code === 0x0d ? 'end lines with LF or CR LF, or write the character as \\r in a double-quoted string' : USE_HARDENED_APP };
  }
  if (code === 0xfeff) return { message: `the text contains ${name} after its start; Go's YAML may skip it at the start of a line, the JS parser keeps it`, fix: USE_HARDENED_APP };
  if (code >= 0xd800 && code <= 0xdfff) return { message: `the text holds a lone surrogate ${u(code)}, which UTF-8 cannot carry`, fix: 'remove the lone surrogate' };
  return { message: `the text contains ${name} written raw; Go's YAML refuses the whole document ("control characters are not allowed"), the JS parser reads it`, fix: USE_HARDENED_APP };
}

/** Raw characters Go reads differently: GO_UNSAFE_RAW less CR (a CR LF line end is read the same), plus a CR without LF. */
const RAW_DIVERGENT = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\u{D800}-\u{DFFF}]|\r(?!\n)/gu;

type Located = Omit<YamlTextFinding, 'line' | 'column'>;

/** The non-string tags of YAML 1.1 as the `yaml` package has them (the schema cdk8s writes with). */
interface ScalarTag { default?: unknown; tag: string; test?: RegExp; resolve(value: string, onError: (m: string) => void, options: object): unknown }
const YAML11_NON_STRING: readonly ScalarTag[] = (() => {
  const schema = new YamlDocument(null, { version: '1.1' }).schema as unknown as { tags: ScalarTag[]; compat?: ScalarTag[] | null };
  // Timestamps and sexagesimal numbers (`1:20`) are left out: a writer that meant one would have
  // written an ISO date or a decimal number, and Go reads both spellings as strings, as meant.
  const left = new Set(['tag:yaml.org,2002:str', 'tag:yaml.org,2002:timestamp', 'tag:yaml.org,2002:merge']);
  return [...schema.tags, ...(schema.compat ?? [])].filter((t) => t.default === true && !left.has(t.tag) && (t as { format?: string }).format !== 'TIME' && t.test);
})();

/** A plain scalar as YAML 1.1 (the `yaml` package's schema, as cdk8s writes) reads it. */
function yaml11Value(value: string): unknown {
  const tag = YAML11_NON_STRING.find((t) => t.test!.test(value));
  const resolved = tag ? tag.resolve(value, () => undefined, {}) : value;
  return isScalar(resolved) ? resolved.value : resolved; // 1.1 booleans come back as Scalar nodes
}

const GO_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const GO_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);
const GO_NULL = new Set(['', '~', 'null', 'Null', 'NULL']);
const GO_SPECIAL_FLOATS: Readonly<Record<string, number>> = {
  '.nan': NaN, '.NaN': NaN, '.NAN': NaN,
  '.inf': Infinity, '.Inf': Infinity, '.INF': Infinity, '+.inf': Infinity, '+.Inf': Infinity, '+.INF': Infinity,
  '-.inf': -Infinity, '-.Inf': -Infinity, '-.INF': -Infinity,
};

/**
 * A plain scalar as go-yaml v2 resolves it into an `interface{}` (resolve.go), which is what
 * sigs.k8s.io/yaml hands on as JSON: the YAML 1.1 booleans (`y`, `yes`, `on`, `off`, ...), nulls,
 * `.inf`/`.nan`, and after dropping every `_`, Go's integer syntax (`0777` is octal, `0o17`, `0x1F`,
 * `0b101`, a sign before any of them) and its float pattern. Timestamps stay strings.
 */
function goPlainScalar(value: string): unknown {
  if (GO_TRUE.has(value)) return true;
  if (GO_FALSE.has(value)) return false;
  if (GO_NULL.has(value)) return null;
  if (Object.hasOwn(GO_SPECIAL_FLOATS, value)) return GO_SPECIAL_FLOATS[value];
  if (!readAsNumberByGo(value)) return value;
  const plain = value.replace(/_/g, '');
  const sign = plain.startsWith('-') ? -1 : 1;
  const digits = plain.replace(/^[-+]/, '');
  const m = /^0([xXoObB])(.+)$/.exec(digits);
  if (m) return sign * parseInt(m[2]!, { x: 16, o: 8, b: 2 }[m[1]!.toLowerCase() as 'x' | 'o' | 'b']);
  if (/^0[0-7]+$/.test(digits)) return sign * parseInt(digits, 8);
  return Number(plain);
}

const sameScalar = (a: unknown, b: unknown) =>
  Object.is(a, b) || (typeof a === 'number' && typeof b === 'number' && a === b) || (a == null && b == null);

const show = (v: unknown) => (v instanceof Date ? `the timestamp ${v.toISOString()}` : typeof v === 'string' ? `the string ${JSON.stringify(v)}` : String(v));

/** Words and tokens that may be plain scalars Go reads differently: a cheap look before parsing. */
const GO_WORDS = /<<|(?<![\w.\-/])(?:[yYnN]|[Yy]es|YES|[Nn]o|NO|[Oo]n|ON|[Oo]ff|OFF)(?![\w.\-/])/;

/** Tokens that might be plain scalars Go reads as a number and a JS reader as a string (`0o17`, `672.e_-6`, `1_000`), or with another value (`0777`). */
const NUMBER_TOKEN = /(?<![\w.+-])[-+.0-9][\w.+-]*/g;
const AGREED_NUMBER = /^[-+]?(?:[1-9][0-9]*|0)(?:\.[0-9]+)?$/;
function mayHoldGoNumber(text: string): boolean {
  for (const m of text.matchAll(NUMBER_TOKEN)) if (!AGREED_NUMBER.test(m[0]) && readAsNumberByGo(m[0])) return true;
  return false;
}

/**
 * Plain scalars (values and keys) that Go's YAML resolves to another value than the one meant: the
 * reading of the text's YAML version (1.2 for manifests written by hand, the JS parser's; 1.1 for
 * text cdk8s writes). `yes` is a boolean to Go and a string in 1.2; `0777` is 511 to Go and 777 in
 * 1.2; `1_000` and `0b101` are numbers to Go and strings in 1.2; a key `<<` merges another map for Go
 * and is a plain key in 1.2. Each is refused, to be quoted or written out.
 */
function scalarsToGo(text: string, docs: readonly Document[], version: '1.1' | '1.2'): Located[] {
  const out: Located[] = [];
  for (const doc of docs) {
    visit(doc, {
      Pair(_key, pair) {
        const k = pair.key as { type?: string; source?: string; value?: unknown; range?: [number, number, number] } | null;
        if (k && k.type === 'PLAIN' && k.value === '<<' && k.range)
          out.push({ offset: k.range[0], message: 'a merge key ("<<"): Go\'s YAML merges the given map into this one, the guards\' JS parser reads a key named "<<"', fix: 'write the keys out instead of merging them' });
      },
      Scalar(key, node) {
        if (node.type !== 'PLAIN' || !node.range) return;
        const source = typeof node.value === 'string' ? node.value : text.slice(node.range[0], node.range[1]);
        if (key === 'key' && source === '<<') return; // reported as a merge key
        const go = goPlainScalar(source);
        const same = (v: unknown) => (key === 'key' ? String(go) === String(v) : sameScalar(go, v));
        // What was meant (the text's version) and what the guards read (YAML 1.2, node.value) must both be Go's value.
        const meant = version === '1.2' ? node.value : yaml11Value(source);
        const differs = !same(meant) ? { v: meant, as: `YAML ${version}${version === '1.1' ? ', as cdk8s writes' : ''}` } : !same(node.value) ? { v: node.value, as: 'YAML 1.2, as the guards read it' } : undefined;
        if (!differs) return;
        out.push({
          offset: node.range[0],
          scope: 'value',
          message: `${JSON.stringify(source)} is written plain: Go's YAML reads ${show(go)}, the JS parser (${differs.as}) ${show(differs.v)}`,
          fix: 'double-quote it (HardenedApp\'s writer does)',
        });
      },
    });
  }
  return out;
}

/** Explicit tags both readers agree on: a string, a map, a sequence. */
const PLAIN_TAGS = new Set(['tag:yaml.org,2002:str', 'tag:yaml.org,2002:map', 'tag:yaml.org,2002:seq']);

/**
 * Nodes with an explicit tag other than `!!str`, `!!map`, `!!seq`: the readers resolve them apart.
 * `!!binary` is a byte buffer to the JS parser and a decoded string to Go; `!!int "010000"` is 10000
 * to the JS parser and octal 4096 to Go; `!!merge "<<"` merges; a local tag (`!x`) is whatever a
 * reader makes of it. A manifest needs none of them.
 */
function explicitTags(docs: readonly Document[]): Located[] {
  const out: Located[] = [];
  for (const doc of docs) {
    visit(doc, {
      Node(_key, node) {
        const range = (node as { range?: [number, number, number] }).range;
        if (!node.tag || PLAIN_TAGS.has(node.tag) || !range) return;
        out.push({
          offset: range[0],
          message: `an explicit tag (${node.tag.replace('tag:yaml.org,2002:', '!!')}): Go's YAML and the guards' JS parser do not resolve it to the same value`,
          fix: 'write the value itself without a tag (a plain or quoted string, a number, true or false)',
        });
      },
    });
  }
  return out;
}

/**
 * Block scalars (`|`, `>`) without an indentation indicator whose indentation go-yaml is still
 * finding when it meets a tab (before the first line with content, or on a less indented line):
 * go-yaml refuses the document there, the JS parser reads the tab as content.
 */
function tabsInBlockIndentation(text: string, docs: readonly Document[]): Located[] {
  const out: Located[] = [];
  for (const doc of docs) {
    visit(doc, {
      Scalar(_key, node) {
        if ((node.type !== 'BLOCK_LITERAL' && node.type !== 'BLOCK_FOLDED') || !node.range) return;
        const [start, end] = node.range;
        const headerEnd = text.indexOf('\n', start);
        if (headerEnd < 0 || headerEnd >= end || /[1-9]/.test(text.slice(start, headerEnd).replace(/#.*/, ''))) return;
        let indent = 0;
        let found = false;
        for (let at = headerEnd + 1; at < end;) {
          let col = 0;
          while (text[at + col] === ' ') col++;
          if (text[at + col] === '\t' && (!found || col < indent)) {
            out.push({
              offset: at + col,
              message: 'a tab where a block scalar\'s indentation is expected; Go\'s YAML refuses the document ("found a tab character where an indentation space is expected"), the JS parser reads the tab as content',
              fix: 'indent block scalars with spaces, or write the value double-quoted with \\t (HardenedApp\'s writer does)',
            });
            return;
          }
          const lineEnd = text.indexOf('\n', at);
          const blank = text[at + col] === '\n' || at + col >= text.length;
          if (!found) indent = Math.max(indent, col);
          if (!blank) found = true;
          if (lineEnd < 0) break;
          at = lineEnd + 1;
        }
      },
    });
  }
  return out;
}

/** Adds lines and columns (lines counted at LF) to findings, in text order, in one pass. */
function locate(text: string, found: Located[]): YamlTextFinding[] {
  const sorted = [...found].sort((a, b) => a.offset - b.offset);
  let line = 1;
  let start = 0;
  let next = text.indexOf('\n');
  return sorted.map((f) => {
    while (next >= 0 && next < f.offset) {
      line++;
      start = next + 1;
      next = text.indexOf('\n', start);
    }
    return { ...f, line, column: f.offset - start + 1 };
  });
}

/**
 * The text of a manifest's bytes as kubectl reads it: UTF-16 with a byte order mark (LE or BE) is
 * decoded as UTF-16 (kubectl turns it into UTF-8 before its YAML reader; Go's YAML does the same),
 * everything else as UTF-8, with `utf8` false when the bytes are not valid UTF-8.
 */
export function decodeManifest(input: string | Uint8Array): { text: string; utf8: boolean } {
  if (typeof input === 'string') return { text: input, utf8: true };
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    try {
      return { text: new TextDecoder(bytes[0] === 0xff ? 'utf-16le' : 'utf-16be', { fatal: true, ignoreBOM: false }).decode(bytes), utf8: true };
    } catch {
      return { text: new TextDecoder(bytes[0] === 0xff ? 'utf-16le' : 'utf-16be').decode(bytes), utf8: false };
    }
  }
  return { text: bytes.toString('utf8'), utf8: isUtf8(bytes) };
}
const decode = decodeManifest;

export interface YamlTextOptions {
  /** The text's documents, parsed by the caller with the `yaml` package (YAML 1.2); parsed here when needed and not given. @default parsed here */
  readonly docs?: readonly Document[];
  /**
   * The YAML version the text is meant in: `1.1` for text cdk8s writes (its writer quotes by the
   * 1.1 schema), `1.2` for manifests written by hand. @default '1.1'
   */
  readonly version?: '1.1' | '1.2';
  /** Which findings become violations, given the finding and its document's number (0-based). @default every finding */
  readonly keep?: (finding: YamlTextFinding, docIndex: number) => boolean;
}

/**
 * Every place in a manifest's text that Go's YAML (sigs.k8s.io/yaml, go-yaml v2) reads differently
 * from the `yaml` package, in text order. Text written by HardenedApp has none.
 */
export function goYamlTextFindings(input: string | Uint8Array, options: YamlTextOptions = {}): YamlTextFinding[] {
  let docs = options.docs;
  const { text, utf8 } = decode(input);
  const out: Located[] = [];
  if (!utf8) {
    out.push({ offset: Math.max(0, text.indexOf('\ufffd')), message: 'the file is not valid UTF-8; Go\'s YAML refuses it, the JS parser reads replacement characters', fix: 'save the file as UTF-8' });
  }
  for (const m of text.matchAll(RAW_DIVERGENT)) {
    if (m.index === 0 && m[0] === '\ufeff') continue; // a byte order mark that starts the stream: both skip it
    out.push({ offset: m.index, ...describe(m[0]) });
  }
  // Checks that need the documents run only when a cheap look at the text finds a candidate.
  const parsed = () => (docs ??= [...parseAllDocuments(text)]);
  if (/(^|\n) *\t/.test(text)) out.push(...tabsInBlockIndentation(text, parsed()));
  const version = options.version ?? '1.1';
  if (mayHoldGoNumber(text) || GO_WORDS.test(text)) out.push(...scalarsToGo(text, parsed(), version));
  if (text.includes('!')) out.push(...explicitTags(parsed()));
  return out.length === 0 ? [] : locate(text, out);
}

/** The number (0-based) of the document that holds `offset`. */
function docIndexAt(docs: readonly Document[], offset: number): number {
  const i = docs.findIndex((d) => d.range && offset < d.range[2]);
  return i < 0 ? docs.length - 1 : i;
}

/** The name of the object whose document holds `offset`, or of the document. */
function objectAt(docs: readonly Document[], offset: number): string {
  const i = docs.findIndex((d) => d.range && offset < d.range[2]);
  const doc = docs[i < 0 ? docs.length - 1 : i];
  let value: unknown;
  try {
    value = doc?.contents ? doc.toJS() : undefined;
  } catch {
    value = undefined; // a document the JS parser cannot read either: named by its number
  }
  if (value && typeof value === 'object' && !Array.isArray(value) && (value as KubeObject).kind) return objectId(value as KubeObject);
  return `document ${(i < 0 ? docs.length - 1 : i) + 1}`;
}

/**
 * HD033 violations for a manifest's text: each on the object whose document holds it, at `file:line`.
 */
export function goYamlTextViolations(input: string | Uint8Array, file: string, options: YamlTextOptions = {}): Violation[] {
  const findings = goYamlTextFindings(input, options);
  if (findings.length === 0) return [];
  const all = options.docs ?? [...parseAllDocuments(decode(input).text)];
  const keep = options.keep;
  return findings.filter((f) => !keep || keep(f, docIndexAt(all, f.offset))).map((f) => ({
    code: HD033.id,
    title: HD033.title,
    object: objectAt(all, f.offset),
    path: `${file}:${f.line}`,
    message: `column ${f.column}: ${f.message}`,
    fix: f.fix,
  }));
}
