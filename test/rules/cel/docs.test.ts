import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../../src/rules';
import { celCoverage } from '../../../src/rules/cel';

const doc = readFileSync(join(__dirname, '../../../docs/admission.md'), 'utf8');
const section = (title: string) => {
  const start = doc.indexOf(`## ${title}`);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf('\n## ', start + 3);
  return doc.slice(start, end < 0 ? undefined : end);
};
const rowIds = (text: string) => [...text.matchAll(/^\| (HD\d{3}) \| ([^|]+) \|/gm)].map((m) => ({ id: m[1]!, title: m[2]!.trim() }));

describe('docs/admission.md', () => {
  it('lists every generated rule in "Rules in the policy" and every other rule, with its reason, in "Rules not in the policy"', () => {
    const cov = celCoverage();
    const inPolicy = rowIds(section('Rules in the policy'));
    const notIn = section('Rules not in the policy');
    expect(inPolicy.map((r) => r.id)).toEqual(cov.generated);
    expect(rowIds(notIn).map((r) => r.id)).toEqual(cov.notGenerated.map((n) => n.id));
    for (const n of cov.notGenerated) expect(notIn).toContain(n.reason);
    for (const r of [...inPolicy, ...rowIds(notIn)]) expect(RULES.find((x) => x.id === r.id)!.title.startsWith(r.title.replace(/ \(.*$/, ''))).toBe(true);
  });
});
