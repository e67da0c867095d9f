/**
 * Attacks on the typed props of the cdk8s constructs: what the types forbid, reached with casts,
 * spreads and JavaScript callers; values the types allow that the API server would misread or
 * refuse; every workload kind.
 */
import type { Chart } from 'cdk8s';
import { EnvConfig, HardenedCronJob, HardenedDeployment, HardenedJob, HardenedNamespace, HardenedStatefulSet, digestRef } from '../../../src/cdk8s';
import type { HardenedContainerProps } from '../../../src/core';
import type { Cdk8sAttack } from '../cdk8s-harness';
import { cdk8sContainer, cdk8sWorkload, goodContainer, KINDS } from './common';

// Typed (not `any`), so that the type attacks below meet the real prop types.
const app: HardenedContainerProps = goodContainer('Deployment');
const task: HardenedContainerProps = goodContainer('Job');

/** Attacks the types refuse; each line with the offending prop carries a @ts-expect-error. */
const typeAttacks: Cdk8sAttack[] = [
  {
    name: 'privileged: true on a container', category: 'typed-props', target: 'Deployment', stage: 'types', rule: 'HD006',
    build: (c) => new HardenedDeployment(c, 'w', { containers: [{
      ...app,
      // @ts-expect-error there is no privileged prop
      privileged: true,
    }] }),
  },
  {
    name: 'a securityContext of its own on a StatefulSet container', category: 'typed-props', target: 'StatefulSet', stage: 'types', rule: 'HD001',
    build: (c) => new HardenedStatefulSet(c, 'w', { containers: [{
      ...app,
      // @ts-expect-error the security context is not a prop
      securityContext: { runAsUser: 0 },
    }] }),
  },
  {
    name: 'runAsUser 0 on a Job', category: 'typed-props', target: 'Job', stage: 'types', rule: 'HD002',
    // @ts-expect-error 0 is not a NonRootId
    build: (c) => new HardenedJob(c, 'w', { containers: [task], runAsUser: 0 }),
  },
  {
    name: 'runAsGroup 0 on a CronJob', category: 'typed-props', target: 'CronJob', stage: 'types', rule: 'HD002',
    // @ts-expect-error 0 is not a NonRootId
    build: (c) => new HardenedCronJob(c, 'w', { schedule: '@daily', containers: [task], runAsGroup: 0 }),
  },
  {
    name: 'hostNetwork on a Deployment', category: 'typed-props', target: 'Deployment', stage: 'types', rule: 'HD009',
    build: (c) => new HardenedDeployment(c, 'w', {
      containers: [app],
      // @ts-expect-error there is no hostNetwork prop
      hostNetwork: true,
    }),
  },
  {
    name: 'hostPID on a StatefulSet', category: 'typed-props', target: 'StatefulSet', stage: 'types', rule: 'HD009',
    build: (c) => new HardenedStatefulSet(c, 'w', {
      containers: [app],
      // @ts-expect-error there is no hostPID prop
      hostPID: true,
    }),
  },
  {
    name: 'hostIPC on a CronJob', category: 'typed-props', target: 'CronJob', stage: 'types', rule: 'HD009',
    build: (c) => new HardenedCronJob(c, 'w', {
      schedule: '@hourly', containers: [task],
      // @ts-expect-error there is no hostIPC prop
      hostIPC: true,
    }),
  },
  {
    name: 'readOnlyRootFilesystem: false on a Job container', category: 'typed-props', target: 'Job', stage: 'types', rule: 'HD004',
    build: (c) => new HardenedJob(c, 'w', { containers: [{
      ...task,
      // @ts-expect-error the root filesystem is always read-only
      readOnlyRootFilesystem: false,
    }] }),
  },
  {
    name: 'allowPrivilegeEscalation on an init container', category: 'typed-props', target: 'Deployment', stage: 'types', rule: 'HD005',
    build: (c) => new HardenedDeployment(c, 'w', { containers: [app], initContainers: [{
      ...task,
      // @ts-expect-error privilege escalation is always off
      allowPrivilegeEscalation: true,
    }] }),
  },
  {
    name: 'capabilities add SYS_ADMIN', category: 'typed-props', target: 'StatefulSet', stage: 'types', rule: 'HD007',
    build: (c) => new HardenedStatefulSet(c, 'w', { containers: [{
      ...app,
      // @ts-expect-error capabilities are not a prop
      capabilities: { add: ['SYS_ADMIN'] },
    }] }),
  },
  {
    name: 'seccompProfile Unconfined', category: 'typed-props', target: 'Deployment', stage: 'types', rule: 'HD008',
    build: (c) => new HardenedDeployment(c, 'w', { containers: [{
      ...app,
      // @ts-expect-error the seccomp profile is always RuntimeDefault
      seccompProfile: { type: 'Unconfined' },
    }] }),
  },
  {
    name: 'a hostPath volume', category: 'typed-props', target: 'CronJob', stage: 'types', rule: 'HD010',
    build: (c) => new HardenedCronJob(c, 'w', { schedule: '@daily', containers: [{
      ...task,
      // @ts-expect-error there is no hostPath prop
      hostPath: '/var/run/docker.sock',
    }] }),
  },
  {
    name: 'volumes of its own', category: 'typed-props', target: 'Deployment', stage: 'types', rule: 'HD012',
    build: (c) => new HardenedDeployment(c, 'w', {
      containers: [app],
      // @ts-expect-error volumes come from writablePaths and config only
      volumes: [{ name: 'root', hostPath: { path: '/' } }],
    }),
  },
  {
    name: 'automountServiceAccountToken: true', category: 'typed-props', target: 'Job', stage: 'types', rule: 'HD015',
    build: (c) => new HardenedJob(c, 'w', {
      containers: [task],
      // @ts-expect-error the token is never mounted
      automountServiceAccountToken: true,
    }),
  },
  {
    name: 'envFrom a Secret', category: 'typed-props', target: 'StatefulSet', stage: 'types', rule: 'HD017',
    build: (c) => new HardenedStatefulSet(c, 'w', { containers: [{
      ...app,
      // @ts-expect-error env comes from literal env and EnvConfig only
      envFrom: [{ secretRef: { name: 'db' } }],
    }] }),
  },
  {
    name: 'a hostPort', category: 'typed-props', target: 'Deployment', stage: 'types', rule: 'HD011',
    build: (c) => new HardenedDeployment(c, 'w', { containers: [{
      ...app,
      // @ts-expect-error ports have no hostPort
      ports: [{ containerPort: 8080, hostPort: 80 }],
    }] }),
  },
  {
    name: 'an image by tag', category: 'typed-props', target: 'Deployment', stage: 'types', rule: 'HD003',
    // @ts-expect-error a tag is not a DigestRef
    build: (c) => new HardenedDeployment(c, 'w', { containers: [{ ...app, image: 'nginx:1.27' }] }),
  },
  {
    name: 'an image by tag on a CronJob', category: 'typed-props', target: 'CronJob', stage: 'types', rule: 'HD003',
    // @ts-expect-error a tag is not a DigestRef
    build: (c) => new HardenedCronJob(c, 'w', { schedule: '@daily', containers: [{ ...task, image: 'busybox:latest' }] }),
  },
  {
    name: 'a serviceAccountName of another identity', category: 'typed-props', target: 'Deployment', stage: 'types', rule: 'PROP001',
    build: (c) => new HardenedDeployment(c, 'w', {
      containers: [app],
      // @ts-expect-error the workload always runs as its own ServiceAccount
      serviceAccountName: 'cluster-admin-sa',
    }),
  },
  {
    name: 'a sysctl', category: 'typed-props', target: 'StatefulSet', stage: 'types', rule: 'PROP001',
    build: (c) => new HardenedStatefulSet(c, 'w', {
      containers: [app],
      // @ts-expect-error there are no sysctls
      sysctls: [{ name: 'kernel.shm_rmid_forced', value: '0' }],
    }),
  },
  {
    name: 'a workload in kube-system', category: 'typed-props', target: 'Deployment', stage: 'construct', rule: 'HD029',
    build: (c) => new HardenedDeployment(c, 'w', { namespace: 'kube-system', containers: [app] }),
  },
  {
    name: 'a digestRef helper fed a tag from CI', category: 'typed-props', target: 'Deployment', stage: 'construct', rule: 'HD003',
    build: (c) => new HardenedDeployment(c, 'w', { containers: [{ ...app, image: digestRef('registry.example.com/app:latest') }] }),
  },
  {
    name: 'a cast DigestRef whose digest is too short', category: 'typed-props', target: 'Job', stage: 'construct', rule: 'HD003',
    build: (c) => new HardenedJob(c, 'w', { containers: [{ ...task, image: 'registry.example.com/app@sha256:abc' as `${string}@sha256:${string}` }] }),
  },
];

