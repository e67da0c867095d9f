import type { Json, KubeObject, PodSpecSite } from './rule';

/**
 * Where the built-in workload kinds keep their pod spec (the fast path), with the API groups that
 * serve each kind. A kind of the same name in another group (Knative's `serving.knative.dev`
 * Service, a CRD called `Deployment`) is searched by shape instead.
 */
const BUILT_IN_ROUTES: Record<string, { readonly groups: readonly string[]; readonly route: readonly string[] }> = {
  Pod: { groups: [''], route: ['spec'] },
  PodTemplate: { groups: [''], route: ['template', 'spec'] },
  ReplicationController: { groups: [''], route: ['spec', 'template', 'spec'] },
  Deployment: { groups: ['apps', 'extensions'], route: ['spec', 'template', 'spec'] },
  ReplicaSet: { groups: ['apps', 'extensions'], route: ['spec', 'template', 'spec'] },
  DaemonSet: { groups: ['apps', 'extensions'], route: ['spec', 'template', 'spec'] },
  StatefulSet: { groups: ['apps'], route: ['spec', 'template', 'spec'] },
  Job: { groups: ['batch'], route: ['spec', 'template', 'spec'] },
  CronJob: { groups: ['batch'], route: ['spec', 'jobTemplate', 'spec', 'template', 'spec'] },
};

/**
 * Built-in API groups none of whose kinds holds a pod spec (the core group's only kinds with pods
 * are the routes above): the admission policy does not look for pod specs in their objects.
 */
const NO_POD_GROUPS = new Set([
  '', 'rbac.authorization.k8s.io', 'networking.k8s.io', 'policy', 'autoscaling', 'admissionregistration.k8s.io', 'apiextensions.k8s.io',
  'storage.k8s.io', 'scheduling.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io', 'certificates.k8s.io', 'events.k8s.io', 'node.k8s.io',
  'flowcontrol.apiserver.k8s.io', 'apiregistration.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io', 'resource.k8s.io',
]);

/** The kinds those groups serve (none holds a pod spec). */
const NO_POD_KINDS = new Set([
  'Binding', 'ComponentStatus', 'ConfigMap', 'Endpoints', 'Event', 'LimitRange', 'Namespace', 'Node', 'PersistentVolume',
  'PersistentVolumeClaim', 'ResourceQuota', 'Secret', 'Service', 'ServiceAccount',
  'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'NetworkPolicy', 'Ingress', 'IngressClass', 'IPAddress', 'ServiceCIDR',
  'PodDisruptionBudget', 'Eviction', 'HorizontalPodAutoscaler', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding',
  'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding',
  'CustomResourceDefinition', 'StorageClass', 'VolumeAttachment', 'CSIDriver', 'CSINode', 'CSIStorageCapacity', 'VolumeAttributesClass',
  'PriorityClass', 'Lease', 'EndpointSlice', 'CertificateSigningRequest', 'ClusterTrustBundle', 'RuntimeClass', 'FlowSchema',
  'PriorityLevelConfiguration', 'APIService', 'TokenReview', 'SelfSubjectReview', 'SubjectAccessReview', 'SelfSubjectAccessReview',
  'LocalSubjectAccessReview', 'SelfSubjectRulesReview', 'ResourceClaim', 'ResourceClaimTemplate', 'DeviceClass', 'ResourceSlice',
]);

/** Kinds whose pods run for a long time and so need probes. */
export const LONG_RUNNING_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController']);

/**
 * How deep the search of other kinds goes (an Argo Rollout's pod spec is 3 levels down, a Kubeflow
 * job's 5, a JobSet's 7). Anything deeper is not judged but refused (HD034), so depth cannot hide a pod.
 */
export const MAX_SEARCH_DEPTH = 32;

