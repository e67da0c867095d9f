/**
 * The CLI's compile cache (src/cli/compile-cache.ts), in child processes (it changes the module loader
 * of the process it runs in): modules behave the same with and without it, data is reused only for the
 * very bytes it was made from, and it stays off where it should.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileCacheDir } from '../../src/cli/compile-cache';
import { cleanupTmp, tmp } from '../customize/fixtures';

const LIB = path.resolve(__dirname, '../../lib/cli/compile-cache.js');
const native = typeof (Module as unknown as { enableCompileCache?: unknown }).enableCompileCache === 'function';

afterAll(() => cleanupTmp());

/** A folder of modules: a hashbang, require.resolve and require.cache, __filename/__dirname, a JSON file, and a dynamic import. */
function fixture(): string {
  const dir = tmp();
  writeFileSync(path.join(dir, 'a.js'), '#!/usr/bin/env node\nconst b = require("./b");\nmodule.exports = { b, resolved: require.resolve("./b"), cached: Object.keys(require.cache).some((k) => k.endsWith("b.js")), file: __filename, dir: __dirname, json: require("./c.json").x, main: require.main === undefined ? "none" : typeof require.main };\n');
  writeFileSync(path.join(dir, 'b.js'), 'module.exports = 1;\n');
  writeFileSync(path.join(dir, 'c.json'), '{"x": 3}');
  writeFileSync(path.join(dir, 'd.js'), 'module.exports = () => import("./b.js").then((m) => m.default);\n');
  return dir;
}

function run(dir: string, cacheRoot: string, extraEnv: Record<string, string> = {}) {
  const script = `
const state = require(${JSON.stringify(LIB)}).enableCompileCache();
const a = require(${JSON.stringify(path.join(dir, 'a.js'))});
require(${JSON.stringify(path.join(dir, 'd.js'))})().then((d) => console.log(JSON.stringify({ state, a, d })));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, CLEANIMG_CACHE_DIR: cacheRoot, ...extraEnv } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { state: string; a: Record<string, unknown>; d: number };
}

describe('compile cache', () => {
  it('modules behave the same, the second run reads the cache, and changed bytes of the same length are compiled again', () => {
    const dir = fixture();
    const root = tmp();
    const expected = { b: 1, resolved: path.join(dir, 'b.js'), cached: true, file: path.join(dir, 'a.js'), dir, json: 3, main: 'none' };
    const first = run(dir, root);
    expect(first.state).toBe(native ? 'native' : 'hook');
    expect(first.a).toEqual(expected);
    expect(first.d).toBe(1);
    const cacheDir = compileCacheDir({ CLEANIMG_CACHE_DIR: root });
    expect(existsSync(cacheDir)).toBe(true);
    if (!native) {
      const [file] = readdirSync(cacheDir);
      const b = readFileSync(path.join(cacheDir, file!));
      const index = JSON.parse(b.subarray(4, 4 + b.readUInt32LE(0)).toString('utf8')) as Record<string, unknown>;
      expect(Object.keys(index)).toEqual(expect.arrayContaining([path.join(dir, 'a.js'), path.join(dir, 'b.js')]));
      expect(Object.keys(index)).not.toContain(path.join(dir, 'd.js')); // import(): left to Node
    }
    expect(run(dir, root).a).toEqual(expected);
    writeFileSync(path.join(dir, 'b.js'), 'module.exports = 2;\n'); // same length
    expect(run(dir, root).a).toEqual({ ...expected, b: 2 });
  });

  it('stays off when turned off, and in a folder that others can write to', () => {
    const dir = fixture();
    expect(run(dir, tmp(), { CLEANIMG_NO_COMPILE_CACHE: '1' }).state).toBe('off');
    expect(run(dir, tmp(), { NODE_DISABLE_COMPILE_CACHE: '1' }).state).toBe('off');
    const root = tmp();
    const open = compileCacheDir({ CLEANIMG_CACHE_DIR: root });
    mkdirSync(open, { recursive: true });
    chmodSync(open, 0o777);
    const r = run(dir, root);
    expect(r.state).toBe('off');
    expect(r.a.b).toBe(1);
    expect(readdirSync(open)).toEqual([]);
  });

  it('the CLI gives the same answers with and without it', () => {
    const cli = path.resolve(__dirname, '../../lib/cli/main.js');
    const root = tmp();
    const outs = [{}, {}, { CLEANIMG_NO_COMPILE_CACHE: '1' }].map((env) => spawnSync(process.execPath, [cli, 'rules', '--json'], { encoding: 'utf8', env: { ...process.env, CLEANIMG_CACHE_DIR: root, ...env } }));
    for (const o of outs) expect(o.status, o.stderr).toBe(0);
    expect(outs[1]!.stdout).toBe(outs[0]!.stdout);
    expect(outs[2]!.stdout).toBe(outs[0]!.stdout);
  });
});
