/**
 * Every attack on the cdk8s face, through every guard a cdk8s user meets: each asserts the stage
 * that refuses it and the rule id (see cdk8s-harness.ts).
 */
import { describe, it } from 'vitest';
import { CDK8S_ATTACKS } from './attacks';
import { runCdk8sAttack } from './cdk8s-harness';

describe('attacks on the cdk8s face', () => {
  it.each(CDK8S_ATTACKS.map((a) => [`${a.category}: ${a.name} (${a.stage}, ${a.rule})`, a] as const))('%s', async (_, a) => {
    await runCdk8sAttack(a);
  });
});
