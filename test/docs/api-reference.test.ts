/**
 * The API reference (`npm run docs`, TypeDoc over the public entry points) builds without errors,
 * and every optional prop of every public Props/Args/Options interface says its default (`@default`),
 * so the reference answers "what happens if I leave this out".
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');

interface Reflection {
  name: string;
  kind?: number;
  flags?: { isOptional?: boolean };
  comment?: { blockTags?: { tag: string }[] };
  children?: Reflection[];
}

const INTERFACE = 256;
const PROPERTY = 1024;

describe('the API reference', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cleanimg-api-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'api.json');
  const run = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--json', out, '--out', join(dir, 'html')], { cwd: ROOT, encoding: 'utf8' });

  it('builds from the doc comments without errors', () => {
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/Found 0 errors/);
  });

  it('every optional prop of a public Props, Args or Options interface has a @default', () => {
    const root = JSON.parse(readFileSync(out, 'utf8')) as Reflection;
    const missing: string[] = [];
    let props = 0;
    const walk = (n: Reflection) => {
      for (const c of n.children ?? []) {
        if (c.kind === INTERFACE && /(Props|Args|Options)$/.test(c.name)) {
          for (const p of c.children ?? []) {
            if (p.kind !== PROPERTY || !p.flags?.isOptional) continue;
            props++;
            if (!(p.comment?.blockTags ?? []).some((t) => t.tag === '@default' || t.tag === '@defaultValue')) missing.push(`${c.name}.${p.name}`);
          }
        }
        walk(c);
      }
    };
    walk(root);
    expect(props).toBeGreaterThan(200);
    expect([...new Set(missing)]).toEqual([]);
  });
});
