/**
 * Findings during `pulumi preview`, when some input values are not known yet.
 *
 * A finding is kept when it does not depend on an unknown value: it is reported with the unknown
 * values left out AND with them replaced by every candidate value in turn (a string, a number,
 * both booleans, an empty object, an empty list, a few values the rules ask for, and every value
 * found in the object itself). A privileged container whose env value is unknown
 * is still privileged, whatever that value is, so the finding stays; a volume whose source is
 * unknown may be a sized emptyDir, so "no source" is set aside. A finding inside an unknown value
 * (the unknown value is the insecure part, e.g. `hostNetwork`) cannot be judged and is set aside too.
 *
 * What is set aside is judged at `pulumi up`, where every value is known when the policies run. A
 * program that writes Pulumi's unknown sentinel itself gains nothing there: the engine drops that
 * value at `up`, and the pack judges the object without it, which is what the provider applies.
 */
import type { KubeObject, Violation } from '../rules';

/** Generic probes, and the values the rules ask of a few fields (`drop: [ALL]`, seccomp `RuntimeDefault`). */
const PROBES: readonly unknown[] = ['unknown', 1, true, false, {}, [], 'ALL', 'RuntimeDefault'];

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
const keyOf = (v: Violation) => `${v.code} ${v.path}`;

/** `object` with the value at each JSON pointer in `pointers` set to `value`. */
function withValueAt(object: KubeObject, pointers: readonly string[], value: unknown): KubeObject {
  const copy = structuredClone(object) as Record<string, unknown>;
  for (const pointer of pointers) {
    const keys = pointer.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    let node: unknown = copy;
    for (const k of keys.slice(0, -1)) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined;
    if (node !== null && typeof node === 'object') (node as Record<string, unknown>)[keys[keys.length - 1]!] = structuredClone(value);
  }
  return copy as KubeObject;
}

/** The finding keys of `judge` over `object` with every unknown set to `probe`; undefined when the rules cannot read it. */
function probed(object: KubeObject, unknown: readonly string[], probe: unknown, judge: (o: KubeObject) => Violation[]): Set<string> | undefined {
  try {
    return new Set(judge(withValueAt(object, unknown, probe)).map(keyOf));
  } catch {
    return undefined;
  }
}

/**
 * The values to try in place of the unknown ones: the generic probes, and every value the object
 * holds itself (so that a rule comparing two fields, e.g. a selector with the template's labels,
 * sees the unknown one equal to the other).
 */
function candidates(object: KubeObject): unknown[] {
  const seen = new Map<string, unknown>(PROBES.map((p) => [JSON.stringify(p), p]));
  const visit = (v: unknown) => {
    const json = JSON.stringify(v);
    if (json === undefined || json.length > MAX_CANDIDATE_JSON) return;
    if (!seen.has(json)) seen.set(json, v);
    if (v !== null && typeof v === 'object') Object.values(v).forEach(visit);
  };
  Object.values(object).forEach(visit);
  return [...seen.values()];
}
const MAX_CANDIDATE_JSON = 4096;

/**
 * The findings of `judge` over `object` (whose values at the `unknown` pointers are left out) that
 * hold whatever the unknown values turn out to be, as far as the candidates tell.
 */
export function knownFindings(object: KubeObject, unknown: readonly string[], judge: (o: KubeObject) => Violation[]): Violation[] {
  const found = judge(object);
  if (unknown.length === 0) return found;
  let kept = found.filter((v) => !unknown.some((u) => under(v.path, u)));
  for (const candidate of candidates(object)) {
    if (kept.length === 0) break;
    const keys = probed(object, unknown, candidate, judge);
    if (keys) kept = kept.filter((v) => keys.has(keyOf(v)));
  }
  return kept;
}
