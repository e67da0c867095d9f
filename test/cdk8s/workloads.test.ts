/**
 * The cdk8s constructs of every workload kind: each emits exactly the core's objects; exposure adds
 * the Service once; cdk8s-plus can select the pods (IPodSelector); HardenedApp writes a chart in
 * apply order whatever order its objects were made in.
 */
import { ApiObject, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { HardenedApp, HardenedCronJob, HardenedDeployment, HardenedJob, HardenedNamespace, HardenedStatefulSet } from '../../src/cdk8s';
import { hardenedCronJob, hardenedJob, hardenedStatefulSet } from '../../src/core';
import { checkObjects } from '../../src/rules';
import { IMAGE } from '../support/fixtures';

const web = { name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }] } as const;
const worker = { name: 'job', image: IMAGE, command: ['/app/run'] } as const;

describe('workload constructs', () => {
  it('each kind emits exactly the core objects', () => {
    const chart = Testing.chart();
    new HardenedStatefulSet(chart, 'db', { name: 'db', containers: [{ ...web, writablePaths: [{ path: '/data', storage: { size: '1Gi' } }] }] });
    new HardenedJob(chart, 'migrate', { name: 'migrate', containers: [worker] });
    new HardenedCronJob(chart, 'nightly', { name: 'nightly', schedule: '@daily', containers: [worker] });
    const out = Testing.synth(chart);
    const core = [
      ...hardenedStatefulSet({ name: 'db', containers: [{ ...web, writablePaths: [{ path: '/data', storage: { size: '1Gi' } }] }] }).objects,
      ...hardenedJob({ name: 'migrate', containers: [worker] }).objects,
      ...hardenedCronJob({ name: 'nightly', schedule: '@daily', containers: [worker] }).objects,
    ];
    expect(out.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(core.map((o) => `${o.kind}/${o.metadata!.name}`).sort());
    for (const o of core) expect(out.find((x) => x.kind === o.kind && x.metadata.name === o.metadata!.name)).toEqual(o);
    expect(checkObjects(out)).toEqual([]);
  });

  it('adds the Service once, for an Ingress and an HTTPRoute alike', () => {
    const chart = Testing.chart();
    const api = new HardenedDeployment(chart, 'api', { name: 'api', containers: [web] });
    api.exposeViaIngress({ hosts: ['api.example.com'] });
    api.exposeViaHttpRoute({ parentRefs: [{ name: 'gw' }] });
    const kinds = Testing.synth(chart).map((o) => o.kind);
    expect(kinds.filter((k) => k === 'Service')).toHaveLength(1);
    expect(kinds).toEqual(expect.arrayContaining(['Ingress', 'HTTPRoute']));
  });

  it('lets cdk8s-plus select its pods: a kplus Service and NetworkPolicy', () => {
    const chart = Testing.chart();
    const db = new HardenedStatefulSet(chart, 'db', { name: 'db', containers: [web] });
    const svc = new kplus.Service(chart, 'svc', { ports: [{ port: 8080 }] });
    svc.select(db);
    const policy = new kplus.NetworkPolicy(chart, 'np', { selector: db });
    policy.addIngressRule(kplus.Pods.all(chart, 'all-pods'), [kplus.NetworkPolicyPort.tcp(8080)]);
    const out = Testing.synth(chart);
    expect(out.find((o) => o.kind === 'Service' && o.metadata.name !== 'db-headless').spec.selector).toEqual({ 'app.kubernetes.io/name': 'db' });
    expect(out.find((o) => o.kind === 'NetworkPolicy').spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'db' } });
  });
});

describe('HardenedApp write order', () => {
  it('writes the Namespace first even when a raw claim was made before the HardenedNamespace', () => {
    const app = new HardenedApp({ outdir: mkdtempSync(join(tmpdir(), 'cleanimg-order-')) });
    try {
      const chart = new Chart(app, 'shop', { namespace: 'shop' });
      new ApiObject(chart, 'pvc', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
      const job = new HardenedCronJob(chart, 'report', { name: 'report', schedule: '0 6 * * 1', containers: [{ ...worker, writablePaths: [{ path: '/data', claimName: 'data' }] }] });
      new HardenedNamespace(chart, 'ns', { workloads: [job] });
      app.synth();
      const kinds = parseAllDocuments(readFileSync(join(app.outdir, 'shop.k8s.yaml'), 'utf8')).map((d) => d.toJS().kind);
      expect(kinds[0]).toBe('Namespace');
      expect(kinds.indexOf('PersistentVolumeClaim')).toBeGreaterThan(kinds.indexOf('ValidatingAdmissionPolicyBinding'));
      expect(kinds.indexOf('CronJob')).toBe(kinds.length - 1);
    } finally {
      rmSync(app.outdir, { recursive: true, force: true });
    }
  });
});
