/**
 * The CLI's bundle and its code cache (src/cli/compile-cache.ts, src/cli/bin.ts, scripts/bundle-cli.mjs),
 * in child processes: a file runs the same with and without the cache, data is reused only for the very
 * bytes it was made from and replaced when they change, the cache stays off where it should, and the
 * `cleanimg-customize` command loads its one bundle and nothing else from lib/.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commandCacheName, compileCacheDir, removeOldNativeCaches } from '../../src/cli/compile-cache';
import { cleanupTmp, tmp } from '../customize/fixtures';

const REPO = path.resolve(__dirname, '../..');
const LIB = path.join(REPO, 'lib/cli/compile-cache.js');
const BIN = path.join(REPO, 'lib/cli/bin.js');
const MAIN = path.join(REPO, 'lib/cli/main.js');
const native = typeof (Module as unknown as { enableCompileCache?: unknown }).enableCompileCache === 'function';

afterAll(() => cleanupTmp());

/** A bundle-like file: a hashbang, relative require, require.resolve, a JSON file, __filename/__dirname, module.exports. */
function fixture(): string {
  const dir = tmp();
  writeFileSync(path.join(dir, 'bundle.js'), '#!/usr/bin/env node\nconst b = require("./b");\nmodule.exports.x = 1;\nglobalThis.__seen = { b, resolved: require.resolve("./b"), file: __filename, dir: __dirname, json: require("./c.json").x, self: module.exports.x };\n');
  writeFileSync(path.join(dir, 'b.js'), 'module.exports = 1;\n');
  writeFileSync(path.join(dir, 'c.json'), '{"x": 3}');
  return dir;
}