/** What a JavaScript caller (or `as any`) hands in: every forbidden key, on every kind. */
const FORBIDDEN_CONTAINER_KEYS: [string, unknown, string][] = [
  ['privileged', true, 'HD006'],
  ['securityContext', { privileged: true }, 'HD001'],
  ['readOnlyRootFilesystem', false, 'HD004'],
  ['allowPrivilegeEscalation', true, 'HD005'],
  ['capabilities', { add: ['NET_ADMIN'] }, 'HD007'],
  ['seccompProfile', { type: 'Unconfined' }, 'HD008'],
  ['runAsNonRoot', false, 'HD001'],
  ['hostPath', '/', 'HD010'],
  ['envFrom', [{ secretRef: { name: 's' } }], 'HD017'],
  ['volumeDevices', [{ name: 'd', devicePath: '/dev/sda' }], 'PROP001'],
  ['lifecycle', { postStart: { exec: { command: ['sh', '-c', 'id'] } } }, 'PROP001'],
  ['stdin', true, 'PROP001'],
];
const jsCallerAttacks: Cdk8sAttack[] = FORBIDDEN_CONTAINER_KEYS.map(([key, value, rule], i) => {
  const kind = KINDS[i % KINDS.length]!;
  return { name: `a JavaScript caller sets container ${key} on a ${kind}`, category: 'typed-props', target: kind, stage: 'construct', rule, build: (c: Chart) => cdk8sContainer(c, kind, { [key]: value }) };
});

