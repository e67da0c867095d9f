/**
 * Attacks on HardenedNamespace: grants in its Role that would let a workload weaken its own
 * namespace (reach into containers, start pods of its choosing, undo the NetworkPolicy, the Role or
 * the admission policy), and egress to the cloud metadata service.
 */
import { ApiObject, JsonPatch, type Chart } from 'cdk8s';
import { expect } from 'vitest';
import { HardenedNamespace } from '../../../src/cdk8s';
import type { Cdk8sAttack } from '../cdk8s-harness';
import { cdk8sWorkload } from './common';
import { SIGNING_PUBLIC_KEY } from './signing-key';

type Grant = { apiGroups: string[]; resources: string[]; verbs: string[] };

const GRANTS: [string, Grant][] = [
  ['exec through a wildcard subresource', { apiGroups: [''], resources: ['*/exec'], verbs: ['create'] }],
  ['attach through a wildcard subresource', { apiGroups: [''], resources: ['*/attach'], verbs: ['create', 'get'] }],
  ['port-forward through pods/*', { apiGroups: [''], resources: ['pods/*'], verbs: ['create'] }],
  ['proxy to services', { apiGroups: [''], resources: ['services/proxy'], verbs: ['get', 'create'] }],
  ['ephemeral containers', { apiGroups: [''], resources: ['pods/ephemeralcontainers'], verbs: ['patch'] }],
  ['tokens for any ServiceAccount', { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] }],
  ['create pods (one that mounts any Secret)', { apiGroups: [''], resources: ['pods'], verbs: ['create'] }],
  ['patch Deployments', { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch', 'get'] }],
  ['create Jobs', { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create'] }],
  ['update CronJobs', { apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['update'] }],
  ['create DaemonSets', { apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['create'] }],
  ['delete NetworkPolicies (the default deny)', { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['delete'] }],
  ['patch its own RoleBinding', { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['patch'] }],
  ['update its Role', { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['update'] }],
  ['delete the admission policy binding', { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingadmissionpolicybindings'], verbs: ['delete'] }],
  ['patch the Namespace (its Pod Security labels)', { apiGroups: [''], resources: ['namespaces'], verbs: ['patch'] }],
  ['escalate', { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['escalate'] }],
  ['impersonate', { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] }],
  ['list secrets', { apiGroups: [''], resources: ['secrets'], verbs: ['list'] }],
  ['everything in a named group', { apiGroups: ['apps'], resources: ['*'], verbs: ['get'] }],
  ['a group named like an Object.prototype member', { apiGroups: ['constructor'], resources: ['pods'], verbs: ['*'] }],
];

const grantAttacks: Cdk8sAttack[] = GRANTS.map(([what, grant]) => ({
  name: `a namespace grant to ${what}`, category: 'typed-props', target: 'Namespace', stage: 'construct', rule: 'NS011',
  build: (c: Chart) => new HardenedNamespace(c, 'ns', { name: 'shop', grants: [grant] }),
}));

const egressAttacks: Cdk8sAttack[] = [
  {
    name: 'egress to the cloud metadata address', category: 'values', target: 'Namespace', stage: 'construct', rule: 'NS017',
    build: (c) => {
      const ns = new HardenedNamespace(c, 'ns', { name: 'shop' });
      ns.addWorkload(cdk8sWorkload(c, 'Deployment', { namespace: 'shop' }), { egressTo: [{ to: [{ cidr: '169.254.169.254/32' }], ports: [{ port: 80 }] }] });
    },
  },
  {
    name: 'egress to a link-local /24 holding the metadata address', category: 'values', target: 'Namespace', stage: 'construct', rule: 'NS017',
    build: (c) => {
      const ns = new HardenedNamespace(c, 'ns', { name: 'shop' });
      ns.addWorkload(cdk8sWorkload(c, 'Job', { namespace: 'shop' }), { egressTo: [{ to: [{ cidr: '169.254.169.0/24' }], ports: [{ port: 80 }] }] });
    },
  },
  {
    name: 'egress to the API server\'s ClusterIP when the namespace names it', category: 'values', target: 'Namespace', stage: 'construct', rule: 'NS018',
    build: (c) => {
      const ns = new HardenedNamespace(c, 'ns', { name: 'shop', apiServer: { cidrs: ['10.96.0.1', '192.0.2.10/32'] } });
      ns.addWorkload(cdk8sWorkload(c, 'Deployment', { namespace: 'shop' }), { egressTo: [{ to: [{ cidr: '10.96.0.1/32' }], ports: [{ port: 443 }] }] });
    },
  },
  {
    name: 'egress to 10.0.0.0/8 on 443 (the named API server addresses are cut out of it)', category: 'values', target: 'Namespace', stage: 'written', rule: 'NS018',
    build: (c) => {
      const ns = new HardenedNamespace(c, 'ns', { name: 'shop', apiServer: { cidrs: ['10.96.0.1/32', '10.0.0.10/32', '192.0.2.10/32'] } });
      ns.addWorkload(cdk8sWorkload(c, 'StatefulSet', { namespace: 'shop' }), { egressTo: [{ to: [{ cidr: '10.0.0.0/8' }], ports: [{ port: 443 }] }] });
    },
    verify: (objects) => {
      const np = objects.find((o) => o.kind === 'NetworkPolicy' && JSON.stringify(o).includes('10.0.0.0/8')) as any;
      expect(np.spec.egress[0].to[0].ipBlock).toEqual({ cidr: '10.0.0.0/8', except: ['10.96.0.1/32', '10.0.0.10/32'] });
    },
  },
  {
    name: 'egress to 0.0.0.0/0 on 443 (the metadata service is cut out of it)', category: 'values', target: 'Namespace', stage: 'written', rule: 'NS017',
    build: (c) => {
      const ns = new HardenedNamespace(c, 'ns', { name: 'shop' });
      ns.addWorkload(cdk8sWorkload(c, 'CronJob', { namespace: 'shop' }), { egressTo: [{ to: [{ cidr: '0.0.0.0/0' }], ports: [{ port: 443 }] }] });
    },
    verify: (objects) => {
      const np = objects.find((o) => o.kind === 'NetworkPolicy' && JSON.stringify(o).includes('0.0.0.0/0')) as any;
      expect(np.spec.egress[0].to[0].ipBlock).toEqual({ cidr: '0.0.0.0/0', except: ['169.254.0.0/16', '100.100.100.200/32'] });
      expect(np.spec.egress[0].ports).toEqual([{ port: 443, protocol: 'TCP' }]);
    },
  },
];

const allowAttacks: Cdk8sAttack[] = [
  {
    name: 'an allow by labels to the cloud metadata address', category: 'values', target: 'Namespace', stage: 'construct', rule: 'NS017',
    build: (c) => new HardenedNamespace(c, 'ns', { name: 'shop', allows: [{ name: 'web', pods: { app: 'web' }, egressTo: [{ to: [{ cidr: '169.254.169.254/32' }], ports: [{ port: 80 }] }] }] }),
  },
  {
    name: 'an allow whose empty selector opens a port on every pod of the namespace', category: 'values', target: 'Namespace', stage: 'construct', rule: 'NS016',
    build: (c) => new HardenedNamespace(c, 'ns', { name: 'shop', allows: [{ name: 'all', pods: {}, ports: [{ port: 22 }] }] }),
  },
  {
    name: 'an allow named like a workload, to replace its policy', category: 'values', target: 'Namespace', stage: 'construct', rule: 'NS015',
    build: (c) => {
      const ns = new HardenedNamespace(c, 'ns', { name: 'shop', allows: [{ name: 'web', pods: { 'app.kubernetes.io/name': 'web' }, ports: [{ port: 22 }] }] });
      ns.addWorkload(cdk8sWorkload(c, 'Deployment', { name: 'web', namespace: 'shop' }));
    },
  },
];

/** Patches on the namespace's own guards: every pod spec still passes, but nothing would enforce the rules. */
const guardPatchAttacks: Cdk8sAttack[] = [
  ['Pod Security enforce patched to privileged', 'HD043', (ns: HardenedNamespace) => ns.namespace.addJsonPatch(JsonPatch.replace('/metadata/labels/pod-security.kubernetes.io~1enforce', 'privileged'))],
  ['the Pod Security enforce label removed', 'HD043', (ns: HardenedNamespace) => ns.namespace.addJsonPatch(JsonPatch.remove('/metadata/labels/pod-security.kubernetes.io~1enforce'))],
  ['the admission binding patched to Audit', 'HD044', (ns: HardenedNamespace) => ns.policyBinding.addJsonPatch(JsonPatch.replace('/spec/validationActions', ['Audit']))],
  ['the admission binding pointed at another namespace', 'HD044', (ns: HardenedNamespace) => ns.policyBinding.addJsonPatch(JsonPatch.replace('/spec/matchResources/namespaceSelector/matchLabels/kubernetes.io~1metadata.name', 'elsewhere'))],
  ['the admission policy\'s failurePolicy patched to Ignore', 'HD044', (ns: HardenedNamespace) => ns.policy.addJsonPatch(JsonPatch.replace('/spec/failurePolicy', 'Ignore'))],
  ['one validation removed from the admission policy', 'HD044', (ns: HardenedNamespace) => ns.policy.addJsonPatch(JsonPatch.remove('/spec/validations/0'))],
  ['the policy\'s match conditions loosened to skip every request', 'HD044', (ns: HardenedNamespace) => ns.policy.addJsonPatch(JsonPatch.replace('/spec/matchConditions/0/expression', 'false'))],
].map(([what, rule, patch]) => ({
  name: `${what as string} (the pods still pass)`, category: 'patches' as const, target: 'Namespace', stage: 'synth' as const, rule: rule as string,
  build: (c: Chart) => {
    const ns = new HardenedNamespace(c, 'ns', { name: 'shop' });
    (patch as (n: HardenedNamespace) => void)(ns);
    ns.addWorkload(cdk8sWorkload(c, 'Deployment', { namespace: 'shop' }));
  },
}));

const guardRawAttacks: Cdk8sAttack[] = [
  {
    name: 'a raw Namespace that enforces privileged, beside the hardened one', category: 'raw-objects', target: 'raw', stage: 'synth', rule: 'HD043',
    build: (c) => new ApiObject(c, 'ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'loose', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } }),
  },
  {
    name: 'a raw Namespace enforcing restricted as of v1.0 (no seccomp, runAsUser or capabilities checks)', category: 'raw-objects', target: 'raw', stage: 'synth', rule: 'HD043',
    build: (c) => new ApiObject(c, 'ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'old', labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'v1.0' } } }),
  },
  {
    name: 'a HardenedNamespace pinned to Pod Security v1.22 (before runAsUser 0 was refused)', category: 'values', target: 'Namespace', stage: 'construct', rule: 'NS013',
    build: (c) => new HardenedNamespace(c, 'ns', { name: 'shop', podSecurityVersion: 'v1.22' }),
  },
  {
    name: 'the default-deny NetworkPolicy emptied of its policy types', category: 'patches', target: 'Namespace', stage: 'synth', rule: 'HD044',
    build: (c) => {
      const ns = new HardenedNamespace(c, 'ns', { name: 'shop' });
      (ns.node.findAll().find((x) => x instanceof ApiObject && x.kind === 'NetworkPolicy' && x.name === 'default-deny') as ApiObject).addJsonPatch(JsonPatch.replace('/spec/policyTypes', []));
    },
  },
  {
    name: 'the Kyverno signature policy patched to Audit', category: 'patches', target: 'Namespace', stage: 'synth', rule: 'HD044',
    build: (c) => {
      const ns = new HardenedNamespace(c, 'ns', { name: 'shop', imageSignatures: { publicKey: SIGNING_PUBLIC_KEY } });
      (ns.node.findAll().find((x) => x instanceof ApiObject && x.kind === 'ClusterPolicy') as ApiObject).addJsonPatch(JsonPatch.replace('/spec/rules/0/verifyImages/0/failureAction', 'Audit'));
    },
  },
];

export const CDK8S_NAMESPACE_ATTACKS: readonly Cdk8sAttack[] = [...grantAttacks, ...egressAttacks, ...allowAttacks, ...guardPatchAttacks, ...guardRawAttacks];
