// What later e2e tests need to judge synthesized objects on the real API server:
// a strict server-side dry run of everything, and a Pod made from every pod template.
import { namespace, podFromTemplate, podTemplateOf, toYaml, type KObject } from './k8s';
import type { RunResult } from './tools';

export interface Kubectl {
  kubectl(args: readonly string[], opts?: { input?: string }): Promise<RunResult>;
}

/** Server-side dry run with strict field validation; Pod Security warnings count as errors. */
export const STRICT_DRY_RUN = ['--dry-run=server', '--warnings-as-errors', '--validate=strict'] as const;

/** Create (idempotently) every namespace the objects name. */
export async function ensureNamespaces(k: Kubectl, objs: readonly KObject[]): Promise<void> {
  const names = [...new Set(objs.map((o) => o.metadata?.namespace).filter((n): n is string => !!n))];
  if (names.length === 0) return;
  const r = await k.kubectl(['apply', '-f', '-'], { input: toYaml(names.map(namespace)) });
  if (r.code !== 0) throw new Error(`creating namespaces ${names.join(', ')}: ${r.stderr}`);
}

/** kubectl apply --dry-run=server --warnings-as-errors --validate=strict of all objects at once. */
export function applyStrict(k: Kubectl, objs: readonly KObject[]): Promise<RunResult> {
  return k.kubectl(['apply', ...STRICT_DRY_RUN, '-f', '-'], { input: toYaml(objs) });
}

export interface PodAdmission {
  workload: string;
  result: RunResult;
}

/**
 * For every object with a pod template: a Pod made from it, created with a server-side dry
 * run under strict validation and warnings as errors (so Pod Security enforcement runs).
 */
export async function admitPodsFromTemplates(k: Kubectl, objs: readonly KObject[]): Promise<PodAdmission[]> {
  const out: PodAdmission[] = [];
  for (const o of objs) {
    if (!podTemplateOf(o)) continue;
    const name = `${o.metadata?.name ?? 'pod'}-e2e`.slice(0, 63);
    const pod = podFromTemplate(o, name);
    const result = await k.kubectl(['create', ...STRICT_DRY_RUN, '-f', '-'], { input: toYaml([pod]) });
    out.push({ workload: `${o.kind}/${o.metadata?.namespace ?? 'default'}/${o.metadata?.name}`, result });
  }
  return out;
}

/**
 * Waits until the namespace's generated admission policy refuses `probe` (an object that breaks a
 * rule): a policy takes effect a moment after its binding is stored, and a new CRD's resource a
 * moment after it is established. Throws when it never does.
 */
export async function waitForPolicy(k: Kubectl, probe: KObject, attempts = 60): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const d = await k.kubectl(['create', '--dry-run=server', '-f', '-'], { input: toYaml([probe]) });
    if (d.code !== 0 && /cleanimg-hardening/.test(d.stderr)) return;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`the admission policy never judged ${probe.kind}/${probe.metadata?.name}`);
}
