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
import { HardenedApp, HardenedCronJob, HardenedDeployment, HardenedJob, HardenedNamespace, HardenedStatefulSet, type HardenedWorkload } from '../../src/cdk8s';
import { hardenedCronJob, hardenedDeployment, hardenedJob, hardenedStatefulSet, nonRootId, type HardenedWorkloadResult } from '../../src/core';
import { checkObjects } from '../../src/rules';
import { IMAGE } from '../support/fixtures';

const web = { name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }] } as const;
const worker = { name: 'job', image: IMAGE, command: ['/app/run'] } as const;
const plain = (o: unknown) => JSON.parse(JSON.stringify(o));
type Obj = Record<string, any>;
const key = (o: Obj) => `${o.kind}/${o.metadata?.name}`;

type Kind = 'Deployment' | 'StatefulSet' | 'Job' | 'CronJob';
const KINDS = {
  Deployment: { construct: HardenedDeployment, core: hardenedDeployment, accessor: 'deployment' },
  StatefulSet: { construct: HardenedStatefulSet, core: hardenedStatefulSet, accessor: 'statefulSet' },
  Job: { construct: HardenedJob, core: hardenedJob, accessor: 'job' },
  CronJob: { construct: HardenedCronJob, core: hardenedCronJob, accessor: 'cronJob' },
} as const;

const CASES: { kind: Kind; props: Obj }[] = [
  { kind: 'Deployment', props: { name: 'd-one', replicas: 1, containers: [{ ...web, writablePaths: [{ path: '/data', storage: { size: '1Gi' } }] }] } },
  { kind: 'Deployment', props: { name: 'd-auto', autoscaling: { maxReplicas: 6, cpuUtilization: 50 }, spread: { zones: true }, annotations: {}, containers: [{ ...web, writablePaths: [{ path: '/shared', storage: { size: '1Gi', accessMode: 'ReadWriteMany' } }] }] } },
  { kind: 'Deployment', props: { name: 'd-three', namespace: 'shop', replicas: 3, disruptionBudget: { minAvailable: 2 }, strategy: { type: 'RollingUpdate', maxSurge: '25%' }, containers: [web] } },
  { kind: 'StatefulSet', props: { name: 's-one', podManagementPolicy: 'Parallel', claimRetention: { whenDeleted: 'Delete' }, containers: [{ ...web, writablePaths: [{ path: '/data', storage: { size: '5Gi', storageClassName: 'fast' } }] }] } },
  { kind: 'StatefulSet', props: { name: 's-three', replicas: 3, disruptionBudget: false, updateStrategy: { type: 'OnDelete' }, tolerations: [{ key: 'dedicated', operator: 'Exists' }], containers: [web] } },
  { kind: 'StatefulSet', props: { name: 's-auto', autoscaling: { minReplicas: 2, maxReplicas: 4, memoryUtilization: 70 }, containers: [web] } },
  { kind: 'Job', props: { name: 'j-one', backoffLimit: 0, restartPolicy: 'OnFailure', ttlSecondsAfterFinished: 60, completions: 3, parallelism: 3, containers: [{ ...worker, writablePaths: [{ path: '/out', storage: { size: '1Gi' } }] }] } },
  { kind: 'Job', props: { name: 'j-two', runAsUser: nonRootId(40000), nodeSelector: { pool: 'batch' }, priorityClassName: 'low', containers: [worker] } },
  { kind: 'CronJob', props: { name: 'c-one', schedule: '*/15 9-17 * * mon-fri', timeZone: 'America/New_York', concurrencyPolicy: 'Replace', suspend: false, containers: [worker] } },
  { kind: 'CronJob', props: { name: 'c-two', schedule: '@weekly', successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 5, startingDeadlineSeconds: 100, containers: [{ ...worker, writablePaths: [{ path: '/r', claimName: 'reports' }] }] } },
];

