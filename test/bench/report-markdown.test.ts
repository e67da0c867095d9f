import { describe, expect, it } from 'vitest';
import { GENERATED_HEADING, endMarker, renderSection, replaceSection, startMarker } from '../../bench/report-markdown';

const doc = ['# Benchmarks', '', 'Hand-written analysis.', '', startMarker('synth'), 'old synth', endMarker('synth'), '', 'More analysis.', ''].join('\n');

describe('replaceSection', () => {
  it('replaces only the body between the markers and keeps the text around them', () => {
    const out = replaceSection(doc, 'synth', 'new synth\n');
    expect(out).toBe(doc.replace('old synth', 'new synth'));
  });

  it('appends a new section once under the generated heading', () => {
    const a = replaceSection(doc, 'overlay', 'overlay 1');
    const b = replaceSection(a, 'trust', 'trust 1');
    expect(b.split(GENERATED_HEADING)).toHaveLength(2);
    expect(b.indexOf('overlay 1')).toBeLessThan(b.indexOf('trust 1'));
    expect(b.startsWith(doc.trimEnd())).toBe(true);
    // Running again replaces, never duplicates.
    const c = replaceSection(b, 'overlay', 'overlay 2');
    expect(c).not.toContain('overlay 1');
    expect(c.split(startMarker('overlay'))).toHaveLength(2);
  });

  it('refuses unbalanced markers instead of overwriting hand-written text', () => {
    expect(() => replaceSection(doc.replace(endMarker('synth'), ''), 'synth', 'x')).toThrow(/unbalanced/);
    expect(() => replaceSection(`${endMarker('synth')}\n${doc.replace(endMarker('synth'), '')}`, 'synth', 'x')).toThrow(/unbalanced/);
    expect(() => replaceSection(`${doc}\n${startMarker('synth')}\n`, 'synth', 'x')).toThrow(/unbalanced/);
  });
});

describe('renderSection', () => {
  const run = { title: 'Synth', commands: ['npx tsx bench/synth.ts 100 3'], date: '2026-11-26 20:00 UTC', seconds: 61.4, machine: 'Machine: 2 x CPU.', output: 'ratio 0.71\n```\n' };

  it('names the command, the date and the machine, and fences the output', () => {
    const s = renderSection(run);
    expect(s).toContain('Command: `npx tsx bench/synth.ts 100 3`');
    expect(s).toContain('on 2026-11-26 20:00 UTC in 61 s. Machine: 2 x CPU.');
    expect(s).toMatch(/```\nratio 0\.71\n'''\n```$/);
  });

  it('says when a benchmark was not measured, and why', () => {
    expect(renderSection({ ...run, output: '', problem: 'crane missing' })).toContain('**Not measured: crane missing**');
  });
});
