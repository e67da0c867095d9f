import { describe, expect, it } from 'vitest';
import { checkObject, RULES } from '../../../src/rules';
import { ALLOWED_REGISTRIES_ID, CEL_GENERATED_IDS, CEL_NOT_GENERATED, celChecks, celCoverage, POD_MATCH_CONDITIONS, POD_VARIABLES, POLICY_RESOURCES } from '../../../src/rules/cel';
import { DIGEST, goodDeployment } from '../../support/fixtures';
import { admit } from './vap';

const policy = (opts = {}) => ({ variables: POD_VARIABLES, validations: celChecks(opts).map((c) => c.validation) });
const POLICY = policy();
const GENERATED = new Set(CEL_GENERATED_IDS);

/** What the JS rules say about an object, restricted to the rules the policy generates. */
function jsIds(o: any): string[] {
  return [...new Set(checkObject(o).map((v) => v.code).filter((id) => GENERATED.has(id)))].sort();
}
function celIds(o: any, p = POLICY): string[] {
  const r = admit(p, o);
  expect(r.errors).toEqual([]);
  return [...new Set(r.ids)].sort();
}

type Mutation = [string, string, (d: any, ps: any, c: any) => void];
const secretEnv = (c: any, e: any) => { c.env = [...(c.env ?? []), e]; };
/** Custom resources with a pod spec at each of the paths the policy looks at (see asKind). */
const CUSTOM_KINDS = ['Rollout', 'KnativeService', 'PodSpecCR', 'FlinkDeployment', 'ScaledJob'];

