/**
 * The suite itself: large enough, every face, kind, category and stage covered, names unique, and
 * every attack said to be refused by the types really carries a `@ts-expect-error` (which tsc, run by
 * `npm test`, fails when the line below it compiles).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../src/rules';
import { PACK_RULES } from '../../src/pulumi/policy';
import { CDK8S_ATTACK_FILES, CDK8S_ATTACKS, PULUMI_ATTACK_FILES, PULUMI_ATTACKS } from './attacks';
import { CHECK_ATTACKS } from './attacks/check-files';
import { KINDS } from './attacks/common';

const ATTACKS = [...CDK8S_ATTACKS, ...PULUMI_ATTACKS];
const known = new Set([...RULES.map((r) => r.id), ...PACK_RULES.map((r) => r.id), ...Array.from({ length: 10 }, (_, i) => `PROP${String(i + 1).padStart(3, '0')}`), ...Array.from({ length: 12 }, (_, i) => `NS0${10 + i}`)]);

describe('the security suite', () => {
  it('holds at least 150 attacks, on both faces and on check', () => {
    process.stdout.write(`security suite: ${CDK8S_ATTACKS.length} cdk8s, ${PULUMI_ATTACKS.length} Pulumi, ${CHECK_ATTACKS.length} check attacks\n`);
    expect(CDK8S_ATTACKS.length + PULUMI_ATTACKS.length + CHECK_ATTACKS.length).toBeGreaterThanOrEqual(150);
    expect(PULUMI_ATTACKS.length).toBeGreaterThanOrEqual(40);
    for (const stage of ['types', 'construct', 'synth', 'written']) expect(CDK8S_ATTACKS.some((a) => a.stage === stage), stage).toBe(true);
    for (const stage of ['types', 'construct', 'program', 'policy-pack']) expect(PULUMI_ATTACKS.some((a) => a.stage === stage), stage).toBe(true);
  });

  it('names each attack once, with a known rule or prop id', () => {
    for (const list of [CDK8S_ATTACKS, PULUMI_ATTACKS, CHECK_ATTACKS]) {
      const names = list.map((a) => a.name);
      expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    }
    expect(ATTACKS.filter((a) => !known.has(a.rule)).map((a) => `${a.name}: ${a.rule}`)).toEqual([]);
  });

  it('attacks every workload kind', () => {
    for (const kind of KINDS) {
      expect(CDK8S_ATTACKS.filter((a) => a.target === kind).length, `cdk8s ${kind}`).toBeGreaterThanOrEqual(10);
      expect(PULUMI_ATTACKS.filter((a) => a.target === kind).length, `Pulumi ${kind}`).toBeGreaterThanOrEqual(5);
    }
  });

  it('has a @ts-expect-error in the source for every attack refused by the types', () => {
    for (const [file, attacks] of Object.entries({ ...CDK8S_ATTACK_FILES, ...PULUMI_ATTACK_FILES })) {
      const directives = readFileSync(join(__dirname, 'attacks', file), 'utf8').match(/\/\/ @ts-expect-error /g)?.length ?? 0;
      expect(directives, file).toBeGreaterThanOrEqual(attacks.filter((a) => a.stage === 'types').length);
    }
  });
});
