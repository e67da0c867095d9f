/**
 * Helpers to call the framework-neutral core with Pulumi inputs: directly when every input is a
 * plain value (so bad props fail at construction, like the cdk8s face), inside an `apply` when some
 * are Outputs or promises (the same core, the same errors, raised when the values are known).
 */
import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import { CleanimgError, type Problem } from '../errors';

/** Either a value known now, or an Output of it. */
export type Known<T> = { readonly plain: true; readonly value: T; /** Some fields of `value` are Outputs (see resolveWithLate). */ readonly late?: true } | { readonly plain: false; readonly value: pulumi.Output<T> };

/** True when `v` contains no Output, promise or Resource anywhere (so it can be used as is). */
export function isPlain(v: unknown, seen = new Set<unknown>()): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (pulumi.Output.isInstance(v) || pulumi.Resource.isInstance(v)) return false;
  if (typeof (v as { then?: unknown }).then === 'function') return false;
  if (seen.has(v)) return true;
  seen.add(v);
  return Object.values(v as object).every((x) => isPlain(x, seen));
}

/**
 * The prop paths (`containers[0].env.TOKEN`) of the secret Outputs under `input`, where `skip` allows
 * none of them: a Pulumi secret given to a field that is sent to the cluster (and shown by
 * `kubectl get`) in plain text. Resources and promises are not looked into.
 */
export async function secretOutputPaths(input: unknown, skip: (path: string) => boolean = () => false, path = '', seen = new Set<unknown>()): Promise<string[]> {
  if (input === null || typeof input !== 'object' || pulumi.Resource.isInstance(input) || seen.has(input) || skip(path)) return [];
  seen.add(input);
  if (pulumi.Output.isInstance(input)) return (await pulumi.isSecret(input)) ? [path] : [];
  if (typeof (input as { then?: unknown }).then === 'function') return [];
  const entries = Array.isArray(input) ? input.map((v, i) => [`${path}[${i}]`, v] as const) : Object.entries(input).map(([k, v]) => [path ? `${path}.${k}` : k, v] as const);
  return (await Promise.all(entries.map(([p, v]) => secretOutputPaths(v, skip, p, seen)))).flat();
}

/** A guard run before the values are used: problems found (asynchronously) fail the resolution with them. */
export type InputGuard = { readonly what: string; readonly problems: Promise<readonly Problem[]> };

function failOn(guard: InputGuard | undefined): pulumi.Output<true> {
  return pulumi.output(guard?.problems ?? []).apply((problems) => {
    if (problems.length) throw new CleanimgError(`${guard!.what}: ${problems.length} invalid prop${problems.length === 1 ? '' : 's'}:`, problems as Problem[]);
    return true as const;
  });
}

/** Runs `fn` over `input` now when it is plain, else inside `pulumi.output(input).apply` (after `guard`, if any, found nothing). */
export function resolveWith<I, O>(input: I, fn: (value: pulumi.Unwrap<I>) => O, guard?: InputGuard): Known<O> {
  if (isPlain(input)) return { plain: true, value: fn(input as pulumi.Unwrap<I>) };
  return { plain: false, value: pulumi.all([failOn(guard), pulumi.output(input)]).apply(([, v]) => fn(v as pulumi.Unwrap<I>)) as pulumi.Output<O> };
}

/** The value as a Pulumi Input: the plain value itself, or the Output. */
export function asInput<T>(k: Known<T>): pulumi.Input<T> {
  return k.value as pulumi.Input<T>;
}

/** Maps a Known value: synchronously when plain, through `apply` otherwise. */
export function mapKnown<T, U>(k: Known<T>, fn: (v: T) => U): Known<U> {
  return k.plain ? { plain: true, value: fn(k.value), ...(k.late ? { late: true as const } : {}) } : { plain: false, value: k.value.apply((v) => fn(v as T)) as pulumi.Output<U> };
}

/** The value as an Output (for component outputs). */
export function asOutput<T>(k: Known<T>): pulumi.Output<T> {
  return k.plain ? (pulumi.output(k.value as pulumi.Input<T>) as unknown as pulumi.Output<T>) : k.value;
}

