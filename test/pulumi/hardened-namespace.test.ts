import * as crypto from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  HardenedCronJob as Cdk8sCronJob, HardenedDeployment as Cdk8sDeployment, HardenedJob as Cdk8sJob, HardenedNamespace as Cdk8sNamespace, HardenedStatefulSet as Cdk8sStatefulSet,
} from '../../src/cdk8s';
import { hardenedCronJob, hardenedDeployment, hardenedJob, hardenedNamespace } from '../../src/core';
import { CleanimgError } from '../../src/errors';
import { EnvConfig, HardenedCronJob, HardenedDeployment, HardenedJob, HardenedNamespace, HardenedStatefulSet, type HardenedWorkload } from '../../src/pulumi';
import { checkObjects } from '../../src/rules';
import { installMocks, settle, valueOf } from './harness';
import { thrown } from '../support/expect-error';

const recorder = installMocks();
const PINNED = 'registry.example.com/app@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9' as const;
const container = { name: 'app', image: PINNED, ports: [{ containerPort: 8080, name: 'http' }] } as const;
const plain = (o: unknown) => JSON.parse(JSON.stringify(o));
type Obj = Record<string, any>;
const key = (o: Obj) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

/** The dependencies (URNs) each resource was registered with, as the engine would receive them. */
const dependencies = new Map<string, string[]>();
const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: any, cb: unknown): unknown };
const register = monitor.registerResource.bind(monitor);
monitor.registerResource = (req, cb) => {
  dependencies.set(`${req.getType()}::${req.getName()}`, req.getDependenciesList());
  return register(req, cb);
};
const depsOf = (type: string, name: string) => dependencies.get(`${type}::${name}`) ?? [];


/** Lets pending registrations run (a rejected or held one never reaches the mocks). */
const tick = () => new Promise((r) => setTimeout(r, 100));

