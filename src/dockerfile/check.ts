/** Runs the Dockerfile rules over a Dockerfile: every violation at once, each with its line and fix. */
import { readFileSync } from 'node:fs';
import { CleanimgError } from '../errors';
import type { Violation } from '../rules';
import { parseDockerfile, type ParsedDockerfile } from './parse';
import { DOCKERFILE_RULES, type DockerfileCheckOptions, type DockerfileRule } from './rules';

/** One rule broken at one line. `path` is `<name>:<line>`; `object` names the stage. */
export interface DockerfileViolation extends Violation {
  readonly line: number;
  /** 0-based index of the stage the line is in. */
  readonly stage: number;
}

/** Checks Dockerfile text; throws a CleanimgError (DFP001) only when it cannot be parsed. */
export function checkDockerfile(text: string, opts: DockerfileCheckOptions = {}, rules: readonly DockerfileRule[] = DOCKERFILE_RULES): DockerfileViolation[] {
  const name = opts.name ?? 'Dockerfile';
  return checkParsed(parseDockerfile(text, name), { ...opts, name }, rules);
}

export function checkParsed(df: ParsedDockerfile, opts: DockerfileCheckOptions = {}, rules: readonly DockerfileRule[] = DOCKERFILE_RULES): DockerfileViolation[] {
  const name = opts.name ?? 'Dockerfile';
  const out: DockerfileViolation[] = [];
  for (const rule of rules) {
    for (const f of rule.check(df, opts)) {
      const s = df.stages[f.stage]!;
      const object = f.stage === df.final.index ? `final stage${s.name ? ` (${s.name})` : ''}` : `stage ${f.stage}${s.name ? ` (${s.name})` : ''}`;
      out.push({ code: rule.id, title: rule.title, object, path: `${name}:${f.line}`, message: f.message, fix: f.fix ?? rule.fix, line: f.line, stage: f.stage });
    }
  }
  return out.sort((a, b) => a.line - b.line || a.code.localeCompare(b.code));
}

/** Reads and checks a Dockerfile; `name` defaults to the path. */
export function checkDockerfileFile(path: string, opts: DockerfileCheckOptions = {}): DockerfileViolation[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CleanimgError(`cannot read ${path}`, [{ code: 'DFP002', path, message: (e as Error).message, fix: 'pass the path of an existing Dockerfile' }]);
  }
  return checkDockerfile(text, { ...opts, name: opts.name ?? path });
}

/** Throws one CleanimgError listing every violation (with lines and fixes), if there are any. */
export function assertDockerfileOk(violations: readonly DockerfileViolation[], what = 'the Dockerfile'): void {
  if (violations.length === 0) return;
  throw new CleanimgError(`${what} breaks ${violations.length} Dockerfile rule${violations.length === 1 ? '' : 's'}:`, violations);
}

/** True for the names `check` treats as Dockerfiles: Dockerfile, *.Dockerfile, Dockerfile.*, Containerfile(.*). */
export function isDockerfileName(base: string): boolean {
  return /^(Dockerfile|Containerfile)(\..+)?$/.test(base) || /\.(Dockerfile|Containerfile)$/.test(base);
}
