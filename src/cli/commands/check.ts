/**
 * `cleanimg-customize check FILE|DIR...`: runs the rule list over existing Kubernetes YAML, as a
 * migration aid listing what a team's manifests break and how to fix it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseAllDocuments, type Document } from 'yaml';
import { CleanimgError } from '../../errors';
import { checkDockerfileFile, isDockerfileName, type DockerfileCheckOptions } from '../../dockerfile';
import { checkObject, goYamlTextViolations, type KubeObject, type Violation } from '../../rules';
import { count, EXIT, type Io } from '../output';

/** What `kubectl apply -f DIR` reads: .yaml, .yml and .json files, hidden ones included. */
const MANIFEST_EXT = new Set(['.yaml', '.yml', '.json']);
/** Folders never walked: version control and installed packages hold no manifests to apply. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

export interface FileViolation extends Violation {
  readonly file: string;
}

export interface CheckReport {
  readonly files: number;
  readonly objects: number;
  readonly violations: readonly FileViolation[];
}

/**
 * Every manifest (.yaml, .yml, .json: what `kubectl apply -f` reads, hidden files included) and
 * Dockerfile (Dockerfile, *.Dockerfile, Dockerfile.*, Containerfile) under the given paths, sorted,
 * walking every folder (as `kubectl apply -R` does) but .git and node_modules.
 */
export function collectFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, top: boolean) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new CleanimgError(`check: ${p} does not exist`, [{ code: 'CLI001', path: p, message: 'no such file or directory', fix: 'pass an existing file or directory' }]);
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        if (SKIPPED_DIRS.has(name)) continue;
        walk(join(p, name), false);
      }
    } else if (top || MANIFEST_EXT.has(extname(p)) || isDockerfileName(basename(p))) out.push(p);
  };
  for (const p of paths) walk(p, true);
  return out;
}

export function checkFiles(paths: readonly string[], dockerfile: DockerfileCheckOptions = {}): CheckReport {
  const files = collectFiles(paths);
  const violations: FileViolation[] = [];
  let objects = 0;
  for (const file of files) {
    if (isDockerfileName(basename(file))) {
      objects++;
      for (const v of checkDockerfileFile(file, dockerfile)) violations.push({ ...v, file });
      continue;
    }
    // The text first: where Go's YAML (kubectl, the API server) reads it differently from the JS
    // parser below, what the rules see is not what the cluster gets (HD033).
    const bytes = readFileSync(file);
    const text = bytes.toString('utf8');
    const parsed = parseAllDocuments(text);
    const docs = Array.isArray(parsed) ? parsed : [parsed];
    const textViolations = goYamlTextViolations(bytes, file, { docs, version: '1.2' }).filter((v) => aboutAnObject(v, docs, text));
    for (const v of textViolations) violations.push({ ...v, file });
    for (const doc of docs) {
      if (doc.errors.length) {
        const e = doc.errors[0]!;
        throw new CleanimgError(`check: ${file} is not valid YAML`, [
          { code: 'CLI002', path: `${file}:${e.linePos?.[0]?.line ?? '?'}`, message: e.message.split('\n')[0]!, fix: 'fix the YAML syntax' },
          ...textViolations,
        ]);
      }
      const value = doc.toJS() as unknown;
      // A List (any object with `items`, as kubectl reads it) is walked by the rules themselves, recursively.
      if (!value || typeof value !== 'object' || Array.isArray(value)) continue;
      if (!(value as KubeObject).kind && !Array.isArray((value as { items?: unknown }).items)) continue;
      objects += countObjects(value);
      for (const v of checkObject(value as KubeObject)) violations.push({ ...v, file });
    }
  }
  return { files: files.length, objects, violations };
}

/**
 * Whether a text finding concerns something kubectl would apply: a document that is a Kubernetes
 * object (the finding names it), one whose merge keys could make it one, or one the JS parser
 * cannot read. A CI workflow's `on:`
 * in a folder `check` walks is not reported.
 */
function aboutAnObject(v: Violation, docs: readonly Document[], text: string): boolean {
  const m = /^document (\d+)$/.exec(v.object);
  if (!m) return true;
  const doc = docs[Number(m[1]) - 1];
  // A document the JS parser cannot read either may be anything: keep what Go reads differently in it.
  if (!doc?.range || doc.errors.length) return true;
  return text.slice(doc.range[0], doc.range[2]).includes('<<');
}

/** One for an object, the sum of its items for a List (any object with `items`), recursively. */
function countObjects(value: unknown): number {
  const items = (value as { items?: unknown }).items;
  return Array.isArray(items) ? items.reduce((n: number, i) => n + (i && typeof i === 'object' ? countObjects(i) : 0), 0) : 1;
}

export function runCheck(paths: readonly string[], opts: { json?: boolean } & DockerfileCheckOptions, io: Io): number {
  const report = checkFiles(paths, { allowedBases: opts.allowedBases, nonRootBases: opts.nonRootBases, context: opts.context });
  if (opts.json) {
    io.out(JSON.stringify({ ok: report.violations.length === 0, ...report }, null, 2));
  } else {
    let last = '';
    for (const v of report.violations) {
      const head = `${v.file}: ${v.object}`;
      if (head !== last) io.out(head);
      last = head;
      io.out(`  ${v.code} ${v.path}: ${v.message}\n      fix: ${v.fix}`);
    }
    // A Dockerfile counts as one object, whatever stage its violations are in.
    const bad = new Set(report.violations.map((v) => ('line' in v ? v.file : `${v.file}\0${v.object}`))).size;
    const rules = new Set(report.violations.map((v) => v.code)).size;
    const scope = `${count(report.objects, 'object')} in ${count(report.files, 'file')}`;
    io.out(report.violations.length
      ? `${scope}: ${bad} ${bad === 1 ? 'breaks' : 'break'} ${count(rules, 'rule')} (${count(report.violations.length, 'finding')})`
      : `${scope}: no rule broken`);
  }
  return report.violations.length ? EXIT.findings : EXIT.ok;
}
