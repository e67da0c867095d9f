import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OVERLAY_RULES } from '../../src/customize/overlay-rules';
import { runCli } from '../support/cli';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the overlay rules in the one rule list', () => {
  it('lists every SPEC, INPUT and LAYER id the code reports, once, with a title and a fix', () => {
    const used = new Set<string>();
    for (const f of sources(join(__dirname, '../../src'))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/'((?:SPEC|INPUT|LAYER)\d{3})'/g)) used.add(m[1]!);
    }
    const ids = OVERLAY_RULES.map((r) => r.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect([...used].filter((id) => !ids.includes(id)).sort(), 'reported but not listed').toEqual([]);
    expect(ids.filter((id) => !used.has(id)), 'listed but never reported').toEqual([]);
    for (const r of OVERLAY_RULES) expect(r.title.length * r.fix.length, r.id).toBeGreaterThan(0);
  });

  it('`cleanimg-customize rules --json` lists them beside the Kubernetes and Dockerfile rules; `check --help` does not', async () => {
    const r = await runCli(['rules', '--json']);
    const ids = (JSON.parse(r.out) as Array<{ id: string }>).map((x) => x.id);
    for (const id of ['HD001', 'INPUT013', 'INPUT014', 'SPEC009']) expect(ids).toContain(id);
    const help = await runCli(['check', '--help']);
    expect(help.out).toContain('HD001');
    expect(help.out).not.toContain('INPUT013');
  });
});
