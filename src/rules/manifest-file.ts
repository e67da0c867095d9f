/**
 * Reading manifest files as the cluster will: what `kubectl apply -f DIR -R` reads (.yaml, .yml,
 * .json, hidden files included), each file's text checked against Go's YAML reading (HD033) and
 * each object against the rules. `cleanimg-customize check` and the cdk8s synth plugin both read
 * files through this module, so they read a file the same way.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseAllDocuments, type Document } from 'yaml';
import { CleanimgError } from '../errors';
import { checkObject, type KubeObject, type Violation } from './index';
import { decodeManifest, goYamlTextViolations, type YamlTextFinding } from './yaml-text';

/** What `kubectl apply -f DIR` reads: .yaml, .yml and .json files, hidden ones included. */
export const MANIFEST_EXTENSIONS: ReadonlySet<string> = new Set(['.yaml', '.yml', '.json']);
/** Folders never walked: version control and installed packages hold no manifests to apply. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
/** Aliases a document may hold; more is refused (HD034) rather than expanded (a "billion laughs" document). */
export const MAX_ALIASES = 100;

export const isManifestName = (name: string): boolean => MANIFEST_EXTENSIONS.has(extname(name).toLowerCase());

/**
 * The files under `paths` that `accept` takes (by base name), sorted, walking every folder but .git
 * and node_modules; a path given by name is taken whatever its name.
 */
export function walkFiles(paths: readonly string[], accept: (name: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (p: string, top: boolean) => {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      throw new CleanimgError(`check: ${p} cannot be read`, [{ code: 'CLI001', path: p, message: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message, fix: 'pass an existing file or directory' }]);
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        if (!SKIPPED_DIRS.has(name)) walk(join(p, name), false);
      }
    } else if (top || accept(basename(p))) out.push(p);
  };
  for (const p of paths) walk(p, true);
  return out;
}

export interface ManifestFileReport {
  /** Kubernetes objects read (the items of a List counted one by one). */
  readonly objects: number;
  readonly violations: readonly Violation[];
}

/**
 * Checks one manifest file: its text where Go's YAML reads it differently from the JS parser
 * (HD033), then every object in it. A document that cannot be read safely (more than
 * {@link MAX_ALIASES} aliases) is refused with HD034; a file that is not YAML at all throws CLI002.
 */
export function checkManifestFile(file: string, options: { textVersion?: '1.1' | '1.2' } = {}): ManifestFileReport {
  const bytes = readFileSync(file);
  const { text } = decodeManifest(bytes);
  const parsed = parseAllDocuments(text);
  const docs = Array.isArray(parsed) ? parsed : [parsed];
  // The text first: where Go's YAML (kubectl, the API server) reads it differently from the JS
  // parser, what the rules see is not what the cluster gets (HD033).
  const keep = (f: YamlTextFinding, i: number) => f.scope !== 'value' || mayBeAnObject(docs[i], text);
  const violations: Violation[] = goYamlTextViolations(bytes, file, { docs, version: options.textVersion ?? '1.2', keep });
  let objects = 0;
  docs.forEach((doc, i) => {
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      throw new CleanimgError(`check: ${file} is not valid YAML`, [
        { code: 'CLI002', path: `${file}:${e.linePos?.[0]?.line ?? '?'}`, message: e.message.split('\n')[0]!, fix: 'fix the YAML syntax' },
        ...violations,
      ]);
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (e) {
      violations.push(unreadable(file, i, e as Error));
      return;
    }
    // A List (any object with `items`, as kubectl reads it) is walked by the rules themselves, recursively.
    if (!value || typeof value !== 'object' || Array.isArray(value)) return;
    if (!(value as KubeObject).kind && !Array.isArray((value as { items?: unknown }).items)) return;
    objects += countObjects(value);
    violations.push(...checkObject(value as KubeObject));
  });
  return { objects, violations };
}

function unreadable(file: string, index: number, e: Error): Violation {
  return {
    code: 'HD034', title: 'every object is visible to the guards', object: `document ${index + 1}`, path: file,
    message: `the guards cannot read this document safely: ${e.message}`,
    fix: `write each object out in full: no more than ${MAX_ALIASES} YAML aliases in a document`,
  };
}

/**
 * Whether a document may be something kubectl applies: a Kubernetes object (a kind, or a List's
 * items), one whose merge keys could make it one, or one the JS parser cannot read. A value Go reads
 * differently in any other document (a CI workflow's `on:` in a folder `check` walks) is not reported.
 */
function mayBeAnObject(doc: Document | undefined, text: string): boolean {
  if (!doc?.range || doc.errors.length) return true;
  if (text.slice(doc.range[0], doc.range[2]).includes('<<')) return true;
  try {
    const value = doc.toJS({ maxAliasCount: MAX_ALIASES }) as { kind?: unknown; items?: unknown } | null;
    return !!value && typeof value === 'object' && (value.kind !== undefined || Array.isArray(value.items));
  } catch {
    return true;
  }
}

/** One for an object, the sum of its items for a List (any object with `items`), recursively. */
function countObjects(value: unknown): number {
  const items = (value as { items?: unknown }).items;
  return Array.isArray(items) ? items.reduce((n: number, i) => n + (i && typeof i === 'object' ? countObjects(i) : 0), 0) : 1;
}
