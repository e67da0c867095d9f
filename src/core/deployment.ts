/**
 * The hardened Deployment: props in, plain Kubernetes objects out. No framework imports: the cdk8s
 * and Pulumi faces only translate these objects, so both faces give the same result.
 */
import { CleanimgError, type Problem } from '../errors';
import { assertNoViolations, checkObjects, type KubeObject } from '../rules';
import { DEFAULT_ID } from './ids';
import { imageRefOf } from './image-ref';
import type { ContainerPortProps, HardenedContainerProps, HardenedDeploymentProps, ProbeProps, ResourcesProps, WritablePath } from './props';
import { hardenedDeploymentSchema, parseProps } from './props-schema';
import { parseQuantity } from './quantity';

type Json = Record<string, unknown>;

export interface HardenedDeploymentResult {
  readonly deployment: KubeObject;
  readonly serviceAccount: KubeObject;
  /** Labels that select this deployment's pods. */
  readonly selector: Readonly<Record<string, string>>;
  /** Every declared container port, for Services and NetworkPolicies. */
  readonly ports: readonly (ContainerPortProps & { container: string })[];
  /** All objects, in apply order. */
  readonly objects: readonly KubeObject[];
}

export const DEFAULT_TMP_SIZE = '64Mi';
export const DEFAULT_RESOURCES: Required<ResourcesProps> = {
  cpu: { request: '100m' },
  memory: { request: '128Mi', limit: '256Mi' },
  ephemeralStorage: { request: '64Mi', limit: '1Gi' },
};

/** A volume name from a container name and a path: `app-var-run-postgresql`. */
function volumeNameFor(container: string, path: string): string {
  const slug = path.replace(/^\/+|\/+$/g, '').replace(/[^a-z0-9]+/gi, '-').toLowerCase() || 'root';
  return `${container}-${slug}`.slice(0, 63).replace(/-+$/, '');
}

function probeObject(p: ProbeProps): Json {
  const handler: Json = p.http ? { httpGet: { path: p.http.path, port: p.http.port, ...(p.http.scheme ? { scheme: p.http.scheme } : {}) } }
    : p.tcp ? { tcpSocket: { port: p.tcp.port } }
      : p.grpc ? { grpc: { port: p.grpc.port, ...(p.grpc.service ? { service: p.grpc.service } : {}) } }
        : { exec: { command: [...(p.exec?.command ?? [])] } };
  // Kubernetes' own defaults (0, 10, 1, 3) are left out, so manifests show only what was chosen.
  return {
    ...handler,
    ...(p.initialDelaySeconds !== undefined ? { initialDelaySeconds: p.initialDelaySeconds } : {}),
    ...(p.periodSeconds !== undefined ? { periodSeconds: p.periodSeconds } : {}),
    ...(p.timeoutSeconds !== undefined ? { timeoutSeconds: p.timeoutSeconds } : {}),
    ...(p.failureThreshold !== undefined ? { failureThreshold: p.failureThreshold } : {}),
  };
}

interface Built {
  container: Json;
  volumes: Json[];
  problems: Problem[];
}

