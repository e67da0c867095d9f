/**
 * A small model of a Dockerfile over `dockerfile-ast`: stages, global ARGs (before the first FROM),
 * instructions with 1-based line numbers, flags, exec-form (JSON) arguments, heredocs and line
 * continuations. Variables are expanded with the ARG/ENV defaults in scope: what a build without
 * `--build-arg` sees.
 */
import { DockerfileParser, type Copy, type Instruction } from 'dockerfile-ast';
import { CleanimgError, type Problem } from '../errors';

/** Instructions a Dockerfile may contain (BuildKit's list). */
const KEYWORDS = new Set(['ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);

export interface DfHeredoc {
  /** The delimiter word, e.g. `EOF`. */
  readonly name: string;
  /** The body between the opening line and the delimiter. */
  readonly content: string;
}

export interface DfInstruction {
  /** Upper-case keyword (`COPY`, `RUN`, ...). */
  readonly keyword: string;
  /** 1-based line where the instruction starts. */
  readonly line: number;
  /** Flags (`--from=builder` → `{ from: 'builder' }`), values expanded. A flag without value maps to ''. */
  readonly flags: Readonly<Record<string, string>>;
  /** Arguments after the flags, as written (a line continuation joins lines with a space). */
  readonly raw: string;
  /** Arguments split on whitespace with variables expanded (heredoc bodies excluded). */
  readonly args: readonly string[];
  /** The arguments as a JSON string array when written in exec form, else undefined. */
  readonly json?: readonly string[];
  readonly heredocs: readonly DfHeredoc[];
}

export interface DfStage {
  /** 0-based index among the FROMs. */
  readonly index: number;
  /** `AS name`, lower-cased (stage names are case-insensitive), if any. */
  readonly name?: string;
  /** The FROM image as written, and with ARG defaults expanded. */
  readonly imageRaw: string;
  readonly image: string;
  /** Set when `image` names an earlier stage rather than an image. */
  readonly parent?: DfStage;
  /** The line of the FROM. */
  readonly line: number;
  readonly from: DfInstruction;
  /** Instructions after the FROM, up to the next FROM. */
  readonly instructions: readonly DfInstruction[];
}

export interface ParsedDockerfile {
  /** `ARG`s before the first FROM, with their defaults. */
  readonly globalArgs: Readonly<Record<string, string | undefined>>;
  readonly stages: readonly DfStage[];
  /** The last stage: what `docker build` produces without `--target`. */
  readonly final: DfStage;
  readonly text: string;
}

const SPLIT = /\s+/;

function lineText(lines: readonly string[], range: { start: { line: number; character: number }; end: { line: number; character: number } } | null): string {
  if (!range) return '';
  const out: string[] = [];
  for (let l = range.start.line; l <= range.end.line; l++) {
    const s = lines[l] ?? '';
    const from = l === range.start.line ? range.start.character : 0;
    const to = l === range.end.line ? range.end.character : s.length;
    out.push(s.slice(from, to));
  }
  return out.join('\n');
}

/** `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}` with the given scope; unknown variables expand to ''. */
export function expand(value: string, scope: Readonly<Record<string, string | undefined>>): string {
  return value.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, braced?: string, op?: string, word?: string, bare?: string) => {
    if (m === '\\$') return '$';
    const name = braced ?? bare!;
    const v = scope[name];
    if (op === ':-' || op === '-') return v === undefined || (op === ':-' && v === '') ? (word ?? '') : v;
    if (op === ':+' || op === '+') return v === undefined || (op === ':+' && v === '') ? '' : (word ?? '');
    return v ?? '';
  });
}

