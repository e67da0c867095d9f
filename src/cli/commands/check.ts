/**
 * `cleanimg-customize check FILE|DIR...`: runs the rule list over existing Kubernetes YAML, as a
 * migration aid listing what a team's manifests break and how to fix it.
 */
import { basename } from 'node:path';
import { checkDockerfileFile, isDockerfileName, type DockerfileCheckOptions } from '../../dockerfile';
import type { Violation } from '../../rules';
import { checkManifestFile, isManifestName, walkFiles } from '../../rules/manifest-file';
import { count, EXIT, type Io } from '../output';

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
  return walkFiles(paths, (name) => isManifestName(name) || isDockerfileName(name));
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
    const report = checkManifestFile(file);
    objects += report.objects;
    for (const v of report.violations) violations.push({ ...v, file });
  }
  return { files: files.length, objects, violations };
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
