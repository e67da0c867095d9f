/**
 * Rules about what surrounds the pod's security settings: where a workload runs (HD029), which
 * identity it can borrow (HD032), objects the guards cannot see into (HD034), values the API server
 * refuses or misreads (HD035: a memory limit of `0` means no limit at all), mounts that cover the
 * root or leave their volume (HD036), probes that can never pass (HD037), Jobs that never give up
 * (HD038).
 *
 * The regular expressions are exported for the CEL of the admission policy: each is written in the
 * syntax both RE2 and JavaScript read, so the cluster and these rules cannot disagree.
 */
import { isQuantity, parseQuantity } from '../core/quantity';
import { admissionPodSpecPaths, containersOf, groupOf, isBuiltIn, scanOf, type ContainerSite } from './pod-spec';
import type { Finding, Json, KubeObject, PodSpecSite, Rule } from './rule';

/** System namespaces no workload may run in (HD029). Here, not with the props schema, so the rules load without zod. */
export const SYSTEM_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'];

/** A mount path that is the root: `/`, `//`, `/.`, `/./`. */
export const ROOT_MOUNT = '^(?:/+\\.?)+$';
/** A `..` segment anywhere in a path. */
export const DOT_DOT = '(?:^|/)\\.\\.(?:/|$)';
/**
 * A path at or under the directory where the kubelet puts a ServiceAccount token, in either
 * spelling (`/var/run` is a link to `/run`), with repeated slashes and `.` segments as the kernel
 * reads them (a `..` segment is refused on its own, HD036).
 */
export const TOKEN_PATH = '^(?:\\.?/+)*(?:var/+(?:\\./+)*)?run/+(?:\\./+)*secrets/+(?:\\./+)*kubernetes\\.io(?:/.*)?$';
/** A Kubernetes quantity, as `src/core/quantity.ts` parses it (`64Mi`, `250m`, `1e3`, `+2`). */
export const QUANTITY = '^[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$';
/** A quantity whose value is zero (`0`, `0Mi`, `-0.0`, `0e3`). */
export const ZERO_QUANTITY = '^[+-]?(?:0+(?:\\.0*)?|\\.0+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$';

const ROOT_RE = new RegExp(ROOT_MOUNT);
const DOT_DOT_RE = new RegExp(DOT_DOT);
const TOKEN_RE = new RegExp(TOKEN_PATH);

/** Resources whose limit of zero Kubernetes reads as "no limit". */
export const POSITIVE_LIMITS = ['memory', 'ephemeral-storage'];
/** Probe and hook handlers that name a container port. */
export const PORT_HANDLERS = ['httpGet', 'tcpSocket'];
export const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'];
export const HOOKS = ['postStart', 'preStop'];

const maps = (v: unknown): Json[] => (Array.isArray(v) ? v.filter((x): x is Json => !!x && typeof x === 'object' && !Array.isArray(x)) : []);
const isMap = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);
const volumesOf = (pod: PodSpecSite): Json[] => maps(pod.spec.volumes);

type PodCheck = (pod: PodSpecSite, o: KubeObject) => Finding[];

/** A rule that looks at pod specs only (and is silent on other objects). */
function podRule(id: string, title: string, fix: string, check: PodCheck): Rule {
  return { id, title, fix, check: (o, pod) => (pod ? check(pod, o) : []) };
}

// ---- HD032: no service-account token by another route ----

/** The paths a volume puts its chosen keys at (`items[].path` of a secret, configMap or projected source). */
export function itemPaths(v: Json): string[] {
  const sources = [v.secret, v.configMap, ...maps(v.projected?.sources).flatMap((s) => [s.secret, s.configMap])];
  return sources.flatMap((src) => maps(isMap(src) ? src.items : undefined).map((i) => i.path).filter((p): p is string => typeof p === 'string'));
}

