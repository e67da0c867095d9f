/**
 * The real `cdk8s synth` CLI with the validation plugin from cdk8s.yaml, on small apps written to a
 * temp folder: a plain App with an insecure Deployment fails with the rule table and leaves no manifest.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'node_modules/cdk8s-cli/bin/cdk8s');
const PLUGIN = join(ROOT, 'lib/cdk8s/validation-plugin.js');
const CDK8S = join(ROOT, 'node_modules/cdk8s');
const CLEANIMG_CDK8S = join(ROOT, 'lib/cdk8s/index.js');

function project(appSource: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cleanimg-cli-'));
  writeFileSync(join(dir, 'cdk8s.yaml'), [
    'language: typescript',
    'app: node app.js',
    'output: dist',
    'validations:',
    `  - package: ${PLUGIN}`,
    '    class: HardeningValidation',
    '    version: 0.1.0',
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'app.js'), appSource);
  return dir;
}

function synth(dir: string) {
  const r = spawnSync(process.execPath, [CLI, 'synth'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const IMAGE = `registry.example.com/app@sha256:${'ab'.repeat(32)}`;

describe('cdk8s synth with the cleanimg validation plugin', () => {
  it('built JS exists (npm test compiles first)', () => {
    expect(existsSync(PLUGIN)).toBe(true);
  });

  it('fails on a hand-written insecure Deployment in a plain App, prints the rules, and removes the manifests', () => {
    const dir = project(`
      const { App, Chart, ApiObject } = require(${JSON.stringify(CDK8S)});
      const app = new App();
      const chart = new Chart(app, 'raw');
      new ApiObject(chart, 'd', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'legacy' },
        spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } },
          spec: { securityContext: { readOnlyRootFilesystem: true }, containers: [{ name: 'x', image: 'nginx:1.25', securityContext: { runAsUser: 0 } }] } } } });
      app.synth();
    `);
    const r = synth(dir);
    expect(r.status).toBe(2);
    expect(r.out).toMatch(/HD003 images are pinned by digest/);
    expect(r.out).toMatch(/HD002/);
    expect(r.out).toMatch(/HD020/);
    expect(r.out).toMatch(/Deployment\/legacy/);
    expect(readdirSync(join(dir, 'dist')).filter((f) => f.endsWith('.yaml'))).toEqual([]);
  }, 60_000);

  it('passes a HardenedDeployment app and keeps its manifest', () => {
    const dir = project(`
      const { App, Chart } = require(${JSON.stringify(CDK8S)});
      const { HardenedDeployment } = require(${JSON.stringify(CLEANIMG_CDK8S)});
      const app = new App();
      new HardenedDeployment(new Chart(app, 'ok'), 'web', { name: 'web', containers: [{ name: 'app', image: ${JSON.stringify(IMAGE)}, ports: [{ containerPort: 8080 }] }] });
      app.synth();
    `);
    const r = synth(dir);
    expect(r.out).toMatch(/no violations/);
    expect(r.status).toBe(0);
    expect(readdirSync(join(dir, 'dist'))).toContain('ok.k8s.yaml');
  }, 60_000);

  it('a HardenedApp with an insecure JSON patch fails before writing, without a stack trace', () => {
    const dir = project(`
      const { Chart, JsonPatch } = require(${JSON.stringify(CDK8S)});
      const { HardenedDeployment, runApp } = require(${JSON.stringify(CLEANIMG_CDK8S)});
      runApp((app) => {
        const web = new HardenedDeployment(new Chart(app, 'patched'), 'web', { name: 'web', containers: [{ name: 'app', image: ${JSON.stringify(IMAGE)}, ports: [{ containerPort: 8080 }] }] });
        web.deployment.addJsonPatch(JsonPatch.add('/spec/template/spec/hostNetwork', true));
      });
    `);
    const r = synth(dir);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/HD009 Deployment\/web \/spec\/template\/spec\/hostNetwork: hostNetwork is true/);
    expect(r.out).not.toMatch(/at .*hardened-deployment/);
    expect(existsSync(join(dir, 'dist')) ? readdirSync(join(dir, 'dist')) : []).toEqual([]);
  }, 60_000);
});
