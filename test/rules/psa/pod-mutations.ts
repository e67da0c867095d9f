// Random pods for the differential test against the upstream Pod Security evaluator: hardened
// objects from src/core, each with one to four mutations of a field some upstream check reads
// (pod level, and any container, init container or ephemeral container), with odd-but-type-valid
// values and null-ish ones (absent, null, empty), wrapped in a workload kind or a bare Pod.
// Every value decodes into the Go types (k8s.io/api/core/v1), or psa-check would refuse the input.
import fc from 'fast-check';
import { hardenedCronJob, hardenedDeployment, hardenedJob, hardenedStatefulSet } from '../../../src/core';
import type { HardenedContainerProps } from '../../../src/core';

type Json = Record<string, any>;

const IMAGE = `registry.example.com/app@sha256:${'ab'.repeat(32)}` as const;

/** A pod spec and the metadata beside it, inside a mutable clone of a hardened object. */
export interface PodSite {
  readonly spec: Json;
  readonly metadata: Json;
}

const app = (over: Partial<HardenedContainerProps> = {}): HardenedContainerProps => ({ name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }], ...over });
const sidecar: HardenedContainerProps = { name: 'side', image: IMAGE, ports: [{ containerPort: 9090, name: 'metrics' }] };
const init: HardenedContainerProps = { name: 'migrate', image: IMAGE };
const privilegedPort = app({ ports: [{ containerPort: 80, name: 'http' }], netBindService: true });

/** The hardened objects the mutations start from: every workload kind the core builds, a few shapes each. */
export const HARDENED: readonly Json[] = [
  hardenedDeployment({ name: 'web', containers: [app()] }).deployment,
  hardenedDeployment({ name: 'web2', containers: [app(), sidecar], initContainers: [init] }).deployment,
  hardenedDeployment({ name: 'web80', containers: [privilegedPort] }).deployment,
  hardenedStatefulSet({ name: 'db', containers: [app()], initContainers: [init] }).workload,
  hardenedJob({ name: 'batch', containers: [app({ ports: [] })] }).workload,
  hardenedCronJob({ name: 'nightly', schedule: '@daily', containers: [app({ ports: [] }), sidecar], initContainers: [init] }).workload,
].map((o) => JSON.parse(JSON.stringify(o)) as Json);

/** The pod spec and its metadata inside one of the objects above (or a bare Pod). */
export function podSiteOf(o: Json): PodSite {
  const template = o.kind === 'Pod' ? o : o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template : o.kind === 'PodTemplate' ? o.template : o.spec.template;
  template.metadata ??= {};
  return { spec: template.spec, metadata: template.metadata };
}

// ---- values -------------------------------------------------------------------------------

/** `undefined` deletes the field. */
type Value = unknown;
const ABSENT = undefined;
const nullish = [ABSENT, null] as const;

function set(o: Json, key: string, value: Value): void {
  if (value === ABSENT) delete o[key];
  else o[key] = value;
}

