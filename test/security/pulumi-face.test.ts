/**
 * Every attack on the Pulumi face, through the guards a Pulumi user meets: the components (at
 * construction, or when an Output's value is known, in a program of its own) and the real policy
 * pack process. Each asserts the stage and the rule id (see pulumi-harness.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installMocks } from '../pulumi/harness';
import { startPack, type PackClient } from '../pulumi/policy-pack-client';
import { PULUMI_FACE_ATTACKS } from './attacks/pulumi-face';
import { runProgramAttack, runPulumiAttack } from './pulumi-harness';

const recorder = installMocks();
let pack: PackClient;
beforeAll(async () => { pack = await startPack(); }, 120_000);
afterAll(() => pack?.stop());

const inProcess = PULUMI_FACE_ATTACKS.filter((a) => a.stage !== 'program');
const programs = PULUMI_FACE_ATTACKS.filter((a) => a.stage === 'program');

describe('attacks on the Pulumi face', () => {
  it.each(inProcess.map((a, i) => [`${a.category}: ${a.name} (${a.stage}, ${a.rule})`, a, i] as const))('%s', async (_, a, i) => {
    await runPulumiAttack(a, `attack-${i}`, recorder, pack);
  });

  it(`fails the program for each value refused when known (${programs.length} programs, each in a process of its own)`, async () => {
    const results = await Promise.all(programs.map(async (a) => ({ a, ...(await runProgramAttack(a.name)) })));
    for (const { a, status, stderr } of results) {
      expect(status, `${a.name}: ${stderr.slice(0, 500)}`).not.toBe(0);
      expect(stderr, a.name).toMatch(new RegExp(`\\b${a.rule}\\b`));
      expect(stderr, a.name).toContain('CleanimgError');
    }
  }, 300_000);
});