/** A stand-in for a late value: a valid digest-pinned reference on a reserved (`.invalid`) host. */
function standInRef(n: number): string {
  return `pending.cleanimg.invalid/late-${n}@sha256:${createHash('sha256').update(`cleanimg late value ${n} ${process.pid} ${Math.random()}`).digest('hex')}`;
}

/** Replaces every string equal to a key of `late` by its value; counts exact and embedded hits. */
function fillLate(v: unknown, late: ReadonlyMap<string, unknown>, hits: Map<string, number>): { value: unknown; embedded: boolean } {
  if (typeof v === 'string') {
    if (late.has(v)) {
      hits.set(v, (hits.get(v) ?? 0) + 1);
      return { value: late.get(v), embedded: false };
    }
    for (const k of late.keys()) if (v.includes(k)) return { value: v, embedded: true };
    return { value: v, embedded: false };
  }
  if (v === null || typeof v !== 'object') return { value: v, embedded: false };
  let embedded = false;
  const out: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
  for (const [k, x] of Object.entries(v as object)) {
    const r = fillLate(x, late, hits);
    embedded ||= r.embedded;
    (out as Record<string, unknown>)[k] = r.value;
  }
  return { value: out, embedded };
}

/**
 * `resolveWith`, for inputs whose only unknowns are values that pass through `fn` unchanged — a
 * container image that a build in the same stack will push (a CustomizedImage's `ref`). `lateValues`
 * maps the input, calling `late(v)` on each such value: an Output or promise is replaced by a
 * stand-in reference, so `fn` runs now and the result stays known except exactly those fields, each
 * an Output of the real value. So `pulumi preview` of a new image digest shows an update of the
 * Deployment's image, not an unknown object (which the Kubernetes provider would plan as a
 * replacement). The real values are checked by running `fn` once more when they are known (the same
 * errors as `resolveWith`). When anything else is an Output, or a stand-in does not come out as a
 * whole field, this is `resolveWith`.
 */
export function resolveWithLate<I, O>(input: I, fn: (value: pulumi.Unwrap<I>) => O, lateValues: (input: I, late: (v: unknown) => unknown) => I, guard?: InputGuard): Known<O> {
  if (isPlain(input)) return { plain: true, value: fn(input as pulumi.Unwrap<I>) };
  const late = new Map<string, unknown>();
  const substituted = lateValues(input, (v) => {
    if (isPlain(v)) return v;
    const ref = standInRef(late.size);
    late.set(ref, v);
    return ref;
  });
  if (late.size === 0 || !isPlain(substituted)) return resolveWith(input, fn, guard);
  let now: O;
  try {
    now = fn(substituted as pulumi.Unwrap<I>);
  } catch {
    return resolveWith(input, fn, guard); // judged with the real values, when known
  }
  const checked = pulumi.all([failOn(guard), pulumi.output(input)]).apply(([, v]) => {
    fn(v as pulumi.Unwrap<I>);
    return true;
  });
  const replacements = new Map<string, unknown>();
  for (const [ref, v] of late) replacements.set(ref, pulumi.all([checked, pulumi.output(v as pulumi.Input<unknown>)]).apply(([, real]) => real));
  const hits = new Map<string, number>();
  const filled = fillLate(now, replacements, hits);
  if (filled.embedded || hits.size !== late.size) return resolveWith(input, fn, guard);
  return { plain: true, value: filled.value as O, late: true };
}

/** The `lateValues` of HardenedDeployment props: the image of every container and init container. */
export function lateContainerImages<I extends { readonly containers: readonly unknown[]; readonly initContainers?: readonly unknown[] }>(input: I, late: (v: unknown) => unknown): I {
  const map = (cs: readonly unknown[]) => cs.map((c) => (c && typeof c === 'object' && 'image' in c ? { ...c, image: late((c as { image: unknown }).image) } : c));
  return { ...input, containers: map(input.containers), ...(input.initContainers ? { initContainers: map(input.initContainers) } : {}) };
}