const bools = fc.constantFrom<Value>(true, false, ...nullish);
const ids = fc.constantFrom<Value>(0, 1, 999, 9999, 10000, 65532, 2147483647, ...nullish);
const capNames = fc.constantFrom('NET_BIND_SERVICE', 'CAP_NET_BIND_SERVICE', 'net_bind_service', 'NET_BIND_SERVICE ', 'SYS_ADMIN', 'NET_RAW', 'CHOWN', 'ALL', '', 'CAP_SYS_ADMIN');
const dropNames = fc.constantFrom('ALL', 'all', 'CAP_ALL', 'NET_RAW', '', ' ALL');
const capabilities = fc.oneof(
  fc.constantFrom<Value>(...nullish, {}),
  fc.record({ drop: fc.option(fc.array(dropNames, { maxLength: 3 }), { nil: undefined }), add: fc.option(fc.oneof(fc.array(capNames, { maxLength: 3 }), fc.constant(null)), { nil: undefined }) }, { requiredKeys: [] }),
);
const profileTypes = ['RuntimeDefault', 'Localhost', 'Unconfined', '', 'runtimedefault', 'RuntimeDefault ', 'Other'];
const profile = (extra: Json) => fc.oneof(
  fc.constantFrom<Value>(...nullish, {}),
  fc.record({ type: fc.constantFrom<Value>(...profileTypes, null) }).map((p) => (p.type === 'Localhost' ? { ...p, ...extra } : p)),
);
const seccomp = profile({ localhostProfile: 'profiles/app.json' });
const appArmor = profile({ localhostProfile: 'k8s-app' });
const seLinuxTypes = ['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t', 'spc_t', 'unconfined_t', 'CONTAINER_T', 'container_t '];
const seLinux = fc.oneof(
  fc.constantFrom<Value>(...nullish, {}),
  fc.record({
    type: fc.constantFrom<Value>(...seLinuxTypes, null),
    user: fc.constantFrom<Value>('', 'system_u', 'root', null),
    role: fc.constantFrom<Value>('', 'system_r', 'object_r', null),
    level: fc.constantFrom<Value>('', 's0:c123,c456', null),
  }, { requiredKeys: [] }),
);
const procMount = fc.constantFrom<Value>('Default', 'Unmasked', '', 'default', 'Unmasked ', ...nullish);
const windowsOptions = fc.oneof(
  fc.constantFrom<Value>(...nullish, {}),
  fc.record({ hostProcess: bools, runAsUserName: fc.constantFrom<Value>('ContainerUser', 'NT AUTHORITY\\SYSTEM', ABSENT) }, { requiredKeys: [] }),
);
const sysctls = fc.oneof(
  fc.constantFrom<Value>(...nullish, []),
  fc.array(fc.record({ name: fc.constantFrom<Value>('kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.core.somaxconn', 'kernel.msgmax', '', null), value: fc.constantFrom<Value>('0', '1024 65535', '', null) }, { requiredKeys: [] }), { minLength: 1, maxLength: 2 }),
);
const host = fc.constantFrom<Value>('', 'evil.example.com', '127.0.0.1', '169.254.169.254', 'localhost', ' ', null, ABSENT);
const handler = (withExec: boolean) => fc.oneof(
  fc.record({ httpGet: fc.record({ port: fc.constantFrom<Value>(8080, 'http'), path: fc.constant('/healthz'), host }, { requiredKeys: ['port'] }) }),
  fc.record({ tcpSocket: fc.record({ port: fc.constantFrom<Value>(8080, 'http'), host }, { requiredKeys: ['port'] }) }),
  fc.record({ httpGet: fc.record({ port: fc.constant(8080), host }), tcpSocket: fc.record({ port: fc.constant(8080), host }) }),
  withExec ? fc.constant({ exec: { command: ['/app/healthcheck'] } }) : fc.constant({ grpc: { port: 8080 } }),
  fc.constantFrom<Value>(null, {}),
);

/** Every inline volume source of the API, each with a value that decodes into its Go type. */
const VOLUME_SOURCES: Record<string, Json> = {
  hostPath: { path: '/var/run' }, emptyDir: { sizeLimit: '64Mi' }, gcePersistentDisk: { pdName: 'd' }, awsElasticBlockStore: { volumeID: 'v' },
  gitRepo: { repository: 'https://example.com/r.git' }, secret: { secretName: 's' }, nfs: { server: 'nfs', path: '/' }, iscsi: { targetPortal: 'p', iqn: 'i', lun: 0 },
  glusterfs: { endpoints: 'e', path: 'p' }, persistentVolumeClaim: { claimName: 'c' }, rbd: { monitors: ['m'], image: 'i' }, flexVolume: { driver: 'd' },
  cinder: { volumeID: 'v' }, cephfs: { monitors: ['m'] }, flocker: { datasetName: 'd' }, downwardAPI: { items: [] }, fc: { lun: 0 }, azureFile: { secretName: 's', shareName: 'x' },
  configMap: { name: 'c' }, vsphereVolume: { volumePath: 'p' }, quobyte: { registry: 'r', volume: 'v' }, azureDisk: { diskName: 'd', diskURI: 'u' },
  photonPersistentDisk: { pdID: 'p' }, projected: { sources: [] }, portworxVolume: { volumeID: 'v' }, scaleIO: { gateway: 'g', system: 's', secretRef: { name: 's' } },
  storageos: { volumeName: 'v' }, csi: { driver: 'csi.example.com' }, ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'] } } }, image: { reference: IMAGE },
};
const sourceName = fc.constantFrom(...Object.keys(VOLUME_SOURCES));
/** A volume with no source, one, two, or a source set to null or `{}`. */
const volume = fc.tuple(fc.array(sourceName, { maxLength: 2 }), fc.constantFrom('value', 'empty', 'null')).map(([names, how]) => {
  const v: Json = { name: 'extra' };
  for (const n of names) v[n] = how === 'value' ? structuredClone(VOLUME_SOURCES[n]) : how === 'empty' ? {} : null;
  return v;
});

