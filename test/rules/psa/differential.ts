// The differential between the upstream Pod Security evaluator (psa-check, restricted, latest) and
// our rule list: every pod upstream refuses, our rules must refuse too (a "miss" is one they let
// through), and for each upstream check that refuses it, one of the rules that stand for that check
// must fire (a "check miss"). Being stricter than upstream is fine and only counted.
import fc from 'fast-check';
import { checkObject, RULES, type Rule } from '../../../src/rules';
import { podCase, type PodCase } from './pod-mutations';
import { judge, type PsaCheck } from './psa-check';

/**
 * Each upstream check id (k8s.io/pod-security-admission/policy, restricted at latest) and the rule
 * ids that refuse what it refuses. A new upstream check fails the mapping test until it is added.
 */
export const UPSTREAM_TO_RULES: Readonly<Record<string, readonly string[]>> = {
  allowPrivilegeEscalation: ['HD005'],
  appArmorProfile: ['HD023'],
  capabilities_restricted: ['HD007'],
  hostNamespaces: ['HD009'],
  hostPorts: ['HD011'],
  hostProbesAndHostLifecycle: ['HD028'],
  privileged: ['HD006'],
  procMount_restricted: ['HD025'],
  // A hostPath volume is HD010's; every other source upstream refuses (and a volume with none) is HD012's.
  restrictedVolumes: ['HD010', 'HD012'],
  runAsNonRoot: ['HD001'],
  runAsUser: ['HD002'],
  seLinuxOptions: ['HD024'],
  seccompProfile_restricted: ['HD008'],
  sysctls: ['HD026'],
  windowsHostProcess: ['HD027'],
};

export interface Miss {
  readonly case: PodCase;
  readonly upstream: readonly string[];
  readonly ours: readonly string[];
  /** Upstream checks none of whose rules fired. */
  readonly unmatched: readonly string[];
}

export interface Differential {
  readonly seed: number;
  readonly generated: number;
  readonly upstreamRejected: number;
  readonly oursRejected: number;
  /** Upstream refuses, our rules accept the whole object. */
  readonly misses: readonly Miss[];
  /** Upstream check refuses, none of its rules fire (the object may still be refused for another reason). */
  readonly checkMisses: readonly Miss[];
  /** Per upstream check id: how many objects it refused. */
  readonly perCheck: Readonly<Record<string, number>>;
  readonly cases: readonly PodCase[];
  readonly upstream: readonly (readonly string[])[];
}

/** Our rule ids that fire on an object. */
export function ourIds(object: unknown, rules: readonly Rule[] = RULES): string[] {
  return [...new Set(checkObject(object as never, rules).map((v) => v.code))].sort();
}

const BATCH = 500;

/** Generates `runs` cases from `seed`, has upstream judge them in batches, and compares. */
export function runDifferential(psa: PsaCheck, runs: number, seed: number, rules: readonly Rule[] = RULES): Differential {
  const cases = fc.sample(podCase, { numRuns: runs, seed });
  const upstream: string[][] = [];
  for (let i = 0; i < cases.length; i += BATCH) upstream.push(...judge(psa, cases.slice(i, i + BATCH).map((c) => c.object)).map((v) => [...v.checks]));
  return compare(cases, upstream, seed, rules);
}

/** The comparison alone, so it can be rerun with fewer rules (the control) without asking upstream again. */
export function compare(cases: readonly PodCase[], upstream: readonly (readonly string[])[], seed: number, rules: readonly Rule[] = RULES): Differential {
  const misses: Miss[] = [];
  const checkMisses: Miss[] = [];
  const perCheck: Record<string, number> = {};
  let upstreamRejected = 0;
  let oursRejected = 0;
  cases.forEach((c, i) => {
    const up = upstream[i]!;
    const ours = ourIds(c.object, rules);
    if (ours.length) oursRejected++;
    if (up.length === 0) return;
    upstreamRejected++;
    for (const id of up) perCheck[id] = (perCheck[id] ?? 0) + 1;
    const unmatched = up.filter((id) => !(UPSTREAM_TO_RULES[id] ?? []).some((r) => ours.includes(r)));
    const miss = { case: c, upstream: up, ours, unmatched };
    if (ours.length === 0) misses.push(miss);
    if (unmatched.length) checkMisses.push(miss);
  });
  return { seed, generated: cases.length, upstreamRejected, oursRejected, misses, checkMisses, perCheck, cases, upstream };
}

/** The counts, one line each, for the test log. */
export function summary(d: Differential): string {
  const per = Object.entries(d.perCheck).sort(([a], [b]) => a.localeCompare(b)).map(([id, n]) => `    ${id}: ${n}`).join('\n');
  return [
    `seed ${d.seed} (replay: FC_SEED=${d.seed})`,
    `  generated: ${d.generated}`,
    `  upstream-rejected: ${d.upstreamRejected}`,
    `  ours-rejected: ${d.oursRejected}`,
    `  misses (upstream refuses, ours accepts): ${d.misses.length}`,
    `  check misses (an upstream check refuses, none of its rules fire): ${d.checkMisses.length}`,
    `  upstream rejections per check id:\n${per}`,
  ].join('\n');
}

/** A miss, readable: what was mutated, what upstream said, what we said, and the object. */
export function describeMiss(m: Miss): string {
  return `upstream ${m.upstream.join(', ')}; ours [${m.ours.join(', ')}]; unmatched ${m.unmatched.join(', ')}\n  mutations: ${m.case.mutations.join('; ')}\n  object: ${JSON.stringify(m.case.object)}`;
}