function tokenFindings(pod: PodSpecSite): Finding[] {
  const out: Finding[] = [];
  const volumes = volumesOf(pod);
  volumes.forEach((v, i) => maps(v.projected?.sources).forEach((s, j) => {
    if (s.serviceAccountToken !== undefined)
      out.push({ path: `${pod.path}/volumes/${i}/projected/sources/${j}/serviceAccountToken`, message: `volume ${JSON.stringify(v.name)} projects a service-account token into the pod` });
  }));
  for (const c of containersOf(pod)) {
    maps(c.container.volumeMounts).forEach((m, i) => {
      if (typeof m.mountPath !== 'string') return;
      const path = `${c.path}/volumeMounts/${i}/mountPath`;
      if (TOKEN_RE.test(m.mountPath)) {
        out.push({ path, message: `volume ${JSON.stringify(m.name)} is mounted at ${m.mountPath}, where clients look for the pod's service-account token` });
        return;
      }
      const volume = volumes.find((v) => v.name === m.name);
      const landing = volume ? itemPaths(volume).find((p) => TOKEN_RE.test(`${m.mountPath}/${p}`)) : undefined;
      if (landing !== undefined)
        out.push({ path, message: `volume ${JSON.stringify(m.name)} puts the key path ${JSON.stringify(landing)} under ${m.mountPath}, where clients look for the pod's service-account token` });
    });
  }
  return out;
}

// ---- HD035: quantities ----

/** What the API server would say about one quantity, or undefined when it is fine. */
export function quantityProblem(value: unknown, mustBePositive: boolean): string | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  if (!isQuantity(text)) return `${JSON.stringify(value)} is not a quantity (the API server refuses it; write e.g. 128Mi or 250m)`;
  const n = parseQuantity(text);
  if (n < 0) return `${text} is negative (the API server refuses it)`;
  if (mustBePositive && n === 0) return `${text} is zero, which Kubernetes reads as no limit at all`;
  return undefined;
}

/** `a > b` for quantities, tolerant of the binary rounding of decimal suffixes (`1100m` against `1.1`). */
const above = (a: number, b: number) => a - b > Math.max(Math.abs(a), Math.abs(b)) * 1e-12;

function resourceFindings(resources: unknown, base: string): Finding[] {
  if (!isMap(resources)) return [];
  const requests: Json = isMap(resources.requests) ? resources.requests : {};
  const limits: Json = isMap(resources.limits) ? resources.limits : {};
  const out: Finding[] = [];
  for (const [field, values] of [['requests', requests], ['limits', limits]] as const) {
    for (const [name, v] of Object.entries(values)) {
      const problem = quantityProblem(v, field === 'limits' && POSITIVE_LIMITS.includes(name));
      if (problem) out.push({ path: `${base}/${field}/${name}`, message: `${field}.${name}: ${problem}` });
    }
  }
  for (const [name, request] of Object.entries(requests)) {
    const limit = limits[name];
    if (limit === undefined || quantityProblem(request, false) || quantityProblem(limit, false)) continue;
    if (above(parseQuantity(String(request)), parseQuantity(String(limit))))
      out.push({ path: `${base}/requests/${name}`, message: `the ${name} request ${String(request)} is above its limit ${String(limit)} (the API server refuses it)` });
  }
  return out;
}

function quantityFindings(pod: PodSpecSite): Finding[] {
  const out = resourceFindings(pod.spec.resources, `${pod.path}/resources`);
  for (const c of containersOf(pod)) out.push(...resourceFindings(c.container.resources, `${c.path}/resources`));
  volumesOf(pod).forEach((v, i) => {
    const size = isMap(v.emptyDir) ? v.emptyDir.sizeLimit : undefined;
    if (size === undefined || size === null) return;
    const problem = quantityProblem(size, true);
    if (problem) out.push({ path: `${pod.path}/volumes/${i}/emptyDir/sizeLimit`, message: `emptyDir ${JSON.stringify(v.name)} sizeLimit: ${problem}` });
  });
  return out;
}

// ---- HD036: mounts ----