const apparmorKey = fc.constantFrom('app', 'side', 'migrate', 'debug', 'nobody', '');
const apparmorValue = fc.constantFrom('runtime/default', 'localhost/k8s-app', 'unconfined', '', 'Runtime/Default', 'runtime/default ', 'docker-default');

// ---- where --------------------------------------------------------------------------------

const LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;
type ContainerList = (typeof LISTS)[number];

/** The container a mutation touches: an existing one, or a new debug (ephemeral) container. */
function containerAt(p: PodSite, list: ContainerList, index: number): Json {
  const entries: unknown[] = (p.spec[list] ??= []);
  if (entries.length === 0) {
    const first = (Array.isArray(p.spec.containers) ? p.spec.containers : []).find((c: unknown) => c && typeof c === 'object');
    const model = structuredClone(first ?? { image: IMAGE }) as Json;
    // An ephemeral container has no ports, probes or resources; an init container no probes.
    for (const k of ['readinessProbe', 'livenessProbe', 'startupProbe', ...(list === 'ephemeralContainers' ? ['ports', 'resources'] : [])]) delete model[k];
    entries.push({ ...model, name: list === 'ephemeralContainers' ? 'debug' : 'early' });
  }
  const at = index % entries.length;
  if (entries[at] === null) entries[at] = {};
  return entries[at] as Json;
}

/** A container's securityContext, made an object first if it was not one. */
function securityContextOf(c: Json): Json {
  if (!c.securityContext || typeof c.securityContext !== 'object') c.securityContext = {};
  return c.securityContext;
}

function podSecurityContextOf(p: PodSite): Json {
  if (!p.spec.securityContext || typeof p.spec.securityContext !== 'object') p.spec.securityContext = {};
  return p.spec.securityContext;
}

export type Mutation = { readonly what: string; readonly apply: (p: PodSite) => void };

const container = fc.tuple(fc.constantFrom(...LISTS), fc.nat(3));
const onContainer = (field: string, values: fc.Arbitrary<Value>): fc.Arbitrary<Mutation> =>
  fc.tuple(container, values).map(([[list, i], v]) => ({ what: `${list}[${i}].securityContext.${field} = ${JSON.stringify(v)}`, apply: (p) => set(securityContextOf(containerAt(p, list, i)), field, v) }));
const onPod = (field: string, values: fc.Arbitrary<Value>): fc.Arbitrary<Mutation> =>
  values.map((v) => ({ what: `pod securityContext.${field} = ${JSON.stringify(v)}`, apply: (p) => set(podSecurityContextOf(p), field, v) }));
const onBoth = (field: string, values: fc.Arbitrary<Value>) => [onContainer(field, values), onPod(field, values)];