const MUTATIONS: Mutation[] = [
  ['HD001', 'runAsNonRoot false on the container', (_d, _ps, c) => { c.securityContext.runAsNonRoot = false; }],
  ['HD001', 'runAsNonRoot set nowhere', (_d, ps, c) => { delete c.securityContext.runAsNonRoot; delete ps.securityContext.runAsNonRoot; }],
  ['HD002', 'runAsUser 0', (_d, _ps, c) => { c.securityContext.runAsUser = 0; }],
  ['HD002', 'runAsGroup set nowhere', (_d, ps, c) => { delete c.securityContext.runAsGroup; delete ps.securityContext.runAsGroup; }],
  ['HD002', 'fsGroup 1000', (_d, ps) => { ps.securityContext.fsGroup = 1000; }],
  ['HD002', 'supplementalGroups [0]', (_d, ps) => { ps.securityContext.supplementalGroups = [65532, 0]; }],
  ['HD003', 'image by tag', (_d, _ps, c) => { c.image = 'nginx:1.25'; }],
  ['HD003', 'image with a short digest', (_d, _ps, c) => { c.image = 'nginx@sha256:abc'; }],
  ['HD004', 'readOnlyRootFilesystem false', (_d, _ps, c) => { c.securityContext.readOnlyRootFilesystem = false; }],
  ['HD004', 'readOnlyRootFilesystem unset', (_d, _ps, c) => { delete c.securityContext.readOnlyRootFilesystem; }],
  ['HD005', 'allowPrivilegeEscalation true', (_d, _ps, c) => { c.securityContext.allowPrivilegeEscalation = true; }],
  ['HD006', 'privileged', (_d, _ps, c) => { c.securityContext.privileged = true; }],
  ['HD007', 'drop NET_RAW only', (_d, _ps, c) => { c.securityContext.capabilities.drop = ['NET_RAW']; }],
  ['HD007', 'add SYS_ADMIN', (_d, _ps, c) => { c.securityContext.capabilities.add = ['SYS_ADMIN']; }],
  ['HD007', 'NET_BIND_SERVICE with no port below 1024', (_d, _ps, c) => { c.securityContext.capabilities.add = ['CAP_NET_BIND_SERVICE']; }],
  ['HD007', 'no securityContext at all', (_d, _ps, c) => { delete c.securityContext; }],
  ['HD008', 'seccomp Unconfined on the container', (_d, _ps, c) => { c.securityContext.seccompProfile = { type: 'Unconfined' }; }],
  ['HD008', 'seccomp set nowhere', (_d, ps, c) => { delete c.securityContext.seccompProfile; delete ps.securityContext.seccompProfile; }],
  ['HD008', 'seccomp Localhost on the pod only', (_d, ps, c) => { delete c.securityContext.seccompProfile; ps.securityContext.seccompProfile = { type: 'Localhost', localhostProfile: 'x.json' }; }],
  ['HD009', 'hostNetwork', (_d, ps) => { ps.hostNetwork = true; }],
  ['HD009', 'hostPID', (_d, ps) => { ps.hostPID = true; }],
  ['HD039', 'shareProcessNamespace', (_d, ps) => { ps.shareProcessNamespace = true; }],
  ['HD040', 'nodeName', (_d, ps) => { ps.nodeName = 'control-plane-1'; }],
  ['HD041', 'a toleration of every taint', (_d, ps) => { ps.tolerations = [{ key: 'pool', operator: 'Equal', value: 'a' }, { operator: 'Exists' }]; }],
  ['HD041', 'a toleration of the control plane\'s taint', (_d, ps) => { ps.tolerations = [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }]; }],
  ['HD042', 'system-node-critical', (_d, ps) => { ps.priorityClassName = 'system-node-critical'; }],
  ['HD010', 'hostPath volume', (_d, ps) => { ps.volumes.push({ name: 'host', hostPath: { path: '/var/run' } }); }],
  ['HD011', 'hostPort', (_d, _ps, c) => { c.ports[0].hostPort = 8080; }],
  ['HD012', 'gitRepo volume', (_d, ps) => { ps.volumes.push({ name: 'src', gitRepo: { repository: 'https://example.com/x.git' } }); }],
  ['HD013', 'emptyDir without sizeLimit', (_d, ps) => { ps.volumes.push({ name: 'scratch', emptyDir: {} }); }],
  ['HD014', 'no memory limit', (_d, _ps, c) => { delete c.resources.limits.memory; }],
  ['HD014', 'no resources', (_d, _ps, c) => { delete c.resources; }],
  ['HD015', 'token mounted', (_d, ps) => { ps.automountServiceAccountToken = true; }],
  ['HD015', 'automount unset', (_d, ps) => { delete ps.automountServiceAccountToken; }],
  ['HD016', 'sh -c command', (_d, _ps, c) => { c.command = ['/bin/sh', '-c', 'exec /app']; }],
  ['HD016', 'args start bash with no command', (_d, _ps, c) => { c.args = ['bash', '-c', 'x']; }],
  ['HD016', 'liveness probe runs a shell', (_d, _ps, c) => { c.livenessProbe = { exec: { command: ['busybox', 'true'] } }; }],
  ['HD016', 'preStop hook runs a shell', (_d, _ps, c) => { c.lifecycle = { preStop: { exec: { command: ['/usr/bin/dash', '-c', 'sleep 5'] } } }; }],
  ['HD017', 'env from secretKeyRef', (_d, _ps, c) => secretEnv(c, { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } })],
  ['HD017', 'envFrom secretRef', (_d, _ps, c) => { c.envFrom = [{ secretRef: { name: 'db' } }]; }],
  ['HD018', 'literal password by name', (_d, _ps, c) => secretEnv(c, { name: 'DB_PASSWORD', value: 'hunter2' })],
  ['HD018', 'URL with a password', (_d, _ps, c) => secretEnv(c, { name: 'DATABASE_URL', value: 'postgres://app:s3cret@db:5432/app' })],
  ['HD018', 'a private key', (_d, _ps, c) => secretEnv(c, { name: 'TLS', value: '-----BEGIN EC PRIVATE KEY-----\nMHc...\n-----END EC PRIVATE KEY-----' })],
  ['HD019', 'no readiness probe', (_d, _ps, c) => { delete c.readinessProbe; }],
  ['HD021', 'configMap mounted writable', (_d, ps, c) => { ps.volumes.push({ name: 'cfg', configMap: { name: 'cfg' } }); c.volumeMounts.push({ name: 'cfg', mountPath: '/etc/app' }); }],
  ['HD018', 'a *_FILE variable holding a password', (_d, _ps, c) => secretEnv(c, { name: 'DB_PASSWORD_FILE', value: 'hunter2' })],
  ['HD018', 'a non-secret *_FILE variable holding a literal', (_d, _ps, c) => secretEnv(c, { name: 'LOG_FILE', value: 'app.log' })],
  ['HD018', 'a *_FILE variable pointing outside any Secret mount', (_d, _ps, c) => secretEnv(c, { name: 'TLS_KEY_FILE', value: '/tmp/key.pem' })],
  ['HD018', 'a *_FILE variable escaping its mount with ..', (_d, ps, c) => { ps.volumes.push({ name: 'db', secret: { secretName: 'db' } }); c.volumeMounts.push({ name: 'db', mountPath: '/var/run/secrets/db', readOnly: true }); secretEnv(c, { name: 'DB_PASSWORD_FILE', value: '/var/run/secrets/db/../../../etc/shadow' }); }],
  ['HD029', 'a Deployment in kube-system', (d) => { d.metadata.namespace = 'kube-system'; }],
  ['HD032', 'a projected service-account token', (_d, ps, c) => { ps.volumes.push({ name: 'tok', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }] } }); c.volumeMounts.push({ name: 'tok', mountPath: '/var/run/tok', readOnly: true }); }],
  ['HD032', 'a Secret mounted over the token directory', (_d, ps, c) => { ps.volumes.push({ name: 'admin', secret: { secretName: 'admin-token' } }); c.volumeMounts.push({ name: 'admin', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }); }],
  ['HD032', 'a Secret whose key path lands on the token', (_d, ps, c) => { ps.volumes.push({ name: 'admin', secret: { secretName: 'admin-token', items: [{ key: 'token', path: 'kubernetes.io/serviceaccount/token' }] } }); c.volumeMounts.push({ name: 'admin', mountPath: '//run/./secrets', readOnly: true }); }],
  ['HD034', 'a custom resource with a second pod spec where the policy also looks', (d) => { d.apiVersion = 'argoproj.io/v1alpha1'; d.kind = 'Rollout'; d.spec.podTemplate = structuredClone(d.spec.template); }],
  ['HD035', 'a memory limit of 0 (no limit)', (_d, _ps, c) => { c.resources.limits.memory = '0'; }],
  ['HD035', 'an ephemeral-storage limit of 0Gi', (_d, _ps, c) => { c.resources.limits['ephemeral-storage'] = '0Gi'; }],
  ['HD035', 'a negative CPU request', (_d, _ps, c) => { c.resources.requests.cpu = '-100m'; }],
  ['HD035', 'a malformed memory request', (_d, _ps, c) => { c.resources.requests.memory = '64 MB'; }],
  ['HD035', 'an emptyDir sizeLimit of 0', (_d, ps) => { ps.volumes[0].emptyDir.sizeLimit = '0'; }],
  ['HD035', 'a negative pod-level memory limit', (_d, ps) => { ps.resources = { limits: { memory: '-1Gi' } }; }],
  ['HD036', 'a volume mounted at /', (_d, ps, c) => { ps.volumes.push({ name: 'root', emptyDir: { sizeLimit: '1Gi' } }); c.volumeMounts.push({ name: 'root', mountPath: '/' }); }],
  ['HD036', 'a volume mounted at /./', (_d, _ps, c) => { c.volumeMounts[0].mountPath = '/./'; }],
  ['HD036', 'a subPath with ..', (_d, _ps, c) => { c.volumeMounts[0].subPath = '../../etc'; }],
  ['HD036', 'an absolute subPathExpr', (_d, _ps, c) => { c.volumeMounts[0].subPathExpr = '/$(POD_NAME)'; }],
  ['HD036', 'a relative mountPath', (_d, _ps, c) => { c.volumeMounts[0].mountPath = 'tmp'; }],
  ['HD037', 'a readiness probe on an undeclared port name', (_d, _ps, c) => { c.readinessProbe = { httpGet: { path: '/healthz', port: 'admin' } }; }],
  ['HD037', 'a preStop hook on an undeclared port name', (_d, _ps, c) => { c.lifecycle = { preStop: { tcpSocket: { port: 'drain' } } }; }],
  ['HD021', 'projected volume with readOnly false', (_d, ps, c) => { ps.volumes.push({ name: 'p', projected: { sources: [] } }); c.volumeMounts.push({ name: 'p', mountPath: '/p', readOnly: false }); }],
  // Pod-level values Pod Security judges even where every container overrides them.
  ['HD001', 'runAsNonRoot false on the pod, true on the container', (_d, ps) => { ps.securityContext.runAsNonRoot = false; }],
  ['HD002', 'runAsUser 0 on the pod, overridden by the container', (_d, ps, c) => { ps.securityContext.runAsUser = 0; c.securityContext.runAsUser = 65532; }],
  ['HD007', 'CAP_NET_BIND_SERVICE with a port below 1024', (_d, _ps, c) => { c.ports = [{ containerPort: 80 }]; c.securityContext.capabilities.add = ['CAP_NET_BIND_SERVICE']; }],
  ['HD008', 'seccomp Unconfined on the pod, RuntimeDefault on the container', (_d, ps, c) => { ps.securityContext.seccompProfile = { type: 'Unconfined' }; c.securityContext.seccompProfile = { type: 'RuntimeDefault' }; }],
  ['HD012', 'a volume with an emptyDir and an nfs source', (_d, ps) => { ps.volumes.push({ name: 'two', emptyDir: { sizeLimit: '1Mi' }, nfs: { server: 'n', path: '/' } }); }],
  ['HD012', 'a volume with no source', (_d, ps) => { ps.volumes.push({ name: 'none' }); }],
  // Shells behind wrappers.
  ['HD016', 'env -i FOO=1 sh', (_d, _ps, c) => { c.command = ['env', '-i', 'FOO=1', 'sh', '-c', 'x']; }],
  ['HD016', 'tini -- in command, sh in args', (_d, _ps, c) => { c.command = ['/sbin/tini', '--']; c.args = ['sh', '-c', 'x']; }],
  ['HD016', 'env -S with the shell in a string', (_d, _ps, c) => { c.command = ['/usr/bin/env', '-S', "s''h -c x"]; }],
  ['HD016', 'nested wrappers', (_d, _ps, c) => { c.command = ['env', 'nice', '-n', '5', 'tini', '--', '/bin/../bin/sh', '-c', 'x']; }],
  ['HD016', 'su', (_d, _ps, c) => { c.command = ['su', '-c', '/app/server', 'app']; }],
  ['HD016', 'flock -c', (_d, _ps, c) => { c.command = ['flock', '/tmp/lock', '-c', '/app/server']; }],
  ['HD016', 'busybox applet in a startup probe', (_d, _ps, c) => { c.startupProbe = { exec: { command: ['timeout', '5', 'busybox', 'wget', '-q', 'http://localhost'] } }; }],
  ['HD016', 'postStart hook through /usr/bin/env bash', (_d, _ps, c) => { c.lifecycle = { postStart: { exec: { command: ['/usr/bin/env', 'bash', '-c', 'x'] } } }; }],
  ['HD023', 'AppArmor Unconfined on the container', (_d, _ps, c) => { c.securityContext.appArmorProfile = { type: 'Unconfined' }; }],
  ['HD023', 'AppArmor Localhost on the pod', (_d, ps) => { ps.securityContext.appArmorProfile = { type: 'Localhost', localhostProfile: 'p' }; }],
  ['HD023', 'AppArmor annotation unconfined', (d) => { d.spec.template.metadata.annotations = { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' }; }],
  ['HD024', 'SELinux user on the pod', (_d, ps) => { ps.securityContext.seLinuxOptions = { user: 'system_u' }; }],
  ['HD024', 'SELinux type spc_t on the container', (_d, _ps, c) => { c.securityContext.seLinuxOptions = { type: 'spc_t', level: 's0' }; }],
  ['HD025', 'procMount Unmasked', (_d, _ps, c) => { c.securityContext.procMount = 'Unmasked'; }],
  ['HD025', 'procMount empty', (_d, _ps, c) => { c.securityContext.procMount = ''; }],
  ['HD026', 'a safe sysctl', (_d, ps) => { ps.securityContext.sysctls = [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]; }],
  ['HD027', 'hostProcess on the pod', (_d, ps) => { ps.securityContext.windowsOptions = { hostProcess: true }; }],
  ['HD027', 'hostProcess on the container', (_d, _ps, c) => { c.securityContext.windowsOptions = { hostProcess: true, runAsUserName: 'x' }; }],
  ['HD028', 'readiness probe to another host', (_d, _ps, c) => { c.readinessProbe = { httpGet: { port: 8080, host: '169.254.169.254' } }; }],
  ['HD028', 'preStop hook to another host', (_d, _ps, c) => { c.lifecycle = { preStop: { tcpSocket: { port: 8080, host: 'db' } } }; }],
];

function mutated(m: Mutation): any {
  const d = goodDeployment();
  const ps = d.spec.template.spec;
  m[2](d, ps, ps.containers[0]);
  return d;
}

/** The same pod spec under another kind. */
function asKind(kind: string, d: any = goodDeployment()): any {
  const template = d.spec.template;
  const meta = { name: 'web' };
  switch (kind) {
    case 'Pod': return { apiVersion: 'v1', kind, metadata: meta, spec: template.spec };
    case 'Job': return { apiVersion: 'batch/v1', kind, metadata: meta, spec: { backoffLimit: 3, template: { ...template, spec: { ...template.spec, restartPolicy: 'Never' } } } };
    case 'CronJob': return { apiVersion: 'batch/v1', kind, metadata: meta, spec: { schedule: '* * * * *', jobTemplate: { spec: { backoffLimit: 3, template: { ...template, spec: { ...template.spec, restartPolicy: 'Never' } } } } } };
    // Custom resources, each with its pod spec where its project keeps it.
    case 'Rollout': return { apiVersion: 'argoproj.io/v1alpha1', kind, metadata: meta, spec: { selector: d.spec.selector, template } };
    case 'KnativeService': return { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: meta, spec: { template } };
    case 'PodSpecCR': return { apiVersion: 'example.com/v1', kind, metadata: meta, spec: template.spec };
    case 'FlinkDeployment': return { apiVersion: 'flink.apache.org/v1beta1', kind, metadata: meta, spec: { podTemplate: template } };
    case 'ScaledJob': return { apiVersion: 'keda.sh/v1alpha1', kind, metadata: meta, spec: { jobTargetRef: { backoffLimit: 3, template: { ...template, spec: { ...template.spec, restartPolicy: 'Never' } } } } };
    default: return { apiVersion: 'apps/v1', kind, metadata: meta, spec: { selector: d.spec.selector, template } };
  }
}

describe('CEL generated from the rule list', () => {
  it('accounts for every rule id: generated, or listed with a reason, never both', () => {
    const cov = celCoverage();
    expect(cov.unknown).toEqual([]);
    expect(cov.generated.filter((id) => CEL_NOT_GENERATED.some((n) => n.id === id))).toEqual([]);
    expect(cov.generated.length + cov.notGenerated.length).toBe(RULES.length);
    for (const n of CEL_NOT_GENERATED) expect(n.reason.length).toBeGreaterThan(40);
    // every generated id is a real rule
    for (const id of CEL_GENERATED_IDS) expect(RULES.some((r) => r.id === id)).toBe(true);
  });

  it('keys each message by the rule id and states its title and fix', () => {
    for (const { id, validation } of celChecks()) {
      const rule = RULES.find((r) => r.id === id)!;
      expect(validation.message).toBe(`${id} ${rule.title} — ${rule.fix}`);
      expect(validation.message).not.toMatch(/\n/);
      if (validation.messageExpression) expect(validation.messageExpression.startsWith(`'${id} `)).toBe(true);
    }
  });

  it('admits the hardened deployment the core builds, under every matched kind', () => {
    const kinds = POLICY_RESOURCES.flatMap((r) => r.kinds);
    expect(kinds).toEqual(expect.arrayContaining(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob']));
    for (const kind of [...kinds, ...CUSTOM_KINDS]) {
      const o = asKind(kind);
      expect(checkObject(o)).toEqual([]);
      const r = admit(POLICY, o);
      expect({ kind, ...r }).toEqual({ kind, allowed: true, messages: [], ids: [], errors: [] });
    }
  });

  it('has a denying mutation for every generated rule', () => {
    expect([...new Set(MUTATIONS.map((m) => m[0]))].sort()).toEqual([...CEL_GENERATED_IDS].sort());
  });

  describe.each(MUTATIONS)('%s: %s', (id, _what, _f) => {
    const m = MUTATIONS.find((x) => x[0] === id && x[1] === _what)!;
    it('is denied with a message naming the rule id, as the JS rule says', () => {
      const o = mutated(m);
      expect(jsIds(o)).toContain(id);
      const r = admit(POLICY, o);
      expect(r.errors).toEqual([]);
      expect(r.allowed).toBe(false);
      expect(r.ids).toContain(id);
      const msg = r.messages.find((x) => x.startsWith(`${id} `))!;
      expect(msg).toContain(RULES.find((x) => x.id === id)!.fix);
      // the cluster and the synth guard name the same rules
      expect(celIds(o)).toEqual(jsIds(o));
    });
  });

  it('names the offending container, init container and ephemeral container', () => {
    const d = goodDeployment();
    const ps = d.spec.template.spec;
    ps.initContainers = [{ ...structuredClone(ps.containers[0]), name: 'migrate', image: 'migrate:latest' }];
    delete ps.initContainers[0].readinessProbe;
    delete ps.initContainers[0].livenessProbe;
    const r = admit(POLICY, d);
    expect(r.messages).toEqual([expect.stringMatching(/^HD003 container migrate: images are pinned by digest/)]);

    const pod = asKind('Pod');
    pod.spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox', command: ['sh'], stdin: true, tty: true }];
    const rp = admit(POLICY, pod);
    expect(rp.errors).toEqual([]);
    expect(rp.messages.find((m) => m.startsWith('HD004'))).toMatch(/^HD004 container debugger:/);
    expect(celIds(pod)).toEqual(jsIds(pod));
    // runAsNonRoot, UID, GID and seccomp come from the pod's securityContext, as Kubernetes applies them
    expect(celIds(pod)).toEqual(['HD003', 'HD004', 'HD005', 'HD007', 'HD016']);
  });

  it('names the container whose UID is wrong, and reports fsGroup on its own', () => {
    const d = goodDeployment();
    d.spec.template.spec.containers[0].securityContext.runAsUser = 1000;
    d.spec.template.spec.securityContext.fsGroup = 0;
    expect(admit(POLICY, d).messages).toEqual([
      expect.stringMatching(/^HD002 container app: containers run with a fixed UID/),
      expect.stringMatching(/^HD002 containers run with a fixed UID and GID/),
    ]);
  });

  it('names the offending volume', () => {
    const d = goodDeployment();
    d.spec.template.spec.volumes.push({ name: 'scratch', emptyDir: {} });
    expect(admit(POLICY, d).messages).toEqual([expect.stringMatching(/^HD013 volume scratch: every emptyDir has a sizeLimit/)]);
  });

  it('denies each workload kind, and each custom resource by the shape of its pod spec, written by hand with a tag and a writable root', () => {
    for (const kind of [...POLICY_RESOURCES.flatMap((r) => r.kinds), ...CUSTOM_KINDS]) {
      const d = goodDeployment();
      d.spec.template.spec.containers[0].image = 'nginx:1.25';
      d.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
      const o = asKind(kind, d);
      expect(celIds(o)).toEqual(['HD003', 'HD004']);
      expect(celIds(o)).toEqual(jsIds(o));
    }
  });

  it('evaluates without errors on bare objects (every access is guarded) and agrees with the JS rules', () => {
    const bare = [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'nginx' }] } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'a', image: 'nginx', securityContext: {}, resources: {}, env: [{ name: 'A' }], ports: [{ containerPort: 80 }], volumeMounts: [{ name: 'x', mountPath: '/x' }] }], securityContext: {}, volumes: [{ name: 'x' }] } } } },
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', image: 'nginx', command: [], args: [], livenessProbe: {}, lifecycle: {} }] } } } } } },
    ];
    for (const o of bare) {
      const r = admit(POLICY, o);
      expect(r.errors).toEqual([]);
      expect(r.allowed).toBe(false);
      expect(celIds(o)).toEqual(jsIds(o));
    }
  });

  it('agrees with the JS rules on random combinations of mutations', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 150; i++) {
      const d = goodDeployment();
      const ps = d.spec.template.spec;
      const picked = MUTATIONS.filter(() => rand() < 0.12);
      for (const m of picked) {
        try { m[2](d, ps, ps.containers[0]); } catch { /* a mutation may not apply after another (e.g. no securityContext) */ }
      }
      const others = ['Pod', 'Job', 'CronJob', 'StatefulSet', ...CUSTOM_KINDS];
      const o = rand() < 0.5 ? d : asKind(others[Math.floor(rand() * others.length)]!, d);
      const [cel, js] = [celIds(o), jsIds(o)];
      // An object with pod specs at more than one place is refused whole (HD034): the policy judges
      // one of them, the JS rules every one, so the policy's ids are then a subset of the JS ones.
      if (cel.includes('HD034') && js.includes('HD034')) expect({ i, extra: cel.filter((id) => !js.includes(id)) }).toEqual({ i, extra: [] });
      else expect({ i, ids: cel }).toEqual({ i, ids: js });
    }
  });

  it('limits images to allowed registries when asked (NS001), matching whole path segments', () => {
    const p = policy({ allowedRegistries: ['registry.example.com', 'ghcr.io/acme/'] });
    expect(admit(p, goodDeployment()).allowed).toBe(true);
    for (const [image, ok] of [
      [`ghcr.io/acme/api@${DIGEST}`, true],
      [`ghcr.io/other/api@${DIGEST}`, false],
      [`registry.example.com.evil.io/app@${DIGEST}`, false],
      [`app@${DIGEST}`, false],
    ] as const) {
      const d = goodDeployment();
      d.spec.template.spec.containers[0].image = image;
      const r = admit(p, d);
      expect(r.errors).toEqual([]);
      expect({ image, ids: r.ids }).toEqual({ image, ids: ok ? [] : [ALLOWED_REGISTRIES_ID] });
    }
    expect(admit(p, goodDeployment()).allowed).toBe(true);
    expect(celChecks().some((c) => c.id === ALLOWED_REGISTRIES_ID)).toBe(false);
  });
});