function parseJsonArray(text: string): string[] | undefined {
  const t = text.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    return Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

function parseError(name: string, line: number, message: string, fix: string): CleanimgError {
  const p: Problem = { code: 'DFP001', path: `${name}:${line}`, message, fix };
  return new CleanimgError(`${name} is not a valid Dockerfile`, [p]);
}

/**
 * Parses a Dockerfile. Throws a CleanimgError (code DFP001, with the line) when it has no FROM, an
 * instruction other than ARG before the first FROM, or an unknown instruction.
 * @param name how to name the file in messages, e.g. its path
 */
export function parseDockerfile(text: string, name = 'Dockerfile'): ParsedDockerfile {
  const doc = DockerfileParser.parse(text);
  const lines = text.split(/\r?\n/);
  const globalArgs: Record<string, string | undefined> = {};
  const stages: DfStage[] = [];
  let current: { stage: Omit<DfStage, 'instructions'>; instructions: DfInstruction[]; scope: Record<string, string | undefined> } | undefined;
  const finish = () => {
    if (current) stages.push({ ...current.stage, instructions: current.instructions });
  };

  for (const ins of doc.getInstructions()) {
    const keyword = ins.getKeyword().toUpperCase();
    const line = ins.getRange().start.line + 1;
    if (!KEYWORDS.has(keyword)) throw parseError(name, line, `unknown instruction ${JSON.stringify(ins.getKeyword())}`, 'use a Dockerfile instruction (FROM, COPY, USER, ENTRYPOINT, ...)');
    const scope = current ? current.scope : globalArgs;
    const model = toModel(ins, keyword, line, lines, scope);

    if (keyword === 'FROM') {
      finish();
      const imageRaw = model.args[0] === undefined ? '' : ins.getArguments()[0]!.getValue();
      const image = expand(imageRaw, globalArgs);
      if (!image) throw parseError(name, line, 'FROM names no image', 'write FROM <image>@sha256:<digest> [AS name]');
      const asIdx = model.args.findIndex((a) => a.toLowerCase() === 'as');
      const stageName = asIdx >= 0 ? model.args[asIdx + 1]?.toLowerCase() : undefined;
      const parent = stages.find((s) => s.name !== undefined && s.name === image.toLowerCase());
      current = {
        stage: { index: stages.length, name: stageName, imageRaw, image, parent, line, from: model },
        instructions: [],
        // A stage sees global ARGs only when it re-declares them; ENV/ARG of a parent stage carry over.
        scope: parent ? { ...stageScope(parent, globalArgs) } : {},
      };
      continue;
    }
    if (!current) {
      if (keyword === 'ARG') {
        for (const [k, v] of argPairs(model.args)) globalArgs[k] = v;
        continue;
      }
      throw parseError(name, line, `${keyword} comes before the first FROM (only ARG may)`, 'start the Dockerfile with FROM (ARGs for the FROM line may come first)');
    }
    current.instructions.push(model);
    if (keyword === 'ARG') {
      for (const [k, v] of argPairs(model.args)) current.scope[k] = v ?? (k in globalArgs ? globalArgs[k] : current.scope[k]);
    } else if (keyword === 'ENV') {
      for (const [k, v] of envPairs(model)) current.scope[k] = v;
    }
  }
  finish();
  if (stages.length === 0) throw parseError(name, 1, 'the Dockerfile has no FROM instruction', 'add FROM <image>@sha256:<digest>');
  return { globalArgs, stages, final: stages[stages.length - 1]!, text };
}

/** The variables in scope at the end of a stage (used when another stage builds FROM it). */
function stageScope(stage: DfStage, globalArgs: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const scope: Record<string, string | undefined> = stage.parent ? stageScope(stage.parent, globalArgs) : {};
  for (const i of stage.instructions) {
    if (i.keyword === 'ARG') for (const [k, v] of argPairs(i.args)) scope[k] = v ?? globalArgs[k];
    if (i.keyword === 'ENV') for (const [k, v] of envPairs(i)) scope[k] = v;
  }
  return scope;
}

function unquote(s: string): string {
  return s.length >= 2 && ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'"))) ? s.slice(1, -1) : s;
}

function argPairs(args: readonly string[]): Array<[string, string | undefined]> {
  return args.map((a) => {
    const eq = a.indexOf('=');
    return eq < 0 ? [a, undefined] : [a.slice(0, eq), unquote(a.slice(eq + 1))];
  });
}

function envPairs(i: DfInstruction): Array<[string, string]> {
  // `ENV A=1 B="x y"` or the legacy `ENV A 1 2`.
  if (i.args.length >= 2 && !i.args[0]!.includes('=')) return [[i.args[0]!, i.args.slice(1).join(' ')]];
  const out: Array<[string, string]> = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (const m of i.raw.matchAll(re)) out.push([m[1]!, unquote(m[2]!)]);
  return out;
}

function toModel(ins: Instruction, keyword: string, line: number, lines: readonly string[], scope: Readonly<Record<string, string | undefined>>): DfInstruction {
  const flags: Record<string, string> = {};
  const withFlags = ins as Instruction & { getFlags?: () => Array<{ getName(): string; getValue(): string | null }> };
  if (typeof withFlags.getFlags === 'function') {
    for (const f of withFlags.getFlags()) flags[f.getName().toLowerCase()] = expand(f.getValue() ?? '', scope);
  }
  const heredocs: DfHeredoc[] = [];
  const withHeredocs = ins as Copy;
  if ((keyword === 'COPY' || keyword === 'ADD' || keyword === 'RUN') && typeof (withHeredocs as { getHeredocs?: unknown }).getHeredocs === 'function') {
    for (const h of withHeredocs.getHeredocs()) heredocs.push({ name: h.getName(), content: lineText(lines, h.getContentRange()) });
  }
  // The arguments proper: for heredoc instructions only the first line (the bodies follow it).
  let raw = ins.getArgumentsContent() ?? '';
  if (heredocs.length) raw = raw.split('\n')[0]!;
  const json = keyword === 'FROM' || keyword === 'ARG' || keyword === 'ENV' || keyword === 'LABEL' ? undefined : parseJsonArray(raw);
  const args = raw.split(SPLIT).filter(Boolean).map((a) => (keyword === 'RUN' ? a : expand(a, scope)));
  return { keyword, line, flags, raw, args, json: json?.map((a) => (keyword === 'RUN' || keyword === 'CMD' || keyword === 'ENTRYPOINT' ? a : expand(a, scope))), heredocs };
}

/** Sources and destination of a COPY or ADD (exec or shell form; heredoc sources appear as `<<NAME`). */
export function copyPaths(i: DfInstruction): { sources: string[]; dest: string } {
  const parts = i.json ? [...i.json] : [...i.args];
  const dest = parts.pop() ?? '';
  return { sources: parts, dest };
}
