/**
 * The Pulumi face of every workload kind (HardenedDeployment, HardenedStatefulSet, HardenedJob,
 * HardenedCronJob): for a spread of props per kind, the objects the component registers equal, field
 * by field, the objects the cdk8s construct synthesizes for the same props; Inputs and Outputs;
 * refusals that register nothing; the policy pack's rules over everything registered.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  EnvConfig as Cdk8sEnvConfig,
  HardenedCronJob as Cdk8sCronJob, HardenedDeployment as Cdk8sDeployment, HardenedJob as Cdk8sJob, HardenedStatefulSet as Cdk8sStatefulSet,
} from '../../src/cdk8s';
import { nonRootId } from '../../src/core';
import { CleanimgError } from '../../src/errors';
import {
  EnvConfig, HardenedCronJob, HardenedDeployment, HardenedJob, HardenedStatefulSet, violationsOfResource,
  type HttpRouteOptions, type IngressOptions, type ExposeOptions, type HardenedWorkload,
} from '../../src/pulumi';
import { installMocks, settle, valueOf } from './harness';
import { runFixture } from './run-fixture';
import { thrown } from '../support/expect-error';

const recorder = installMocks();
const PINNED = 'registry.example.com/app@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9' as const;
type Obj = Record<string, any>;
/** JSON round trip: drops undefined fields, as both engines do before sending objects anywhere. */
const plain = (o: unknown) => JSON.parse(JSON.stringify(o));
const key = (o: Obj) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
/** Lets pending registrations reach the mocks. */
const tick = () => new Promise((r) => setTimeout(r, 50));

type Kind = 'Deployment' | 'StatefulSet' | 'Job' | 'CronJob';
const FACES = {
  Deployment: { pulumi: HardenedDeployment, cdk8s: Cdk8sDeployment, token: 'cleanimg:index:HardenedDeployment', resource: 'kubernetes:apps/v1:Deployment', cls: k8s.apps.v1.Deployment },
  StatefulSet: { pulumi: HardenedStatefulSet, cdk8s: Cdk8sStatefulSet, token: 'cleanimg:index:HardenedStatefulSet', resource: 'kubernetes:apps/v1:StatefulSet', cls: k8s.apps.v1.StatefulSet },
  Job: { pulumi: HardenedJob, cdk8s: Cdk8sJob, token: 'cleanimg:index:HardenedJob', resource: 'kubernetes:batch/v1:Job', cls: k8s.batch.v1.Job },
  CronJob: { pulumi: HardenedCronJob, cdk8s: Cdk8sCronJob, token: 'cleanimg:index:HardenedCronJob', resource: 'kubernetes:batch/v1:CronJob', cls: k8s.batch.v1.CronJob },
} as const;

interface Exposure {
  readonly service?: true | ExposeOptions;
  readonly ingress?: IngressOptions;
  readonly httpRoute?: HttpRouteOptions;
}
interface Case {
  readonly kind: Kind;
  /** The Kubernetes name (the Pulumi resource name is `p-<name>`). */
  readonly name: string;
  readonly props: Obj;
  readonly expose?: Exposure;
  /** Kinds of object this case must produce besides the workload and its ServiceAccount (so a case cannot silently lose its point). */
  readonly brings: readonly string[];
}

const web = { name: 'app', image: PINNED, ports: [{ containerPort: 8080, name: 'http' }] } as const;
const worker = { name: 'task', image: PINNED, command: ['/app/run'] } as const;
const tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }];
const affinity = {
  nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] }] }] } },
  podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { tier: 'db' } } } }] },
};