/** One mutation of a field some upstream check reads. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  ...onBoth('runAsNonRoot', bools), ...onBoth('runAsUser', ids), ...onBoth('runAsGroup', ids), onPod('fsGroup', ids),
  onContainer('allowPrivilegeEscalation', bools), onContainer('privileged', bools), onContainer('capabilities', capabilities),
  ...onBoth('seccompProfile', seccomp), ...onBoth('appArmorProfile', appArmor), ...onBoth('seLinuxOptions', seLinux),
  onContainer('procMount', procMount), ...onBoth('windowsOptions', windowsOptions), onPod('sysctls', sysctls),
  fc.tuple(container, fc.constantFrom<Value>(null, {})).map(([[list, i], v]) => ({
    what: `${list}[${i}].securityContext = ${JSON.stringify(v)}`,
    apply: (p: PodSite) => set(containerAt(p, list, i), 'securityContext', v),
  })),
  fc.constantFrom<Value>(null, {}).map((v) => ({ what: `pod securityContext = ${JSON.stringify(v)}`, apply: (p: PodSite) => set(p.spec, 'securityContext', v) })),
  fc.tuple(fc.constantFrom(...LISTS), fc.nat(2)).map(([list, i]) => ({
    what: `${list}[${i}] = null`,
    apply: (p: PodSite) => { const l = (p.spec[list] ??= []) as unknown[]; l[Math.min(i, l.length)] = null; },
  })),
  fc.tuple(fc.constantFrom('hostNetwork', 'hostPID', 'hostIPC', 'hostUsers'), bools).map(([f, v]) => ({ what: `pod ${f} = ${JSON.stringify(v)}`, apply: (p: PodSite) => set(p.spec, f, v) })),
  fc.constantFrom<Value>({ name: 'windows' }, { name: 'linux' }, { name: '' }, null).map((v) => ({ what: `pod os = ${JSON.stringify(v)}`, apply: (p: PodSite) => set(p.spec, 'os', v) })),
  fc.tuple(container, fc.constantFrom<Value>(0, 80, 8080, 1, null)).map(([[list, i], v]) => ({
    what: `${list}[${i}].ports[].hostPort = ${JSON.stringify(v)}`,
    apply: (p: PodSite) => { const c = containerAt(p, list, i); c.ports = [...(Array.isArray(c.ports) ? c.ports : []), { containerPort: 8081, hostPort: v }]; },
  })),
  fc.tuple(container, fc.constantFrom('livenessProbe', 'readinessProbe', 'startupProbe', 'postStart', 'preStop'), handler(true)).map(([[list, i], where, h]) => ({
    what: `${list}[${i}].${where} = ${JSON.stringify(h)}`,
    apply: (p: PodSite) => {
      const c = containerAt(p, list, i);
      if (where === 'postStart' || where === 'preStop') {
        if (!c.lifecycle || typeof c.lifecycle !== 'object') c.lifecycle = {};
        c.lifecycle[where] = h;
      } else c[where] = h;
    },
  })),
  volume.map((v) => ({ what: `volume ${JSON.stringify(v)}`, apply: (p: PodSite) => { p.spec.volumes = [...(Array.isArray(p.spec.volumes) ? p.spec.volumes : []), v]; } })),
  fc.tuple(apparmorKey, apparmorValue).map(([k, v]) => ({
    what: `annotation container.apparmor.security.beta.kubernetes.io/${k} = ${JSON.stringify(v)}`,
    apply: (p: PodSite) => { p.metadata.annotations = { ...(p.metadata.annotations ?? {}), [`container.apparmor.security.beta.kubernetes.io/${k}`]: v }; },
  })),
  fc.constantFrom('seccomp.security.alpha.kubernetes.io/pod', 'container.seccomp.security.alpha.kubernetes.io/app').map((k) => ({
    what: `annotation ${k} = unconfined`,
    apply: (p: PodSite) => { p.metadata.annotations = { ...(p.metadata.annotations ?? {}), [k]: 'unconfined' }; },
  })),
);

// ---- wrapping -------------------------------------------------------------------------------

const KINDS = ['as built', 'Pod', 'Pod', 'ReplicaSet', 'DaemonSet', 'ReplicationController', 'PodTemplate'] as const;

/** The object's pod template in another kind: a bare Pod, a ReplicaSet, a DaemonSet... */
function rewrap(o: Json, kind: (typeof KINDS)[number]): Json {
  if (kind === 'as built') return o;
  const template = o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template : o.spec.template;
  const meta = { name: o.metadata.name, namespace: 'psa' };
  switch (kind) {
    case 'Pod': return { apiVersion: 'v1', kind, metadata: { ...meta, ...template.metadata }, spec: template.spec };
    case 'PodTemplate': return { apiVersion: 'v1', kind, metadata: meta, template };
    case 'ReplicationController': return { apiVersion: 'v1', kind, metadata: meta, spec: { selector: template.metadata?.labels, template } };
    default: return { apiVersion: 'apps/v1', kind, metadata: meta, spec: { selector: { matchLabels: template.metadata?.labels }, template } };
  }
}

/** One random case: the object to judge and the mutations that made it. */
export interface PodCase {
  readonly object: Json;
  readonly mutations: readonly string[];
}

export const podCase: fc.Arbitrary<PodCase> = fc
  .tuple(fc.nat(HARDENED.length - 1), fc.nat(KINDS.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([base, k, mutations]) => {
    // A Job's pods have no probes: long-running kinds would be refused for that (HD019), which says nothing here.
    const kinds = ['Job', 'CronJob'].includes(HARDENED[base]!.kind) ? KINDS.filter((x) => !['ReplicaSet', 'DaemonSet', 'ReplicationController'].includes(x)) : KINDS;
    const object = rewrap(structuredClone(HARDENED[base]!), kinds[k % kinds.length]!);
    const site = podSiteOf(object);
    for (const m of mutations) m.apply(site);
    return { object, mutations: mutations.map((m) => m.what) };
  });