function mountFindings(c: ContainerSite): Finding[] {
  const out: Finding[] = [];
  maps(c.container.volumeMounts).forEach((m, i) => {
    const at = `${c.path}/volumeMounts/${i}`;
    const path = m.mountPath;
    if (typeof path !== 'string' || !path.startsWith('/')) out.push({ path: `${at}/mountPath`, message: `volume ${JSON.stringify(m.name)} has mountPath ${JSON.stringify(path ?? null)}, not an absolute path` });
    else if (ROOT_RE.test(path)) out.push({ path: `${at}/mountPath`, message: `volume ${JSON.stringify(m.name)} is mounted over the root filesystem (${JSON.stringify(path)}), which makes it writable and replaces the image` });
    else if (DOT_DOT_RE.test(path)) out.push({ path: `${at}/mountPath`, message: `mountPath ${JSON.stringify(path)} has a ".." segment, so it is not where it reads` });
    for (const field of ['subPath', 'subPathExpr']) {
      const sub = m[field];
      if (typeof sub === 'string' && (sub.startsWith('/') || DOT_DOT_RE.test(sub)))
        out.push({ path: `${at}/${field}`, message: `${field} ${JSON.stringify(sub)} leaves its volume (it must be a relative path without "..")` });
    }
  });
  return out;
}

// ---- HD037: probes name declared ports ----

function probePortFindings(c: ContainerSite): Finding[] {
  const names = new Set(maps(c.container.ports).map((p) => p.name).filter((n) => typeof n === 'string'));
  const out: Finding[] = [];
  const handlers = [...PROBES.map((p) => [p, c.container[p]] as const), ...HOOKS.map((h) => [`lifecycle/${h}`, c.container.lifecycle?.[h]] as const)];
  for (const [where, handler] of handlers) {
    if (!isMap(handler)) continue;
    for (const kind of PORT_HANDLERS) {
      const port = handler[kind]?.port;
      if (typeof port === 'string' && !names.has(port))
        out.push({ path: `${c.path}/${where}/${kind}/port`, message: `the ${where.replace('lifecycle/', '')} ${kind} names port ${JSON.stringify(port)}, which the container does not declare, so it can never succeed` });
    }
  }
  return out;
}

// ---- HD038: Jobs give up ----

const RESTART_POLICIES = ['Never', 'OnFailure'];

function jobFindings(pod: PodSpecSite, o: KubeObject): Finding[] {
  if (!isBuiltIn(o, 'Job', 'CronJob')) return [];
  const cron = o.kind === 'CronJob';
  const jobPath = cron ? '/spec/jobTemplate/spec' : '/spec';
  const job = cron ? (o as Json).spec?.jobTemplate?.spec : (o as Json).spec;
  const out: Finding[] = [];
  const restart = pod.spec.restartPolicy;
  if (!RESTART_POLICIES.includes(restart))
    out.push({ path: `${pod.path}/restartPolicy`, message: `restartPolicy is ${JSON.stringify(restart ?? null)}${restart === undefined ? ' (the pod default, Always, restarts forever)' : ''}` });
  const limit = isMap(job) ? job.backoffLimit : undefined;
  if (!Number.isInteger(limit) || limit < 0)
    out.push({ path: `${jobPath}/backoffLimit`, message: limit === undefined ? 'backoffLimit is not set, so a failing Job is retried 6 times by default, without anyone having said so' : `backoffLimit is ${JSON.stringify(limit)}, not a count >= 0` });
  return out;
}

// ---- HD034: what the guards cannot see ----

/** Where the objects go when they are rendered first, so that every guard judges them one by one. */
const RENDER_FIRST = 'render it first (helm template, cdk8s Helm or Include, Pulumi helm.v4.Chart, kustomize build) and write the objects themselves';

/**
 * Objects that have a tool or a controller install what they name (a chart, a Git or OCI path)
 * inside the cluster: the objects they create are never written where a guard sees them. By API
 * group (any version) and kind.
 */