const CASES: readonly Case[] = [
  {
    kind: 'Deployment', name: 'd-one', brings: ['PersistentVolumeClaim'],
    props: {
      replicas: 1, nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations, priorityClassName: 'high-priority',
      containers: [{ ...web, writablePaths: [{ path: '/data', storage: { size: '1Gi' } }] }],
    },
  },
  {
    kind: 'Deployment', name: 'd-three', brings: ['PersistentVolumeClaim', 'PodDisruptionBudget', 'Service'],
    props: {
      namespace: 'shop', replicas: 3, spread: { zones: true, maxSkew: 2 }, disruptionBudget: { minAvailable: '50%' },
      strategy: { type: 'RollingUpdate', maxSurge: 1, maxUnavailable: 0 }, affinity,
      containers: [{ ...web, writablePaths: [{ path: '/shared', storage: { size: '5Gi', storageClassName: 'nfs', accessMode: 'ReadWriteMany' } }, { path: '/cache', claimName: 'cache-claim', subPath: 'web' }] }],
    },
    expose: { service: true },
  },
  {
    kind: 'Deployment', name: 'd-auto', brings: ['HorizontalPodAutoscaler', 'Service', 'Ingress'],
    props: {
      autoscaling: { minReplicas: 3, maxReplicas: 10, cpuUtilization: 60, memoryUtilization: 75 }, disruptionBudget: false,
      labels: { team: 'api' }, annotations: { 'example.com/owner': 'api-team' },
      containers: [{ ...web, ports: [{ containerPort: 8080, name: 'http' }, { containerPort: 9090, name: 'metrics' }] }],
    },
    expose: { ingress: { hosts: ['api.example.com', '*.api.example.com'], tls: { secretName: 'api-tls' }, className: 'nginx', path: '/v1', pathType: 'Exact' } },
  },
  {
    kind: 'Deployment', name: 'd-route', brings: ['PodDisruptionBudget', 'Service', 'HTTPRoute'],
    props: {
      replicas: 2, spread: false, strategy: { type: 'Recreate' }, runAsUser: nonRootId(20000), runAsGroup: nonRootId(20001), terminationGracePeriodSeconds: 45,
      initContainers: [{ name: 'init', image: PINNED, command: ['/app/init'] }], containers: [web],
    },
    expose: { httpRoute: { parentRefs: [{ name: 'gw', namespace: 'infra', sectionName: 'https' }], hostnames: ['www.example.com'], path: '/shop' } },
  },
  {
    kind: 'StatefulSet', name: 's-one', brings: ['Service'],
    props: {
      podManagementPolicy: 'Parallel', updateStrategy: { type: 'RollingUpdate', partition: 1 }, claimRetention: { whenDeleted: 'Delete' },
      containers: [{ ...web, writablePaths: [{ path: '/var/lib/data', storage: { size: '10Gi', storageClassName: 'fast' } }] }],
    },
  },
  {
    kind: 'StatefulSet', name: 's-three', brings: ['Service', 'PodDisruptionBudget'],
    props: {
      namespace: 'data', replicas: 3, spread: { zones: true }, disruptionBudget: { minAvailable: 2 }, updateStrategy: { type: 'OnDelete' },
      claimRetention: { whenScaled: 'Delete' }, tolerations, priorityClassName: 'data-critical',
      containers: [{ ...web, writablePaths: [{ path: '/data', storage: { size: '20Gi', accessMode: 'ReadWriteOncePod' } }] }],
    },
    expose: { service: { name: 's-three-client', ports: [8080] } },
  },
  {
    kind: 'StatefulSet', name: 's-auto', brings: ['Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'HTTPRoute'],
    props: {
      autoscaling: { maxReplicas: 5, memoryUtilization: 80 }, updateStrategy: { type: 'RollingUpdate', maxUnavailable: '25%' }, affinity,
      containers: [{ ...web, writablePaths: [{ path: '/data', storage: { size: '1Gi' } }] }],
    },
    expose: { httpRoute: { parentRefs: [{ name: 'gw' }] } },
  },
  // Empty annotations: cdk8s leaves them out of metadata, so the core does too.
  { kind: 'Job', name: 'j-default', brings: [], props: { annotations: {}, containers: [worker] } },
  {
    kind: 'Job', name: 'j-full', brings: ['PersistentVolumeClaim'],
    props: {
      namespace: 'batch', backoffLimit: 0, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 3600, restartPolicy: 'OnFailure', completions: 5, parallelism: 2,
      tolerations, nodeSelector: { pool: 'batch' }, priorityClassName: 'batch-low', affinity,
      containers: [{ ...worker, writablePaths: [{ path: '/out', storage: { size: '2Gi' } }, { path: '/in', claimName: 'inputs', subPath: 'today' }] }],
    },
  },
  {
    kind: 'CronJob', name: 'c-full', brings: [],
    props: {
      schedule: '30 2 * * 1-5', timeZone: 'Europe/Berlin', concurrencyPolicy: 'Replace', startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 5, failedJobsHistoryLimit: 2, suspend: true, backoffLimit: 1, ttlSecondsAfterFinished: 120,
      nodeSelector: { pool: 'batch' }, tolerations, containers: [worker],
    },
  },
  {
    kind: 'CronJob', name: 'c-macro', brings: ['PersistentVolumeClaim'],
    props: {
      namespace: 'reports', schedule: '@hourly', restartPolicy: 'OnFailure', completions: 2, parallelism: 2, concurrencyPolicy: 'Allow',
      runAsUser: nonRootId(30000), annotations: { 'example.com/report': 'hourly' }, affinity, priorityClassName: 'batch-low',
      containers: [{ ...worker, writablePaths: [{ path: '/reports', storage: { size: '1Gi', accessMode: 'ReadWriteMany', storageClassName: 'shared' } }] }],
    },
  },
];

/** The objects the cdk8s construct synthesizes for a case (exposure through its expose* methods). */
function cdk8sObjects(c: Case, props: Obj = c.props): Obj[] {
  const chart = Testing.chart();
  const w = new FACES[c.kind].cdk8s(chart, c.name, { ...props, name: c.name } as never);
  const e = c.expose ?? {};
  if (e.service) w.exposeViaService(e.service === true ? {} : e.service);
  if (e.ingress) w.exposeViaIngress(e.ingress);
  if (e.httpRoute) w.exposeViaHttpRoute(e.httpRoute);
  return Testing.synth(chart).map(plain);
}

function pulumiComponent(c: Case, resourceName: string, props: Obj = c.props): HardenedWorkload {
  return new FACES[c.kind].pulumi(resourceName, { ...props, name: c.name, ...c.expose } as never);
}

/** `kubernetes:apps/v1:Deployment` from an object's apiVersion and kind. */
function typeOf(o: Obj): string {
  const [group, version] = String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/') : ['core', o.apiVersion];
  return `kubernetes:${group}/${version}:${o.kind}`;
}

/**
 * The documented child name: the resource name where the Kubernetes name is the workload's,
 * `<resource>-<suffix>` for `<name>-<suffix>` (claims, the headless Service), else `<resource>-<kubernetes name>`.
 */
function childNameFor(resourceName: string, name: string, k8sName: string): string {
  if (k8sName === name) return resourceName;
  return k8sName.startsWith(`${name}-`) ? `${resourceName}${k8sName.slice(name.length)}` : `${resourceName}-${k8sName}`;
}

interface Registered {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly inputs: Obj;
}

/** Every child of a component as the engine received it (type and name from its URN). */
async function childrenOf(w: HardenedWorkload): Promise<Registered[]> {
  const out: Registered[] = [];
  for (const child of Object.values(w.children)) {
    const [urn] = await settle(child);
    const [type, name] = [urn!.split('::')[2]!.split('$').pop()!, urn!.split('::')[3]!];
    out.push({ urn: urn!, type, name, inputs: recorder.inputsOf(type, name) });
  }
  return out;
}

/** The object with every container image removed (an unknown value: the mock runtime drops it, preview shows it as unknown). */
function withoutImages(o: Obj): Obj {
  const copy = structuredClone(o);
  const pod = copy.spec?.jobTemplate?.spec?.template?.spec ?? copy.spec?.template?.spec;
  for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) delete c.image;
  return copy;
}

