/**
 * Kubernetes resource quantities (`64Mi`, `1Gi`, `500m`, `2`, `1e3`): parsing to numbers so that
 * sizes can be compared and summed. Canonical formatting is left to Kubernetes; we keep the user's string.
 */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([numkMGTPE]?)|[eE]([+-]?\d+))$/;

/** True when `s` is a Kubernetes quantity string. */
export function isQuantity(s: unknown): s is string {
  return typeof s === 'string' && QUANTITY.test(s);
}

/** The value of a quantity in base units (bytes for memory and storage, cores for CPU). Throws on a malformed string. */
export function parseQuantity(s: string | number): number {
  if (typeof s === 'number') return s;
  const m = QUANTITY.exec(s);
  if (!m) throw new Error(`"${s}" is not a Kubernetes quantity (examples: 64Mi, 1Gi, 250m, 2)`);
  const n = Number(m[1]);
  if (m[2]) return n * BINARY[m[2]]!;
  if (m[4] !== undefined) return n * 10 ** Number(m[4]);
  return n * DECIMAL[m[3] ?? '']!;
}
