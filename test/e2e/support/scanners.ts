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
export const KUBE_SCORE_OPTIONAL = ['container-seccomp-profile'];

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
  // No CPU limit by design (src/core/props.ts); kube-score has a flag for exactly that policy.
  const args = ['score', '--output-format', 'json', '--kubernetes-version', 'v1.35', '--ignore-container-cpu-limit'];
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

/** checkov's Kubernetes checks that are about hardening: these must pass on a hardened workload. */
export const CHECKOV_HARDENING = [
  'CKV_K8S_8', // liveness probe
  'CKV_K8S_9', // readiness probe
  'CKV_K8S_10', // CPU requests
  'CKV_K8S_12', // memory requests
  'CKV_K8S_13', // memory limits
  'CKV_K8S_14', // image tag not latest/blank
  'CKV_K8S_16', // not privileged
  'CKV_K8S_20', // allowPrivilegeEscalation false
  'CKV_K8S_22', // read-only root filesystem
  'CKV_K8S_23', // not root (runAsNonRoot)
  'CKV_K8S_28', // NET_RAW dropped
  'CKV_K8S_29', // pod securityContext set
  'CKV_K8S_30', // container securityContext set
  'CKV_K8S_31', // seccomp RuntimeDefault
  'CKV_K8S_35', // secrets as files, not environment variables
  'CKV_K8S_37', // capabilities minimized
  'CKV_K8S_38', // service account token mounted only where needed
  'CKV_K8S_40', // high UID
  'CKV_K8S_43', // image by digest
];

export interface CheckovResult {
  result: RunResult;
  passed: string[];
  failed: { id: string; name: string; resource: string }[];
}

/** checkov --framework kubernetes over one file, offline. */
export async function checkov(file: string): Promise<CheckovResult> {
  const result = await run(tool('checkov'), ['-f', file, '--framework', 'kubernetes', '--skip-download', '-o', 'json'], {
    env: { ...process.env, CKV_SKIP_PACKAGE_UPDATE_CHECK: 'true', BC_SKIP_MAPPING: 'TRUE' },
    timeoutMs: 300_000,
  });
  if (!result.stdout.trim().startsWith('{') && !result.stdout.trim().startsWith('[')) {
    throw new Error(`checkov gave no JSON (exit ${result.code}): ${result.stderr.slice(-2000)}`);
  }
  let report = JSON.parse(result.stdout) as unknown;
  if (Array.isArray(report)) report = report[0];
  const r = report as {
    results?: { passed_checks: { check_id: string }[]; failed_checks: { check_id: string; check_name: string; resource: string }[] };
  };
  return {
    result,
    passed: (r.results?.passed_checks ?? []).map((c) => c.check_id),
    failed: (r.results?.failed_checks ?? []).map((c) => ({ id: c.check_id, name: c.check_name, resource: c.resource })),
  };
}
