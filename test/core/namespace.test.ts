import { describe, expect, it } from 'vitest';
import { hardenedDeployment, hardenedNamespace, policyNameFor, type HardenedNamespaceProps, type RoleGrant } from '../../src/core';
import { CleanimgError } from '../../src/errors';
import { CEL_NOT_GENERATED, celChecks, POD_MATCH_CONDITIONS, POD_VARIABLES } from '../../src/rules/cel';
import { baseProps, IMAGE } from '../support/fixtures';
import { admit } from '../rules/cel/vap';

const web = hardenedDeployment(baseProps({ namespace: 'shop' }));
const worker = hardenedDeployment(baseProps({ name: 'worker', containers: [{ name: 'w', image: IMAGE, probes: { liveness: { exec: { command: ['/app/health'] } }, readiness: { exec: { command: ['/app/health'] } } } }] }));

function codesOf(f: () => unknown): string[] {
  try { f(); } catch (e) {
    expect(e).toBeInstanceOf(CleanimgError);
    return (e as CleanimgError).problems.map((p) => p.code);
  }
  throw new Error('expected a CleanimgError');
}

describe('hardenedNamespace (core)', () => {
  it('labels the Namespace for Pod Security restricted, pinned to v1.33 unless told otherwise', () => {
    const ns = hardenedNamespace({ name: 'shop', labels: { team: 'a' } }).namespace;
    expect(ns).toEqual({
      apiVersion: 'v1', kind: 'Namespace',
      metadata: {
        name: 'shop',
        labels: {
          team: 'a', 'app.kubernetes.io/managed-by': 'cleanimg',
          'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'v1.33',
          'pod-security.kubernetes.io/audit': 'restricted', 'pod-security.kubernetes.io/audit-version': 'v1.33',
          'pod-security.kubernetes.io/warn': 'restricted', 'pod-security.kubernetes.io/warn-version': 'v1.33',
        },
      },
    });
    const v = hardenedNamespace({ name: 'shop', podSecurityVersion: 'v1.31' }).namespace.metadata!.labels as Record<string, string>;
    expect(Object.entries(v).filter(([k]) => k.endsWith('-version')).map(([, x]) => x)).toEqual(['v1.31', 'v1.31', 'v1.31']);
  });

  it('binds a Deny policy to the namespace that matches pods and every workload kind on CREATE and UPDATE', () => {
    const r = hardenedNamespace({ name: 'shop' });
    expect(r.policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(r.policy.metadata!.name).toBe(policyNameFor('shop'));
    const spec = r.policy.spec as any;
    expect(spec.failurePolicy).toBe('Fail');
    const resources = spec.matchConstraints.resourceRules.flatMap((x: any) => x.resources);
    expect(resources).toEqual(expect.arrayContaining(['pods', 'deployments', 'statefulsets', 'daemonsets', 'replicasets', 'jobs', 'cronjobs']));
    for (const rule of spec.matchConstraints.resourceRules) expect(rule.operations).toEqual(['CREATE', 'UPDATE']);
    expect(spec.matchConditions).toEqual([...POD_MATCH_CONDITIONS]);
    expect(spec.variables[0]).toEqual(POD_VARIABLES[0]);
    expect(spec.validations.map((v: any) => v.message.split(' ')[0])).toEqual(celChecks().map((c) => c.id));
    expect(r.policyBinding).toEqual({
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'cleanimg-hardening.shop', labels: { 'app.kubernetes.io/managed-by': 'cleanimg' } },
      spec: { policyName: 'cleanimg-hardening.shop', validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } } } },
    });
    expect(r.policy.metadata!.annotations).toEqual({ 'cleanimg.dev/rules': [...new Set(celChecks().map((c) => c.id))].join(','), 'cleanimg.dev/rules-not-checked-here': CEL_NOT_GENERATED.map((n) => n.id).join(',') });
  });

  it('its policy, as emitted, admits the hardened deployment and denies the same one edited by hand', () => {
    const r = hardenedNamespace({ name: 'shop', allowedRegistries: ['registry.example.com'], workloads: [{ workload: web }] });
    const spec = r.policy.spec as any;
    expect(spec.variables).toEqual(POD_VARIABLES);
    expect(admit(spec, web.deployment)).toEqual({ allowed: true, messages: [], ids: [], errors: [] });
    const edited = structuredClone(web.deployment) as any;
    edited.spec.template.spec.containers[0].image = 'docker.io/library/nginx:1.25'; // kubectl set image
    edited.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false; // kubectl patch
    edited.spec.template.spec.containers[0].env = [{ name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'api', key: 'token' } } }]; // kubectl set env --from=secret
    const res = admit(spec, edited);
    expect(res.errors).toEqual([]);
    expect(res.ids).toEqual(['HD003', 'NS001', 'HD004', 'HD017']);
  });

  it('gives the workloads a Role that grants nothing, bound to their ServiceAccounts', () => {
    const r = hardenedNamespace({ name: 'shop', workloads: [{ workload: web }, { workload: worker }] });
    expect(r.role).toEqual({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'cleanimg-app', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'cleanimg' } }, rules: [] });
    expect(r.roleBinding).toMatchObject({
      kind: 'RoleBinding', metadata: { name: 'cleanimg-app', namespace: 'shop' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cleanimg-app' },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: 'shop' }, { kind: 'ServiceAccount', name: 'worker', namespace: 'shop' }],
    });
    expect(hardenedNamespace({ name: 'shop' }).roleBinding).toBeUndefined();
    const ok = hardenedNamespace({ name: 'shop', grants: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'watch'], resourceNames: ['flags'] }] });
    expect(ok.role.rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'watch'], resourceNames: ['flags'] }]);
  });

  it.each<[string, RoleGrant]>([
    ['pods/exec', { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }],
    ['pods/attach', { apiGroups: [''], resources: ['pods', 'pods/attach'], verbs: ['get', 'create'] }],
    ['pods/ephemeralcontainers', { apiGroups: [''], resources: ['pods/ephemeralcontainers'], verbs: ['patch'] }],
    ['pods/portforward', { apiGroups: [''], resources: ['pods/portforward'], verbs: ['create'] }],
    ['list secrets', { apiGroups: [''], resources: ['secrets'], verbs: ['list'] }],
    ['get one secret', { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['db'] }],
    ['watch secrets', { apiGroups: [''], resources: ['secrets'], verbs: ['watch'] }],
    ['mint tokens', { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] }],
    ['wildcard resources', { apiGroups: [''], resources: ['*'], verbs: ['get'] }],
    ['wildcard verbs', { apiGroups: ['apps'], resources: ['deployments'], verbs: ['*'] }],
    ['escalate', { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['escalate'] }],
    ['impersonate', { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] }],
  ])('refuses a dangerous grant: %s', (_what, grant) => {
    expect(codesOf(() => hardenedNamespace({ name: 'shop', grants: [grant] }))).toContain('NS011');
  });

  it('denies all traffic by default, allows DNS to kube-system and the declared ports of each workload', () => {
    const r = hardenedNamespace({ name: 'shop', workloads: [{ workload: web }, { workload: worker }] });
    expect(r.networkPolicies.map((n) => n.metadata!.name)).toEqual(['default-deny', 'allow-dns', 'allow-web']);
    const [deny, dns, allow] = r.networkPolicies as any[];
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(dns.spec).toEqual({
      podSelector: {}, policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }],
    });
    expect(allow.spec).toEqual({ podSelector: { matchLabels: web.selector }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 8080, protocol: 'TCP' }] }] });
    for (const o of r.objects) if (o.kind !== 'Namespace' && !o.kind!.startsWith('ValidatingAdmission')) expect(o.metadata!.namespace).toBe('shop');
  });

  it('translates ingress sources and egress allows into NetworkPolicy peers', () => {
    const r = hardenedNamespace({
      name: 'shop', dns: { namespace: 'dns', pods: { 'k8s-app': 'kube-dns' } },
      workloads: [
        { workload: web, ingressFrom: [{ namespace: 'ingress-nginx', pods: { app: 'controller' } }, { pods: worker.selector }] },
        { workload: worker, egressTo: [{ to: [{ pods: web.selector }], ports: [{ port: 8080 }] }, { to: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }], ports: [{ port: 5432 }] }] },
      ],
    });
    const byName = Object.fromEntries(r.networkPolicies.map((n) => [n.metadata!.name, n.spec as any]));
    expect(byName['allow-dns'].egress[0].to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dns' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }]);
    expect(byName['allow-web'].ingress).toEqual([{
      from: [
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: { matchLabels: { app: 'controller' } } },
        { podSelector: { matchLabels: worker.selector } },
      ],
      ports: [{ port: 8080, protocol: 'TCP' }],
    }]);
    expect(byName['allow-worker']).toEqual({
      podSelector: { matchLabels: worker.selector }, policyTypes: ['Egress'],
      egress: [
        { to: [{ podSelector: { matchLabels: web.selector } }], ports: [{ port: 8080, protocol: 'TCP' }] },
        { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 5432, protocol: 'TCP' }] },
      ],
    });
    expect(hardenedNamespace({ name: 'shop', dns: false, workloads: [{ workload: web, ingressFrom: [] }] }).networkPolicies.map((n) => n.metadata!.name)).toEqual(['default-deny']);
  });

  it('refuses bad props with every problem at once, and is pure', () => {
    const other = hardenedDeployment(baseProps({ namespace: 'other' }));
    const bad: HardenedNamespaceProps = {
      name: 'Shop_1', podSecurityVersion: '1.33', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' }, allowedRegistries: ['https://registry'],
      workloads: [{ workload: other }, { workload: web }, { workload: web, ingressFrom: [{}, { cidr: '10.0.0.0', pods: { a: 'b' } }], egressTo: [{ to: [], ports: [{ port: 0 }] }] }],
    };
    expect(codesOf(() => hardenedNamespace(bad)).sort()).toEqual([
      'NS010', // Shop_1
      'NS012', // https://registry
      'NS013', 'NS013', // version and the label
      'NS014', 'NS014', 'NS014', // deployments in "other" and "shop", not "Shop_1"
      'NS015', 'NS015', // three workloads named web
      'NS016', 'NS016', 'NS016', 'NS016', 'NS016', // {}, cidr with pods, cidr without a prefix, egress with no peer, port 0
    ].sort());
    expect(codesOf(() => hardenedNamespace({ name: 'shop', allowedRegistries: [] }))).toEqual(['NS012']);
    expect(codesOf(() => hardenedNamespace(undefined as any))).toEqual(['NS010']);
    expect(codesOf(() => hardenedNamespace({ name: 'shop', workloads: [{ workload: {} as any }] }))).toEqual(['NS014']);
    const props: HardenedNamespaceProps = { name: 'shop', workloads: [{ workload: web }] };
    const before = JSON.stringify(props);
    expect(hardenedNamespace(props)).toEqual(hardenedNamespace(props));
    expect(JSON.stringify(props)).toBe(before);
  });

  it('apiServer: egress IP blocks leave the API server out, one inside it is NS018, unsafeAllowApiServer opts in', () => {
    const policyOf = (cidr: string, extra: Record<string, unknown> = {}) => hardenedNamespace({
      name: 'shop', apiServer: { cidrs: ['10.96.0.1', 'fd00::1/128'] },
      workloads: [{ workload: web, egressTo: [{ to: [{ cidr }], ports: [{ port: 443 }], ...extra }] }],
    }).networkPolicies.find((n) => n.metadata?.name?.startsWith('allow-') && n.metadata.name !== 'allow-dns') as any;
    expect(policyOf('0.0.0.0/0').spec.egress[0].to[0].ipBlock.except).toEqual(['169.254.0.0/16', '100.100.100.200/32', '10.96.0.1/32']);
    expect(policyOf('::/0').spec.egress[0].to[0].ipBlock.except).toEqual(['fe80::/10', 'fd00:ec2::254/128', 'fd00::1/128']);
    expect(policyOf('192.168.0.0/16').spec.egress[0].to[0].ipBlock.except).toBeUndefined();
    expect(codesOf(() => policyOf('10.96.0.1/32'))).toEqual(['NS018']);
    expect(policyOf('10.96.0.1/32', { unsafeAllowApiServer: true }).spec.egress[0].to[0].ipBlock).toEqual({ cidr: '10.96.0.1/32' });
    expect(policyOf('0.0.0.0/0', { unsafeAllowApiServer: true }).spec.egress[0].to[0].ipBlock.except).toEqual(['169.254.0.0/16', '100.100.100.200/32']);
    expect(codesOf(() => hardenedNamespace({ name: 'shop', apiServer: { cidrs: [] } }))).toEqual(['NS016']);
    expect(codesOf(() => hardenedNamespace({ name: 'shop', apiServer: { cidrs: ['kubernetes.default'] } }))).toEqual(['NS016']);
  });

  it('refuses props it does not read (a JavaScript caller\'s typo is not dropped without a word)', () => {
    expect(codesOf(() => hardenedNamespace({ name: 'shop', podSecurity: 'privileged' } as any))).toEqual(['PROP001']);
    expect(codesOf(() => hardenedNamespace({ name: 'shop', workloads: [{ workload: web, egressTO: [] } as any] }))).toEqual(['PROP001']);
    expect(codesOf(() => hardenedNamespace({ name: 'shop', workloads: [{ workload: web, egressTo: [{ to: [{ cidr: '10.0.0.0/8' }], ports: [{ port: 443 }], unsafeAllowLinklocal: true } as any] }] }))).toEqual(['PROP001']);
    expect(codesOf(() => hardenedNamespace(JSON.parse('{"name": "shop", "__proto__": {"dns": false}}')))).toEqual(['PROP001']);
  });

  it('allows by labels write the NetworkPolicy a workload with the same selector, ports and traffic gets', () => {
    const traffic = { ingressFrom: [{ namespace: 'ingress' }], egressTo: [{ to: [{ cidr: '0.0.0.0/0' }], ports: [{ port: 443 }] }] };
    const byWorkload = hardenedNamespace({ name: 'shop', workloads: [{ workload: web, ...traffic }] }).networkPolicies;
    const byLabels = hardenedNamespace({ name: 'shop', allows: [{ name: 'web', pods: { ...web.selector }, ports: [{ port: 8080 }], ...traffic }] }).networkPolicies;
    expect(byLabels).toEqual(byWorkload);
    expect(byLabels.find((n) => n.metadata?.name === 'allow-web')?.spec).toMatchObject({ egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.0.0/16', '100.100.100.200/32'] } }] }] });
    // egress only: no Ingress policy type
    const egressOnly = hardenedNamespace({ name: 'shop', allows: [{ name: 'job', pods: { app: 'job' }, egressTo: [{ to: [{ namespace: 'db' }], ports: [{ port: 5432 }] }] }] }).networkPolicies;
    expect(egressOnly.find((n) => n.metadata?.name === 'allow-job')?.spec).toMatchObject({ podSelector: { matchLabels: { app: 'job' } }, policyTypes: ['Egress'] });
  });

  it('refuses allows that would select every pod, clash with a workload, open no port to their ingress, or reach the metadata service', () => {
    expect(codesOf(() => hardenedNamespace({ name: 'shop', allows: [{ name: 'all', pods: {}, ports: [{ port: 80 }] }] }))).toEqual(['NS016']);
    expect(codesOf(() => hardenedNamespace({ name: 'shop', workloads: [{ workload: web }], allows: [{ name: 'web', pods: { app: 'x' }, ports: [{ port: 80 }] }] }))).toEqual(['NS015']);
    expect(codesOf(() => hardenedNamespace({ name: 'shop', allows: [{ name: 'a', pods: { app: 'a' }, ingressFrom: [{ namespace: 'x' }] }] }))).toEqual(['NS016']);
    expect(codesOf(() => hardenedNamespace({ name: 'shop', allows: [{ name: 'a', pods: { app: 'a' }, egressTo: [{ to: [{ cidr: '169.254.169.254/32' }], ports: [{ port: 80 }] }] }] }))).toEqual(['NS017']);
    expect(codesOf(() => hardenedNamespace({ name: 'shop', allows: [{ name: 'Bad Name', pods: { app: 'a' } }] }))).toEqual(['NS016']);
    expect(codesOf(() => hardenedNamespace({ name: 'shop', allows: [{ name: 'a', pods: { app: 'a' }, port: 80 } as any] }))).toEqual(['PROP001']);
    expect(codesOf(() => hardenedNamespace({ name: 'shop', allows: 'web' as any }))).toEqual(['NS016']);
  });
});
