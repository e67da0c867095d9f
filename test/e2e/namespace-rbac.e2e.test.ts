// HardenedNamespace's Role, asked of the real API server (RBAC authorizer) as the workload's own
// ServiceAccount with `kubectl auth can-i --as=system:serviceaccount:<ns>:<name>`: the one grant the
// namespace was given holds, and nothing that would let the workload weaken its namespace does
// (reach into containers, mint tokens, start pods of its choosing, read Secrets, undo the
// NetworkPolicy, the Role, the binding, the admission policy or the Namespace's labels). The props
// that would grant them are refused at construction (test/security/attacks/cdk8s-namespace.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { hardenedDeployment, hardenedNamespace } from '../../src/core';
import { CLUSTER_TOOLS } from './support/global-setup';
import { toYaml } from './support/k8s';
import { sharedCluster, sharedClusterError, type SharedCluster } from './support/shared-cluster';
import { skipWithout } from './support/tools';

const NS = 'rbac-proof';
const IMAGE = `registry.example.com/app@sha256:${'ab'.repeat(32)}` as const;
const AS = `system:serviceaccount:${NS}:web`;

/** [verb, resource, subresource?]: what the workload must not be able to do. */
const DENIED: [string, string, string?][] = [
  ['create', 'pods', 'exec'], ['get', 'pods', 'exec'], ['create', 'pods', 'attach'], ['create', 'pods', 'portforward'],
  ['get', 'pods', 'proxy'], ['patch', 'pods', 'ephemeralcontainers'], ['get', 'services', 'proxy'],
  ['create', 'serviceaccounts', 'token'], ['impersonate', 'serviceaccounts'],
  ['create', 'pods'], ['patch', 'deployments.apps'], ['create', 'jobs.batch'], ['create', 'cronjobs.batch'], ['create', 'daemonsets.apps'],
  ['get', 'secrets'], ['list', 'secrets'], ['watch', 'secrets'],
  ['delete', 'networkpolicies.networking.k8s.io'], ['patch', 'networkpolicies.networking.k8s.io'],
  ['patch', 'roles.rbac.authorization.k8s.io'], ['escalate', 'roles.rbac.authorization.k8s.io'], ['bind', 'roles.rbac.authorization.k8s.io'],
  ['patch', 'rolebindings.rbac.authorization.k8s.io'],
  ['delete', 'validatingadmissionpolicybindings.admissionregistration.k8s.io'],
  ['patch', 'namespaces'],
];

describe.skipIf(skipWithout(CLUSTER_TOOLS))('HardenedNamespace\'s Role, asked of the real API server', () => {
  let k: SharedCluster;
  const web = hardenedDeployment({ name: 'web', namespace: NS, replicas: 1, containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 8080 }] }] });
  const guards = hardenedNamespace({ name: NS, workloads: [{ workload: web }], grants: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }] });

  beforeAll(async () => {
    const c = sharedCluster();
    if (!c) throw new Error(sharedClusterError() ?? 'no cluster');
    k = c;
    const r = await k.kubectl(['apply', '-f', '-'], { input: toYaml([...guards.objects, web.serviceAccount]) });
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  const canI = async (verb: string, resource: string, sub?: string) => {
    const r = await k.kubectl(['auth', 'can-i', verb, resource, ...(sub ? [`--subresource=${sub}`] : []), '-n', NS, `--as=${AS}`]);
    return r.stdout.trim();
  };

  it('holds the grant it was given (get and list configmaps), and nothing more on configmaps', async () => {
    expect(await canI('get', 'configmaps')).toBe('yes');
    expect(await canI('list', 'configmaps')).toBe('yes');
    expect(await canI('update', 'configmaps')).toBe('no');
  });

  it(`denies every way to weaken the namespace (${DENIED.length} verbs)`, async () => {
    const answers = await Promise.all(DENIED.map(async ([verb, resource, sub]) => [`${verb} ${resource}${sub ? `/${sub}` : ''}`, await canI(verb, resource, sub)] as const));
    process.stdout.write(`[namespace-rbac] ${answers.filter(([, a]) => a === 'no').length} of ${answers.length} denied\n`);
    expect(answers.filter(([, a]) => a !== 'no')).toEqual([]);
  });

  it('control: a hand-written Role granting pods/exec to another ServiceAccount is answered yes', async () => {
    const control = [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'control', namespace: NS } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'control', namespace: NS }, rules: [{ apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'control', namespace: NS }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'control' }, subjects: [{ kind: 'ServiceAccount', name: 'control', namespace: NS }] },
    ];
    const r = await k.kubectl(['apply', '-f', '-'], { input: toYaml(control) });
    expect(r.code, r.stderr).toBe(0);
    const answer = await k.kubectl(['auth', 'can-i', 'create', 'pods', '--subresource=exec', '-n', NS, `--as=system:serviceaccount:${NS}:control`]);
    expect(answer.stdout.trim()).toBe('yes');
  });
});