describe('workload constructs', () => {
  for (const { kind, props } of CASES) {
    it(`${kind} ${props.name}: emits exactly the core's objects, and names them through its accessors`, () => {
      const chart = Testing.chart();
      const w = new KINDS[kind].construct(chart, 'w', props as never);
      const out = Testing.synth(chart);
      const core = (KINDS[kind].core as (p: unknown) => HardenedWorkloadResult)(props);
      expect(out.map(key).sort()).toEqual(core.objects.map(key).sort());
      for (const o of core.objects) expect(out.find((x) => key(x) === key(o)), key(o)).toEqual(plain(o));
      expect(plain(w.result)).toEqual(plain(core));
      expect(checkObjects(out)).toEqual([]);
      const workload = (w as unknown as Record<string, ApiObject>)[KINDS[kind].accessor]!;
      expect(workload).toBe(w.workload);
      expect(workload.kind).toBe(kind);
      expect(w.serviceAccount.kind).toBe('ServiceAccount');
      expect(w.name).toBe(props.name);
      if (w instanceof HardenedStatefulSet) expect(w.headlessService.toJson()).toEqual(plain(core.headlessService));
    });
  }

  it('emits the objects of several kinds in one chart, each exactly the core\'s', () => {
    const chart = Testing.chart();
    for (const { kind, props } of CASES) new KINDS[kind].construct(chart, props.name, props as never);
    const out = Testing.synth(chart);
    const core = CASES.flatMap(({ kind, props }) => (KINDS[kind].core as (p: unknown) => HardenedWorkloadResult)(props).objects);
    expect(out.map(key).sort()).toEqual(core.map(key).sort());
    for (const o of core) expect(out.find((x) => key(x) === key(o))).toEqual(plain(o));
  });

  for (const kind of ['Deployment', 'StatefulSet'] as const) {
    it(`${kind}: exposeViaIngress and exposeViaHttpRoute add the Service once, in either order, and not when it exists or another is named`, () => {
      const services = (build: (w: HardenedWorkload) => void) => {
        const chart = Testing.chart();
        build(new KINDS[kind].construct(chart, 'api', { name: 'api', containers: [web] } as never));
        const out = Testing.synth(chart);
        return { out, services: out.filter((o) => o.kind === 'Service' && o.spec.clusterIP !== 'None') };
      };
      const routeFirst = services((w) => { w.exposeViaHttpRoute({ parentRefs: [{ name: 'gw' }] }); w.exposeViaIngress({ hosts: ['api.example.com'] }); });
      const ingressFirst = services((w) => { w.exposeViaIngress({ hosts: ['api.example.com'] }); w.exposeViaHttpRoute({ parentRefs: [{ name: 'gw' }] }); });
      for (const r of [routeFirst, ingressFirst]) {
        expect(r.services.map((s) => s.metadata.name)).toEqual(['api']);
        expect(r.out.map((o) => o.kind)).toEqual(expect.arrayContaining(['Ingress', 'HTTPRoute']));
        expect(r.out.find((o) => o.kind === 'Ingress').spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'api', port: { number: 8080 } });
        expect(r.out.find((o) => o.kind === 'HTTPRoute').spec.rules[0].backendRefs).toEqual([{ name: 'api', port: 8080 }]);
      }
      expect(services((w) => { w.exposeViaService(); w.exposeViaIngress({ hosts: ['a.example.com'] }); w.exposeViaIngress({ hosts: ['b.example.com'], name: 'api-b' }); }).services).toHaveLength(1);
      expect(services((w) => { w.exposeViaIngress({ hosts: ['a.example.com'], serviceName: 'other' }); }).services).toHaveLength(0);
    });
  }

  for (const kind of Object.keys(KINDS) as Kind[]) {
    it(`${kind}: is an IPodSelector, so a cdk8s-plus Service and NetworkPolicy select its pods`, () => {
      const chart = Testing.chart();
      const props = kind === 'CronJob' ? { name: 'sel', schedule: '@daily', containers: [web] } : { name: 'sel', containers: [web] };
      const w = new KINDS[kind].construct(chart, 'sel', props as never);
      const svc = new kplus.Service(chart, 'svc', { ports: [{ port: 8080 }] });
      svc.select(w);
      const policy = new kplus.NetworkPolicy(chart, 'np', { selector: w });
      policy.addIngressRule(kplus.Pods.all(chart, 'all-pods'), [kplus.NetworkPolicyPort.tcp(8080)]);
      const out = Testing.synth(chart);
      const podLabels = (KINDS[kind].core as (p: unknown) => HardenedWorkloadResult)(props).objects
        .map((o: Obj) => (o.spec?.jobTemplate?.spec ?? o.spec)?.template?.metadata?.labels).find(Boolean);
      const selector = out.find((o) => o.kind === 'Service' && o.metadata.name !== 'sel-headless').spec.selector;
      expect(selector).toEqual({ 'app.kubernetes.io/name': 'sel' });
      // the selector matches the pods' labels
      for (const [k, v] of Object.entries(selector)) expect(podLabels[k]).toBe(v);
      expect(out.find((o) => o.kind === 'NetworkPolicy').spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'sel' } });
    });
  }
});

