/**
 * Runs an attack on the Pulumi face through the guards a Pulumi user meets, and asserts which one
 * refuses it and with which rule:
 *
 * - `types`: tsc refuses it (a `@ts-expect-error` in the attack) and the component refuses a
 *   JavaScript caller at construction, registering nothing;
 * - `construct`: the component's constructor throws a CleanimgError naming the rule, registering nothing;
 * - `program`: a value that arrives later (an Output) is refused when it is known: the program fails
 *   with the rule id and the workload is never registered;
 * - `policy-pack`: the program registers the resources (raw objects, patches, custom resources), and
 *   the real policy pack (the process `pulumi preview --policy-pack` starts, spoken to over its gRPC
 *   Analyzer service as the engine does) reports a mandatory violation of the rule.
 */
import * as pulumi from '@pulumi/pulumi';
import { expect } from 'vitest';
import type { Category } from './attacks/common';
import { CleanimgError } from '../../src/errors';
import type { Recorder, Registered } from '../pulumi/harness';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { valueOf } from '../pulumi/harness';
import type { AnalyzedResource, PackClient } from '../pulumi/policy-pack-client';

export type PulumiStage = 'types' | 'construct' | 'program' | 'policy-pack';

export interface PulumiAttack {
  readonly name: string;
  readonly category: Category;
  /** What it targets: a workload kind, `EnvConfig`, `Namespace`, `App` or `raw` (an object beside the library's). */
  readonly target: string;
  readonly stage: PulumiStage;
  readonly rule: string;
  /** The attack as a user writes it in a Pulumi program; `id` is unique per attack (use it in names). */
  readonly build: (id: string) => pulumi.Resource | readonly pulumi.Resource[] | void;
}

const MANDATORY = 1;
const settled = () => new Promise((r) => setTimeout(r, 30));

/** `type::name` of a URN (the last type of its parent chain). */
const keyOfUrn = (urn: string) => `${urn.split('::')[2]!.split('$').pop()}::${urn.split('::')[3]}`;

/** The URN the engine gives a registered resource: the real one (with its parent chain) when known. */
function urnOf(r: Registered, urns: ReadonlyMap<string, string> = new Map()): string {
  return urns.get(`${r.type}::${r.name}`) ?? `urn:pulumi:test::cleanimg-test::${r.type}::${r.name}`;
}

/** The provider a resource names, with its inputs, as the engine hands it to the pack. */
function providerOf(r: Registered, all: readonly Registered[]): AnalyzedResource['provider'] {
  if (!r.provider) return undefined;
  const urn = r.provider.slice(0, r.provider.lastIndexOf('::'));
  const p = all.find((x) => `${x.type}::${x.name}` === keyOfUrn(urn));
  return p && { type: p.type, name: p.name, urn, props: p.inputs };
}

/** Rule ids of a diagnostic list (policy names are `cleanimg-hd006`). */
export function ruleIdsOf(ds: readonly { policyName: string }[]): string[] {
  return [...new Set(ds.map((d) => d.policyName.replace(/^cleanimg-/, '').toUpperCase()))].sort();
}

function codesOf(e: unknown): readonly string[] {
  if (!(e instanceof CleanimgError)) throw e;
  return e.problems.length ? e.problems.map((p) => p.code) : [/^([A-Z]+\d{3})/.exec(e.message)?.[1] ?? e.message];
}

/**
 * Runs a `program` attack as `pulumi up` would run the program: in a process of its own (under the
 * mock runtime), where a value refused when known fails the program. Returns its exit status and stderr.
 */
export function runProgramAttack(name: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'pulumi-program.ts'), name], { cwd: join(__dirname, '..', '..'), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stderr }); });
  });
}

export async function runPulumiAttack(a: PulumiAttack, id: string, recorder: Recorder, pack: PackClient): Promise<void> {
  const before = recorder.resources.length;
  let made: pulumi.Resource | readonly pulumi.Resource[] | void;
  try {
    made = a.build(id);
  } catch (e) {
    expect(a.stage === 'types' || a.stage === 'construct', `${a.name}: refused at construction (${String(e)})`).toBe(true);
    expect(codesOf(e), a.name).toContain(a.rule);
    await settled();
    expect(recorder.resources.slice(before).filter((r) => r.type.startsWith('kubernetes:')).map((r) => r.type), `${a.name}: registers nothing`).toEqual([]);
    return;
  }
  expect(a.stage, `${a.name}: constructs`).not.toMatch(/^(types|construct)$/);
  const resources = made ? (Array.isArray(made) ? made : [made as pulumi.Resource]) : [];
  if (a.stage === 'program') throw new Error(`${a.name}: program attacks run in a process of their own (runProgramAttack)`);
  const urns = new Map<string, string>();
  for (const r of resources) {
    const urn = await valueOf(r.urn);
    urns.set(keyOfUrn(urn), urn);
  }
  await settled();
  const kube = recorder.resources.slice(before).filter((r) => r.type.startsWith('kubernetes:') && !r.type.startsWith('pulumi:providers:'));
  expect(kube.length, `${a.name}: registered something to judge`).toBeGreaterThan(0);
  const diagnostics = (await Promise.all(kube.map((r) => pack.analyze({ type: r.type, name: r.name, urn: urnOf(r, urns), props: r.inputs, provider: providerOf(r, recorder.resources) })))).flat();
  expect(ruleIdsOf(diagnostics), `${a.name}: the policy pack names the rule`).toContain(a.rule);
  expect(diagnostics.every((d) => d.enforcementLevel === MANDATORY), `${a.name}: mandatory`).toBe(true);
}
