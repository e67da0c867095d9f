import { CleanimgError } from '../errors';
import { CONFIG_RULES } from './config-rules';
import { findPodSpec } from './pod-spec';
import { POD_RULES, WORKLOAD_RULES } from './pod-rules';
import { PSS_RULES } from './pss-rules';
import { objectId, type KubeObject, type Rule, type Violation } from './rule';
import { HD033 } from './yaml-text';

export type { Finding, KubeObject, Rule, Violation } from './rule';
export { objectId } from './rule';
export { MIN_ID } from './pod-rules';
export { looksLikeSecretName, secretValueReason } from './secret-patterns';
export { GO_UNSAFE_RAW, goYamlTextFindings, goYamlTextViolations, readAsNumberByGo, type YamlTextFinding, type YamlTextOptions } from './yaml-text';

/** The one rule list. Every guard (constructs, the synth plugin, the CLI, policy packs) runs exactly this. */
export const RULES: readonly Rule[] = [...POD_RULES, ...WORKLOAD_RULES, ...PSS_RULES, ...CONFIG_RULES, HD033].sort((a, b) => a.id.localeCompare(b.id));

export function ruleById(id: string): Rule | undefined {
  return RULES.find((r) => r.id === id);
}

/** Runs every rule over one object. */
export function checkObject(object: KubeObject, rules: readonly Rule[] = RULES): Violation[] {
  if (!object || typeof object !== 'object') return [];
  const pod = findPodSpec(object);
  const id = objectId(object);
  const out: Violation[] = [];
  for (const rule of rules) {
    for (const f of rule.check(object, pod)) {
      out.push({ code: rule.id, title: rule.title, object: id, path: f.path, message: f.message, fix: f.fix ?? rule.fix });
    }
  }
  return out;
}

/** Runs every rule over many objects. */
export function checkObjects(objects: readonly KubeObject[], rules: readonly Rule[] = RULES): Violation[] {
  return objects.flatMap((o) => checkObject(o, rules));
}

/** Throws one CleanimgError listing every violation, if there are any. */
export function assertNoViolations(violations: readonly Violation[], what: string): void {
  if (violations.length === 0) return;
  throw new CleanimgError(
    `${what} breaks ${violations.length} hardening rule${violations.length === 1 ? '' : 's'}:`,
    violations.map((v) => ({ ...v, path: `${v.object} ${v.path}` })),
  );
}