describe('HardenedApp write order', () => {
  function written(build: (chart: Chart) => void): string[] {
    const app = new HardenedApp({ outdir: mkdtempSync(join(tmpdir(), 'cleanimg-order-')) });
    try {
      build(new Chart(app, 'shop', { namespace: 'shop' }));
      app.synth();
      return parseAllDocuments(readFileSync(join(app.outdir, 'shop.k8s.yaml'), 'utf8')).map((d) => `${d.toJS().kind}/${d.toJS().metadata.name}`);
    } finally {
      rmSync(app.outdir, { recursive: true, force: true });
    }
  }

  it('writes the Namespace first even when a raw claim was made before the HardenedNamespace', () => {
    const objects = written((chart) => {
      new ApiObject(chart, 'pvc', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
      const job = new HardenedCronJob(chart, 'report', { name: 'report', schedule: '0 6 * * 1', containers: [{ ...worker, writablePaths: [{ path: '/data', claimName: 'data' }] }] });
      new HardenedNamespace(chart, 'ns', { workloads: [job] });
    });
    const kinds = objects.map((o) => o.split('/')[0]);
    expect(kinds[0]).toBe('Namespace');
    expect(kinds.indexOf('PersistentVolumeClaim')).toBeGreaterThan(kinds.indexOf('ValidatingAdmissionPolicyBinding'));
    expect(kinds.indexOf('CronJob')).toBe(kinds.length - 1);
  });

  it('writes every kind after its guards, identities, claims and Services, and autoscalers and routes after their workloads', () => {
    const objects = written((chart) => {
      new ApiObject(chart, 'pvc', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'raw' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
      const api = new HardenedDeployment(chart, 'api', { name: 'api', autoscaling: { maxReplicas: 4 }, containers: [{ ...web, writablePaths: [{ path: '/shared', storage: { size: '1Gi', accessMode: 'ReadWriteMany' } }] }] });
      api.exposeViaIngress({ hosts: ['api.example.com'] });
      api.exposeViaHttpRoute({ parentRefs: [{ name: 'gw' }] });
      const db = new HardenedStatefulSet(chart, 'db', { name: 'db', replicas: 3, containers: [{ ...web, writablePaths: [{ path: '/data', storage: { size: '1Gi' } }] }] });
      const migrate = new HardenedJob(chart, 'migrate', { name: 'migrate', containers: [worker] });
      const nightly = new HardenedCronJob(chart, 'nightly', { name: 'nightly', schedule: '@daily', containers: [worker] });
      new HardenedNamespace(chart, 'ns', { workloads: [api, db, migrate, nightly] }).allowTo(migrate, db);
    });
    const at = (k: string) => objects.indexOf(k);
    expect(objects[0]).toBe('Namespace/shop');
    const guards = ['ValidatingAdmissionPolicy/cleanimg-hardening.shop', 'ValidatingAdmissionPolicyBinding/cleanimg-hardening.shop', 'NetworkPolicy/default-deny', 'NetworkPolicy/allow-dns', 'Role/cleanimg-app', 'RoleBinding/cleanimg-app'];
    const before = {
      'Deployment/api': ['ServiceAccount/api', 'PersistentVolumeClaim/api-app-shared', 'PersistentVolumeClaim/raw', 'Service/api', 'NetworkPolicy/allow-api'],
      'StatefulSet/db': ['ServiceAccount/db', 'Service/db-headless', 'PodDisruptionBudget/db', 'NetworkPolicy/allow-db'],
      'Job/migrate': ['ServiceAccount/migrate', 'NetworkPolicy/allow-migrate'],
      'CronJob/nightly': ['ServiceAccount/nightly'],
    };
    for (const [workload, first] of Object.entries(before)) {
      for (const o of [...guards, ...first]) expect(at(o), `${o} before ${workload}`).toBeLessThan(at(workload));
      expect(at(workload)).toBeGreaterThan(0);
    }
    for (const after of ['HorizontalPodAutoscaler/api', 'Ingress/api', 'HTTPRoute/api']) expect(at(after), after).toBeGreaterThan(at('Deployment/api'));
    expect(objects).toHaveLength(new Set(objects).size);
  });
});
