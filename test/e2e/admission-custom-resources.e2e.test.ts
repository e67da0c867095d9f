// Custom resources with a pod template, on a real kube-apiserver: the ValidatingAdmissionPolicy
// generated for a HardenedNamespace matches every resource of the namespace and judges those that
// carry a pod spec by its shape. An Argo Rollout (argoproj.io/v1alpha1) and a Knative Service
// (serving.knative.dev/v1, kind "Service" in another group) are refused when insecure, with the
// rule id, and accepted when their template is the one hardenedDeployment builds; ConfigMaps and
// Secrets of the namespace, and cluster-scoped custom resources, are left alone.
import { waitForPolicy } from './support/admission';
import { beforeAll, describe, expect, it } from 'vitest';
import { hardenedDeployment, hardenedNamespace } from '../../src/core';
import { checkObject } from '../../src/rules';
import { CLUSTER_TOOLS } from './support/global-setup';
import { toYaml } from './support/k8s';
import { sharedCluster, sharedClusterError, type SharedCluster } from './support/shared-cluster';
import { skipWithout } from './support/tools';

const NS = 'custom-resources';
const IMAGE = `registry.example.com/app@sha256:${'cd'.repeat(32)}` as const;

/** A CRD that stores anything under spec (as the real ones do for their pod templates). */
function crd(group: string, kind: string, plural: string, scope: 'Namespaced' | 'Cluster' = 'Namespaced', version = 'v1alpha1') {
  return {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group, scope,
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [{ name: version, served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
}

describe.skipIf(skipWithout(CLUSTER_TOOLS))('the admission policy and custom resources with a pod template, on a real API server', () => {
  let k: SharedCluster;
  const web = hardenedDeployment({ name: 'web', namespace: NS, replicas: 1, containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }] }] });
  const guards = hardenedNamespace({ name: NS, workloads: [{ workload: web }] });
  const template = () => structuredClone((web.deployment as any).spec.template);
  const rollout = (name: string, edit: (t: any) => void = () => {}) => {
    const t = template();
    edit(t);
    return { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name, namespace: NS }, spec: { replicas: 1, selector: (web.deployment as any).spec.selector, template: t } };
  };
  const knative = (name: string, edit: (t: any) => void = () => {}) => {
    const t = template();
    edit(t);
    return { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name, namespace: NS }, spec: { template: t } };
  };
  const create = (o: unknown) => k.kubectl(['create', '-f', '-'], { input: toYaml([o]) });

  beforeAll(async () => {
    const c = sharedCluster();
    if (!c) throw new Error(sharedClusterError() ?? 'no cluster');
    k = c;
    const crds = [crd('argoproj.io', 'Rollout', 'rollouts'), crd('serving.knative.dev', 'Service', 'services', 'Namespaced', 'v1'), crd('example.com', 'ClusterRunner', 'clusterrunners', 'Cluster')];
    const r = await k.kubectl(['apply', '-f', '-'], { input: toYaml([...crds, ...guards.objects]) });
    expect(r.code, r.stderr).toBe(0);
    const est = await k.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crds.map((d) => `crd/${d.metadata.name}`)]);
    expect(est.code, est.stderr).toBe(0);
    // The policy takes effect shortly after its binding is stored, and a new CRD's resource a moment after it is established.
    const probe = rollout('probe', (t) => { t.spec.containers[0].image = 'nginx'; });
    await waitForPolicy(k, probe, 120);
  }, 180_000);

  it('stores the policy without type-checking errors that would make it fail on every request', async () => {
    const r = await k.kubectl(['get', 'validatingadmissionpolicy', `cleanimg-hardening.${NS}`, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const policy = JSON.parse(r.stdout);
    expect(policy.spec.matchConstraints.resourceRules).toContainEqual(expect.objectContaining({ apiGroups: ['*'], resources: ['*'] }));
    // Type checking only warns; a warning here would say an expression cannot compile for some kind.
    const warnings = (policy.status?.typeChecking?.expressionWarnings ?? []) as { fieldRef: string; warning: string }[];
    expect(warnings.filter((w) => /undeclared|no matching overload|not found/.test(w.warning))).toEqual([]);
  });

  it('refuses an Argo Rollout whose template is privileged (HD006), as the JS rules do', async () => {
    const bad = rollout('privileged', (t) => { t.spec.containers[0].securityContext.privileged = true; });
    expect(checkObject(bad as never).map((v) => v.code)).toEqual(['HD006']);
    const r = await create(bad);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`ValidatingAdmissionPolicy 'cleanimg-hardening\\.${NS}'.*denied request: HD006 container app`));
  });

  it('refuses a Knative Service (kind Service of serving.knative.dev) with a hostPath volume (HD010) and an image by tag (HD003)', async () => {
    const bad = knative('hostpath', (t) => {
      t.spec.volumes.push({ name: 'host', hostPath: { path: '/var/run' } });
      t.spec.containers[0].image = 'nginx:1.27';
    });
    const r = await create(bad);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/HD003/);
  });

  it('refuses a Rollout with a memory limit of 0 (HD035) and a volume mounted at / (HD036), which the API server does not validate inside a custom resource', async () => {
    const zero = await create(rollout('zero-limit', (t) => { t.spec.containers[0].resources.limits.memory = '0'; }));
    expect(zero.code).not.toBe(0);
    expect(zero.stderr).toMatch(/HD035/);
    const root = await create(rollout('root-mount', (t) => { t.spec.containers[0].volumeMounts[0].mountPath = '/'; }));
    expect(root.code).not.toBe(0);
    expect(root.stderr).toMatch(/HD036/);
  });

  it('refuses a Rollout with a hardened decoy template and the privileged pod spec at another place the policy looks (HD034)', async () => {
    const decoy = { ...rollout('decoy'), spec: { ...rollout('decoy').spec, podTemplate: rollout('x', (t) => { t.spec.containers[0].securityContext.privileged = true; }).spec.template } };
    expect(checkObject(decoy as never).map((v) => v.code)).toEqual(['HD006', 'HD034']);
    const r = await create(decoy);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/denied request: HD034/);
  });

  it('accepts a Rollout and a Knative Service whose template is the one hardenedDeployment builds', async () => {
    const good = [rollout('web'), knative('web')];
    for (const o of good) expect(checkObject(o as never)).toEqual([]);
    for (const o of good) {
      const r = await create(o);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });

  it('refuses an update that breaks the stored Rollout\'s pod spec, and lets one through that leaves it alone', async () => {
    const scale = await k.kubectl(['patch', 'rollouts.argoproj.io/web', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":3}}']);
    expect(scale.code, scale.stderr).toBe(0);
    const patch = JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem', value: false }]);
    const broken = await k.kubectl(['patch', 'rollouts.argoproj.io/web', '-n', NS, '--type=json', '-p', patch]);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toMatch(/HD004/);
  });

  it('leaves ConfigMaps, Secrets and cluster-scoped custom resources alone', async () => {
    const cm = await k.kubectl(['create', 'configmap', 'settings', '-n', NS, '--from-literal=LOG_LEVEL=info']);
    expect(cm.code, cm.stderr).toBe(0);
    const secret = await k.kubectl(['create', 'secret', 'generic', 'db', '-n', NS, '--from-literal=password=made-in-test']);
    expect(secret.code, secret.stderr).toBe(0);
    // Cluster-scoped: no namespace's policy judges it (a binding's namespace selector would not skip it).
    const runner = { apiVersion: 'example.com/v1alpha1', kind: 'ClusterRunner', metadata: { name: 'runner' }, spec: { template: rollout('x', (t) => { t.spec.containers[0].securityContext.privileged = true; }).spec.template } };
    const r = await create(runner);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