const FORBIDDEN_POD_KEYS: [string, unknown, string][] = [
  ['hostNetwork', true, 'HD009'],
  ['hostPID', true, 'HD009'],
  ['hostIPC', true, 'HD009'],
  ['volumes', [{ name: 'h', hostPath: { path: '/etc' } }], 'HD012'],
  ['automountServiceAccountToken', true, 'HD015'],
  ['serviceAccountName', 'default', 'PROP001'],
  ['securityContext', { runAsUser: 0 }, 'HD001'],
  ['shareProcessNamespace', true, 'HD039'],
  ['hostUsers', true, 'PROP001'],
  ['ephemeralContainers', [{ name: 'debug', image: 'busybox' }], 'PROP001'],
  ['runtimeClassName', 'unconfined', 'PROP001'],
  ['nodeName', 'control-plane', 'HD040'],
];
const podKeyAttacks: Cdk8sAttack[] = FORBIDDEN_POD_KEYS.map(([key, value, rule], i) => {
  const kind = KINDS[(i + 1) % KINDS.length]!;
  return { name: `a JavaScript caller sets pod ${key} on a ${kind}`, category: 'typed-props', target: kind, stage: 'construct', rule, build: (c: Chart) => cdk8sWorkload(c, kind, { [key]: value }) };
});

/** Keys that name Object.prototype's members: a lookup must not find them. */
const prototypeAttacks: Cdk8sAttack[] = [
  { name: 'a container prop named __proto__', category: 'typed-props', target: 'Deployment', stage: 'construct', rule: 'PROP001', build: (c) => cdk8sContainer(c, 'Deployment', JSON.parse('{"__proto__": {"privileged": true}}')) },
  { name: 'a container prop named constructor', category: 'typed-props', target: 'Job', stage: 'construct', rule: 'PROP001', build: (c) => cdk8sContainer(c, 'Job', { constructor: { privileged: true } }) },
  { name: 'a pod prop named toString', category: 'typed-props', target: 'StatefulSet', stage: 'construct', rule: 'PROP001', build: (c) => cdk8sWorkload(c, 'StatefulSet', { toString: 'x' }) },
  {
    name: 'Object.prototype polluted with privileged and hostPID before construction', category: 'typed-props', target: 'Deployment', stage: 'construct', rule: 'HD006',
    build: (c) => {
      (Object.prototype as Record<string, unknown>).privileged = true;
      (Object.prototype as Record<string, unknown>).hostPID = true;
      try {
        new HardenedDeployment(c, 'w', { containers: [app] });
      } finally {
        delete (Object.prototype as Record<string, unknown>).privileged;
        delete (Object.prototype as Record<string, unknown>).hostPID;
      }
    },
  },
];

