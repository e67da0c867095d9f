import { CleanimgError } from '../errors';
import { MIN_ID } from '../rules/pod-rules';

declare const nonRootIdBrand: unique symbol;

/**
 * A UID or GID that is not root and not a system ID: 65532 (the default, "nonroot" in distroless and
 * CleanStart images) or any integer >= 10000 passed through {@link nonRootId}. `0`, `1000` or a plain
 * `number` do not type-check.
 */
export type NonRootId = 65532 | (number & { readonly [nonRootIdBrand]: true });

/** The default UID and GID of hardened workloads. */
export const DEFAULT_ID = 65532 as const;

/** Checks `n` at run time and returns it as a {@link NonRootId}. */
export function nonRootId(n: number): NonRootId {
  if (!Number.isInteger(n) || n < MIN_ID || n > 2 ** 31 - 1) {
    throw new CleanimgError('invalid user or group ID', [{
      code: 'HD002', path: 'runAsUser', message: `${n} is not an integer between ${MIN_ID} and ${2 ** 31 - 1}${n === 0 ? ' (0 is root)' : ''}`,
      fix: `use 65532 or another ID >= ${MIN_ID}`,
    }]);
  }
  return n as NonRootId;
}