describe('HardenedNamespace (Pulumi)', () => {
  it('registers exactly the core objects as typed resources, parented to the component, equal to the cdk8s objects', async () => {
    let web!: HardenedDeployment;
    let api!: HardenedDeployment;
    const ns = new HardenedNamespace('shop', {
      grants: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
      allowedRegistries: ['registry.example.com'],
      deployments: (o) => {
        web = new HardenedDeployment('web', { namespace: 'shop', containers: [container] }, o);
        api = new HardenedDeployment('api', { namespace: 'shop', containers: [{ ...container, ports: [{ containerPort: 9090 }] }] }, o);
        return [{ workload: web, egressTo: [{ to: [api], ports: [{ port: 9090 }] }] }, { deployment: api, ingressFrom: [web] }];
      },
    });
    const urns = await settle(ns, ns.namespace, ns.policy, ns.policyBinding, ns.role, ns.roleBinding, ...Object.values(ns.networkPolicies));
    expect(urns[0]).toMatch(/::cleanimg:index:HardenedNamespace::shop$/);
    expect(urns.slice(1).map((u) => u.replace(/^.*::cleanimg:index:HardenedNamespace\$/, ''))).toEqual([
      'kubernetes:core/v1:Namespace::shop',
      'kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy::shop',
      'kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding::shop',
      'kubernetes:rbac.authorization.k8s.io/v1:Role::shop',
      'kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::shop',
      'kubernetes:networking.k8s.io/v1:NetworkPolicy::shop-default-deny',
      'kubernetes:networking.k8s.io/v1:NetworkPolicy::shop-allow-dns',
      'kubernetes:networking.k8s.io/v1:NetworkPolicy::shop-allow-web',
      'kubernetes:networking.k8s.io/v1:NetworkPolicy::shop-allow-api',
    ]);
    const registered = recorder.kube().map((r) => plain(r.inputs)).filter((o) => o.metadata?.namespace === 'shop' || o.metadata?.name === 'shop' || o.metadata?.name === 'cleanimg-hardening.shop');
    const guards = registered.filter((o) => !['Deployment', 'ServiceAccount', 'PodDisruptionBudget'].includes(o.kind));

    // The core's objects, field by field.
    const core = hardenedNamespace({
      name: 'shop', grants: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }], allowedRegistries: ['registry.example.com'],
      workloads: [
        { workload: hardenedDeployment({ name: 'web', namespace: 'shop', containers: [container] }), egressTo: [{ to: [{ pods: { 'app.kubernetes.io/name': 'api' } }], ports: [{ port: 9090 }] }] },
        { workload: hardenedDeployment({ name: 'api', namespace: 'shop', containers: [{ ...container, ports: [{ containerPort: 9090 }] }] }), ingressFrom: [{ pods: { 'app.kubernetes.io/name': 'web' } }] },
      ],
    });
    expect(guards.map(key).sort()).toEqual(core.objects.map(key).sort());
    for (const o of core.objects) expect(guards.find((g) => key(g) === key(o)), key(o)).toEqual(plain(o));
    expect(plain(ns.resultValue)).toEqual(plain(core));
    expect(checkObjects(registered)).toEqual([]);

    // The cdk8s face, same props.
    const chart = new Chart(Testing.app(), 'c', { namespace: 'shop' });
    const cweb = new Cdk8sDeployment(chart, 'web', { name: 'web', containers: [container] });
    const capi = new Cdk8sDeployment(chart, 'api', { name: 'api', containers: [{ ...container, ports: [{ containerPort: 9090 }] }] });
    new Cdk8sNamespace(chart, 'ns', { name: 'shop', grants: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }], allowedRegistries: ['registry.example.com'] })
      .addDeployment(cweb).addDeployment(capi).allowTo(cweb, capi).allowFrom(capi, cweb);
    const synthesized = Testing.synth(chart);
    expect(registered.map(key).sort()).toEqual(synthesized.map(key).sort());
    for (const o of synthesized) expect(registered.find((p) => key(p) === key(o)), key(o)).toEqual(o);
    expect(ns.deployments).toEqual([web, api]);
  });

  it('registers the signature policies as guards, equal to the core\'s and the cdk8s objects', async () => {
    const publicKey = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    let d!: HardenedDeployment;
    const ns = new HardenedNamespace('signed', {
      imageSignatures: { publicKey, signatureFormat: 'both' },
      deployments: (o) => [d = new HardenedDeployment('signed-app', { namespace: 'signed', containers: [container] }, o)],
    });
    const cip = ns.signaturePolicies['ClusterImagePolicy']!;
    const kyverno = ns.signaturePolicies['ClusterPolicy']!;
    await settle(ns.namespace, cip, kyverno, d.deployment);
    const guardUrns = await Promise.all(ns.guards.map((g) => valueOf(g.urn)));
    expect(guardUrns).toEqual(expect.arrayContaining([await valueOf(cip.urn), await valueOf(kyverno.urn)]));
    expect(depsOf('kubernetes:apps/v1:Deployment', 'signed-app')).toEqual(expect.arrayContaining(guardUrns));
    const registered = recorder.kube().map((r) => plain(r.inputs)).filter((o) => o.metadata?.name === 'cleanimg-signatures.signed');
    const core = hardenedNamespace({ name: 'signed', imageSignatures: { publicKey, signatureFormat: 'both' }, workloads: [{ workload: hardenedDeployment({ name: 'signed-app', namespace: 'signed', containers: [container] }) }] });
    expect(registered.map(key).sort()).toEqual(core.signaturePolicies.map(key).sort());
    for (const o of core.signaturePolicies) expect(registered.find((g) => key(g) === key(o)), key(o)).toEqual(plain(o));
    const chart = new Chart(Testing.app(), 'c', { namespace: 'signed' });
    const cd = new Cdk8sDeployment(chart, 'app', { name: 'signed-app', containers: [container] });
    new Cdk8sNamespace(chart, 'ns', { name: 'signed', imageSignatures: { publicKey, signatureFormat: 'both' } }).addWorkload(cd);
    const synthesized = Testing.synth(chart).filter((o) => o.metadata?.name === 'cleanimg-signatures.signed');
    expect(synthesized.map(key).sort()).toEqual(registered.map(key).sort());
    for (const o of synthesized) expect(registered.find((p) => key(p) === key(o)), key(o)).toEqual(o);
  });

  it('orders every Kubernetes object of the declared workloads after the guards (dependsOn), and the guards among themselves', async () => {
    let d!: HardenedDeployment;
    let cfg!: EnvConfig;
    const ns = new HardenedNamespace('ordered', {
      deployments: (o) => {
        cfg = new EnvConfig('ordered-config', { name: 'cfg', namespace: 'ordered', data: { 'a.conf': 'x=1\n' } }, o);
        d = new HardenedDeployment('ordered-app', { namespace: 'ordered', containers: [{ ...container, config: [cfg] }] }, o);
        return [d];
      },
    });
    await settle(ns.namespace, ns.policy, ns.policyBinding, ns.role, ns.roleBinding, d.deployment, d.serviceAccount, cfg.configMap);
    const urn = (r: pulumi.Resource) => valueOf(r.urn);
    const guardUrns = await Promise.all(ns.guards.map(urn));
    expect(ns.guards.map((g) => g.constructor.name)).toEqual(['Namespace', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'Role', 'NetworkPolicy', 'NetworkPolicy']);
    for (const [type, name] of [['kubernetes:apps/v1:Deployment', 'ordered-app'], ['kubernetes:core/v1:ServiceAccount', 'ordered-app'], ['kubernetes:core/v1:ConfigMap', 'ordered-config']] as const)
      expect(depsOf(type, name), `${type} ${name}`).toEqual(expect.arrayContaining(guardUrns));
    // and they reach the engine after the guards
    const order = recorder.resources.map((r) => `${r.type}::${r.name}`);
    const first = (t: string, n: string) => order.indexOf(`${t}::${n}`);
    expect(first('kubernetes:apps/v1:Deployment', 'ordered-app')).toBeGreaterThan(first('kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding', 'ordered'));
    expect(first('kubernetes:core/v1:ConfigMap', 'ordered-config')).toBeGreaterThan(first('kubernetes:core/v1:Namespace', 'ordered'));
    // the binding after its policy; namespaced guards after the Namespace
    expect(depsOf('kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding', 'ordered')).toContain(await urn(ns.policy));
    for (const [type, name] of [['kubernetes:rbac.authorization.k8s.io/v1:Role', 'ordered'], ['kubernetes:rbac.authorization.k8s.io/v1:RoleBinding', 'ordered'], ['kubernetes:networking.k8s.io/v1:NetworkPolicy', 'ordered-default-deny']] as const)
      expect(depsOf(type, name)).toContain(await urn(ns.namespace));
    // the Deployment keeps its own dependencies
    expect(depsOf('kubernetes:apps/v1:Deployment', 'ordered-app')).toEqual(expect.arrayContaining([await urn(d.serviceAccount), await urn(cfg.configMap!)]));
  });

  it('refuses dangerous grants and bad props with the cdk8s face\'s codes and messages, registering nothing and declaring no workload', async () => {
    const cases: Record<string, unknown>[] = [
      { name: 'shop', grants: [{ apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }] },
      { name: 'shop', grants: [{ apiGroups: [''], resources: ['pods/attach', 'pods/ephemeralcontainers'], verbs: ['create', 'patch'] }] },
      { name: 'shop', grants: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }] },
      { name: 'shop', grants: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] },
      { name: 'shop', grants: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['escalate'] }] },
      { name: 'Not_A_Name' },
      { name: 'shop', podSecurityVersion: 'v1' },
      { name: 'shop', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
      { name: 'shop', allowedRegistries: [] },
      { name: 'shop', dns: { namespace: 'Kube System' } },
    ];
    await tick();
    for (const props of cases) {
      const fromCdk8s = thrown(() => new Cdk8sNamespace(Testing.chart(), 'ns', props as never));
      const before = recorder.resources.length;
      let declared = false;
      const fromPulumi = thrown(() => new HardenedNamespace(`bad-${cases.indexOf(props)}`, { ...props, deployments: () => { declared = true; return []; } } as never));
      expect(fromPulumi, JSON.stringify(props)).toBeInstanceOf(CleanimgError);
      expect(fromPulumi.problems.length).toBeGreaterThan(0);
      expect(fromPulumi.message).toBe(fromCdk8s.message);
      expect(fromPulumi.problems).toEqual(fromCdk8s.problems);
      expect(declared).toBe(false);
      await tick();
      expect(recorder.resources.length).toBe(before);
    }
    const grant = thrown(() => new HardenedNamespace('grant', { grants: [{ apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }] }));
    expect(grant.problems.map((p) => `${p.code} ${p.path}`)).toEqual(['NS011 grants[0]']);
  });

  it('refuses a workload outside the namespace before any Kubernetes object is registered (NS014)', async () => {
    await tick();
    const before = recorder.kube().length;
    const elsewhere = thrown(() => new HardenedNamespace('strict', {
      deployments: (o) => [new HardenedDeployment('stray', { namespace: 'other', containers: [container] }, o)],
    }));
    expect(elsewhere.problems).toEqual([expect.objectContaining({ code: 'NS014', path: 'workloads[0]', message: 'Deployment stray is in namespace other, not strict' })]);
    const nowhere = thrown(() => new HardenedNamespace('strict2', {
      deployments: (o) => [new HardenedDeployment('loose', { containers: [container] }, o)],
    }));
    expect(nowhere.message).toMatch(/HardenedNamespace strict2: Deployment loose has no namespace/);
    expect(nowhere.problems[0]).toMatchObject({ code: 'NS014', fix: 'set namespace: "strict2" on it' });
    const twice = thrown(() => new HardenedNamespace('strict3', {
      deployments: (o) => { const d = new HardenedDeployment('dup', { namespace: 'strict3', containers: [container] }, o); return [d, d]; },
    }));
    expect(twice.problems.map((p) => p.code)).toEqual(['NS015']);
    const badPeer = thrown(() => new HardenedNamespace('strict4', {
      deployments: (o) => [{ deployment: new HardenedDeployment('peer', { namespace: 'strict4', containers: [container] }, o), egressTo: [{ to: [{ cidr: 'nope' }], ports: [{ port: 1 }] }] }],
    }));
    expect(badPeer.problems.map((p) => p.code)).toEqual(['NS016']);
    await tick();
    // the stray deployments' own objects wait on guards that never came: nothing reached the engine
    expect(recorder.kube().length).toBe(before);
  });

  it('takes a deployment whose args are Outputs: the same objects once its values are known', async () => {
    let d!: HardenedDeployment;
    const ns = new HardenedNamespace('later', {
      deployments: (o) => [(d = new HardenedDeployment('later-app', { namespace: pulumi.output('later'), containers: [{ ...container, image: pulumi.output(PINNED) }] }, o))],
    });
    expect(ns.resultValue).toBeUndefined();
    await settle(ns.roleBinding, ns.networkPolicies['allow-later-app'], d.deployment);
    const core = hardenedNamespace({ name: 'later', workloads: [{ workload: hardenedDeployment({ name: 'later-app', namespace: 'later', containers: [container] }) }] });
    const registered = recorder.kube().map((r) => plain(r.inputs)).filter((o) => o.metadata?.namespace === 'later' || o.metadata?.name === 'later' || o.metadata?.name === 'cleanimg-hardening.later');
    for (const o of core.objects) expect(registered.find((g) => key(g) === key(o)), key(o)).toEqual(plain(o));
    expect(plain(await valueOf(ns.result))).toEqual(plain(core));
  });

  it('without deployments: the guards, no RoleBinding, no allow beyond DNS; name from args or the resource name', async () => {
    const ns = new HardenedNamespace('empty-ns', { name: 'empty', dns: false });
    await settle(ns.namespace, ns.role, ...Object.values(ns.networkPolicies));
    expect(ns.roleBinding).toBeUndefined();
    expect(Object.keys(ns.networkPolicies)).toEqual(['default-deny']);
    expect(recorder.inputsOf('kubernetes:core/v1:Namespace', 'empty-ns').metadata.name).toBe('empty');
    expect(new HardenedNamespace('by-resource-name').name).toBe('by-resource-name');
  });
});

