import { ApiObject, App, Chart, JsonPatch, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvConfig, HardenedApp, HardenedDeployment, violationsIn } from '../../src/cdk8s';
import { hardenedDeployment } from '../../src/core';
import { checkObjects } from '../../src/rules';
import { IMAGE } from '../support/fixtures';

const container = { name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }] } as const;

describe('HardenedDeployment (cdk8s)', () => {
  it('emits exactly the core objects, under the chart namespace', () => {
    const chart = Testing.chart();
    new HardenedDeployment(chart, 'web', { name: 'web', containers: [container] });
    const out = Testing.synth(chart);
    const core = hardenedDeployment({ name: 'web', containers: [container] });
    expect(out).toEqual([core.serviceAccount, core.deployment, core.disruptionBudget]);
    expect(out.map((o) => o.kind)).toEqual(['ServiceAccount', 'Deployment', 'PodDisruptionBudget']);
    expect(checkObjects(out)).toEqual([]);
  });

  it('derives a DNS name from the construct path (chart included) when none is given', () => {
    const chart = Testing.chart();
    new HardenedDeployment(chart, 'Web_Front', { containers: [container] });
    expect(Testing.synth(chart).map((o) => o.metadata.name)).toEqual(['test-web-front', 'test-web-front', 'test-web-front']);
  });

  it('fails at construction with every broken rule, from JavaScript', () => {
    const chart = Testing.chart();
    const props: any = { containers: [{ ...container, image: 'nginx:1.25', privileged: true }], runAsUser: 0 };
    expect(() => new HardenedDeployment(chart, 'bad', props)).toThrow(/HD006[\s\S]*HD002[\s\S]*HD003|HD002[\s\S]*HD003[\s\S]*HD006|HD003/);
    try { new HardenedDeployment(chart, 'bad2', props); } catch (e: any) {
      expect(e.problems.map((p: any) => p.code).sort()).toEqual(['HD002', 'HD003', 'HD006']);
    }
  });

  it('mounts an EnvConfig construct and names its hashed ConfigMap', () => {
    const chart = Testing.chart();
    const cfg = new EnvConfig(chart, 'cfg', { name: 'gw', data: { 'nginx.conf': 'events {}' }, fileMounts: { 'nginx.conf': '/etc/nginx/nginx.conf' } });
    new HardenedDeployment(chart, 'gw', { name: 'gw', containers: [{ ...container, config: [cfg] }] });
    const out = Testing.synth(chart);
    const cm = out.find((o) => o.kind === 'ConfigMap');
    expect(cm.metadata.name).toBe(cfg.configMapName);
    const d = out.find((o) => o.kind === 'Deployment');
    expect(d.spec.template.spec.volumes).toContainEqual({ name: 'gw-config', configMap: { name: cfg.configMapName } });
  });

  it('can be selected by a cdk8s-plus Service and NetworkPolicy', () => {
    const chart = Testing.chart();
    const web = new HardenedDeployment(chart, 'web', { name: 'web', containers: [container] });
    const svc = new kplus.Service(chart, 'svc', { ports: [{ port: 80, targetPort: 8080 }] });
    svc.select(web);
    new kplus.NetworkPolicy(chart, 'np', { selector: web });
    const out = Testing.synth(chart);
    expect(out.find((o) => o.kind === 'Service').spec.selector).toEqual({ 'app.kubernetes.io/name': 'web' });
    expect(out.find((o) => o.kind === 'NetworkPolicy').spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'web' } });
  });

  it('exposeViaService makes a Service for the declared ports', () => {
    const chart = Testing.chart();
    new HardenedDeployment(chart, 'web', { name: 'web', containers: [container] }).exposeViaService();
    const svc = Testing.synth(chart).find((o) => o.kind === 'Service');
    expect(svc.spec).toEqual({ type: 'ClusterIP', selector: { 'app.kubernetes.io/name': 'web' }, ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }] });
  });
});

describe('HardenedApp', () => {
  function appIn(dir: string) {
    return new HardenedApp({ outdir: dir });
  }

  it('refuses to synthesize a hand-written insecure Deployment beside ours, writing nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cleanimg-synth-'));
    const app = appIn(dir);
    const chart = new Chart(app, 'c');
    new HardenedDeployment(chart, 'ok', { name: 'ok', containers: [container] });
    new ApiObject(chart, 'raw', {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'raw' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'x', image: 'nginx:1.25' }] } } },
    });
    expect(() => app.synth()).toThrow(/HD003 Deployment\/raw \/spec\/template\/spec\/containers\/0\/image/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('catches an addJsonPatch escape on our own Deployment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cleanimg-synth-'));
    const app = appIn(dir);
    const chart = new Chart(app, 'c');
    const web = new HardenedDeployment(chart, 'web', { name: 'web', containers: [container] });
    web.deployment.addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem', false));
    expect(violationsIn(app).map((v) => v.code)).toEqual(['HD004']);
    expect(() => app.synth()).toThrow(/HD004/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('synthesizes a clean app', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cleanimg-synth-'));
    const app = appIn(dir);
    new HardenedDeployment(new Chart(app, 'c'), 'web', { name: 'web', containers: [container] });
    app.synth();
    expect(readdirSync(dir)).toEqual(['c.k8s.yaml']);
  });

  it('a plain App does not check (that is what the synth plugin is for)', () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cleanimg-synth-')) });
    new ApiObject(new Chart(app, 'c'), 'raw', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'x', image: 'nginx' }] } });
    expect(() => app.synth()).not.toThrow();
    expect(violationsIn(app).length).toBeGreaterThan(5);
  });
});