/** An Output whose value is unknown, as the engine gives for another resource's outputs during preview. */
function unknownOutput<T>(): pulumi.Output<T> {
  return new (pulumi.Output as unknown as new (...a: unknown[]) => pulumi.Output<T>)(new Set(), Promise.resolve(undefined), Promise.resolve(false), Promise.resolve(false), Promise.resolve(new Set()));
}

/** The case's props with every container image replaced. */
function withImage(props: Obj, image: unknown): Obj {
  const swap = (cs?: Obj[]) => cs?.map((c) => ({ ...c, image }));
  return { ...props, containers: swap(props.containers), ...(props.initContainers ? { initContainers: swap(props.initContainers) } : {}) };
}

const made: HardenedWorkload[] = [];

describe('every workload kind in Pulumi registers the objects its cdk8s construct synthesizes', () => {
  for (const c of CASES) {
    it(`${c.kind} ${c.name}: same objects field by field, children parented with the documented names, type token ${FACES[c.kind].token}`, async () => {
      const fromCdk8s = cdk8sObjects(c);
      const before = recorder.kube().length;
      const resourceName = `p-${c.name}`;
      const w = pulumiComponent(c, resourceName);
      made.push(w);
      const [componentUrn] = await settle(w);
      expect(componentUrn).toBe(`urn:pulumi:test::cleanimg-test::${FACES[c.kind].token}::${resourceName}`);
      const children = await childrenOf(w);
      // exactly the children, no other Kubernetes resource
      expect(recorder.kube().length - before).toBe(children.length);

      const kinds = fromCdk8s.map((o) => o.kind);
      expect(kinds.filter((k) => k === c.kind)).toHaveLength(1);
      expect(kinds).toContain('ServiceAccount');
      for (const k of c.brings) expect(kinds, `${c.name} brings a ${k}`).toContain(k);

      const fromPulumi = children.map((r) => plain(r.inputs));
      expect(fromPulumi.map(key).sort()).toEqual(fromCdk8s.map(key).sort());
      for (const o of fromCdk8s) expect(fromPulumi.find((p) => key(p) === key(o)), key(o)).toEqual(o);

      for (const r of children) {
        const name = String(r.inputs.metadata.name);
        expect(r.type).toBe(typeOf(r.inputs));
        expect(r.urn).toBe(`urn:pulumi:test::cleanimg-test::${FACES[c.kind].token}$${r.type}::${childNameFor(resourceName, c.name, name)}`);
      }
      // the typed resource classes, and the workload's own accessor
      expect(children.find((r) => r.inputs.kind === c.kind)!.type).toBe(FACES[c.kind].resource);
      expect(w.workload).toBeInstanceOf(FACES[c.kind].cls);
      expect(w.resultValue && plain(w.resultValue.objects).map(key).sort()).toEqual(fromCdk8s.filter((o) => !['Ingress', 'HTTPRoute'].includes(o.kind) && !(o.kind === 'Service' && o.spec.clusterIP !== 'None')).map(key).sort());
    });
  }

  it('names the children of a StatefulSet with every kind of child as documented', async () => {
    const w = new HardenedStatefulSet('store', {
      name: 'kv', namespace: 'data', replicas: 3, service: true,
      ingress: { hosts: ['kv.example.com'] }, httpRoute: { parentRefs: [{ name: 'gw' }], name: 'kv-route' },
      containers: [{ ...web, writablePaths: [{ path: '/data', storage: { size: '1Gi' } }] }],
    });
    const names = (await childrenOf(w)).map((r) => `${r.type.split(':').pop()}::${r.name}::${r.inputs.metadata.name}`).sort();
    expect(names).toEqual([
      'HTTPRoute::store-route::kv-route',
      'Ingress::store::kv',
      'PodDisruptionBudget::store::kv',
      'Service::store-headless::kv-headless',
      'Service::store::kv',
      'ServiceAccount::store::kv',
      'StatefulSet::store::kv',
    ].sort());
    expect(w.workload).toBeInstanceOf(k8s.apps.v1.StatefulSet);
    expect((w as HardenedStatefulSet).statefulSet).toBe(w.workload);
    expect(w.service).toBe(w.children['Service/kv']);
  });

  it('orders each workload after its ServiceAccount, claims and headless Service, and its HPA, PDB and exposure after the workload', async () => {
    const order = recorder.resources.map((r) => `${r.type}::${r.name}`);
    const at = (type: string, name: string) => {
      const i = order.indexOf(`${type}::${name}`);
      expect(i, `${type} ${name}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    for (const w of made) {
      const children = await childrenOf(w);
      const workload = children.find((r) => Object.keys(FACES).includes(r.inputs.kind))!;
      const position = at(workload.type, workload.name);
      for (const r of children) {
        const k = r.inputs.kind;
        const first = k === 'ServiceAccount' || k === 'PersistentVolumeClaim' || (k === 'Service' && r.inputs.spec?.clusterIP === 'None');
        if (first) expect(at(r.type, r.name), `${r.type} ${r.name} before ${workload.name}`).toBeLessThan(position);
        else if (r !== workload) expect(at(r.type, r.name), `${r.type} ${r.name} after ${workload.name}`).toBeGreaterThan(position);
      }
    }
  });
});

describe('Inputs and Outputs', () => {
  const representative = (kind: Kind) => CASES.filter((c) => c.kind === kind).sort((a, b) => b.brings.length - a.brings.length)[0]!;

  for (const kind of Object.keys(FACES) as Kind[]) {
    it(`${kind}: an image not known yet leaves only the image unknown; every object is registered`, async () => {
      const c = representative(kind);
      const w = pulumiComponent(c, `late-${c.name}`, withImage(c.props, unknownOutput<string>()));
      expect(w.resultValue).toBeUndefined();
      const registered = (await childrenOf(w)).map((r) => plain(r.inputs));
      const expected = cdk8sObjects(c).map(withoutImages);
      expect(registered.map(key).sort()).toEqual(expected.map(key).sort());
      for (const o of expected) expect(registered.find((p) => key(p) === key(o)), key(o)).toEqual(o);
      const workload = registered.find((o) => o.kind === kind)!;
      expect(JSON.stringify(workload)).not.toContain('pending.cleanimg.invalid');
    });

    it(`${kind}: an image as a known Output, and namespace, labels and env as Outputs, give the same objects once known`, async () => {
      const c = representative(kind);
      const namespace = `${c.name}-ns`;
      const labels = { team: 'payments', tier: 'backend' };
      const props = { ...c.props, namespace, labels, containers: c.props.containers.map((x: Obj) => ({ ...x, env: { MODE: 'live', REGION: 'eu-west-1' } })) };
      const late = {
        ...props,
        namespace: pulumi.output(namespace),
        labels: pulumi.output(labels),
        containers: props.containers.map((x: Obj) => ({ ...x, image: pulumi.output(x.image), env: { MODE: pulumi.output('live'), REGION: 'eu-west-1' } })),
      };
      const w = pulumiComponent(c, `outputs-${c.name}`, late);
      expect(w.resultValue).toBeUndefined();
      const registered = (await childrenOf(w)).map((r) => plain(r.inputs));
      const expected = cdk8sObjects(c, props);
      expect(registered.map(key).sort()).toEqual(expected.map(key).sort());
      for (const o of expected) expect(registered.find((p) => key(p) === key(o)), key(o)).toEqual(o);
      expect(registered.every((o) => o.metadata.namespace === namespace && o.metadata.labels.team === 'payments')).toBe(true);
      // the component's result Output holds the same objects
      const result = await valueOf(w.result);
      for (const o of result.objects) expect(plain(o)).toEqual(expected.find((x) => key(x) === key(o as Obj)));
    });

    it(`${kind}: which objects exist is decided by the plain args, before any value is known`, async () => {
      const c = representative(kind);
      const known = pulumiComponent(c, `shape-known-${c.name}`);
      const unknown = pulumiComponent(c, `shape-unknown-${c.name}`, {
        ...withImage(c.props, unknownOutput<string>()), namespace: unknownOutput<string>(), labels: unknownOutput<Record<string, string>>(),
      });
      expect(Object.keys(unknown.children).sort()).toEqual(Object.keys(known.children).sort());
      const types = async (w: HardenedWorkload) => (await childrenOf(w)).map((r) => `${r.type}::${r.name.replace(/^shape-(un)?known-/, '')}`).sort();
      expect(await types(unknown)).toEqual(await types(known));
      for (const k of c.brings) expect(Object.keys(unknown.children).some((x) => x.startsWith(`${k}/`)), k).toBe(true);
      // the inputs are unknown (left out by the mock runtime), not stand-ins
      for (const r of await childrenOf(unknown)) expect(JSON.stringify(r.inputs)).not.toContain('pending.cleanimg.invalid');
    });
  }

  it('a bad value given as an Output fails the program with the rule id, for every kind', () => {
    const expectations: [string, string][] = [
      ['statefulset-system-namespace', 'HD029 namespace: "kube-system" is a system namespace'],
      ['cronjob-image-tag', 'HD003 containers[0].image: image "nginx:1.25" is not pinned by digest'],
      ['job-label-output', 'PROP002 labels.team: must be a label value'],
      ['deployment-secret-env', 'HD018 Deployment/api /spec/template/spec/containers/0/env/0/value: env API_TOKEN has a literal value that looks secret'],
    ];
    for (const [which, message] of expectations) {
      const r = runFixture(which, 'workload-output-error.ts');
      expect(r.status, which).not.toBe(0);
      expect(r.stderr, which).toContain(message);
    }
    const good = runFixture('good', 'workload-output-error.ts');
    expect(good.stderr).toBe('');
    expect(good.status).toBe(0);
  }, 600_000);
});

describe('refusals register nothing', () => {
  const container = { ...web };
  const REFUSALS: { kind: Kind; props: Obj; codes: string[] }[] = [
    { kind: 'CronJob', props: { schedule: '61 * * * *', containers: [worker] }, codes: ['PROP002'] },
    { kind: 'CronJob', props: { schedule: 'CRON_TZ=UTC 0 * * * *', containers: [worker] }, codes: ['PROP002'] },
    { kind: 'CronJob', props: { schedule: '@daily', timeZone: 'Mars/Olympus_Mons', containers: [worker] }, codes: ['PROP002'] },
    { kind: 'CronJob', props: { schedule: '@daily', concurrencyPolicy: 'Sometimes', containers: [worker] }, codes: ['PROP002'] },
    { kind: 'Deployment', props: { autoscaling: { minReplicas: 5, maxReplicas: 3 }, containers: [container] }, codes: ['PROP008'] },
    { kind: 'StatefulSet', props: { autoscaling: { minReplicas: 5, maxReplicas: 3 }, containers: [container] }, codes: ['PROP008'] },
    { kind: 'Deployment', props: { replicas: 2, autoscaling: { maxReplicas: 4 }, containers: [container] }, codes: ['PROP008'] },
    { kind: 'StatefulSet', props: { replicas: 2, autoscaling: { maxReplicas: 4 }, containers: [container] }, codes: ['PROP008'] },
    { kind: 'Deployment', props: { replicas: 3, containers: [{ ...container, writablePaths: [{ path: '/data', storage: { size: '1Gi' } }] }] }, codes: ['PROP008'] },
    { kind: 'Deployment', props: { autoscaling: { maxReplicas: 3 }, containers: [{ ...container, writablePaths: [{ path: '/data', storage: { size: '1Gi', accessMode: 'ReadWriteOncePod' } }] }] }, codes: ['PROP008'] },
    { kind: 'Job', props: { replicas: 2, containers: [worker] }, codes: ['PROP001'] },
    { kind: 'Job', props: { schedule: '@daily', containers: [worker] }, codes: ['PROP001'] },
    { kind: 'CronJob', props: { schedule: '@daily', autoscaling: { maxReplicas: 2 }, containers: [worker] }, codes: ['PROP001'] },
    { kind: 'Deployment', props: { podManagementPolicy: 'Parallel', containers: [container] }, codes: ['PROP001'] },
    { kind: 'StatefulSet', props: { strategy: { type: 'Recreate' }, containers: [container] }, codes: ['PROP001'] },
    { kind: 'Job', props: { restartPolicy: 'Always', containers: [worker] }, codes: ['PROP002'] },
    { kind: 'StatefulSet', props: { containers: [{ ...container, config: [{ volumes: [{ name: 'x', hostPath: { path: '/' } }], volumeMounts: [], env: [], seal: 'forged' }] }] }, codes: ['PROP007'] },
    { kind: 'Job', props: { containers: [{ ...worker, config: [{ volumes: [], volumeMounts: [{ name: 'tok', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }], env: [], seal: 'x' }] }] }, codes: ['PROP007'] },
    { kind: 'StatefulSet', props: { namespace: 'kube-system', containers: [container] }, codes: ['HD029'] },
    { kind: 'Job', props: { namespace: 'kube-public', containers: [worker] }, codes: ['HD029'] },
    { kind: 'CronJob', props: { schedule: '@daily', namespace: 'kube-node-lease', containers: [worker] }, codes: ['HD029'] },
    { kind: 'Deployment', props: { namespace: 'kube-system', containers: [container] }, codes: ['HD029'] },
    { kind: 'CronJob', props: { schedule: '99 * * * *', timeZone: 'Nowhere/Land', replicas: 2, containers: [{ ...worker, privileged: true }] }, codes: ['HD006', 'PROP001', 'PROP002', 'PROP002'] },
  ];

  REFUSALS.forEach(({ kind, props, codes }, i) => {
    it(`${kind} ${JSON.stringify(props).slice(0, 110)}: ${codes.join(', ')}, the cdk8s face's error, nothing registered`, async () => {
      const fromCdk8s = thrown(() => new FACES[kind].cdk8s(Testing.chart(), 'c', { ...props, name: `bad-${i}` } as never));
      await tick();
      const before = recorder.resources.length;
      const fromPulumi = thrown(() => new FACES[kind].pulumi(`bad-${i}`, { ...props, name: `bad-${i}` } as never));
      expect(fromPulumi).toBeInstanceOf(CleanimgError);
      expect(fromPulumi.problems.map((p) => p.code).sort()).toEqual([...codes].sort());
      expect(fromPulumi.message).toBe(fromCdk8s.message);
      expect(fromPulumi.problems).toEqual(fromCdk8s.problems);
      await tick();
      expect(recorder.resources.length).toBe(before);
    });
  });

  it('bad plain args fail at construction even when other args are Outputs: nothing registered, no Output left to fail again', async () => {
    const unhandled: unknown[] = [];
    const record = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', record);
    const cases: [Kind, Obj, string][] = [
      ['Deployment', { replicas: 3, namespace: pulumi.output('shop'), containers: [{ ...container, image: pulumi.output(PINNED), writablePaths: [{ path: '/d', storage: { size: '1Gi' } }] }] }, 'PROP008'],
      ['StatefulSet', { replicas: 2, autoscaling: { maxReplicas: 3 }, labels: pulumi.output({ a: 'b' }), containers: [container] }, 'PROP008'],
      ['CronJob', { schedule: '* * *', namespace: pulumi.output('x'), containers: [{ ...worker, image: pulumi.output(PINNED) }] }, 'PROP002'],
      ['Job', { backoffLimit: -1, namespace: pulumi.output('x'), containers: [worker] }, 'PROP002'],
    ];
    await tick();
    const before = recorder.resources.length;
    for (const [kind, props, code] of cases) {
      const e = thrown(() => new FACES[kind].pulumi(`bad-mixed-${kind.toLowerCase()}`, props as never));
      expect(e.problems.map((p) => p.code), kind).toContain(code);
    }
    await tick();
    await tick();
    process.off('unhandledRejection', record);
    expect(recorder.resources.length).toBe(before);
    // An Output made before the constructor threw would reject later with the same error, unhandled.
    expect(unhandled.map((e) => (e as Error).message)).toEqual([]);
  });

  it('an exposure without a port is refused before anything is registered, for a StatefulSet and a Job alike', async () => {
    await tick();
    const before = recorder.resources.length;
    expect(thrown(() => new HardenedStatefulSet('no-port', { containers: [{ ...worker, probes: { readiness: { exec: { command: ['/ok'] } }, liveness: { exec: { command: ['/ok'] } } } }], service: true })).problems.map((p) => p.code)).toEqual(['PROP006']);
    expect(thrown(() => new HardenedJob('no-port-job', { containers: [worker], ingress: { hosts: ['x.example.com'] } })).problems.map((p) => p.code)).toEqual(['PROP006']);
    await tick();
    expect(recorder.resources.length).toBe(before);
  });
});