/** Fields that, beside a string `image`, make a map a container (Argo Workflows `container`, Tekton `steps`). */
const CONTAINER_FIELDS = ['command', 'args', 'securityContext', 'volumeMounts', 'env', 'envFrom', 'ports', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle'];

/** Something in an object the guards cannot judge (refused with HD034). */
export interface Unseen {
  readonly path: string;
  readonly message: string;
}

/** Every pod spec an object carries, and what the search could not judge. */
export interface PodScan {
  readonly sites: readonly PodSpecSite[];
  readonly unseen: readonly Unseen[];
}

const NOTHING: PodScan = { sites: [], unseen: [] };

/** The route of a built-in kind; own keys only, so that `kind: constructor` finds nothing. */
function builtInRoute(kind: string): (typeof BUILT_IN_ROUTES)[string] | undefined {
  return Object.hasOwn(BUILT_IN_ROUTES, kind) ? BUILT_IN_ROUTES[kind] : undefined;
}

const isMap = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** The API group of an apiVersion (`apps/v1` is `apps`, `v1` is the core group `''`); undefined when unset. */
export function groupOf(apiVersion: unknown): string | undefined {
  if (typeof apiVersion !== 'string') return undefined;
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** True when the object is the built-in `kind` (an object without apiVersion is taken at its word). */
export function isBuiltIn(o: Json, ...kinds: string[]): boolean {
  const kind = o.kind;
  if (typeof kind !== 'string' || !kinds.includes(kind)) return false;
  const group = groupOf(o.apiVersion);
  return group === undefined || (builtInRoute(kind)?.groups.includes(group) ?? false);
}

/** A map that lists containers (or init or ephemeral containers): the shape of a PodSpec. */
export function looksLikePodSpec(v: Json): boolean {
  return Array.isArray(v.containers) || Array.isArray(v.initContainers) || Array.isArray(v.ephemeralContainers);
}

function looksLikeContainer(v: Json): boolean {
  return typeof v.image === 'string' && CONTAINER_FIELDS.some((f) => v[f] !== undefined);
}

const escapeKey = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');

function follow(node: Json, route: readonly string[]): Json | undefined {
  let at: unknown = node;
  for (const key of route) {
    at = isMap(at) ? at[key] : undefined;
    if (at === undefined) return undefined;
  }
  return isMap(at) ? at : undefined;
}

/** The pod spec of a built-in workload at its known route, with the template's metadata. */
function routeSite(node: Json, kind: string, route: readonly string[], base: string): PodSpecSite | undefined {
  const spec = follow(node, route);
  if (!spec) return undefined;
  const metaRoute = [...route.slice(0, -1), 'metadata'];
  const metadata = follow(node, metaRoute);
  return { spec, path: `${base}/${route.join('/')}`, ownerKind: kind, ...(metadata ? { metadata, metadataPath: `${base}/${metaRoute.join('/')}` } : {}) };
}

interface Search {
  readonly ownerKind: string;
  readonly sites: PodSpecSite[];
  readonly unseen: Unseen[];
}

const TOO_DEEP = 'the object nests deeper than';

/** The lists of a pod spec that hold its containers: judged as the pod's, not searched again. */
const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/**
 * Depth-first search for pod specs under `node`: a map listing containers is one (its siblings'
 * `metadata` is its template metadata), and the rest of it is searched on (a custom resource keeps
 * every field, so a second pod spec inside or beside a decoy one must not hide); an embedded
 * built-in workload (a Crossplane `Object`'s manifest) is read at its route (the API server drops
 * any other field of it); a lone container is recorded as unseen.
 */
function search(node: unknown, path: string, depth: number, s: Search, parent?: Json, parentPath = ''): void {
  if (node === null || typeof node !== 'object') return;
  if (depth > MAX_SEARCH_DEPTH) {
    // Once per object: where the search first stopped.
    if (!s.unseen.some((u) => u.message.startsWith(TOO_DEEP))) s.unseen.push({ path, message: `${TOO_DEEP} ${MAX_SEARCH_DEPTH} levels here, where no guard looks for pod templates` });
    return;
  }
  if (Array.isArray(node)) {
    node.forEach((v, i) => search(v, `${path}/${i}`, depth + 1, s));
    return;
  }
  const map = node as Json;
  const podSpec = looksLikePodSpec(map);
  if (podSpec) {
    const metadata = isMap(parent?.metadata) ? parent.metadata : undefined;
    s.sites.push({ spec: map, path, ownerKind: s.ownerKind, ...(metadata ? { metadata, metadataPath: `${parentPath}/metadata` } : {}) });
  } else if (depth > 0 && typeof map.kind === 'string' && typeof map.apiVersion === 'string' && builtInRoute(map.kind) && isBuiltIn(map, map.kind)) {
    const site = routeSite(map, map.kind, builtInRoute(map.kind)!.route, path);
    if (site) s.sites.push(site);
    return;
  } else if (depth > 0 && looksLikeContainer(map)) {
    s.unseen.push({ path, message: `a container (image ${JSON.stringify(map.image)}) outside any pod spec: the guards cannot judge the pod it runs in` });
    return;
  }
  for (const key of Object.keys(map)) {
    if ((depth === 0 && key === 'metadata') || (podSpec && CONTAINER_LISTS.has(key))) continue;
    search(map[key], `${path}/${escapeKey(key)}`, depth + 1, s, map, path);
  }
}

/**
 * Every pod spec an object carries, found by SHAPE: a built-in workload's at its known route, and
 * in any other kind (an Argo Rollout, a Knative Service, a kind no one has heard of) every map
 * that lists containers, wherever it sits. Also what the search cannot judge: containers outside
 * any pod spec, and nesting deeper than {@link MAX_SEARCH_DEPTH}.
 */
export function scanPodSpecs(obj: KubeObject): PodScan {
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const builtIn = builtInRoute(kind);
  if (builtIn && isBuiltIn(obj, kind)) {
    const site = routeSite(obj, kind, builtIn.route, '');
    return site ? { sites: [site], unseen: [] } : NOTHING;
  }
  // A built-in kind that holds no pod is not searched (the API server drops fields it does not
  // have); any other object is, in built-in groups too: a kind the group does not serve (a `v1`
  // object of kind `Thing` or `constructor`) is no guarantee that nothing in it is a pod template.
  const group = groupOf(obj.apiVersion);
  if (group !== undefined && NO_POD_GROUPS.has(group) && NO_POD_KINDS.has(kind)) return NOTHING;
  const s: Search = { ownerKind: kind, sites: [], unseen: [] };
  search(obj, '', 0, s);
  return s.sites.length || s.unseen.length ? { sites: s.sites, unseen: s.unseen } : NOTHING;
}

/**
 * Where the admission policy looks for a pod spec, in its order (CEL has no recursion, so it cannot
 * search): the built-in kinds' places and those of the custom resources that copy them (Argo
 * Rollout, Knative Service, OpenKruise CloneSet: `spec.template.spec`; a CRD whose spec is a
 * PodSpec; Flink's `spec.podTemplate.spec`; KEDA ScaledJob's `spec.jobTargetRef.template.spec`).
 */
export const ADMISSION_POD_SPEC_PATHS: readonly (readonly string[])[] = [
  ['spec', 'template', 'spec'],
  ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  ['spec'],
  ['template', 'spec'],
  ['spec', 'podTemplate', 'spec'],
  ['spec', 'jobTargetRef', 'template', 'spec'],
];

const BUILT_IN_GROUPS = new Set([...NO_POD_GROUPS, 'apps', 'batch', 'extensions']);

/**
 * The places of {@link ADMISSION_POD_SPEC_PATHS} that hold a pod spec in a custom resource (none
 * for built-in kinds, whose other fields the API server drops before admission). With two or more,
 * the admission policy would judge only the first: a decoy could pass for the real one.
 */
export function admissionPodSpecPaths(obj: KubeObject): string[] {
  const group = groupOf(obj.apiVersion);
  if (group === undefined || BUILT_IN_GROUPS.has(group)) return [];
  return ADMISSION_POD_SPEC_PATHS.filter((p) => {
    const spec = follow(obj, p);
    return spec !== undefined && looksLikePodSpec(spec);
  }).map((p) => `/${p.join('/')}`);
}

let active: { readonly object: KubeObject; readonly scan: PodScan } | undefined;

/** Runs `fn` with `scan` as the known scan of `object`, so the rules that need it do not search again. */
export function withScan<T>(object: KubeObject, scan: PodScan, fn: () => T): T {
  const before = active;
  active = { object, scan };
  try {
    return fn();
  } finally {
    active = before;
  }
}

/** The scan of the object being checked (computed once per object per check), or a fresh one. */
export function scanOf(object: KubeObject): PodScan {
  return active?.object === object ? active.scan : scanPodSpecs(object);
}

/** The pod specs of {@link scanPodSpecs}. */
export function findPodSpecs(obj: KubeObject): readonly PodSpecSite[] {
  return scanPodSpecs(obj).sites;
}

/** The first pod spec of an object (the one a built-in workload has), if any. */
export function findPodSpec(obj: KubeObject): PodSpecSite | undefined {
  return scanPodSpecs(obj).sites[0];
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
