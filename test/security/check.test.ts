/**
 * Attacks on `cleanimg-customize check` with hand-written files: each must be reported with its rule
 * (exit code 1 from the real CLI for one of them, the report for all).
 */
import { describe, expect, it } from 'vitest';
import { checkFiles } from '../../src/cli/commands/check';
import { CleanimgError } from '../../src/errors';
import { runCli } from '../support/cli';
import { CHECK_ATTACKS, writeAttack } from './attacks/check-files';

describe('attacks on check', () => {
  it.each(CHECK_ATTACKS.map((a) => [`${a.category}: ${a.name} (${a.rule})`, a] as const))('%s', (_, a) => {
    let codes: string[];
    try {
      const report = checkFiles([writeAttack(a)]);
      expect(report.files).toBe(Object.keys(a.files).length);
      codes = report.violations.map((v) => v.code);
    } catch (e) {
      // Text the JS parser cannot read either: refused as an error (exit 2) that still names the rule.
      if (!(e instanceof CleanimgError)) throw e;
      codes = e.problems.map((p) => p.code);
    }
    expect(codes).toContain(a.rule);
  });

  it('fails the real CLI on a merge key that hides hostPID, naming HD033 and the line', async () => {
    const r = await runCli(['check', writeAttack(CHECK_ATTACKS[0]!)]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/HD033 .*app\.yaml:\d+/);
    expect(r.out).toMatch(/merge key/);
  });
});
