// Finding and running psa-check (test/tools/psa-check: the upstream Pod Security evaluator,
// k8s.io/pod-security-admission) for the differential tests. The binary built from the sources in
// this checkout is preferred (test/e2e/provision.sh keys its cache directory by a hash of them), so
// a stale build elsewhere on PATH cannot answer for the current main.go.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

import { executable, toolsDir } from '../../e2e/support/tools';

const SOURCES = join(__dirname, '../../tools/psa-check');


/** The cache directory provision.sh builds these sources into: `psa-check-<evaluator version>-<hash of the sources>`. */
function cachedBuildPath(): string {
  const goMod = readFileSync(join(SOURCES, 'go.mod'), 'utf8');
  const version = /k8s\.io\/pod-security-admission (v\S+)/.exec(goMod)?.[1] ?? 'unknown';
  const goFiles = readdirSync(SOURCES).filter((f) => f.endsWith('.go')).sort();
  const hash = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', ...goFiles]) hash.update(readFileSync(join(SOURCES, f)));
  return join(toolsDir(), `psa-check-${version}-${hash.digest('hex').slice(0, 12)}`, 'psa-check');
}

export interface UpstreamCheck {
  readonly id: string;
  readonly level: string;
}

function listChecks(binary: string): UpstreamCheck[] | undefined {
  const r = spawnSync(binary, ['--list-checks'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return (JSON.parse(r.stdout) as { checks: UpstreamCheck[] }).checks;
}

export interface PsaCheck {
  readonly binary: string;
  /** The upstream check ids in force at restricted/latest. */
  readonly checks: readonly UpstreamCheck[];
}

/** psa-check built from this checkout's sources, or why there is none usable. */
export function findPsaCheck(): PsaCheck | { reason: string } {
  const candidates = [cachedBuildPath(), join(toolsDir(), 'bin', 'psa-check'), ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'psa-check'))];
  const found = candidates.filter(executable);
  for (const binary of found) {
    const checks = listChecks(binary);
    if (checks) return { binary, checks };
  }
  return {
    reason: found.length
      ? `psa-check at ${found.join(', ')} predates test/tools/psa-check/main.go (no --list-checks): rebuild it with \`bash test/e2e/provision.sh psa-check\``
      : `psa-check is not built (looked for ${candidates[0]} and psa-check on PATH): build it with \`bash test/e2e/provision.sh psa-check\``,
  };
}

/** The upstream verdict on one document. */
export interface UpstreamVerdict {
  readonly file: string;
  readonly document: number;
  readonly kind: string;
  readonly name: string;
  /** JSON pointer of the pod spec upstream judged. */
  readonly path: string;
  readonly allowed: boolean;
  /** Upstream check ids that refuse it. */
  readonly checks: readonly string[];
}

/**
 * JSON text that Go's YAML reader reads back as the same object: every non-ASCII character is
 * escaped, so none of YAML 1.1's extra line breaks (U+0085, U+2028, U+2029) can split a line.
 */
function goYamlSafeJson(o: unknown): string {
  return JSON.stringify(o).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Judges many objects in one psa-check run (restricted, latest): one verdict per object, in order. */
export function judge(psa: PsaCheck, objects: readonly unknown[]): UpstreamVerdict[] {
  const input = objects.map(goYamlSafeJson).join('\n---\n');
  const r = spawnSync(psa.binary, ['--verdicts', '-'], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`psa-check exited ${r.status ?? r.signal}: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as { level: string; version: string; verdicts?: UpstreamVerdict[] };
  if (report.level !== 'restricted' || report.version !== 'latest') throw new Error(`psa-check judged at ${report.level}:${report.version}`);
  const verdicts = report.verdicts ?? [];
  if (verdicts.length !== objects.length || verdicts.some((v, i) => v.document !== i))
    throw new Error(`psa-check returned ${verdicts.length} verdicts for ${objects.length} objects (skipped: ${r.stdout.slice(0, 500)})`);
  return verdicts;
}