describe('HardenedNamespace (Pulumi) with every workload kind', () => {
  const worker = { name: 'task', image: PINNED, command: ['/app/run'] } as const;
  const database = { name: 'db', image: PINNED, ports: [{ containerPort: 5432, name: 'pg' }], writablePaths: [{ path: '/data', storage: { size: '1Gi' } }] } as const;
  const dumps = { ...worker, writablePaths: [{ path: '/dumps', storage: { size: '2Gi' } }] } as const;

  /** Every child of a workload component: its URN, type and name as the engine received them. */
  async function childrenOf(w: HardenedWorkload): Promise<{ urn: string; type: string; name: string }[]> {
    const out = [];
    for (const child of Object.values(w.children)) {
      const [urn] = await settle(child);
      out.push({ urn: urn!, type: urn!.split('::')[2]!.split('$').pop()!, name: urn!.split('::')[3]! });
    }
    return out;
  }

  it('orders a StatefulSet, a Job and CronJobs after the guards, binds their ServiceAccounts and gives each its NetworkPolicy, as cdk8s does', async () => {
    let db!: HardenedStatefulSet;
    let migrate!: HardenedJob;
    let backup!: HardenedCronJob;
    let report!: HardenedCronJob;
    const ns = new HardenedNamespace('batch', {
      annotations: {},
      deployments: (o) => {
        db = new HardenedStatefulSet('db', { namespace: 'batch', replicas: 3, containers: [database] }, o);
        migrate = new HardenedJob('migrate', { namespace: 'batch', backoffLimit: 1, containers: [worker] }, o);
        backup = new HardenedCronJob('backup', { namespace: 'batch', schedule: '30 2 * * *', timeZone: 'Etc/UTC', containers: [dumps] }, o);
        report = new HardenedCronJob('report', { namespace: 'batch', schedule: '@weekly', containers: [worker] }, o);
        return [
          { workload: db, ingressFrom: [migrate, backup] },
          { workload: migrate, egressTo: [{ to: [db], ports: [{ port: 5432 }] }] },
          { workload: backup, egressTo: [{ to: [db], ports: [{ port: 5432 }] }] },
          report,
        ];
      },
    });
    expect(ns.workloads).toEqual([db, migrate, backup, report]);
    await settle(ns, ns.namespace, ns.policy, ns.policyBinding, ns.role, ns.roleBinding, ...Object.values(ns.networkPolicies));
    const guardUrns = await Promise.all(ns.guards.map((g) => valueOf(g.urn)));
    expect(guardUrns).toHaveLength(6);

    // Every Kubernetes object of every kind depends on every guard, and reaches the engine after them.
    const order = recorder.resources.map((r) => `${r.type}::${r.name}`);
    const bindingAt = order.indexOf('kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding::batch');
    const seen = new Set<string>();
    for (const w of [db, migrate, backup, report]) {
      for (const c of await childrenOf(w)) {
        seen.add(c.type.split(':').pop()!);
        expect(depsOf(c.type, c.name), `${c.type} ${c.name}`).toEqual(expect.arrayContaining(guardUrns));
        expect(order.indexOf(`${c.type}::${c.name}`), `${c.type} ${c.name}`).toBeGreaterThan(bindingAt);
      }
    }
    expect([...seen].sort()).toEqual(['CronJob', 'Job', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'Service', 'ServiceAccount', 'StatefulSet']);

    // The RoleBinding names every ServiceAccount; NetworkPolicies: the StatefulSet's port from the two
    // jobs, egress-only policies for the jobs that reach it, none for a CronJob with no port and no egress.
    const binding = recorder.inputsOf('kubernetes:rbac.authorization.k8s.io/v1:RoleBinding', 'batch');
    expect(binding.subjects).toEqual(['db', 'migrate', 'backup', 'report'].map((name) => ({ kind: 'ServiceAccount', name, namespace: 'batch' })));
    expect(Object.keys(ns.networkPolicies)).toEqual(['default-deny', 'allow-dns', 'allow-db', 'allow-migrate', 'allow-backup']);
    const policy = (n: string) => recorder.inputsOf('kubernetes:networking.k8s.io/v1:NetworkPolicy', `batch-${n}`).spec;
    expect(policy('allow-migrate')).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'migrate' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'db' } } }], ports: [{ port: 5432, protocol: 'TCP' }] }],
    });
    expect(policy('allow-db')).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'db' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'migrate' } } }, { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'backup' } } }], ports: [{ port: 5432, protocol: 'TCP' }] }],
    });

    // The cdk8s HardenedNamespace with the same workloads: the same objects, field by field.
    const chart = new Chart(Testing.app(), 'c', { namespace: 'batch' });
    const cdb = new Cdk8sStatefulSet(chart, 'db', { name: 'db', replicas: 3, containers: [database] });
    const cmigrate = new Cdk8sJob(chart, 'migrate', { name: 'migrate', backoffLimit: 1, containers: [worker] });
    const cbackup = new Cdk8sCronJob(chart, 'backup', { name: 'backup', schedule: '30 2 * * *', timeZone: 'Etc/UTC', containers: [dumps] });
    const creport = new Cdk8sCronJob(chart, 'report', { name: 'report', schedule: '@weekly', containers: [worker] });
    new Cdk8sNamespace(chart, 'ns', { name: 'batch', annotations: {}, workloads: [cdb, cmigrate, cbackup, creport] })
      .allowFrom(cdb, cmigrate, cbackup).allowTo(cmigrate, cdb).allowTo(cbackup, cdb);
    const synthesized = Testing.synth(chart);
    const registered = recorder.kube().map((r) => plain(r.inputs)).filter((o) => o.metadata?.namespace === 'batch' || o.metadata?.name === 'batch' || o.metadata?.name === 'cleanimg-hardening.batch');
    expect(registered.map(key).sort()).toEqual(synthesized.map(key).sort());
    for (const o of synthesized) expect(registered.find((p) => key(p) === key(o)), key(o)).toEqual(o);
    expect(checkObjects(registered)).toEqual([]);
  });

  it('takes a Job and a CronJob whose args are Outputs: NetworkPolicies and RoleBinding exist before the values are known, the same objects once known', async () => {
    let job!: HardenedJob;
    let cron!: HardenedCronJob;
    const ns = new HardenedNamespace('later-batch', {
      deployments: (o) => {
        job = new HardenedJob('late-job', { namespace: pulumi.output('later-batch'), containers: [{ ...worker, image: pulumi.output(PINNED) }] }, o);
        cron = new HardenedCronJob('late-cron', { namespace: 'later-batch', schedule: '@hourly', labels: pulumi.output({ team: 'ops' }), containers: [{ ...worker, ports: [{ containerPort: 9090, name: 'metrics' }] }] }, o);
        return [{ workload: job, egressTo: [{ to: [cron], ports: [{ port: 9090 }] }] }, { workload: cron, ingressFrom: [job] }];
      },
    });
    expect(ns.resultValue).toBeUndefined();
    expect(Object.keys(ns.networkPolicies)).toEqual(['default-deny', 'allow-dns', 'allow-late-job', 'allow-late-cron']);
    expect(ns.roleBinding).toBeDefined();
    await settle(ns.roleBinding, ...Object.values(ns.networkPolicies), job.job, cron.cronJob);
    const core = hardenedNamespace({
      name: 'later-batch',
      workloads: [
        { workload: hardenedJob({ name: 'late-job', namespace: 'later-batch', containers: [worker] }), egressTo: [{ to: [{ pods: { 'app.kubernetes.io/name': 'late-cron' } }], ports: [{ port: 9090 }] }] },
        { workload: hardenedCronJob({ name: 'late-cron', namespace: 'later-batch', schedule: '@hourly', labels: { team: 'ops' }, containers: [{ ...worker, ports: [{ containerPort: 9090, name: 'metrics' }] }] }), ingressFrom: [{ pods: { 'app.kubernetes.io/name': 'late-job' } }] },
      ],
    });
    const registered = recorder.kube().map((r) => plain(r.inputs)).filter((o) => o.metadata?.namespace === 'later-batch' || o.metadata?.name === 'later-batch' || o.metadata?.name === 'cleanimg-hardening.later-batch');
    for (const o of core.objects) expect(registered.find((g) => key(g) === key(o)), key(o)).toEqual(plain(o));
    expect(plain(await valueOf(ns.result))).toEqual(plain(core));
    expect(registered.find((o) => o.kind === 'Job').spec.template.spec.containers[0].image).toBe(PINNED);
  });

  it('refuses a CronJob outside the namespace, its args Outputs or not, with nothing registered and no Output left to fail again', async () => {
    const unhandled: unknown[] = [];
    const record = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', record);
    await tick();
    const before = recorder.kube().length;
    for (const image of [PINNED, pulumi.output(PINNED)]) {
      const e = thrown(() => new HardenedNamespace(`strict-cron-${typeof image}`, {
        deployments: (o) => [new HardenedCronJob(`stray-cron-${typeof image}`, { namespace: 'elsewhere', schedule: '@daily', containers: [{ ...worker, image }] }, o)],
      }));
      expect(e.problems).toEqual([expect.objectContaining({ code: 'NS014', path: 'workloads[0]', message: `CronJob stray-cron-${typeof image} is in namespace elsewhere, not strict-cron-${typeof image}` })]);
    }
    await tick();
    await tick();
    process.off('unhandledRejection', record);
    expect(recorder.kube().length).toBe(before);
    expect(unhandled.map((e) => (e as Error).message)).toEqual([]);
  });
});
