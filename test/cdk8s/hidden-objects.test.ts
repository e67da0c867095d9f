/**
 * The cdk8s guards see what Lists and custom resources carry: HardenedApp refuses before writing,
 * and the `cdk8s synth` validation plugin (the real CLI, with cdk8s.yaml) fails on a plain App.
 */
import { ApiObject, Chart } from 'cdk8s';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HardenedApp, violationsIn } from '../../src/cdk8s';
import { goodDeployment } from '../support/fixtures';

const ROOT = resolve(__dirname, '../..');
const privilegedTemplate = () => {
  const t = goodDeployment().spec.template;
  t.spec.containers[0].securityContext.privileged = true;
  return t;
};

describe('HardenedApp and hidden objects', () => {
  it('refuses an Argo Rollout with a privileged template and a Secret inside a List, writing nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cleanimg-hidden-'));
    const app = new HardenedApp({ outdir: dir });
    const chart = new Chart(app, 'c');
    new ApiObject(chart, 'rollout', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'web' }, spec: { template: privilegedTemplate() } });
    new ApiObject(chart, 'list', { apiVersion: 'v1', kind: 'List', metadata: { name: 'extras' }, items: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 'hunter2' } }] } as never);
    expect(violationsIn(app).map((v) => `${v.code} ${v.object} ${v.path}`)).toEqual([
      'HD006 Rollout/web /spec/template/spec/containers/0/securityContext/privileged',
      'HD030 List/extras /items/0/stringData',
    ]);
    expect(() => app.synth()).toThrow(/HD006 Rollout\/web/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('cdk8s synth with the validation plugin, on Lists and custom resources', () => {
  it('fails a plain App whose List hides a privileged Deployment and whose Knative Service mounts a host path', () => {
    const plugin = join(ROOT, 'lib/cdk8s/validation-plugin.js');
    expect(existsSync(plugin)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'cleanimg-hidden-cli-'));
    writeFileSync(join(dir, 'cdk8s.yaml'), ['language: typescript', 'app: node app.js', 'output: dist', 'validations:', `  - package: ${plugin}`, '    class: HardeningValidation', '    version: 0.1.0', ''].join('\n'));
    const { metadata, spec } = goodDeployment();
    spec.template = privilegedTemplate();
    const hostPath = goodDeployment().spec.template;
    hostPath.spec.volumes.push({ name: 'docker', hostPath: { path: '/var/run/docker.sock' } });
    writeFileSync(join(dir, 'app.js'), `
      const { App, Chart, ApiObject } = require(${JSON.stringify(join(ROOT, 'node_modules/cdk8s'))});
      const app = new App();
      const chart = new Chart(app, 'raw');
      new ApiObject(chart, 'l', { apiVersion: 'v1', kind: 'List', metadata: { name: 'bundle' }, items: [{ apiVersion: 'apps/v1', kind: 'DeploymentList', items: [${JSON.stringify({ metadata, spec })}] }] });
      new ApiObject(chart, 'k', { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'ksvc' }, spec: { template: ${JSON.stringify(hostPath)} } });
      app.synth();
    `);
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/cdk8s-cli/bin/cdk8s'), 'synth'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' } });
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status, out).toBe(2);
    expect(out).toMatch(/HD006 containers are not privileged/);
    expect(out).toMatch(/List\/bundle/);
    expect(out).toMatch(/\/items\/0\/items\/0\/spec\/template\/spec\/containers\/0\/securityContext\/privileged/);
    expect(out).toMatch(/HD010 no hostPath volumes/);
    expect(out).toMatch(/Service\/ksvc/);
    expect(existsSync(join(dir, 'dist', 'raw.k8s.yaml'))).toBe(false);
  });
});