describe('match conditions: only creations and pod spec changes are checked', () => {
  const P = { ...POLICY, matchConditions: POD_MATCH_CONDITIONS };
  const insecure = () => { const d = goodDeployment(); d.spec.template.spec.containers[0].image = 'nginx:1.25'; return d; };

  it('checks every CREATE', () => {
    expect(admit(P, insecure()).ids).toEqual(['HD003']);
  });

  it('lets a controller or a user update what the rules do not look at on an object that predates the policy', () => {
    for (const kind of ['Deployment', 'Pod', 'CronJob']) {
      const old = asKind(kind, insecure());
      const next = structuredClone(old);
      next.metadata.labels = { touched: 'yes' };
      next.metadata.finalizers = [];
      if (kind === 'Deployment') next.spec.replicas = 5;
      expect({ kind, ...admit(P, next, { operation: 'UPDATE', oldObject: old }) }).toEqual({ kind, allowed: true, messages: [], ids: [], errors: [] });
    }
  });

  it('checks an UPDATE that changes the pod spec, whatever the kind', () => {
    for (const kind of ['Deployment', 'Pod', 'CronJob', 'StatefulSet']) {
      const old = asKind(kind);
      const next = structuredClone(old);
      const ps = kind === 'Pod' ? next.spec : kind === 'CronJob' ? next.spec.jobTemplate.spec.template.spec : next.spec.template.spec;
      ps.containers[0].securityContext.readOnlyRootFilesystem = false;
      expect({ kind, ids: admit(P, next, { operation: 'UPDATE', oldObject: old }).ids }).toEqual({ kind, ids: ['HD004'] });
    }
    // A bound Pod carries the scheduler's nodeName: an update that keeps it is not HD040; one that sets it is.
    const bound = asKind('Pod');
    bound.spec.nodeName = 'node-1';
    const edited = structuredClone(bound);
    edited.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
    expect(admit(P, edited, { operation: 'UPDATE', oldObject: bound }).ids).toEqual(['HD004']);
    const unbound = asKind('Pod');
    const pinned = structuredClone(unbound);
    pinned.spec.nodeName = 'control-plane-1';
    expect(admit(P, pinned, { operation: 'UPDATE', oldObject: unbound }).ids).toEqual(['HD040']);
    const pod = asKind('Pod');
    const debugged = structuredClone(pod);
    debugged.spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox' }];
    expect(admit(P, debugged, { operation: 'UPDATE', oldObject: pod }).ids).toEqual(expect.arrayContaining(['HD003', 'HD004']));
  });
});

