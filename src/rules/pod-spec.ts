import type { Json, KubeObject, PodSpecSite } from './rule';

/** Where each workload kind keeps its pod spec. */
const POD_SPEC_PATHS: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  PodTemplate: ['template', 'spec'],
};

/** Kinds whose pods run for a long time and so need probes. */
export const LONG_RUNNING_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController']);

export function findPodSpec(obj: KubeObject): PodSpecSite | undefined {
  const kind = obj.kind ?? '';
  const route = POD_SPEC_PATHS[kind];
  if (!route) return undefined;
  let node: any = obj;
  for (const key of route) {
    node = node?.[key];
    if (node === undefined || node === null) return undefined;
  }
  if (typeof node !== 'object') return undefined;
  return { spec: node as Json, path: '/' + route.join('/'), ownerKind: kind };
}

export interface ContainerSite {
  readonly container: Json;
  readonly path: string;
  readonly init: boolean;
  readonly ephemeral: boolean;
}

const containerCache = new WeakMap<PodSpecSite, ContainerSite[]>();

/** Every container, init container and ephemeral container of a pod spec, with its path (computed once per site). */
export function containersOf(pod: PodSpecSite): ContainerSite[] {
  const cached = containerCache.get(pod);
  if (cached) return cached;
  const out: ContainerSite[] = [];
  const lists: Array<[string, boolean, boolean]> = [
    ['initContainers', true, false],
    ['containers', false, false],
    ['ephemeralContainers', false, true],
  ];
  for (const [field, init, ephemeral] of lists) {
    const list = pod.spec[field];
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => {
      // A null entry decodes (in Go, so in the API server) to an empty container: judged as one, not skipped.
      const container = c === null ? {} : c;
      if (typeof container === 'object') out.push({ container, path: `${pod.path}/${field}/${i}`, init, ephemeral });
    });
  }
  containerCache.set(pod, out);
  return out;
}

/** A container's security setting, falling back to the pod's, as Kubernetes does. */
export function effective(pod: PodSpecSite, c: ContainerSite, field: string): { value: unknown; path: string } {
  const own = c.container.securityContext?.[field];
  if (own !== undefined) return { value: own, path: `${c.path}/securityContext/${field}` };
  const podValue = pod.spec.securityContext?.[field];
  if (podValue !== undefined) return { value: podValue, path: `${pod.path}/securityContext/${field}` };
  return { value: undefined, path: `${c.path}/securityContext/${field}` };
}
