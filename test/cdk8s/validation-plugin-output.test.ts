/**
 * The synth plugin judges the output folder, not only the files cdk8s-cli hands it: cdk8s-cli gives
 * plugins the files whose name ends in .yaml, while `kubectl apply -f dist/` also applies .yml and
 * .json. Every manifest there is read as `check` reads it; one the plugin cannot read is refused; on
 * any failure nothing is left to apply. Run through the real `cdk8s synth`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { manifestsToCheck, synthOutputDir } from '../../src/cdk8s/validation-plugin';
import { hardenedObject } from '../security/attacks/common';

const ROOT = resolve(__dirname, '../..');
const made: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), `cleanimg-${prefix}`));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A cdk8s project whose app (plain JavaScript, run by `cdk8s synth`) is `app`; returns its folder. */
function project(app: string): string {
  const dir = tempDir('plugin-output-');
  const plugin = join(ROOT, 'lib/cdk8s/validation-plugin.js');
  writeFileSync(join(dir, 'cdk8s.yaml'), ['language: typescript', 'app: node app.js', 'output: dist', 'validations:', `  - package: ${plugin}`, '    class: HardeningValidation', '    version: 0.1.0', ''].join('\n'));
  writeFileSync(join(dir, 'app.js'), app);
  return dir;
}

const synth = (dir: string) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/cdk8s-cli/bin/cdk8s'), 'synth'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};

const manifests = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(ya?ml|json)$/.test(f)) : [];

describe('the synth plugin reads the whole output folder', () => {
  it('refuses a .yml chart, a .json file, an alias-heavy file and text Go reads otherwise, and leaves no manifest', () => {
    const privileged = hardenedObject('yml');
    privileged.spec.template.spec.containers[0].securityContext.privileged = true;
    const hostPath = hardenedObject('json');
    hostPath.spec.template.spec.volumes.push({ name: 'root', hostPath: { path: '/' } });
    const env = Array.from({ length: 101 }, () => '*pad').join(', ');
    const aliases = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: aliases}\nx: &pad {a: b}\ny: [${env}]\n`;
    const dir = project(`
      const { writeFileSync } = require('node:fs');
      const { join } = require('node:path');
      const { ApiObject, App, Chart } = require(${JSON.stringify(join(ROOT, 'node_modules/cdk8s'))});
      const app = new App({ outputFileExtension: '.yml' });
      new ApiObject(new Chart(app, 'yml'), 'd', ${JSON.stringify(privileged)});
      app.synth();
      const out = process.env.CDK8S_OUTDIR;
      writeFileSync(join(out, 'extra.json'), ${JSON.stringify(JSON.stringify(hostPath))});
      writeFileSync(join(out, 'aliases.k8s.yaml'), ${JSON.stringify(aliases)});
      writeFileSync(join(out, 'octal.k8s.yaml'), 'apiVersion: v1\\nkind: Pod\\nmetadata: {name: p}\\nspec:\\n  securityContext: {runAsUser: 010000}\\n  containers: []\\n');
    `);
    const r = synth(dir);
    expect(r.status, r.out).toBe(2);
    expect(r.out).toMatch(/HD006 containers are not privileged/);
    expect(r.out).toMatch(/HD010 no hostPath volumes/);
    expect(r.out).toMatch(/HD034 every object is visible to the guards[\s\S]*the guards cannot read this document safely: Excessive alias count/);
    expect(r.out).toMatch(/"010000" is written plain: Go's YAML reads 4096, the JS parser \(YAML 1\.2, as the guards read it\) 10000/);
    expect(r.out).toMatch(/cleanimg: \d+ objects in 5 files checked/); // and construct-metadata.json, which is read too
    expect(manifests(join(dir, 'dist'))).toEqual([]);
  }, 60_000);

  it('passes a clean .yml chart, and leaves it and an OCI layout index beside it in place', () => {
    const dir = project(`
      const { mkdirSync, writeFileSync } = require('node:fs');
      const { join } = require('node:path');
      const { ApiObject, App, Chart } = require(${JSON.stringify(join(ROOT, 'node_modules/cdk8s'))});
      const app = new App({ outputFileExtension: '.yml' });
      new ApiObject(new Chart(app, 'ok'), 'd', ${JSON.stringify(hardenedObject('ok'))});
      app.synth();
      mkdirSync(join(process.env.CDK8S_OUTDIR, 'images', 'x'), { recursive: true });
      writeFileSync(join(process.env.CDK8S_OUTDIR, 'images', 'x', 'index.json'), '{"schemaVersion": 2, "manifests": []}');
    `);
    const r = synth(dir);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/cleanimg: 1 object in 3 files checked against \d+ rules, no violations/);
    expect(manifests(join(dir, 'dist')).sort()).toEqual(['images/x/index.json', 'ok.yml']);
  }, 60_000);
});

describe('where the plugin looks', () => {
  const cdk8s = '/p/node_modules/.bin/cdk8s';

  it('finds the output folder as cdk8s-cli decides it', () => {
    const cwd = tempDir('plugin-cwd-');
    expect(synthOutputDir(['node', cdk8s, 'synth'], cwd)).toBe(join(cwd, 'dist'));
    expect(synthOutputDir(['node', cdk8s, 'synth', '-o', 'out'], cwd)).toBe(join(cwd, 'out'));
    expect(synthOutputDir(['node', cdk8s, 'synth', '--output=/abs/o'], cwd)).toBe('/abs/o');
    expect(synthOutputDir(['node', cdk8s, 'synthesize', '--output', 'o2'], cwd)).toBe(join(cwd, 'o2'));
    writeFileSync(join(cwd, 'cdk8s.yaml'), 'app: node app.js\noutput: manifests\n');
    expect(synthOutputDir(['node', cdk8s, 'synth'], cwd)).toBe(join(cwd, 'manifests'));
    // Standard output: only the .yaml files the plugin is given are printed. Not cdk8s synth: no folder.
    expect(synthOutputDir(['node', cdk8s, 'synth', '--stdout'], cwd)).toBeUndefined();
    expect(synthOutputDir(['node', cdk8s, 'synth', '-p'], cwd)).toBeUndefined();
    expect(synthOutputDir(['node', '/p/node_modules/vitest/vitest.mjs', 'run'], cwd)).toBeUndefined();
    expect(synthOutputDir(['node', cdk8s, 'import'], cwd)).toBeUndefined();
  });

  it('checks the given files and every manifest beside them and in the output folder, once each', () => {
    const out = tempDir('plugin-files-');
    mkdirSync(join(out, 'chart', '.hidden'), { recursive: true });
    for (const f of ['a.k8s.yaml', 'b.yml', 'c.json', 'notes.txt', 'chart/d.yaml', 'chart/.hidden/e.YML']) writeFileSync(join(out, f), '{}');
    const given = [join(out, 'a.k8s.yaml'), join(out, 'chart', 'd.yaml')];
    expect(manifestsToCheck(given).map((f) => f.slice(out.length + 1))).toEqual(['a.k8s.yaml', 'b.yml', 'c.json', 'chart/.hidden/e.YML', 'chart/d.yaml']);
    expect(manifestsToCheck([], out)).toEqual(manifestsToCheck(given));
    expect(manifestsToCheck([], join(out, 'missing'))).toEqual([]);
  });
});