describe('match conditions: custom resources by the shape of their pod spec', () => {
  const P = { ...POLICY, matchConditions: POD_MATCH_CONDITIONS };
  const insecure = () => { const d = goodDeployment(); d.spec.template.spec.containers[0].securityContext.privileged = true; return d; };

  it('checks every custom resource with a pod spec where the policy looks, and names the rule', () => {
    for (const kind of CUSTOM_KINDS) {
      const o = asKind(kind, insecure());
      expect({ kind, ids: admit(P, o).ids }).toEqual({ kind, ids: ['HD006'] });
      expect({ kind, ids: celIds(o, P) }).toEqual({ kind, ids: jsIds(o) });
    }
  });

  it('leaves alone objects without a pod spec, and cluster-scoped objects, without an evaluation error whatever their shape', () => {
    const spec = insecure().spec.template.spec;
    const objects: unknown[] = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'Opaque' },
      { apiVersion: 'example.com/v1', kind: 'Odd', metadata: { name: 'o' }, spec: 'a string' },
      { apiVersion: 'example.com/v1', kind: 'Odd', metadata: { name: 'o' }, spec: ['a', 'list'] },
      { apiVersion: 'example.com/v1', kind: 'Odd', metadata: { name: 'o' }, spec: { template: 5 } },
      { apiVersion: 'example.com/v1', kind: 'Odd', metadata: { name: 'o' }, spec: { template: { spec: { containers: 'not a list' } } } },
      { apiVersion: 'example.com/v1', kind: 'Odd', metadata: { name: 'o' }, spec: null, template: null },
      { apiVersion: 'example.com/v1', kind: 'Odd', metadata: { name: 'o' }, spec: { jobTemplate: { spec: { template: [] } } } },
    ];
    for (const o of objects) expect({ o, ...admit(P, o) }).toEqual({ o, allowed: true, messages: [], ids: [], errors: [] });
    // A cluster-scoped custom resource with an insecure pod spec: every namespace's binding would see it; none judges it.
    const clusterScoped = { apiVersion: 'example.com/v1', kind: 'ClusterRunner', metadata: { name: 'r' }, spec: { template: { spec } } };
    expect(admit(P, clusterScoped, { namespace: '' })).toEqual({ allowed: true, messages: [], ids: [], errors: [] });
    expect(admit(P, clusterScoped, { namespace: 'shop' }).ids).toEqual(['HD006']);
  });

  it('checks an UPDATE of a custom resource only when it changes the pod spec', () => {
    const old = asKind('Rollout', insecure());
    const scaled = structuredClone(old);
    scaled.spec.replicas = 4;
    expect(admit(P, scaled, { operation: 'UPDATE', oldObject: old }).ids).toEqual([]);
    const good = asKind('Rollout');
    const broken = structuredClone(good);
    broken.spec.template.spec.containers[0].image = 'nginx:latest';
    expect(admit(P, broken, { operation: 'UPDATE', oldObject: good }).ids).toEqual(['HD003']);
  });

  it('refuses a custom resource with pod specs at two places it looks (HD034): a hardened decoy cannot cover the real one', () => {
    const decoyFirst = asKind('Rollout');
    decoyFirst.spec.podTemplate = insecure().spec.template;
    const beside = asKind('Rollout');
    beside.spec.containers = insecure().spec.template.spec.containers;
    for (const o of [decoyFirst, beside]) {
      expect(admit(P, o).ids).toContain('HD034');
      expect(jsIds(o)).toEqual(expect.arrayContaining(['HD006', 'HD034']));
    }
  });

  it('judges the first pod spec where it looks; the JS rules judge every one, wherever it sits', () => {
    const ray = { apiVersion: 'ray.io/v1', kind: 'RayCluster', metadata: { name: 'r' }, spec: { headGroupSpec: { template: goodDeployment().spec.template }, workerGroupSpecs: [{ template: insecure().spec.template }] } };
    expect(checkObject(ray).map((v) => `${v.code} ${v.path}`)).toEqual(['HD006 /spec/workerGroupSpecs/0/template/spec/containers/0/securityContext/privileged']);
    // Not at a path the policy looks at: admission judges the Pods the operator makes from it (the policy matches pods).
    expect(admit(P, ray)).toEqual({ allowed: true, messages: [], ids: [], errors: [] });
  });
});

describe('what only the JS rules check of HD035', () => {
  it('refuses a request above its limit; the policy leaves it to the API server, whose validation refuses it for built-in kinds before admission', () => {
    const d = goodDeployment();
    d.spec.template.spec.containers[0].resources.requests.memory = '2Gi';
    d.spec.template.spec.containers[0].resources.limits.memory = '1Gi';
    expect(jsIds(d)).toEqual(['HD035']);
    expect(celIds(d)).toEqual([]);
  });
});