export const INSTALLER_KINDS: readonly { readonly group: string; readonly kind: string; readonly message: string; readonly fix: string }[] = [
  { group: 'helm.sh', kind: 'Release', message: 'a Pulumi helm.v3.Release installs its chart inside the provider', fix: 'use helm.v4.Chart: it renders the chart into resources that the policy pack judges one by one' },
  { group: 'helm.toolkit.fluxcd.io', kind: 'HelmRelease', message: 'a Flux HelmRelease has Flux\'s helm-controller install its chart (spec.chart, spec.chartRef) in the cluster', fix: `${RENDER_FIRST}, with these values` },
  { group: 'kustomize.toolkit.fluxcd.io', kind: 'Kustomization', message: 'a Flux Kustomization has Flux\'s kustomize-controller apply what its source (spec.sourceRef, spec.path) holds', fix: RENDER_FIRST },
  { group: 'argoproj.io', kind: 'Application', message: 'an Argo CD Application has Argo CD sync what its Git, Helm or OCI source (spec.source, spec.sources) renders', fix: RENDER_FIRST },
  { group: 'argoproj.io', kind: 'ApplicationSet', message: 'an Argo CD ApplicationSet has Argo CD generate Applications (spec.template) that sync what their sources render', fix: RENDER_FIRST },
];

function installerFinding(o: KubeObject): Finding | undefined {
  const group = groupOf(o.apiVersion);
  const installer = INSTALLER_KINDS.find((i) => i.kind === o.kind && i.group === group);
  return installer && { path: '/kind', message: `${installer.message}, so no guard sees the objects it creates`, fix: installer.fix };
}

/** Objects whose content is applied where no guard sees it, or that the admission policy would read as something else. */
function invisible(o: KubeObject): Finding[] {
  const installer = installerFinding(o);
  if (installer) return [installer];
  const places = admissionPodSpecPaths(o);
  if (places.length > 1)
    return [{ path: places[1]!, message: `pod specs at ${places.join(' and ')}: the admission policy judges only the first, so the other could pass unjudged in the cluster`, fix: 'keep one pod template per object, where its controller reads it' }];
  return [];
}

export const SHAPE_RULES: Rule[] = [
  podRule('HD029', `workloads do not run in system namespaces (${SYSTEM_NAMESPACES.join(', ')})`,
    'run the workload in a namespace of its own (a HardenedNamespace); kube-system belongs to the cluster, with its privileged identities',
    (_pod, o) => {
      const ns = o.metadata?.namespace;
      return typeof ns === 'string' && SYSTEM_NAMESPACES.includes(ns)
        ? [{ path: '/metadata/namespace', message: `${o.kind ?? 'the object'} runs pods in ${ns}, beside the cluster's own components and their privileged identities` }] : [];
    }),
  podRule('HD032', 'no service-account token reaches the pod by another route (no projected serviceAccountToken, no mount over /var/run/secrets/kubernetes.io)',
    'remove projected serviceAccountToken sources and any mount at or under /var/run/secrets/kubernetes.io or /run/secrets/kubernetes.io; a hardened pod calls no API',
    tokenFindings),
  {
    id: 'HD034',
    title: 'every object is visible to the guards',
    fix: 'write objects whose pods the guards can read: a pod template where workloads keep one (spec.template.spec), Lists not nested absurdly deep; in Pulumi, helm.v4.Chart instead of helm.v3.Release',
    check: (o) => [...scanOf(o).unseen, ...invisible(o)],
  },
  podRule('HD035', 'requests and limits are valid quantities, memory and storage limits above zero, requests not above limits',
    'write quantities such as 128Mi or 250m; give memory, ephemeral-storage and emptyDir sizes a real, positive limit (0 means no limit); keep each request at or below its limit',
    quantityFindings),
  podRule('HD036', 'no volume is mounted at /; mount paths are absolute without "..", subPaths relative without ".."',
    'mount volumes at a directory below / (e.g. /var/cache/app) and write subPath as a relative path inside the volume',
    (pod) => containersOf(pod).flatMap(mountFindings)),
  podRule('HD037', 'probes and lifecycle hooks name only ports the container declares',
    'declare the port with that name on the container (ports[].name), or give the port number',
    (pod) => containersOf(pod).flatMap(probePortFindings)),
  podRule('HD038', 'Jobs give up: restartPolicy Never or OnFailure, and a backoffLimit',
    'set restartPolicy: Never (or OnFailure) on the pod template and spec.backoffLimit on the Job or the CronJob\'s jobTemplate (HardenedJob and HardenedCronJob set both)',
    jobFindings),
];