function run(file: string, cacheRoot: string, extraEnv: Record<string, string> = {}, opts: { command?: string; exitCode?: number } = {}) {
  const command = opts.command ? `, process.env, ${JSON.stringify(opts.command)}` : '';
  const script = `const state = require(${JSON.stringify(LIB)}).requireWithCodeCache(${JSON.stringify(file)}${command}); process.exitCode = ${opts.exitCode ?? 0}; process.on('exit', () => console.log(JSON.stringify({ state, seen: globalThis.__seen })));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, CLEANIMG_CACHE_DIR: cacheRoot, ...extraEnv } });
  expect(r.status, r.stderr).toBe(opts.exitCode ?? 0);
  return JSON.parse(r.stdout) as { state: string; seen: Record<string, unknown> };
}

/** The data files of one command's cache (default: the one for no command). */
const dataFiles = (root: string, command = 'other') => {
  const dir = path.join(compileCacheDir({ CLEANIMG_CACHE_DIR: root }), command);
  return existsSync(dir) ? readdirSync(dir) : [];
};

describe('compile cache', () => {
  it('the file behaves the same; the data is made once, reused, and replaced when the bytes change (same length)', () => {
    const dir = fixture();
    const file = path.join(dir, 'bundle.js');
    const root = tmp();
    const expected = { b: 1, resolved: path.join(dir, 'b.js'), file, dir, json: 3, self: 1 };
    const first = run(file, root);
    expect(first.state).toBe(native ? 'native' : 'script');
    expect(first.seen).toEqual(expected);
    const cacheDir = compileCacheDir({ CLEANIMG_CACHE_DIR: root });
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    if (native) {
      expect(run(file, root).seen).toEqual(expected);
      return;
    }
    const [data] = dataFiles(root);
    expect(data).toMatch(/^cli-[0-9a-f]{32}-v8-.+\.bin$/);
    const made = statSync(path.join(cacheDir, 'other', data!)).mtimeMs;
    expect(run(file, root).seen).toEqual(expected);
    expect(statSync(path.join(cacheDir, 'other', data!)).mtimeMs).toBe(made); // accepted, not written again
    writeFileSync(path.join(dir, 'bundle.js'), '#!/usr/bin/env node\nconst b = require("./b");\nmodule.exports.x = 2;\nglobalThis.__seen = { b, resolved: require.resolve("./b"), file: __filename, dir: __dirname, json: require("./c.json").x, self: module.exports.x };\n');
    expect(run(file, root).seen).toEqual({ ...expected, self: 2 });
    const after = dataFiles(root);
    expect(after).toHaveLength(1); // the old bundle's data is gone
    expect(after[0]).not.toBe(data);
  });

  it('stays off when turned off, and in a folder that others can write to', () => {
    const file = path.join(fixture(), 'bundle.js');
    for (const env of [{ CLEANIMG_NO_COMPILE_CACHE: '1' }, { NODE_DISABLE_COMPILE_CACHE: '1' }] as Record<string, string>[]) {
      const root = tmp();
      const r = run(file, root, env);
      expect(r.state).toBe('off');
      expect(r.seen.self).toBe(1);
      expect(dataFiles(root)).toEqual([]);
    }
    const root = tmp();
    const open = compileCacheDir({ CLEANIMG_CACHE_DIR: root });
    mkdirSync(open, { recursive: true });
    chmodSync(open, 0o777);
    const r = run(file, root);
    expect(r.state).toBe('off');
    expect(r.seen.self).toBe(1);
    expect(readdirSync(open)).toEqual([]);
  });

  it('the earlier module-loader cache file (v8-*.bin) is removed when the bundle data is written', () => {
    if (native) return; // Node's own cache manages its folder
    const root = tmp();
    const dir = compileCacheDir({ CLEANIMG_CACHE_DIR: root });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, `v8-${process.versions.v8}-${process.arch}.bin`), Buffer.alloc(1024));
    writeFileSync(path.join(dir, `cli-${'0'.repeat(32)}-v8-${process.versions.v8}-${process.arch}.bin`), Buffer.alloc(1024)); // one cache for all commands, before
    run(path.join(fixture(), 'bundle.js'), root);
    expect(readdirSync(dir).sort()).toEqual(['other']);
    expect(dataFiles(root)).toHaveLength(1);
  });

  it("Node's own cache folders from before the per-command caches are removed from the top folder, nothing else", () => {
    const root = tmp();
    const dir = compileCacheDir({ CLEANIMG_CACHE_DIR: root });
    const old = path.join(dir, 'v22.12.0-x64-1a2b3c4d-0');
    mkdirSync(path.join(old, 'deep'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(old, 'deep', 'data'), 'x');
    mkdirSync(path.join(dir, 'build', 'v22.12.0-x64-1a2b3c4d-0'), { recursive: true }); // Node's folder inside a command's: in use
    writeFileSync(path.join(dir, 'v22.12.0-x64-note'), 'a file, not a folder of Node');
    removeOldNativeCaches(dir);
    expect(readdirSync(dir).sort()).toEqual(['build', 'v22.12.0-x64-note']);
    expect(readdirSync(path.join(dir, 'build'))).toEqual(['v22.12.0-x64-1a2b3c4d-0']);
    removeOldNativeCaches(path.join(root, 'missing')); // no folder: nothing happens
    mkdirSync(old, { recursive: true });
    run(path.join(fixture(), 'bundle.js'), root); // a successful run cleans up, on either path
    expect(existsSync(old)).toBe(false);
  });

  it('one cache per command; a run that fails writes none (its data would lack most of its command)', () => {
    const file = path.join(fixture(), 'bundle.js');
    const root = tmp();
    expect(run(file, root, {}, { command: 'build', exitCode: 2 }).seen.self).toBe(1);
    if (native) {
      expect(existsSync(path.join(compileCacheDir({ CLEANIMG_CACHE_DIR: root }), 'build'))).toBe(true);
      return; // Node's own cache decides when it writes
    }
    expect(dataFiles(root, 'build')).toEqual([]);
    run(file, root, {}, { command: 'build' });
    run(file, root, {}, { command: 'version' });
    expect(dataFiles(root, 'build')).toHaveLength(1);
    expect(dataFiles(root, 'version')).toEqual(dataFiles(root, 'build'));
    expect(dataFiles(root)).toEqual([]);
  });

  it('names the cache after the first argument, or other', () => {
    expect(commandCacheName(['build', '--spec', 'x'])).toBe('build');
    expect(commandCacheName(['--version'])).toBe('version');
    expect(commandCacheName(['-h'])).toBe('h');
    expect(commandCacheName([])).toBe('other');
    for (const odd of ['../x', 'a/b', 'BUILD', '.', '', 'x'.repeat(40), 'é']) expect(commandCacheName([odd])).toBe('other');
  });
});

describe('the cleanimg-customize command (lib/cli/bin.js)', () => {
  it('gives the same answers as the separate modules, with and without the cache', () => {
    const root = tmp();
    const runs = [[BIN, {}], [BIN, {}], [BIN, { CLEANIMG_NO_COMPILE_CACHE: '1' }], [MAIN, {}]] as const;
    const outs = runs.map(([cli, env]) => spawnSync(process.execPath, [cli, 'rules', '--json'], { encoding: 'utf8', env: { ...process.env, CLEANIMG_CACHE_DIR: root, ...env } }));
    for (const o of outs) expect(o.status, o.stderr).toBe(0);
    expect(JSON.parse(outs[0]!.stdout).length).toBeGreaterThan(50);
    for (const o of outs.slice(1)) expect(o.stdout).toBe(outs[0]!.stdout);
    const bad = spawnSync(process.execPath, [BIN, 'build', '--spec', path.join(tmp(), 'missing.yaml'), '--tag', 'r.example/x:1', '--json'], { encoding: 'utf8', env: { ...process.env, CLEANIMG_CACHE_DIR: root } });
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.stdout).ok).toBe(false);
  });

  it('loads the bundle and no other module of lib/ (build --help)', () => {
    const probe = path.join(tmp(), 'probe.js');
    writeFileSync(probe, `process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n`);
    const r = spawnSync(process.execPath, ['-r', probe, BIN, 'build', '--help'], { encoding: 'utf8', env: { ...process.env, CLEANIMG_CACHE_DIR: tmp() } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('--signature-format');
    const loaded = (JSON.parse(/LOADED (.*)/.exec(r.stderr)![1]!) as string[]).filter((f) => f.startsWith(path.join(REPO, 'lib')));
    const allowed = ['cli/bin.js', 'cli/compile-cache.js', 'cache-dir.js', 'cli/bundle.js'].map((f) => path.join(REPO, 'lib', f));
    expect(loaded.filter((f) => !allowed.includes(f))).toEqual([]);
    expect(loaded).toContain(BIN);
  });

  it('a build: the same digest as the separate modules; the spec and layer caches work inside the bundle', () => {
    const dir = tmp();
    const env = { ...process.env, CLEANIMG_CACHE_DIR: tmp(), SOURCE_DATE_EPOCH: '1700000000' };
    const node = (cli: string, args: string[]) => {
      const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env, cwd: dir });
      expect(r.status, r.stderr + r.stdout).toBe(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const base = node(BIN, ['base', '--output-layout', path.join(dir, 'base'), '--json']);
    writeFileSync(path.join(dir, 'app.conf'), 'listen 8080\n');
    writeFileSync(path.join(dir, 'spec.yaml'), `base_image: "${String(base['ref'])}"\narch: amd64\ncopy_files:\n  - source: app.conf\n    destination: /etc/app/app.conf\n`);
    const build = (cli: string, cache: string, out: string) => node(cli, ['build', '--spec', 'spec.yaml', '--tag', 'r.example/app:1', '--base-layout', path.join(dir, 'base'), '--output-layout', path.join(dir, out), '--cache-dir', path.join(dir, cache), '--json']);
    const first = build(BIN, 'cache', 'out1');
    const again = build(BIN, 'cache', 'out2');
    const separate = build(MAIN, 'cache-main', 'out3');
    expect(first['cache']).toBe('stored');
    expect(again['cache']).toBe('hit');
    expect(again['digest']).toBe(first['digest']);
    expect(separate['digest']).toBe(first['digest']);
    expect(readdirSync(path.join(dir, 'cache', 'layers', 'specs')).filter((f) => f.endsWith('.json'))).toHaveLength(1);
  });

  it('lib/cli/bundle.js is what scripts/bundle-cli.mjs makes from src/ now', () => {
    const r = spawnSync(process.execPath, [path.join(REPO, 'scripts/bundle-cli.mjs'), '--check'], { encoding: 'utf8', cwd: REPO });
    expect(r.status, r.stderr).toBe(0);
  });
});
