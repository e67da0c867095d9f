/**
 * The Pod Security Standards controls the first rules did not name, read from the upstream
 * evaluator (k8s.io/pod-security-admission/policy: appArmorProfile, seLinuxOptions, procMount,
 * sysctls, windowsHostProcess, hostProbesAndHostLifecycle), at pod level and for every container,
 * init container and ephemeral container. Where upstream leaves a choice (a Localhost AppArmor
 * profile, the "safe" sysctls) these rules are stricter: a hardened pod needs none of it.
 * test/e2e/psa-differential.e2e.test.ts holds the whole rule list against upstream.
 */
import { containersOf } from './pod-spec';
import type { Finding, Json, KubeObject, PodSpecSite, Rule } from './rule';

type PodCheck = (pod: PodSpecSite, object: KubeObject) => Finding[];

function podRule(id: string, title: string, fix: string, check: PodCheck): Rule {
  return { id, title, fix, check: (object, pod) => (pod ? check(pod, object) : []) };
}

/** Unset as Go reads JSON: absent or null. */
const unset = (v: unknown): v is undefined | null => v === undefined || v === null;
const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** A securityContext (the pod's or a container's) with its JSON pointer. */
interface SecurityContextSite {
  readonly context: Json;
  readonly path: string;
  readonly who: string;
}

/** The pod's securityContext and every container's (init and ephemeral too), where set. */
function securityContexts(pod: PodSpecSite): SecurityContextSite[] {
  const out: SecurityContextSite[] = [];
  if (isObject(pod.spec.securityContext)) out.push({ context: pod.spec.securityContext, path: `${pod.path}/securityContext`, who: 'the pod' });
  for (const c of containersOf(pod)) {
    const sc = c.container.securityContext;
    if (isObject(sc)) out.push({ context: sc, path: `${c.path}/securityContext`, who: `container ${JSON.stringify(c.container.name ?? null)}` });
  }
  return out;
}

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
const unescapePointer = (key: string) => key.replace(/~1/g, '/').replace(/~0/g, '~');

/**
 * The pod's metadata: beside its spec (a template's `metadata`, or a bare Pod's own), found from the
 * spec's JSON pointer, so it works wherever a pod spec was found.
 */
function podMetadata(object: KubeObject, pod: PodSpecSite): { metadata?: Json; path: string } {
  const parent = pod.path.slice(0, pod.path.lastIndexOf('/'));
  const path = `${parent}/metadata`;
  let node: unknown = object;
  for (const key of path.split('/').slice(1)) node = isObject(node) ? node[unescapePointer(key)] : undefined;
  return { metadata: isObject(node) ? node : undefined, path };
}

/** The beta annotation that set a container's AppArmor profile before the field existed. */
export const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';
/** Upstream's allowed `seLinuxOptions.type` values (v1.31+; `''` is unset). */
export const SELINUX_ALLOWED_TYPES: readonly string[] = ['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'];
/** The handlers that may name a host: each probe and each lifecycle hook. */
const HANDLERS = ['livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle/postStart', 'lifecycle/preStop'];

function appArmorFindings(pod: PodSpecSite, object: KubeObject): Finding[] {
  const found: Finding[] = securityContexts(pod).flatMap(({ context, path, who }) => {
    const profile = context.appArmorProfile;
    if (unset(profile) || (isObject(profile) && profile.type === 'RuntimeDefault')) return [];
    return [{ path: `${path}/appArmorProfile`, message: `${who} sets the AppArmor profile ${JSON.stringify(isObject(profile) ? profile.type ?? null : profile)}` }];
  });
  const { metadata, path } = podMetadata(object, pod);
  const annotations = metadata?.annotations;
  if (isObject(annotations)) {
    for (const [key, value] of Object.entries(annotations)) {
      if (key.toLowerCase().startsWith(APPARMOR_ANNOTATION_PREFIX) && value !== 'runtime/default')
        found.push({ path: `${path}/annotations/${escapePointer(key)}`, message: `the annotation ${key} sets the AppArmor profile ${JSON.stringify(value)}` });
    }
  }
  return found;
}

