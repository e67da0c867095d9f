/**
 * What HardenedApp writes is exactly what it checked. Between the check and the write, cdk8s runs
 * construct validations again and resolves objects again, and user code runs in both: a Lazy value
 * can answer differently the second time, a validation can edit the objects or add a chart. So:
 *
 * - every ApiObject is resolved once and its result pinned (deep-frozen, returned by `toJson`);
 * - every checked object is deep-frozen, so nothing can edit it after the check;
 * - writes are held back: each document handed to cdk8s's YAML writer must be one of the checked
 *   objects (by identity), no ApiObject may appear after the pins were made, and files are written
 *   only when all of that holds. An object or chart made during synth refuses the whole write (HD034).
 *
 * Code that rewrites cdk8s itself or Node's built-ins runs with the same rights as this guard and can
 * defeat it; the synth plugin and `cleanimg-customize check` read the written files in another process.
 */
import { writeFileSync } from 'node:fs';
import { ApiObject, Yaml } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { CleanimgError } from '../errors';

/** Freezes `value` and everything reachable from it. */
export function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || Object.isFrozen(v)) continue;
    Object.freeze(v);
    for (const k of Object.keys(v)) stack.push((v as Record<string, unknown>)[k]);
  }
  return value;
}

export interface Pins {
  /** Refuses (HD034) any ApiObject under the scope that was not there when the pins were made. */
  assertNoneAdded(): void;
  /** Gives every pinned object its own `toJson` back. */
  unpin(): void;
}

const madeDuringSynth = (what: string) => ({
  code: 'HD034', path: what,
  message: 'made or changed during synth, after the hardening check (by a validation, a Lazy value or a chart added then)',
  fix: 'create and finish every object before app.synth()',
});

const notData = (where: string, what: string) => ({
  code: 'HD034', path: where,
  message: `${what}: a writer could read something other than what the hardening check read`,
  fix: 'give objects plain data only (strings, numbers, booleans, null, plain objects and arrays); resolve values before toJson returns them',
});

/**
 * A copy of `value` that holds data only, each property read once: plain objects (prototype
 * Object.prototype or null) and arrays rebuilt, strings, numbers, booleans, null and undefined kept.
 * A function (such as an own `toJSON`, which the `yaml` package calls instead of reading the object),
 * a getter or setter (which can answer the check one way and the writer another), a class instance,
 * a symbol or a bigint is refused (HD034), as is a cycle. Symbol keys and non-enumerable properties
 * are left out: no writer reads them. A Proxy is read once, through its property descriptors. The
 * copy is frozen as it is built (deep-frozen when it is returned), so no second pass freezes it.
 */
export function dataOnly(value: unknown, where: string, seen: Set<object> = new Set()): unknown {
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') return value;
  if (typeof value !== 'object') throw new CleanimgError('the app (nothing was written): an object holds something other than data', [notData(where, `a ${typeof value}`)]);
  if (seen.has(value)) throw new CleanimgError('the app (nothing was written): an object holds something other than data', [notData(where, 'a cycle (an object that contains itself)')]);
  const isArray = Array.isArray(value);
  const proto = Object.getPrototypeOf(value) as unknown;
  if (isArray ? proto !== Array.prototype : proto !== Object.prototype && proto !== null) {
    throw new CleanimgError('the app (nothing was written): an object holds something other than data', [notData(where, 'an instance of a class, not a plain object or array')]);
  }
  seen.add(value);
  const copy: Record<string, unknown> | unknown[] = isArray ? [] : {};
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key === 'symbol') continue;
    const d = Object.getOwnPropertyDescriptor(value, key);
    if (!d || (!d.enumerable && !(isArray && key !== 'length' && /^\d+$/.test(key)))) continue;
    if (isArray && key === 'length') continue;
    if (d.get || d.set) throw new CleanimgError('the app (nothing was written): an object holds something other than data', [notData(`${where}/${key}`, 'a getter or setter')]);
    (copy as Record<string, unknown>)[key] = dataOnly(d.value, `${where}/${key}`, seen);
  }
  seen.delete(value);
  return Object.freeze(copy);
}

/**
 * Resolves every ApiObject under `scope` once and makes its `toJson` return that result as a frozen
 * copy holding data only ({@link dataOnly}): the rules and the writer then read the same values.
 */
export function pinApiObjects(scope: IConstruct): Pins {
  const pinned = new Set<ApiObject>();
  for (const c of scope.node.findAll()) {
    if (!(c instanceof ApiObject)) continue;
    const json = dataOnly(c.toJson(), c.node.path);
    Object.defineProperty(c, 'toJson', { value: () => json, configurable: true });
    pinned.add(c);
  }
  return {
    assertNoneAdded() {
      const added = scope.node.findAll().filter((c) => c instanceof ApiObject && !pinned.has(c));
      if (added.length) throw new CleanimgError('the app (nothing was written): objects were added during synth, after the hardening check', added.map((c) => madeDuringSynth(c.node.path)));
    },
    unpin() { for (const o of pinned) delete (o as { toJson?: unknown }).toJson; },
  };
}

function describe(doc: unknown): string {
  const o = (doc ?? {}) as { kind?: unknown; metadata?: { name?: unknown } };
  return `${String(o.kind ?? '?')}/${String(o.metadata?.name ?? '?')}`;
}

/**
 * Runs `write` (cdk8s's synth or synthYaml) so that only `checked` documents reach the YAML writer,
 * and files are written only after every document has passed and `verify` (run after `write`) has not thrown.
 */
export function writeOnlyChecked<T>(checked: ReadonlySet<unknown>, write: () => T, verify: () => void = () => undefined): T {
  const stringify = Yaml.stringify;
  const save = Yaml.save;
  const held: [string, string][] = [];
  Yaml.stringify = (...docs: unknown[]) => {
    const unseen = docs.filter((d) => !checked.has(d));
    if (unseen.length) {
      throw new CleanimgError('the app (nothing was written): objects reached the writer that the hardening check never saw', unseen.map((d) => madeDuringSynth(describe(d))));
    }
    return stringify.apply(Yaml, docs);
  };
  Yaml.save = (file: string, docs: unknown[]) => { held.push([file, Yaml.stringify(...docs)]); };
  let result: T;
  try {
    result = write();
    verify();
  } finally {
    Yaml.stringify = stringify;
    Yaml.save = save;
  }
  for (const [file, text] of held) writeFileSync(file, text, { encoding: 'utf8' });
  return result;
}