describe('the policy pack over every kind', () => {
  it('passes every object the components register, and refuses a raw privileged CronJob written beside them', async () => {
    expect(made.length).toBe(CASES.length);
    let checked = 0;
    const seenKinds = new Set<string>();
    for (const w of made) {
      for (const r of await childrenOf(w)) {
        expect(violationsOfResource({ type: r.type, name: r.name, urn: r.urn, props: r.inputs }), `${r.type} ${r.name}`).toEqual([]);
        seenKinds.add(r.inputs.kind);
        checked++;
      }
    }
    expect([...seenKinds].sort()).toEqual(['CronJob', 'Deployment', 'HTTPRoute', 'HorizontalPodAutoscaler', 'Ingress', 'Job', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'Service', 'ServiceAccount', 'StatefulSet']);
    expect(checked).toBeGreaterThan(40);

    // A copy of our own CronJob with one container made privileged, written as a raw resource.
    const ours = (await childrenOf(made.find((w) => w instanceof HardenedCronJob)!)).find((r) => r.inputs.kind === 'CronJob')!.inputs;
    const spec = structuredClone(ours.spec);
    spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged = true;
    const raw = new k8s.batch.v1.CronJob('raw-cron', { metadata: { name: 'raw-cron', namespace: 'reports' }, spec });
    const [urn] = await settle(raw);
    const violations = violationsOfResource({ type: 'kubernetes:batch/v1:CronJob', name: 'raw-cron', urn: urn!, props: recorder.inputsOf('kubernetes:batch/v1:CronJob', 'raw-cron') });
    expect(violations.map((v) => `${v.code} ${v.path}`)).toEqual(['HD006 /spec/jobTemplate/spec/template/spec/containers/0/securityContext/privileged']);
    // and a plain insecure one: many rules at once
    const legacy = new k8s.batch.v1.CronJob('legacy-cron', {
      metadata: { name: 'legacy-cron' },
      spec: { schedule: '@daily', jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'x', image: 'busybox:latest', securityContext: { privileged: true } }] } } } } },
    });
    const [legacyUrn] = await settle(legacy);
    const codes = new Set(violationsOfResource({ type: 'kubernetes:batch/v1:CronJob', name: 'legacy-cron', urn: legacyUrn!, props: recorder.inputsOf('kubernetes:batch/v1:CronJob', 'legacy-cron') }).map((v) => v.code));
    for (const code of ['HD001', 'HD003', 'HD004', 'HD006']) expect(codes).toContain(code);
  });
});