function seLinuxFindings(pod: PodSpecSite): Finding[] {
  return securityContexts(pod).flatMap(({ context, path, who }) => {
    const options = context.seLinuxOptions;
    if (unset(options)) return [];
    if (!isObject(options)) return [{ path: `${path}/seLinuxOptions`, message: `${who} sets seLinuxOptions to ${JSON.stringify(options)}` }];
    const found: Finding[] = [];
    const type = unset(options.type) ? '' : options.type;
    if (typeof type !== 'string' || !SELINUX_ALLOWED_TYPES.includes(type))
      found.push({ path: `${path}/seLinuxOptions/type`, message: `${who} sets the SELinux type ${JSON.stringify(type)}, which is not a container type` });
    for (const field of ['user', 'role']) {
      if (!unset(options[field]) && options[field] !== '')
        found.push({ path: `${path}/seLinuxOptions/${field}`, message: `${who} sets the SELinux ${field} ${JSON.stringify(options[field])}` });
    }
    return found;
  });
}

function hostHandlerFindings(pod: PodSpecSite): Finding[] {
  return containersOf(pod).flatMap((c) => HANDLERS.flatMap((where) => {
    const handler = where.split('/').reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), c.container);
    return ['httpGet', 'tcpSocket'].flatMap((action): Finding[] => {
      const host = isObject(handler) && isObject(handler[action]) ? handler[action].host : undefined;
      return unset(host) || host === ''
        ? []
        : [{ path: `${c.path}/${where}/${action}/host`, message: `the ${where.replace('lifecycle/', '')} ${action} of container ${JSON.stringify(c.container.name ?? null)} targets host ${JSON.stringify(host)}` }];
    });
  }));
}

export const PSS_RULES: Rule[] = [
  podRule('HD023', 'the AppArmor profile is RuntimeDefault or unset (field and beta annotation)',
    'remove appArmorProfile (or set appArmorProfile.type: RuntimeDefault) on the pod and its containers, and remove container.apparmor.security.beta.kubernetes.io/* annotations other than runtime/default',
    appArmorFindings),
  podRule('HD024', 'SELinux options set no user or role, and no type but a container type',
    `remove seLinuxOptions, or keep only level and a type among ${SELINUX_ALLOWED_TYPES.filter(Boolean).join(', ')}`,
    seLinuxFindings),
  podRule('HD025', 'procMount is Default or unset (/proc stays masked)',
    'remove securityContext.procMount (or set it to Default)',
    (pod) => containersOf(pod).flatMap((c) => {
      const value = c.container.securityContext?.procMount;
      return unset(value) || value === 'Default' ? [] : [{ path: `${c.path}/securityContext/procMount`, message: `container ${JSON.stringify(c.container.name ?? null)} sets procMount ${JSON.stringify(value)}, which unmasks /proc` }];
    })),
  podRule('HD026', 'the pod sets no sysctls',
    'remove securityContext.sysctls: tune the node, or let the application live with the defaults',
    (pod) => {
      const sysctls = pod.spec.securityContext?.sysctls;
      if (unset(sysctls) || (Array.isArray(sysctls) && sysctls.length === 0)) return [];
      const names = Array.isArray(sysctls) ? sysctls.map((x: Json) => JSON.stringify(x?.name ?? null)).join(', ') : JSON.stringify(sysctls);
      return [{ path: `${pod.path}/securityContext/sysctls`, message: `the pod sets sysctls (${names})` }];
    }),
  podRule('HD027', 'no Windows HostProcess pod or container',
    'remove securityContext.windowsOptions.hostProcess (pod and containers)',
    (pod) => securityContexts(pod).flatMap(({ context, path, who }) => {
      const hostProcess = context.windowsOptions?.hostProcess;
      return unset(hostProcess) || hostProcess === false ? [] : [{ path: `${path}/windowsOptions/hostProcess`, message: `${who} sets hostProcess ${JSON.stringify(hostProcess)}: it would run as a process on the Windows node` }];
    })),
  podRule('HD028', 'probes and lifecycle hooks do not target another host',
    'remove host from httpGet and tcpSocket in probes and lifecycle hooks: they then reach the pod itself',
    hostHandlerFindings),
];