function buildContainer(c: HardenedContainerProps, where: string, uid: number, gid: number, init: boolean): Built {
  const problems: Problem[] = [];
  const writable: WritablePath[] = [...(c.writablePaths ?? [])];
  if (!writable.some((w) => w.path === '/tmp')) writable.push({ path: '/tmp', sizeLimit: DEFAULT_TMP_SIZE });

  const volumes: Json[] = [];
  const volumeMounts: Json[] = [];
  for (const w of writable) {
    const name = volumeNameFor(c.name, w.path);
    if ('claimName' in w) {
      volumes.push({ name, persistentVolumeClaim: { claimName: w.claimName } });
      volumeMounts.push({ name, mountPath: w.path, ...(w.subPath ? { subPath: w.subPath } : {}) });
    } else {
      volumes.push({ name, emptyDir: { sizeLimit: w.sizeLimit, ...(w.medium ? { medium: w.medium } : {}) } });
      volumeMounts.push({ name, mountPath: w.path });
    }
  }
  const env: Json[] = Object.entries(c.env ?? {}).map(([name, value]) => ({ name, value }));
  for (const a of c.config ?? []) {
    volumes.push(...(a.volumes as Json[]));
    volumeMounts.push(...(a.volumeMounts as Json[]));
    env.push(...(a.env as Json[]));
  }

  const seen = new Map<string, number>();
  volumeMounts.forEach((m, i) => {
    const path = String(m.mountPath);
    if (seen.has(path)) problems.push({ code: 'PROP004', path: `${where}.mounts`, message: `two mounts at ${path}`, fix: 'mount each path once' });
    seen.set(path, i);
  });

  const ports = c.ports ?? [];
  const res = { ...DEFAULT_RESOURCES, ...c.resources };
  const diskScratch = writable.filter((w): w is Extract<WritablePath, { sizeLimit: string }> => 'sizeLimit' in w && w.medium !== 'Memory')
    .reduce((sum, w) => sum + parseQuantity(w.sizeLimit), 0);
  if (diskScratch > parseQuantity(res.ephemeralStorage.limit)) {
    problems.push({
      code: 'PROP005', path: `${where}.resources.ephemeralStorage.limit`,
      message: `the emptyDirs of this container may hold ${diskScratch} bytes, more than its ephemeral-storage limit ${res.ephemeralStorage.limit}`,
      fix: 'raise resources.ephemeralStorage.limit or lower the sizeLimits of writablePaths',
    });
  }

  let probes: HardenedContainerProps['probes'] = c.probes;
  if (!init && !probes?.readiness && !probes?.liveness && ports.length > 0) {
    const first = ports[0]!;
    const tcp = { tcp: { port: first.name ?? first.containerPort } };
    probes = { readiness: tcp, liveness: { ...tcp, periodSeconds: 20 }, ...probes };
  }

  const container: Json = {
    name: c.name,
    image: imageRefOf(c.image),
    ...(c.command ? { command: [...c.command] } : {}),
    ...(c.args ? { args: [...c.args] } : {}),
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    ...(ports.length ? { ports: ports.map((p) => ({ containerPort: p.containerPort, ...(p.name ? { name: p.name } : {}), protocol: p.protocol ?? 'TCP' })) } : {}),
    ...(env.length ? { env } : {}),
    resources: {
      requests: { cpu: res.cpu.request, memory: res.memory.request, 'ephemeral-storage': res.ephemeralStorage.request },
      limits: { ...(res.cpu.limit ? { cpu: res.cpu.limit } : {}), memory: res.memory.limit, 'ephemeral-storage': res.ephemeralStorage.limit },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: uid,
      runAsGroup: gid,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'], ...(c.netBindService ? { add: ['NET_BIND_SERVICE'] } : {}) },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    ...(!init && probes?.readiness ? { readinessProbe: probeObject(probes.readiness) } : {}),
    ...(!init && probes?.liveness ? { livenessProbe: probeObject(probes.liveness) } : {}),
    ...(!init && probes?.startup ? { startupProbe: probeObject(probes.startup) } : {}),
    volumeMounts,
  };
  return { container, volumes, problems };
}

/** Builds a hardened Deployment and its ServiceAccount, or throws one error listing every problem. */
export function hardenedDeployment(props: HardenedDeploymentProps): HardenedDeploymentResult {
  const p = parseProps(hardenedDeploymentSchema, props, `HardenedDeployment ${JSON.stringify((props as { name?: unknown })?.name ?? '')}`) as HardenedDeploymentProps;
  const uid = p.runAsUser ?? DEFAULT_ID;
  const gid = p.runAsGroup ?? DEFAULT_ID;
  const problems: Problem[] = [];
  const volumes = new Map<string, Json>();
  const addVolumes = (list: Json[], where: string) => {
    for (const v of list) {
      const prev = volumes.get(String(v.name));
      if (prev && JSON.stringify(prev) !== JSON.stringify(v))
        problems.push({ code: 'PROP004', path: where, message: `two different volumes are named ${JSON.stringify(v.name)}`, fix: 'rename a container or an EnvConfig' });
      volumes.set(String(v.name), v);
    }
  };
  const build = (list: readonly HardenedContainerProps[], field: string, init: boolean) => list.map((c, i) => {
    const b = buildContainer(c, `${field}[${i}]`, uid, gid, init);
    problems.push(...b.problems);
    addVolumes(b.volumes, `${field}[${i}]`);
    return b.container;
  });
  const initContainers = build(p.initContainers ?? [], 'initContainers', true);
  const containers = build(p.containers, 'containers', false);
  const names = [...initContainers, ...containers].map((c) => c.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) problems.push({ code: 'PROP004', path: 'containers', message: `two containers are named ${JSON.stringify(n)}`, fix: 'give each container its own name' });
  });
  if (problems.length) throw new CleanimgError(`HardenedDeployment ${JSON.stringify(p.name)}: ${problems.length} invalid prop${problems.length === 1 ? '' : 's'}:`, problems);

  const selector = { 'app.kubernetes.io/name': p.name };
  const labels = { ...p.labels, ...selector, 'app.kubernetes.io/managed-by': 'cleanimg' };
  const metadata = (name: string) => ({ name, ...(p.namespace ? { namespace: p.namespace } : {}), labels, ...(p.annotations ? { annotations: { ...p.annotations } } : {}) });

  const serviceAccount: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(p.name), automountServiceAccountToken: false };
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(p.name),
    spec: {
      replicas: p.replicas ?? 2,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: p.name,
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: gid, fsGroup: gid, seccompProfile: { type: 'RuntimeDefault' } },
          ...(initContainers.length ? { initContainers } : {}),
          containers,
          volumes: [...volumes.values()],
        },
      },
    },
  };
  assertNoViolations(checkObjects([deployment, serviceAccount]), `HardenedDeployment ${JSON.stringify(p.name)}`);
  const ports = p.containers.flatMap((c) => (c.ports ?? []).map((port) => ({ ...port, container: c.name })));
  return { deployment, serviceAccount, selector, ports, objects: [serviceAccount, deployment] };
}

/** A ClusterIP Service in front of a hardened deployment's declared ports. */
export function serviceFor(d: HardenedDeploymentResult, opts: { name?: string; ports?: readonly number[] } = {}): KubeObject {
  const meta = d.deployment.metadata!;
  const ports = d.ports.filter((p) => !opts.ports || opts.ports.includes(p.containerPort));
  if (ports.length === 0) throw new CleanimgError(`Service for ${meta.name}: no declared container port to expose`, [{ code: 'PROP006', path: 'ports', message: 'the deployment declares no matching port', fix: 'declare ports on a container' }]);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: opts.name ?? meta.name, ...(meta.namespace ? { namespace: meta.namespace } : {}), labels: { ...(meta.labels as object) } },
    spec: {
      type: 'ClusterIP',
      selector: { ...d.selector },
      ports: ports.map((p) => ({ name: p.name ?? `port-${p.containerPort}`, port: p.containerPort, targetPort: p.name ?? p.containerPort, protocol: p.protocol ?? 'TCP' })),
    },
  };
}