describe('EnvConfig on every kind', () => {
  it('mounts the same EnvConfig into a CronJob in cdk8s and Pulumi', async () => {
    const cfg = new EnvConfig('cron-cfg', { name: 'cron-cfg', namespace: 'reports', data: { 'report.conf': 'x=1\n' }, mountPath: '/etc/report' });
    const w = new HardenedCronJob('cron-with-cfg', { namespace: 'reports', schedule: '@daily', containers: [{ ...worker, config: [cfg] }] });
    const cron = (await childrenOf(w)).find((r) => r.inputs.kind === 'CronJob')!.inputs;
    const chart = Testing.chart();
    const ccfg = new Cdk8sEnvConfig(chart, 'cfg', { name: 'cron-cfg', namespace: 'reports', data: { 'report.conf': 'x=1\n' }, mountPath: '/etc/report' });
    new Cdk8sCronJob(chart, 'cron', { name: 'cron-with-cfg', namespace: 'reports', schedule: '@daily', containers: [{ ...worker, config: [ccfg] }] });
    expect(plain(cron)).toEqual(Testing.synth(chart).find((o) => o.kind === 'CronJob'));
    expect(plain(cron).spec.jobTemplate.spec.template.spec.volumes.some((v: Obj) => v.configMap)).toBe(true);
  });
});
