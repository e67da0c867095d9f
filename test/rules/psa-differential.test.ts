// The fast slice of test/e2e/psa-differential.e2e.test.ts, in `npm test`: a few hundred random pods
// (hardened objects with Pod Security fields mutated) judged by the upstream evaluator (psa-check)
// and by our rules; every pod upstream refuses, our rules refuse too, for the same reason. Skipped,
// with the reason printed, when psa-check is not built (`bash test/e2e/provision.sh psa-check`).
import { describe, expect, it } from 'vitest';
import { describeMiss, runDifferential, summary, UPSTREAM_TO_RULES } from './psa/differential';
import { findPsaCheck } from './psa/psa-check';

const RUNS = Number(process.env.PSA_FAST_RUNS ?? 300);
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);

const psa = findPsaCheck();

if ('reason' in psa) {
  process.stderr.write(`[psa-differential] skipped: ${psa.reason}\n`);
  describe('upstream Pod Security (restricted, latest) vs our rules', () => {
    it.skip(`skipped: ${psa.reason}`, () => {});
  });
} else {
  describe(`upstream Pod Security (restricted, latest) vs our rules, ${RUNS} random pods`, () => {
    it('our rules refuse every pod upstream refuses, each for a rule standing for the upstream check', () => {
      const d = runDifferential(psa, RUNS, SEED);
      process.stderr.write(`[psa-differential] ${summary(d)}\n`);
      expect(d.generated).toBe(RUNS);
      expect(d.upstreamRejected).toBeGreaterThan(RUNS / 4); // the mutations do reach upstream's checks
      expect(d.misses.map(describeMiss), `seed ${SEED}`).toEqual([]);
      expect(d.checkMisses.map(describeMiss), `seed ${SEED}`).toEqual([]);
    });

    it('maps every upstream check id in force to our rules', () => {
      expect(psa.checks.map((c) => c.id).filter((id) => !UPSTREAM_TO_RULES[id])).toEqual([]);
    });
  });
}
