/**
 * The parts of the spec module that need neither the YAML parser nor the schema library, so that a
 * build whose spec comes from the parsed-spec cache (spec-cache.ts) never loads them (they were most
 * of a repeat push's start-up). spec.ts re-exports everything here.
 */
import { createHash } from 'node:crypto';
import type { CustomizeSpec } from './spec';

export const DEFAULT_FILE_MODE = 0o644;
export const DEFAULT_DIR_MODE = 0o755;

const CPU_VARIANT_RE = /^v[0-9]+$/;

/** A digest of the spec's meaning (not its formatting), used in the history comment. */
export function specDigest(spec: CustomizeSpec): string {
  const h = createHash('sha256');
  h.update(stableStringify(spec));
  return `sha256:${h.digest('hex')}`;
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableStringify((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** True when `variant` names a CPU variant (v7, v8, ...) rather than an image flavour (prod, dev). */
export function isCpuVariant(variant: string | undefined): variant is string {
  return variant !== undefined && CPU_VARIANT_RE.test(variant);
}