/** Values the types allow but the API server would misread or refuse. */
const valueAttacks: Cdk8sAttack[] = [
  { name: 'memory limit "0" (no limit at all)', category: 'values', target: 'Deployment', stage: 'construct', rule: 'HD035', build: (c) => cdk8sContainer(c, 'Deployment', { resources: { memory: { request: '64Mi', limit: '0' } } }) },
  { name: 'negative memory request', category: 'values', target: 'StatefulSet', stage: 'construct', rule: 'HD035', build: (c) => cdk8sContainer(c, 'StatefulSet', { resources: { memory: { request: '-1Gi', limit: '1Gi' } } }) },
  { name: 'a toleration of every taint (operator Exists, no key)', category: 'values', target: 'Deployment', stage: 'construct', rule: 'HD041', build: (c) => cdk8sWorkload(c, 'Deployment', { tolerations: [{ operator: 'Exists' }] }) },
  { name: 'a toleration of the control plane\'s taint', category: 'values', target: 'StatefulSet', stage: 'construct', rule: 'HD041', build: (c) => cdk8sWorkload(c, 'StatefulSet', { tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] }) },
  { name: 'priorityClassName system-node-critical', category: 'values', target: 'CronJob', stage: 'construct', rule: 'HD042', build: (c) => cdk8sWorkload(c, 'CronJob', { priorityClassName: 'system-node-critical' }) },
  { name: 'request above limit', category: 'values', target: 'Job', stage: 'construct', rule: 'HD035', build: (c) => cdk8sContainer(c, 'Job', { resources: { memory: { request: '2Gi', limit: '1Gi' } } }) },
  { name: 'ephemeral storage limit "0"', category: 'values', target: 'CronJob', stage: 'construct', rule: 'HD035', build: (c) => cdk8sContainer(c, 'CronJob', { resources: { ephemeralStorage: { request: '0', limit: '0' } } }) },
  { name: 'a quantity with a space and a unit Go does not know', category: 'values', target: 'Deployment', stage: 'construct', rule: 'HD035', build: (c) => cdk8sContainer(c, 'Deployment', { resources: { memory: { request: '1 GB', limit: '2GB' } } }) },
  { name: 'an emptyDir sizeLimit of "0"', category: 'values', target: 'Deployment', stage: 'construct', rule: 'HD035', build: (c) => cdk8sContainer(c, 'Deployment', { writablePaths: [{ path: '/tmp', sizeLimit: '0' }] }) },
  { name: 'an invalid port name', category: 'values', target: 'StatefulSet', stage: 'construct', rule: 'PROP002', build: (c) => cdk8sContainer(c, 'StatefulSet', { ports: [{ containerPort: 8080, name: 'HTTP_PORT_WITH_A_LONG_NAME' }] }) },
  { name: 'a port number outside 1..65535', category: 'values', target: 'Deployment', stage: 'construct', rule: 'PROP002', build: (c) => cdk8sContainer(c, 'Deployment', { ports: [{ containerPort: 70000 }] }) },
  { name: 'a subPath that climbs out with ..', category: 'values', target: 'Deployment', stage: 'construct', rule: 'HD036', build: (c) => cdk8sContainer(c, 'Deployment', { writablePaths: [{ path: '/data', claimName: 'data', subPath: '../../etc' }] }) },
  { name: 'a writable path at /', category: 'values', target: 'Job', stage: 'construct', rule: 'HD036', build: (c) => cdk8sContainer(c, 'Job', { writablePaths: [{ path: '/', sizeLimit: '1Gi' }] }) },
  { name: 'a writable path with ..', category: 'values', target: 'CronJob', stage: 'construct', rule: 'HD036', build: (c) => cdk8sContainer(c, 'CronJob', { writablePaths: [{ path: '/tmp/../etc', sizeLimit: '1Gi' }] }) },
  { name: 'a relative writable path', category: 'values', target: 'StatefulSet', stage: 'construct', rule: 'HD036', build: (c) => cdk8sContainer(c, 'StatefulSet', { writablePaths: [{ path: 'var/lib/data', sizeLimit: '1Gi' }] }) },
  { name: 'a writable path over the token directory', category: 'values', target: 'Deployment', stage: 'construct', rule: 'HD032', build: (c) => cdk8sContainer(c, 'Deployment', { writablePaths: [{ path: '/var/run/secrets/kubernetes.io/serviceaccount', sizeLimit: '1Mi' }] }) },
  { name: 'a probe on an undeclared port name', category: 'values', target: 'Deployment', stage: 'construct', rule: 'HD037', build: (c) => cdk8sContainer(c, 'Deployment', { probes: { readiness: { http: { path: '/ready', port: 'admin' } }, liveness: { tcp: { port: 'http' } } } }) },
  { name: 'a literal password in a *_FILE env var', category: 'values', target: 'StatefulSet', stage: 'construct', rule: 'HD018', build: (c) => cdk8sContainer(c, 'StatefulSet', { env: { POSTGRES_PASSWORD_FILE: 'hunter2-is-my-password' } }) },
  { name: 'a secret-looking literal in env', category: 'values', target: 'Job', stage: 'construct', rule: 'HD018', build: (c) => cdk8sContainer(c, 'Job', { env: { AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' } }) },
  { name: 'netBindService without a low port', category: 'values', target: 'Deployment', stage: 'construct', rule: 'HD007', build: (c) => cdk8sContainer(c, 'Deployment', { netBindService: true }) },
  { name: 'runAsUser 1000 (a system UID) from JavaScript', category: 'values', target: 'CronJob', stage: 'construct', rule: 'HD002', build: (c) => cdk8sWorkload(c, 'CronJob', { runAsUser: 1000 }) },
  { name: 'runAsUser as a string "0"', category: 'values', target: 'Deployment', stage: 'construct', rule: 'HD002', build: (c) => cdk8sWorkload(c, 'Deployment', { runAsUser: '0' }) },
  { name: 'runAsUser 2^31 (overflows int32)', category: 'values', target: 'StatefulSet', stage: 'construct', rule: 'HD002', build: (c) => cdk8sWorkload(c, 'StatefulSet', { runAsUser: 2 ** 31 }) },
  { name: 'runAsUser 65532.5', category: 'values', target: 'Job', stage: 'construct', rule: 'HD002', build: (c) => cdk8sWorkload(c, 'Job', { runAsUser: 65532.5 }) },
  { name: 'autoscaling with min above max', category: 'values', target: 'Deployment', stage: 'construct', rule: 'PROP008', build: (c) => cdk8sWorkload(c, 'Deployment', { autoscaling: { minReplicas: 5, maxReplicas: 2 } }) },
  { name: 'several replicas on a ReadWriteOnce claim', category: 'values', target: 'Deployment', stage: 'construct', rule: 'PROP008', build: (c) => cdk8sWorkload(c, 'Deployment', { replicas: 3, containers: [{ ...app, writablePaths: [{ path: '/data', storage: { size: '1Gi' } }] }] }) },
  { name: 'a schedule with 61 minutes', category: 'values', target: 'CronJob', stage: 'construct', rule: 'PROP002', build: (c) => cdk8sWorkload(c, 'CronJob', { schedule: '61 * * * *' }) },
  { name: 'a schedule that smuggles CRON_TZ', category: 'values', target: 'CronJob', stage: 'construct', rule: 'PROP002', build: (c) => cdk8sWorkload(c, 'CronJob', { schedule: 'CRON_TZ=UTC 0 3 * * *' }) },
  { name: 'a Job restartPolicy Always', category: 'values', target: 'Job', stage: 'construct', rule: 'PROP002', build: (c) => cdk8sWorkload(c, 'Job', { restartPolicy: 'Always' }) },
  { name: 'a label value that is not a label value', category: 'values', target: 'Deployment', stage: 'construct', rule: 'PROP002', build: (c) => cdk8sWorkload(c, 'Deployment', { labels: { team: 'a b/c' } }) },
  { name: 'a workload named with upper case', category: 'values', target: 'StatefulSet', stage: 'construct', rule: 'PROP002', build: (c) => new HardenedStatefulSet(c, 'w', { name: 'Web', containers: [app] }) },
  { name: 'an EnvConfig that writes a file over the token path', category: 'values', target: 'EnvConfig', stage: 'construct', rule: 'HD032', build: (c) => new EnvConfig(c, 'cfg', { data: { 'app.conf': 'level=debug\n' }, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }) },
  { name: 'an EnvConfig that holds a private key as data', category: 'values', target: 'EnvConfig', stage: 'construct', rule: 'HD031', build: (c) => new EnvConfig(c, 'cfg', { data: { 'tls.key': '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n' } }) },
  { name: 'a HardenedNamespace named kube-system', category: 'values', target: 'Namespace', stage: 'construct', rule: 'HD029', build: (c) => new HardenedNamespace(c, 'ns', { name: 'kube-system' }) },
  { name: 'a CronJob with every field the wrong type from JavaScript', category: 'values', target: 'CronJob', stage: 'construct', rule: 'PROP002', build: (c) => cdk8sWorkload(c, 'CronJob', { concurrencyPolicy: 'Sometimes' }) },
  { name: 'a StatefulSet with the image given as an object with a tag', category: 'values', target: 'StatefulSet', stage: 'construct', rule: 'HD003', build: (c) => cdk8sContainer(c, 'StatefulSet', { image: { imageRef: 'nginx:latest' } }) },
  { name: 'an image digest in upper case', category: 'values', target: 'Job', stage: 'construct', rule: 'HD003', build: (c) => cdk8sContainer(c, 'Job', { image: `registry.example.com/app@sha256:${'AB'.repeat(32)}` }) },
];


export const CDK8S_PROP_ATTACKS: readonly Cdk8sAttack[] = [...typeAttacks, ...jsCallerAttacks, ...podKeyAttacks, ...prototypeAttacks, ...valueAttacks];
