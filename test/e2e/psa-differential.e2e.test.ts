// The rule list is a superset of Pod Security Standards baseline + restricted, shown against the
// upstream evaluator (psa-check: k8s.io/pod-security-admission, restricted, latest), not against our
// own expectations. Thousands of random pods (FC_RUNS, default 3000; FC_SEED replays a run) made by
// mutating hardened objects from src/core across every field an upstream check reads (pod level,
// containers, init and ephemeral containers, the AppArmor annotation; odd-but-type-valid and null-ish
// values), in every workload kind and as bare Pods. Every pod upstream refuses must be refused by
// checkObject, by a rule that stands for the refusing check: zero misses. Counts are printed.
import { describe, expect, it } from 'vitest';
import { RULES } from '../../src/rules';
import { compare, describeMiss, runDifferential, summary, UPSTREAM_TO_RULES, type Differential } from '../rules/psa/differential';
import { findPsaCheck, judge, type PsaCheck } from '../rules/psa/psa-check';
import { inCI } from './support/tools';

const RUNS = Number(process.env.FC_RUNS ?? 3000);
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);

const found = findPsaCheck();
const missing = 'reason' in found ? found.reason : undefined;
if (missing && inCI()) throw new Error(`E2E_TOOL_MISSING: ${missing}`);
if (missing) process.stderr.write(`[e2e] skipping psa-differential: ${missing}\n`);

describe.skipIf(missing !== undefined)('our rules against the upstream Pod Security evaluator', () => {
  const psa = found as PsaCheck;
  let d: Differential | undefined;
  const differential = () => (d ??= runDifferential(psa, RUNS, SEED));

  it('maps every upstream check id in force (restricted, latest) to rules of ours, and no other id', () => {
    const upstream = psa.checks.map((c) => c.id).sort();
    // A new upstream check fails here until it is mapped (and covered by a rule).
    expect(upstream.filter((id) => !UPSTREAM_TO_RULES[id])).toEqual([]);
    expect(Object.keys(UPSTREAM_TO_RULES).sort()).toEqual(upstream);
    for (const rules of Object.values(UPSTREAM_TO_RULES)) for (const id of rules) expect(RULES.some((r) => r.id === id)).toBe(true);
    expect(psa.checks.map((c) => c.level)).toEqual(expect.arrayContaining(['baseline', 'restricted']));
  });

  it(`refuses every pod upstream refuses: ${RUNS} random pods, zero misses`, () => {
    const r = differential();
    process.stderr.write(`[e2e] psa-differential: ${summary(r)}\n`);
    expect(r.generated).toBe(RUNS);
    expect(r.misses.map(describeMiss), `seed ${SEED}`).toEqual([]);
    expect(r.checkMisses.map(describeMiss), `seed ${SEED}`).toEqual([]);
    // The generator reaches every upstream check (not only the easy ones).
    if (RUNS >= 1000) expect(Object.keys(r.perCheck).sort()).toEqual(psa.checks.map((c) => c.id).sort());
  });

  it('control: without the rules that stand for an upstream check, the same pods show misses', () => {
    const r = differential();
    const silent: string[] = [];
    for (const [id, rules] of Object.entries(UPSTREAM_TO_RULES)) {
      if ((r.perCheck[id] ?? 0) < 30) continue; // too few samples to expect one refused for that reason alone
      const without = compare(r.cases, r.upstream, r.seed, RULES.filter((x) => !rules.includes(x.id)));
      if (without.misses.length === 0) silent.push(`${id} (without ${rules.join(', ')})`);
    }
    expect(silent, `seed ${SEED}`).toEqual([]);
  });

  it('control: psa-check decodes as the API server does, field names case-sensitive', () => {
    const podWith = (spec: Record<string, unknown>) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' },
      spec: { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, containers: [{ name: 'c', image: 'x', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }], ...spec },
    });
    const [upper, lower] = judge(psa, [podWith({ HostNetwork: true }), podWith({ hostNetwork: true })]);
    expect(upper).toEqual({ document: 0, file: '-', kind: 'Pod', name: 'p', path: '/spec', allowed: true, checks: [] });
    expect(lower!.checks).toEqual(['hostNamespaces']);
  });
});
