import { CleanimgError } from '../errors';
import { CLUSTER_RULES } from './cluster-rules';
import { CONFIG_RULES } from './config-rules';
import { GUARD_RULES } from './guard-rules';
import { scanPodSpecs, withScan, type PodScan } from './pod-spec';
import { POD_RULES, WORKLOAD_RULES } from './pod-rules';
import { PSS_RULES } from './pss-rules';
import { objectId, type KubeObject, type PodSpecSite, type Rule, type Violation } from './rule';
import { SHAPE_RULES } from './shape-rules';
import { HD033 } from './yaml-text';

export type { Finding, KubeObject, Rule, Violation } from './rule';
export { objectId } from './rule';
export { MIN_ID } from './pod-rules';
export { looksLikeSecretName, secretValueReason } from './secret-patterns';
export { GO_UNSAFE_RAW, goYamlTextFindings, goYamlTextViolations, readAsNumberByGo, type YamlTextFinding, type YamlTextOptions } from './yaml-text';

/** The one rule list, in id order. Every guard (constructs, the synth plugin, the CLI, policy packs) runs exactly this. */
export const RULES: readonly Rule[] = [...POD_RULES, ...WORKLOAD_RULES, ...PSS_RULES, ...CONFIG_RULES, ...SHAPE_RULES, ...GUARD_RULES, ...CLUSTER_RULES, HD033].sort((a, b) => a.id.localeCompare(b.id));

export function ruleById(id: string): Rule | undefined {
  return RULES.find((r) => r.id === id);
}

/** How deep Lists may nest inside Lists before the guards stop and refuse (HD034). */
export const MAX_LIST_DEPTH = 16;

/** Where a checked object sits: the id of the List it is in (if any, the outermost), its JSON pointer prefix, the List depth. */
interface Place {
  readonly top?: string;
  readonly prefix: string;
  readonly depth: number;
}

/**
 * Runs every rule over one object and each of its pod specs (a rule that does not look at the pod
 * spec reports once, not once per pod spec).
 */
function checkOne(object: KubeObject, rules: readonly Rule[], at: Place, out: Violation[]): void {
  const scan: PodScan = scanPodSpecs(object);
  const own = objectId(object);
  const reportedAs = at.top ?? own;
  const says = at.top ? `${own}: ` : '';
  const sites: readonly (PodSpecSite | undefined)[] = scan.sites.length ? scan.sites : [undefined];
  const seen = sites.length > 1 ? new Set<string>() : undefined;
  withScan(object, scan, () => {
    for (const rule of rules) {
      for (const pod of sites) {
        for (const f of rule.check(object, pod)) {
          if (seen) {
            const key = `${rule.id}\0${f.path}\0${f.message}`;
            if (seen.has(key)) continue;
            seen.add(key);
          }
          out.push({ code: rule.id, title: rule.title, object: reportedAs, path: `${at.prefix}${f.path}`, message: `${says}${f.message}`, fix: f.fix ?? rule.fix });
        }
      }
    }
  });
}

/**
 * Every object with an `items` list is a List to kubectl, whatever its kind (apimachinery decodes
 * any JSON with `items` into an UnstructuredList, and kubectl applies the items, recursively).
 */
function itemsOf(o: KubeObject): unknown[] | undefined {
  const items = (o as { items?: unknown }).items;
  return Array.isArray(items) ? items : undefined;
}

/** An item without kind and apiVersion takes them from its typed List, as apimachinery does (`DeploymentList` items are Deployments). */
function typedItem(item: KubeObject, list: KubeObject): KubeObject {
  if (item.kind !== undefined || item.apiVersion !== undefined) return item;
  const kind = typeof list.kind === 'string' && list.kind.endsWith('List') ? list.kind.slice(0, -4) : '';
  return kind ? { ...item, apiVersion: list.apiVersion, kind } : item;
}

function walk(object: unknown, rules: readonly Rule[], at: Place, out: Violation[]): void {
  if (!object || typeof object !== 'object' || Array.isArray(object)) return;
  const o = object as KubeObject;
  const items = itemsOf(o);
  if (!items) return checkOne(o, rules, at, out);
  const wrapper: KubeObject = { ...o };
  delete wrapper.items;
  checkOne(wrapper, rules, at, out);
  const top = at.top ?? objectId(o);
  if (at.depth >= MAX_LIST_DEPTH) {
    const hd034 = rules.find((r) => r.id === 'HD034');
    if (hd034) out.push({ code: hd034.id, title: hd034.title, object: top, path: `${at.prefix}/items`, message: `Lists nest more than ${MAX_LIST_DEPTH} deep here; the guards stop looking`, fix: hd034.fix });
    return;
  }
  items.forEach((item, i) => {
    if (item && typeof item === 'object' && !Array.isArray(item)) walk(typedItem(item as KubeObject, o), rules, { top, prefix: `${at.prefix}/items/${i}`, depth: at.depth + 1 }, out);
  });
}

/**
 * Runs every rule over one object: over every pod spec it carries (found by shape, whatever its
 * kind), and over every item of a List (any object with an `items` list, as kubectl reads it:
 * `List`, `DeploymentList`...), recursively. Findings inside a List name the List as their object,
 * the item in their path (`/items/3/spec/...`) and the item's own id at the start of the message.
 */
export function checkObject(object: KubeObject, rules: readonly Rule[] = RULES): Violation[] {
  const out: Violation[] = [];
  walk(object, rules, { prefix: '', depth: 0 }, out);
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
