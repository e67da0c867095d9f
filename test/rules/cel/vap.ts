/**
 * A small stand-in for the API server's ValidatingAdmissionPolicy evaluation, on a plain CEL
 * evaluator: JSON is converted as Kubernetes converts unstructured objects (objects to maps,
 * integers to int, other numbers to double), variables are evaluated in order, each validation
 * denies when it is false, and its messageExpression (else message) is the denial message. An
 * evaluation error is reported as such, never as an allow.
 */
import { isCelError, parse, plan, celEnv, type CelInput } from '@bufbuild/cel';
import type { CelMatchCondition, CelValidation, CelVariable } from '../../../src/rules/cel';

export function toCel(v: unknown): CelInput {
  if (Array.isArray(v)) return v.map(toCel) as CelInput;
  if (v && typeof v === 'object') return new Map(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, toCel(x)])) as CelInput;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return v as CelInput;
}

const env = celEnv();
const cache = new Map<string, ReturnType<typeof plan>>();
function compiled(expr: string) {
  let p = cache.get(expr);
  if (!p) {
    p = plan(env, parse(expr));
    cache.set(expr, p);
  }
  return p;
}

/** Evaluates one expression; throws on a CEL error (with the expression in the message). */
export function evalCel(expr: string, bindings: Record<string, CelInput>): unknown {
  const r = compiled(expr)(bindings as never);
  if (isCelError(r)) throw new Error(`CEL error ${r.message} in: ${expr.slice(0, 200)}`);
  return r;
}

export interface Admission {
  readonly allowed: boolean;
  /** Denial messages, in validation order. */
  readonly messages: string[];
  /** Rule ids at the start of each denial message. */
  readonly ids: string[];
  /** Evaluation errors (the API server would deny these with failurePolicy Fail). */
  readonly errors: string[];
}

export interface Request {
  /** @default CREATE */
  readonly operation?: 'CREATE' | 'UPDATE';
  readonly oldObject?: unknown;
  /** The request's namespace, `''` for a cluster-scoped object. @default the object's namespace, else `default` */
  readonly namespace?: string;
}

export function admit(
  spec: { variables: readonly CelVariable[]; validations: readonly CelValidation[]; matchConditions?: readonly CelMatchCondition[] },
  object: unknown,
  request: Request = {},
): Admission {
  const errors: string[] = [];
  const vars = new Map<string, unknown>();
  const obj = toCel(object);
  const operation = request.operation ?? 'CREATE';
  const namespace = request.namespace ?? (object as { metadata?: { namespace?: string } } | null)?.metadata?.namespace ?? 'default';
  // As the API server does: a cluster-scoped request has no `namespace` key (reading it is an error).
  const base = { object: obj, oldObject: toCel(request.oldObject ?? null), request: toCel({ operation, ...(namespace ? { namespace } : {}) }) };
  // matchConditions: all must be true for the policy to apply (an error counts as an error).
  for (const m of spec.matchConditions ?? []) {
    let r: unknown;
    try { r = evalCel(m.expression, base); } catch (e) { errors.push(`matchCondition ${m.name}: ${(e as Error).message}`); continue; }
    if (r === false) return { allowed: errors.length === 0, messages: [], ids: [], errors };
  }
  for (const v of spec.variables) {
    try { vars.set(v.name, evalCel(v.expression, { ...base, variables: vars as unknown as CelInput })); } catch (e) { errors.push(`variable ${v.name}: ${(e as Error).message}`); }
  }
  const messages: string[] = [];
  for (const val of spec.validations) {
    let ok: unknown;
    try { ok = evalCel(val.expression, { ...base, variables: vars as unknown as CelInput }); } catch (e) { errors.push((e as Error).message); continue; }
    if (ok === true) continue;
    if (ok !== false) { errors.push(`not a bool: ${String(ok)}`); continue; }
    let msg = val.message;
    if (val.messageExpression) {
      try { msg = String(evalCel(val.messageExpression, { ...base, variables: vars as unknown as CelInput })); } catch (e) { errors.push(`messageExpression: ${(e as Error).message}`); }
    }
    messages.push(msg);
  }
  return { allowed: messages.length === 0 && errors.length === 0, messages, ids: messages.map((m) => m.split(' ')[0]!), errors };
}
