/**
 * Helpers to call the framework-neutral core with Pulumi inputs: directly when every input is a
 * plain value (so bad props fail at construction, like the cdk8s face), inside an `apply` when some
 * are Outputs or promises (the same core, the same errors, raised when the values are known).
 */
import * as pulumi from '@pulumi/pulumi';

/** Either a value known now, or an Output of it. */
export type Known<T> = { readonly plain: true; readonly value: T } | { readonly plain: false; readonly value: pulumi.Output<T> };

/** True when `v` contains no Output, promise or Resource anywhere (so it can be used as is). */
export function isPlain(v: unknown, seen = new Set<unknown>()): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (pulumi.Output.isInstance(v) || pulumi.Resource.isInstance(v)) return false;
  if (typeof (v as { then?: unknown }).then === 'function') return false;
  if (seen.has(v)) return true;
  seen.add(v);
  return Object.values(v as object).every((x) => isPlain(x, seen));
}

/** Runs `fn` over `input` now when it is plain, else inside `pulumi.output(input).apply`. */
export function resolveWith<I, O>(input: I, fn: (value: pulumi.Unwrap<I>) => O): Known<O> {
  if (isPlain(input)) return { plain: true, value: fn(input as pulumi.Unwrap<I>) };
  return { plain: false, value: pulumi.output(input).apply((v) => fn(v as pulumi.Unwrap<I>)) as pulumi.Output<O> };
}

/** The value as a Pulumi Input: the plain value itself, or the Output. */
export function asInput<T>(k: Known<T>): pulumi.Input<T> {
  return k.value as pulumi.Input<T>;
}

/** Maps a Known value: synchronously when plain, through `apply` otherwise. */
export function mapKnown<T, U>(k: Known<T>, fn: (v: T) => U): Known<U> {
  return k.plain ? { plain: true, value: fn(k.value) } : { plain: false, value: k.value.apply((v) => fn(v as T)) as pulumi.Output<U> };
}

/** The value as an Output (for component outputs). */
export function asOutput<T>(k: Known<T>): pulumi.Output<T> {
  return k.plain ? (pulumi.output(k.value as pulumi.Input<T>) as unknown as pulumi.Output<T>) : k.value;
}
