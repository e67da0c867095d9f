/**
 * One hardened container: its security context, resources, probes, and the volumes and mounts of
 * its writable paths and EnvConfigs. Used by the pod-template builder for every workload kind.
 */
import type { Problem } from '../../errors';
import { readAttachment } from '../attachment';
import { imageRefOf } from '../image-ref';
import type { HardenedContainerProps, ProbeProps, ProbesProps, ResourcesProps, StorageProps, WritablePath } from '../props';
import { parseQuantity } from '../quantity';

export type Json = Record<string, unknown>;

export const DEFAULT_TMP_SIZE = '64Mi';
export const DEFAULT_RESOURCES: Required<ResourcesProps> = {
  cpu: { request: '100m' },
  memory: { request: '128Mi', limit: '256Mi' },
  ephemeralStorage: { request: '64Mi', limit: '1Gi' },
};

/** Storage a writable path asks the workload to create: a PVC, or a StatefulSet's claim template. */
export interface ClaimRequest {
  /** The pod volume name (also the claim template's name in a StatefulSet). */
  readonly volumeName: string;
  readonly storage: StorageProps;
}

export interface BuiltContainer {
  readonly container: Json;
  /** Pod volumes this container needs, except those of new claims (see `claims`). */
  readonly volumes: Json[];
  readonly claims: ClaimRequest[];
  /** Names of the pod volumes backed by an existing PersistentVolumeClaim. */
  readonly existingClaims: string[];
  readonly problems: Problem[];
}

export interface ContainerContext {
  /** Prop path of this container, e.g. `containers[0]`. */
  readonly where: string;
  readonly uid: number;
  readonly gid: number;
  /** Init containers get no probes. */
  readonly init: boolean;
  /** Long-running kinds get TCP probes on the first port when none are given. */
  readonly defaultProbes: boolean;
}

/** A volume name from a container name and a path: `app-var-run-postgresql`. */
export function volumeNameFor(container: string, path: string): string {
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

/** The writable paths with the default `/tmp` added, as volumes, mounts and claim requests. */
function writableVolumes(c: HardenedContainerProps) {
  const writable: WritablePath[] = [...(c.writablePaths ?? [])];
  if (!writable.some((w) => w.path === '/tmp')) writable.push({ path: '/tmp', sizeLimit: DEFAULT_TMP_SIZE });
  const volumes: Json[] = [];
  const volumeMounts: Json[] = [];
  const claims: ClaimRequest[] = [];
  const existingClaims: string[] = [];
  for (const w of writable) {
    const name = volumeNameFor(c.name, w.path);
    const subPath = 'subPath' in w && w.subPath ? { subPath: w.subPath } : {};
    if ('storage' in w) claims.push({ volumeName: name, storage: w.storage });
    else if ('claimName' in w) {
      volumes.push({ name, persistentVolumeClaim: { claimName: w.claimName } });
      existingClaims.push(name);
    } else volumes.push({ name, emptyDir: { sizeLimit: w.sizeLimit, ...(w.medium ? { medium: w.medium } : {}) } });
    volumeMounts.push({ name, mountPath: w.path, ...subPath });
  }
  return { writable, volumes, volumeMounts, claims, existingClaims };
}

/** The emptyDirs on disk must fit the container's ephemeral-storage limit (PROP005). */
function scratchProblems(writable: readonly WritablePath[], limit: string, where: string): Problem[] {
  const onDisk = writable.filter((w): w is Extract<WritablePath, { sizeLimit: string }> => 'sizeLimit' in w && w.medium !== 'Memory')
    .reduce((sum, w) => sum + parseQuantity(w.sizeLimit), 0);
  if (onDisk <= parseQuantity(limit)) return [];
  return [{
    code: 'PROP005', path: `${where}.resources.ephemeralStorage.limit`,
    message: `the emptyDirs of this container may hold ${onDisk} bytes, more than its ephemeral-storage limit ${limit}`,
    fix: 'raise resources.ephemeralStorage.limit or lower the sizeLimits of writablePaths',
  }];
}

/** Each mount path once (PROP004). */
function duplicateMountProblems(mounts: readonly Json[], where: string): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const m of mounts) {
    const path = String(m.mountPath);
    if (seen.has(path)) out.push({ code: 'PROP004', path: `${where}.mounts`, message: `two mounts at ${path}`, fix: 'mount each path once' });
    seen.add(path);
  }
  return out;
}

function probesOf(c: HardenedContainerProps, ctx: ContainerContext): ProbesProps | undefined {
  const ports = c.ports ?? [];
  if (ctx.init || !ctx.defaultProbes || c.probes?.readiness || c.probes?.liveness || ports.length === 0) return c.probes;
  const first = ports[0]!;
  const tcp = { tcp: { port: first.name ?? first.containerPort } };
  return { readiness: tcp, liveness: { ...tcp, periodSeconds: 20 }, ...c.probes };
}

function resourcesObject(res: Required<ResourcesProps>): Json {
  return {
    requests: { cpu: res.cpu.request, memory: res.memory.request, 'ephemeral-storage': res.ephemeralStorage.request },
    limits: { ...(res.cpu.limit ? { cpu: res.cpu.limit } : {}), memory: res.memory.limit, 'ephemeral-storage': res.ephemeralStorage.limit },
  };
}

function securityContext(c: HardenedContainerProps, ctx: ContainerContext): Json {
  return {
    runAsNonRoot: true,
    runAsUser: ctx.uid,
    runAsGroup: ctx.gid,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'], ...(c.netBindService ? { add: ['NET_BIND_SERVICE'] } : {}) },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Builds one hardened container from props that have passed the props schema. */
export function buildContainer(c: HardenedContainerProps, ctx: ContainerContext): BuiltContainer {
  const w = writableVolumes(c);
  const env: Json[] = Object.entries(c.env ?? {}).map(([name, value]) => ({ name, value }));
  const problems: Problem[] = [];
  (c.config ?? []).forEach((raw, i) => {
    const a = readAttachment(raw, `${ctx.where}.config[${i}]`);
    problems.push(...a.problems);
    if (!a.value) return;
    w.volumes.push(...(a.value.volumes as Json[]));
    w.volumeMounts.push(...(a.value.volumeMounts as Json[]));
    env.push(...(a.value.env as Json[]));
  });
  const res = { ...DEFAULT_RESOURCES, ...c.resources };
  problems.push(...duplicateMountProblems(w.volumeMounts, ctx.where), ...scratchProblems(w.writable, res.ephemeralStorage.limit, ctx.where));
  const ports = c.ports ?? [];
  const probes = ctx.init ? undefined : probesOf(c, ctx);
  const container: Json = {
    name: c.name,
    image: imageRefOf(c.image),
    ...(c.command ? { command: [...c.command] } : {}),
    ...(c.args ? { args: [...c.args] } : {}),
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    ...(ports.length ? { ports: ports.map((p) => ({ containerPort: p.containerPort, ...(p.name ? { name: p.name } : {}), protocol: p.protocol ?? 'TCP' })) } : {}),
    ...(env.length ? { env } : {}),
    resources: resourcesObject(res),
    securityContext: securityContext(c, ctx),
    ...(probes?.readiness ? { readinessProbe: probeObject(probes.readiness) } : {}),
    ...(probes?.liveness ? { livenessProbe: probeObject(probes.liveness) } : {}),
    ...(probes?.startup ? { startupProbe: probeObject(probes.startup) } : {}),
    volumeMounts: w.volumeMounts,
  };
  return { container, volumes: w.volumes, claims: w.claims, existingClaims: w.existingClaims, problems };
}
