import * as pulumi from '@pulumi/pulumi';
import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { HardenedDeployment as Cdk8sDeployment, HardenedNamespace as Cdk8sNamespace } from '../../src/cdk8s';
import { hardenedDeployment, hardenedNamespace } from '../../src/core';
import { CleanimgError } from '../../src/errors';
import { EnvConfig, HardenedDeployment, HardenedNamespace } from '../../src/pulumi';
import { checkObjects } from '../../src/rules';
import { installMocks, settle, valueOf } from './harness';
import { thrown } from '../support/expect-error';

const recorder = installMocks();
const PINNED = 'registry.example.com/app@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';
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
