// Running scanners nobody here wrote (the upstream Pod Security evaluator through
// test/tools/psa-check, kube-score) and reading their findings; the allow-list of
// accepted non-hardening findings lives in test/e2e/allowlist.yaml.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { run, tool, type RunResult } from './tools';

export interface PsaFinding {
  file: string;
  document: number;
  kind: string;
  namespace?: string;
  name: string;
  path: string;
  reasons: string[];
  details: string[];
  message: string;
}

export interface PsaReport {
  level: string;
  version: string;
  checked: number;
  skipped: string[];
  findings: PsaFinding[];
}

/** psa-check over files; exit code 0 (allowed), 1 (findings) or 2 (bad input). */
export async function psaCheck(files: readonly string[], args: readonly string[] = []): Promise<{ result: RunResult; report?: PsaReport }> {
  const result = await run(tool('psa-check'), [...args, ...files]);
  let report: PsaReport | undefined;
  if (result.stdout.trim().startsWith('{')) report = JSON.parse(result.stdout) as PsaReport;
  return { result, report };
}

/** kube-score's optional checks that are hardening checks: always enabled here. */
export const KUBE_SCORE_OPTIONAL = ['container-seccomp-profile', 'container-ephemeral-storage-request-equals-limit'];

/** kube-score checks that are about hardening: these must pass (grade 10) on a hardened workload. */
export const KUBE_SCORE_HARDENING = [
  'container-security-context-user-group-id',
  'container-security-context-privileged',
  'container-security-context-readonlyrootfilesystem',
  'container-seccomp-profile',
  'container-resources',
  'container-image-tag',
  'container-ephemeral-storage-request-and-limit',
];

export interface KubeScoreFinding {
  object: string;
  kind: string;
  check: string;
  grade: number;
  comments: string[];
}

interface KubeScoreObject {
  object_name: string;
  type_meta: { kind: string };
  checks: { check: { id: string }; grade: number; skipped: boolean; comments: { path: string; summary: string }[] | null }[];
}

export interface KubeScoreResult {
  result: RunResult;
  /** Every check that ran and did not get grade 10 ("all OK"). */
  findings: KubeScoreFinding[];
  /** check id -> grade, per object ("Kind/name"). */
  grades: Map<string, Map<string, number>>;
}

export async function kubeScore(files: readonly string[]): Promise<KubeScoreResult> {
  const args = ['score', '--output-format', 'json', '--kubernetes-version', 'v1.35'];
  for (const o of KUBE_SCORE_OPTIONAL) args.push('--enable-optional-test', o);
  const result = await run(tool('kube-score'), [...args, ...files]);
  // kube-score exits 1 when any check is critical; its JSON is on stdout either way.
  if (!result.stdout.trim().startsWith('[')) {
    throw new Error(`kube-score gave no JSON (exit ${result.code}): ${result.stderr}`);
  }
  const objs = JSON.parse(result.stdout) as KubeScoreObject[];
  const findings: KubeScoreFinding[] = [];
  const grades = new Map<string, Map<string, number>>();
  for (const o of objs) {
    const key = `${o.type_meta.kind}/${o.object_name.split('/').pop()}`;
    const g = new Map<string, number>();
    grades.set(key, g);
    for (const c of o.checks) {
      if (c.skipped) continue;
      g.set(c.check.id, c.grade);
      if (c.grade < 10) {
        findings.push({
          object: key,
          kind: o.type_meta.kind,
          check: c.check.id,
          grade: c.grade,
          comments: (c.comments ?? []).map((x) => `${x.path}: ${x.summary}`),
        });
      }
    }
  }
  return { result, findings, grades };
}

export interface AllowList {
  /** tool -> check id -> one line of reasoning */
  [tool: string]: Record<string, string>;
}

export const ALLOWLIST_FILE = join(__dirname, '..', 'allowlist.yaml');

export function loadAllowList(): AllowList {
  const v = parse(readFileSync(ALLOWLIST_FILE, 'utf8')) as AllowList;
  for (const [t, entries] of Object.entries(v)) {
    for (const [id, why] of Object.entries(entries)) {
      if (typeof why !== 'string' || why.trim().length < 20 || why.includes('\n')) {
        throw new Error(`allowlist.yaml ${t}.${id}: give one line of reasoning`);
      }
    }
  }
  return v;
}
