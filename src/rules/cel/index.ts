/**
 * CEL for a ValidatingAdmissionPolicy, generated from the one rule list: every validation is keyed
 * by a rule id of `src/rules`, and its message is that rule's id, title and fix, so the cluster says
 * what the synth guard says. A rule that is not generated is listed in {@link CEL_NOT_GENERATED}
 * with the reason; a test checks that every rule id is in exactly one of the two.
 *
 * Only standard CEL is used (`has`, `all`, `exists`, `filter`, `map`, `in`, `size`, `matches`,
 * `startsWith`, ternaries, list concatenation): no Kubernetes library function (no `split`, `join`,
 * `quantity`, `find`), so a plain CEL evaluator can test each expression and the API server runs
 * the same text. Every field access is guarded by `has()`, since a missing key is an evaluation
 * error (which, with `failurePolicy: Fail`, denies the request with a useless message).
 */
import { ADMISSION_POD_SPEC_PATHS, LONG_RUNNING_KINDS } from '../pod-spec';
import { CONTROL_PLANE_TAINTS, FILE_REFERENCE_NAME, FILE_VOLUME_TYPES, MIN_ID, SECRET_FILE_REFERENCE_NAME } from '../pod-rules';
import { DOT_DOT, HOOKS, PORT_HANDLERS, POSITIVE_LIMITS, PROBES, QUANTITY, ROOT_MOUNT, SYSTEM_NAMESPACES, TOKEN_PATH, ZERO_QUANTITY } from '../shape-rules';
import { RULES, ruleById } from '../index';
import { APPARMOR_ANNOTATION_PREFIX, SELINUX_ALLOWED_TYPES } from '../pss-rules';
import {
  DIGEST_PINNED, ENV_PROGRAM, ENV_SPLIT_FLAG, FLOCK_COMMAND_FLAG, FLOCK_PROGRAM, PRIVATE_KEY, REFERENCE_SUFFIX, SECRET_NAME, SECRET_NAME_PART,
  SHELL_STARTER, SHELL_WORD, URL_WITH_PASSWORD,
} from './patterns';

export * as celPatterns from './patterns';

/** A ValidatingAdmissionPolicy `spec.variables` entry. */
export interface CelVariable {
  readonly name: string;
  readonly expression: string;
}

/** A ValidatingAdmissionPolicy `spec.validations` entry. */
export interface CelValidation {
  readonly expression: string;
  /** `<rule id> <title> — <fix>`: shown when `messageExpression` is absent or fails. */
  readonly message: string;
  /** Names the first offending container or volume, then the rule's title and fix. */
  readonly messageExpression?: string;
  readonly reason: 'Forbidden';
}

/** One generated check: the rule (or policy option) it enforces and its validation (a rule may have several). */
export interface GeneratedCheck {
  /** A rule id from `src/rules`, or `NS001` for the allowed-registries option. */
  readonly id: string;
  readonly validation: CelValidation;
}

/** A rule id that has no CEL validation, and why. */
export interface NotGenerated {
  readonly id: string;
  readonly reason: string;
  /** Which guard enforces it instead. */
  readonly enforcedBy: string;
}

export interface CelOptions {
  /**
   * Registry (or registry/repository) prefixes images must come from, e.g. `registry.example.com`
   * or `ghcr.io/acme/`. A bare host gets a trailing `/`. Images must then be written in full
   * (`docker.io/library/nginx@sha256:...`, not `nginx@sha256:...`). @default any registry
   */
  readonly allowedRegistries?: readonly string[];
}

/** The id of the policy-only check behind {@link CelOptions.allowedRegistries}. */
export const ALLOWED_REGISTRIES_ID = 'NS001';

/**
 * What the policy matches, with API group, version and plural resources. The built-in workloads
 * are listed by name; the wildcard line adds every other resource of the namespace (custom
 * resources such as an Argo Rollout or a Knative Service), of which the match conditions keep
 * only those carrying a pod spec at one of {@link CEL_POD_SPEC_PATHS}. `kinds` names the kinds
 * each line stands for (none for the wildcard: any kind with a pod spec at those paths).
 */
export const POLICY_RESOURCES: readonly { readonly apiGroup: string; readonly apiVersion: string; readonly resources: readonly string[]; readonly kinds: readonly string[] }[] = [
  // `pods/ephemeralcontainers` is what `kubectl debug` writes to: its object is the Pod.
  { apiGroup: '', apiVersion: 'v1', resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers'], kinds: ['Pod', 'ReplicationController'] },
  { apiGroup: 'apps', apiVersion: 'v1', resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], kinds: ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'] },
  { apiGroup: 'batch', apiVersion: 'v1', resources: ['jobs', 'cronjobs'], kinds: ['Job', 'CronJob'] },
  // `*` covers resources, not subresources: status and scale updates stay out.
  { apiGroup: '*', apiVersion: '*', resources: ['*'], kinds: [] },
];

/**
 * Where the policy looks for a pod spec, in this order (the first that lists containers is
 * judged; an object with more than one is refused, HD034). The JS rules search every object
 * everywhere; standard CEL has no recursion, so the policy looks where workloads keep one.
 */
export const CEL_POD_SPEC_PATHS = ADMISSION_POD_SPEC_PATHS;

const POD_SPEC_LISTS = ['containers', 'initContainers', 'ephemeralContainers'];

/** `root.a.b...` and a guard that is true only when every step is a map (so no access can fail, whatever the object). */
function mapAt(root: string, path: readonly string[]): { at: string; guard: string } {
  const guards: string[] = [];
  let at = root;
  for (const step of path) {
    guards.push(`has(${at}.${step})`);
    at = `${at}.${step}`;
    guards.push(`type(${at}) == map`);
  }
  return { at, guard: guards.join(' && ') };
}

/** The guard of a pod spec at `path`: a map that lists containers, as the JS rules' `looksLikePodSpec`. */
function podSpecAt(root: string, path: readonly string[]): { at: string; guard: string } {
  const { at, guard } = mapAt(root, path);
  const lists = POD_SPEC_LISTS.map((k) => `(has(${at}.${k}) && type(${at}.${k}) == list)`).join(' || ');
  return { at, guard: `${guard} && (${lists})` };
}

/** True when the object has a pod spec where the policy looks. */
const hasPodSpec = (root: string) => `(${CEL_POD_SPEC_PATHS.map((p) => `(${podSpecAt(root, p).guard})`).join(' || ')})`;

/** The object's pod spec (the first of {@link CEL_POD_SPEC_PATHS} that lists containers), or `{}`. */
function podSpecOf(root: string): string {
  return `(${CEL_POD_SPEC_PATHS.map((p) => { const s = podSpecAt(root, p); return `(${s.guard}) ? ${s.at} : `; }).join('')}{})`;
}

/** The annotations in the metadata beside the pod spec of {@link podSpecOf} (the same order), or `{}`. */
function podAnnotationsOf(root: string): string {
  return `(${CEL_POD_SPEC_PATHS.map((p) => {
    const annotations = mapAt(root, [...p.slice(0, -1), 'metadata', 'annotations']);
    return `(${podSpecAt(root, p).guard}) ? ((${annotations.guard}) ? ${annotations.at} : {}) : `;
  }).join('')}{})`;
}

const listOrEmpty = (x: string) => `(has(${x}) ? ${x} : [])`;

/**
 * Variables every validation uses, so the pod spec is found once per request whatever the kind.
 * Evaluated lazily by the API server, in order; later ones use earlier ones.
 */
export const POD_VARIABLES: readonly CelVariable[] = [
  { name: 'podSpec', expression: podSpecOf('object') },
  { name: 'podSecurityContext', expression: 'has(variables.podSpec.securityContext) ? variables.podSpec.securityContext : {}' },
  /** Containers and init containers: those that have resources and run the workload. */
  { name: 'containers', expression: `${listOrEmpty('variables.podSpec.containers')} + ${listOrEmpty('variables.podSpec.initContainers')}` },
  /** Plus ephemeral (debug) containers. */
  { name: 'allContainers', expression: `variables.containers + ${listOrEmpty('variables.podSpec.ephemeralContainers')}` },
  { name: 'volumes', expression: 'has(variables.podSpec.volumes) ? variables.podSpec.volumes : []' },
  /** The pod's annotations: beside the pod spec the policy judges (a bare Pod's own, a template's). */
  { name: 'podAnnotations', expression: podAnnotationsOf('object') },
];

/** A ValidatingAdmissionPolicy `spec.matchConditions` entry. */
export interface CelMatchCondition {
  readonly name: string;
  readonly expression: string;
}

/**
 * Checks a request only when the object is namespaced and carries a pod spec (the wildcard line of
 * {@link POLICY_RESOURCES} brings every resource of the namespace, and a binding's namespace
 * selector never skips cluster-scoped objects: those are left alone), and only when it creates the
 * object or changes its pod spec. An update that leaves the pod spec alone (scale, labels,
 * finalizers, a controller's bookkeeping) changes nothing the rules look at; checking it anyway
 * would lock controllers out of objects that existed before the policy (they could never remove a
 * finalizer). Every change to a pod spec is still checked.
 */
export const POD_MATCH_CONDITIONS: readonly CelMatchCondition[] = [
  // A cluster-scoped request has no `namespace` key at all (reading it would be an error, and under
  // `failurePolicy: Fail` every cluster-scoped write of the cluster would be denied): ask has() first.
  { name: 'namespaced-with-a-pod-spec', expression: `has(request.namespace) && request.namespace != '' && ${hasPodSpec('object')}` },
  { name: 'creates-or-changes-the-pod-spec', expression: `request.operation != 'UPDATE' || ${podSpecOf('object')} != ${podSpecOf('oldObject')}` },
];

/** A CEL string literal. */
export function celString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** `has(a.b) && has(a.b.c) && ...`: true when every step of the path is present. */
function present(root: string, ...path: string[]): string {
  const out: string[] = [];
  let at = root;
  for (const p of path) {
    at = `${at}.${p}`;
    out.push(`has(${at})`);
  }
  return out.join(' && ');
}

/** A container's field if set, else the pod's: `effective()` of the JS rules. */
function effective(field: string, test: (x: string) => string): string {
  return `(${present('c', 'securityContext', field)}) ? ${test(`c.securityContext.${field}`)} : (${present('variables.podSecurityContext', field)} && ${test(`variables.podSecurityContext.${field}`)})`;
}

/**
 * True when an argv (a CEL list of strings) runs no shell: the JS rule's `shellProblem`, element by
 * element with the same patterns (a shell named anywhere, a program that starts one, `env -S`,
 * `flock -c`), so a wrapper in front hides nothing from either.
 */
function noShell(argv: string): string {
  const any = (pattern: string) => `${argv}.exists(a, a.matches(${celString(pattern)}))`;
  return `!${any(SHELL_WORD)} && !${any(SHELL_STARTER)}`
    + ` && !(${any(ENV_PROGRAM)} && ${any(ENV_SPLIT_FLAG)}) && !(${any(FLOCK_PROGRAM)} && ${any(FLOCK_COMMAND_FLAG)})`;
}

/** `noShell` of an exec handler's command (a probe's or a hook's), when there is one. */
function noShellAt(...path: string[]): string {
  return `(!(${present('c', ...path, 'exec', 'command')}) || (${noShell(['c', ...path, 'exec', 'command'].join('.'))}))`;
}

/** Over a securityContext `x` (the pod's or a container's) that may lack `field`: `test` holds, or the field is unset. */
function unsetOr(x: string, field: string, test: (f: string) => string): string {
  return `(!has(${x}.${field}) || ${test(`${x}.${field}`)})`;
}

/** The same over a container's securityContext, which may itself be missing. */
function containerUnsetOr(field: string, test: (f: string) => string): string {
  return `(!has(c.securityContext) || ${unsetOr('c.securityContext', field, test)})`;
}

const POD_SC = 'variables.podSecurityContext';
const appArmorOk = (p: string) => `(has(${p}.type) && ${p}.type == 'RuntimeDefault')`;
const seLinuxOk = (o: string) => `(${unsetOr(o, 'type', (t) => `${t} in [${SELINUX_ALLOWED_TYPES.map(celString).join(', ')}]`)}`
  + ` && ${unsetOr(o, 'user', (u) => `${u} == ''`)} && ${unsetOr(o, 'role', (r) => `${r} == ''`)})`;
const hostProcessOk = (w: string) => unsetOr(w, 'hostProcess', (h) => `${h} == false`);
const noHost = (...path: string[]) => ['httpGet', 'tcpSocket']
  .map((a) => `!(${present('c', ...path, a, 'host')} && ${['c', ...path, a, 'host'].join('.')} != '')`).join(' && ');

/** A `*_FILE` env value is an absolute path without `..`; a secret-named one's inside a Secret, ConfigMap or projected volume the container mounts. */
const FILE_REFERENCES_OK = `!has(c.env) || c.env.all(e, !has(e.name) || type(e.name) != string || !e.name.matches(${celString(FILE_REFERENCE_NAME)}) || !has(e.value)`
  + ` || (type(e.value) == string && e.value.startsWith('/') && !e.value.matches(${celString(DOT_DOT)}) && (!e.name.matches(${celString(SECRET_FILE_REFERENCE_NAME)}) || has(c.volumeMounts) && c.volumeMounts.exists(m,`
  + ' has(m.mountPath) && type(m.mountPath) == string && has(m.name)'
  + " && (e.value == m.mountPath || e.value.startsWith(m.mountPath.endsWith('/') ? m.mountPath : m.mountPath + '/'))"
  + ` && variables.volumes.exists(v, has(v.name) && v.name == m.name && (${FILE_VOLUME_TYPES.map((t) => `has(v.${t})`).join(' || ')}))))))`;

/** A key path of volume `v` (its `items[].path`) lands at or under the token directory when mounted by `m`. */
const itemsOn = (src: string) => `(has(${src}) && type(${src}) == map && has(${src}.items) && ${src}.items.exists(i, has(i.path) && type(i.path) == string && (m.mountPath + '/' + i.path).matches(${celString(TOKEN_PATH)})))`;
const ITEMS_LAND_ON_TOKEN = `${itemsOn('v.secret')} || ${itemsOn('v.configMap')}`
  + ` || (has(v.projected) && has(v.projected.sources) && v.projected.sources.exists(s, ${itemsOn('s.secret')} || ${itemsOn('s.configMap')}))`;

/** A valid, non-negative quantity: an int or double >= 0, or a string in the quantity grammar that is not negative. */
function quantityOk(q: string): string {
  return `(type(${q}) == int ? ${q} >= 0 : type(${q}) == double ? ${q} >= 0.0 : (type(${q}) == string && ${q}.matches(${celString(QUANTITY)})`
    + ` && !(${q}.startsWith('-') && !${q}.matches(${celString(ZERO_QUANTITY)}))))`;
}
/** A quantity that is not zero (for a limit of memory or ephemeral storage, or an emptyDir size: 0 means no limit). */
function quantityNotZero(q: string): string {
  return `(type(${q}) == int ? ${q} != 0 : type(${q}) == double ? ${q} != 0.0 : !(type(${q}) == string && ${q}.matches(${celString(ZERO_QUANTITY)})))`;
}
/** Every request and limit of a `resources` map is a valid quantity, and memory and ephemeral-storage limits are not zero. */
function resourcesOk(r: string): string {
  return `(!has(${r}.requests) || ${r}.requests.all(k, ${quantityOk(`${r}.requests[k]`)}))`
    + ` && (!has(${r}.limits) || ${r}.limits.all(k, ${quantityOk(`${r}.limits[k]`)} && (!(k in [${POSITIVE_LIMITS.map(celString).join(', ')}]) || ${quantityNotZero(`${r}.limits[k]`)})))`;
}

/** How one rule is checked: over each container of a list, over each volume, or once per pod. */
type RuleCel =
  | { readonly each: 'containers' | 'allContainers'; readonly ok: string }
  | { readonly each: 'volumes'; readonly ok: string }
  | { readonly pod: string };

const SECURITY = (f: string) => present('c', 'securityContext', f);
const READ_ONLY_TYPES = ['configMap', 'secret', 'projected', 'downwardAPI'];
const SAFE_VOLUME_TYPES = ['emptyDir', 'persistentVolumeClaim', 'configMap', 'secret', 'projected', 'downwardAPI', 'ephemeral'];

/** The CEL of each generated rule, keyed by rule id. `c` is a container, `v` a volume. */
const RULE_CEL: Readonly<Record<string, RuleCel | readonly RuleCel[]>> = {
  HD001: [
    { each: 'allContainers', ok: effective('runAsNonRoot', (x) => `${x} == true`) },
    { pod: unsetOr(POD_SC, 'runAsNonRoot', (x) => `${x} == true`) },
  ],
  HD002: [
    { each: 'allContainers', ok: `(${effective('runAsUser', (x) => `${x} >= ${MIN_ID}`)}) && (${effective('runAsGroup', (x) => `${x} >= ${MIN_ID}`)})` },
    { pod: ['runAsUser', 'runAsGroup', 'fsGroup'].map((f) => unsetOr(POD_SC, f, (x) => `${x} >= ${MIN_ID}`)).join(' && ')
      + ` && ${unsetOr(POD_SC, 'supplementalGroups', (x) => `${x}.all(g, g >= ${MIN_ID})`)}` },
  ],
  HD003: { each: 'allContainers', ok: `has(c.image) && c.image.matches(${celString(DIGEST_PINNED)})` },
  HD004: { each: 'allContainers', ok: `${SECURITY('readOnlyRootFilesystem')} && c.securityContext.readOnlyRootFilesystem == true` },
  HD005: { each: 'allContainers', ok: `${SECURITY('allowPrivilegeEscalation')} && c.securityContext.allowPrivilegeEscalation == false` },
  HD006: { each: 'allContainers', ok: `!(${SECURITY('privileged')} && c.securityContext.privileged == true)` },
  HD007: {
    each: 'allContainers',
    ok: `${present('c', 'securityContext', 'capabilities', 'drop')} && c.securityContext.capabilities.drop.exists(d, d == 'ALL')`
      + ` && (!has(c.securityContext.capabilities.add) || c.securityContext.capabilities.add.all(a, a == 'NET_BIND_SERVICE'`
      + ' && has(c.ports) && c.ports.exists(p, has(p.containerPort) && p.containerPort < 1024)))',
  },
  HD008: [
    { each: 'allContainers', ok: effective('seccompProfile', (x) => `has(${x}.type) && ${x}.type == 'RuntimeDefault'`) },
    { pod: unsetOr(POD_SC, 'seccompProfile', (x) => `has(${x}.type) && ${x}.type == 'RuntimeDefault'`) },
  ],
  HD009: { pod: ['hostNetwork', 'hostPID', 'hostIPC'].map((f) => `!(has(variables.podSpec.${f}) && variables.podSpec.${f} == true)`).join(' && ') },
  HD039: { pod: '!(has(variables.podSpec.shareProcessNamespace) && variables.podSpec.shareProcessNamespace == true)' },
  // A bound Pod carries the nodeName the scheduler gave it: only a create (or an update that sets it) is refused.
  HD040: { pod: `!has(variables.podSpec.nodeName) || variables.podSpec.nodeName == '' || (request.operation == 'UPDATE' && has(${podSpecOf('oldObject')}.nodeName) && ${podSpecOf('oldObject')}.nodeName == variables.podSpec.nodeName)` },
  HD041: { pod: `!has(variables.podSpec.tolerations) || variables.podSpec.tolerations.all(t, !((!has(t.key) || t.key == '') && has(t.operator) && t.operator == 'Exists') && !(has(t.key) && t.key in [${CONTROL_PLANE_TAINTS.map(celString).join(", ")}]))` },
  HD042: { pod: "!has(variables.podSpec.priorityClassName) || !(type(variables.podSpec.priorityClassName) == string && variables.podSpec.priorityClassName.startsWith('system-'))" },
  HD010: { each: 'volumes', ok: '!has(v.hostPath)' },
  HD011: { each: 'allContainers', ok: '!has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0)' },
  // Every key is a volume source but `name`: each must be a safe one (hostPath is HD010's), and there is exactly one.
  HD012: { each: 'volumes', ok: `v.all(k, k in [${['name', ...SAFE_VOLUME_TYPES, 'hostPath'].map(celString).join(', ')}]) && v.exists_one(k, k != 'name')` },
  HD013: { each: 'volumes', ok: '!has(v.emptyDir) || has(v.emptyDir.sizeLimit)' },
  HD014: {
    each: 'containers',
    ok: `${present('c', 'resources', 'requests')} && ['cpu', 'memory', 'ephemeral-storage'].all(k, k in c.resources.requests)`
      + ` && has(c.resources.limits) && ['memory', 'ephemeral-storage'].all(k, k in c.resources.limits)`,
  },
  HD015: { pod: 'has(variables.podSpec.automountServiceAccountToken) && variables.podSpec.automountServiceAccountToken == false' },
  HD016: {
    each: 'allContainers',
    ok: `(${noShell('((has(c.command) ? c.command : []) + (has(c.args) ? c.args : []))')})`
      + ['livenessProbe', 'readinessProbe', 'startupProbe'].map((p) => ` && ${noShellAt(p)}`).join('')
      + ['postStart', 'preStop'].map((h) => ` && ${noShellAt('lifecycle', h)}`).join(''),
  },
  HD017: {
    each: 'allContainers',
    ok: '(!has(c.env) || c.env.all(e, !(has(e.valueFrom) && has(e.valueFrom.secretKeyRef)))) && (!has(c.envFrom) || c.envFrom.all(e, !has(e.secretRef)))',
  },
  HD018: [
    {
      each: 'allContainers',
      ok: '!has(c.env) || c.env.all(e, !has(e.value) || e.value == \'\' || !('
        + `e.value.matches(${celString(PRIVATE_KEY)}) || e.value.matches(${celString(URL_WITH_PASSWORD)})`
        + ` || ((e.name.matches(${celString(SECRET_NAME)}) || e.name.matches(${celString(SECRET_NAME_PART)})) && !e.name.matches(${celString(REFERENCE_SUFFIX)}))))`,
    },
    { each: 'allContainers', ok: FILE_REFERENCES_OK },
  ],
  HD019: {
    pod: `!(object.kind in [${[...LONG_RUNNING_KINDS].map(celString).join(', ')}]) || variables.podSpec.containers.all(c, has(c.readinessProbe) && has(c.livenessProbe))`,
  },
  HD021: {
    each: 'allContainers',
    ok: '!has(c.volumeMounts) || c.volumeMounts.all(m, (has(m.readOnly) && m.readOnly == true) || !variables.volumes.exists(v, v.name == m.name && ('
      + READ_ONLY_TYPES.map((t) => `has(v.${t})`).join(' || ') + ')))',
  },
  HD023: [
    { each: 'allContainers', ok: containerUnsetOr('appArmorProfile', appArmorOk) },
    { pod: unsetOr(POD_SC, 'appArmorProfile', appArmorOk) },
    {
      pod: `variables.podAnnotations.all(k, !k.matches(${celString(`(?i)^${APPARMOR_ANNOTATION_PREFIX.replace(/\./g, '\\.')}`)})`
        + " || variables.podAnnotations[k] == 'runtime/default')",
    },
  ],
  HD024: [
    { each: 'allContainers', ok: containerUnsetOr('seLinuxOptions', seLinuxOk) },
    { pod: unsetOr(POD_SC, 'seLinuxOptions', seLinuxOk) },
  ],
  HD025: { each: 'allContainers', ok: containerUnsetOr('procMount', (x) => `${x} == 'Default'`) },
  HD026: { pod: unsetOr(POD_SC, 'sysctls', (x) => `size(${x}) == 0`) },
  HD027: [
    { each: 'allContainers', ok: `(!has(c.securityContext) || ${unsetOr('c.securityContext', 'windowsOptions', hostProcessOk)})` },
    { pod: unsetOr(POD_SC, 'windowsOptions', hostProcessOk) },
  ],
  HD028: {
    each: 'allContainers',
    ok: [['livenessProbe'], ['readinessProbe'], ['startupProbe'], ['lifecycle', 'postStart'], ['lifecycle', 'preStop']].map((p) => noHost(...p)).join(' && '),
  },
  HD029: { pod: `!has(object.metadata.namespace) || !(object.metadata.namespace in [${SYSTEM_NAMESPACES.map(celString).join(', ')}])` },
  HD032: [
    { each: 'volumes', ok: '!has(v.projected) || !has(v.projected.sources) || v.projected.sources.all(s, !has(s.serviceAccountToken))' },
    {
      each: 'allContainers',
      ok: '!has(c.volumeMounts) || c.volumeMounts.all(m, !has(m.mountPath) || type(m.mountPath) != string'
        + ` || (!m.mountPath.matches(${celString(TOKEN_PATH)}) && !(has(m.name) && variables.volumes.exists(v, has(v.name) && v.name == m.name && (${ITEMS_LAND_ON_TOKEN})))))`,
    },
  ],
  HD034: { pod: `size([${CEL_POD_SPEC_PATHS.map((p) => podSpecAt('object', p).guard).join(', ')}].filter(b, b)) <= 1` },
  HD035: [
    { each: 'allContainers', ok: `!has(c.resources) || (${resourcesOk('c.resources')})` },
    { each: 'volumes', ok: `!has(v.emptyDir) || !has(v.emptyDir.sizeLimit) || (${quantityOk('v.emptyDir.sizeLimit')} && ${quantityNotZero('v.emptyDir.sizeLimit')})` },
    { pod: `!has(variables.podSpec.resources) || (${resourcesOk('variables.podSpec.resources')})` },
  ],
  HD036: {
    each: 'allContainers',
    ok: '!has(c.volumeMounts) || c.volumeMounts.all(m, has(m.mountPath) && type(m.mountPath) == string && m.mountPath.startsWith(\'/\')'
      + ` && !m.mountPath.matches(${celString(ROOT_MOUNT)}) && !m.mountPath.matches(${celString(DOT_DOT)})`
      + ['subPath', 'subPathExpr'].map((f) => ` && (!has(m.${f}) || type(m.${f}) != string || (!m.${f}.startsWith('/') && !m.${f}.matches(${celString(DOT_DOT)})))`).join('')
      + ')',
  },
  HD037: {
    each: 'allContainers',
    ok: [...PROBES.map((p) => ['c', p]), ...HOOKS.map((h) => ['c', 'lifecycle', h])]
      .flatMap((at) => PORT_HANDLERS.map((h) => [...at, h, 'port']))
      .map((path) => {
        const port = path.join('.');
        return `(!(${present(path[0]!, ...path.slice(1))}) || type(${port}) != string || (has(c.ports) && c.ports.exists(p, has(p.name) && p.name == ${port})))`;
      })
      .join(' && '),
  },
};

/** Rules with no CEL validation, and why. Pod Security `restricted` is not a reason: it only warns on Deployments. */
export const CEL_NOT_GENERATED: readonly NotGenerated[] = [
  {
    id: 'HD020',
    reason: 'readOnlyRootFilesystem, allowPrivilegeEscalation, capabilities and privileged are not fields of PodSecurityContext: the API server drops them while decoding (or refuses them under strict field validation) before admission runs, so no policy can ever see them.',
    enforcedBy: 'construct validation, cdk8s synth plugin, cleanimg-customize check; in the cluster, the API schema (kubectl --validate=strict)',
  },
  {
    id: 'HD022',
    reason: 'a workload without a pod template, without a selector or with a selector its template labels do not match is refused by the API server\'s own validation before admission runs, so a policy would never see one.',
    enforcedBy: 'construct validation, cdk8s synth plugin, cleanimg-customize check; in the cluster, the API server\'s validation',
  },
  {
    id: 'HD030',
    reason: 'the rule is about manifests committed to Git; a Secret in the cluster carries its data by definition (External Secrets, Sealed Secrets and operators create exactly such Secrets).',
    enforcedBy: 'construct validation, cdk8s synth plugin, cleanimg-customize check',
  },
  {
    id: 'HD031',
    reason: 'the check of KEY=value files inside a ConfigMap needs to split the value into lines and test each captured name, and binaryData must be base64-decoded first, neither of which standard CEL can do (they need the Kubernetes strings/regex and encoder extensions); a partial check would disagree with the synth guard.',
    enforcedBy: 'construct validation, cdk8s synth plugin, cleanimg-customize check',
  },
  {
    id: 'HD033',
    reason: 'the rule is about the text of a manifest, which the API server never sees: by admission Go has already decoded it (a divergence is then the object itself), and a string with a lone surrogate cannot reach the server at all (neither YAML nor JSON in UTF-8 can carry it).',
    enforcedBy: "construct validation, HardenedApp's writer, cdk8s synth plugin, cleanimg-customize check",
  },
  {
    id: 'HD038',
    reason: 'the API server defaults a Job\'s backoffLimit to 6 and refuses restartPolicy Always before admission runs, so a policy can never tell a Job that asked for six retries from one that said nothing.',
    enforcedBy: 'construct validation, cdk8s synth plugin, cleanimg-customize check, Pulumi policy pack; in the cluster, the API server\'s validation (restartPolicy)',
  },
  {
    id: 'HD043',
    reason: 'a Namespace is cluster-scoped and the policy is bound to the objects inside its namespace, so the Namespace object (and its Pod Security labels) is never judged by it; changing the labels later is an RBAC matter (a workload of a hardened namespace has no grant on namespaces, NS011).',
    enforcedBy: 'construct validation, cdk8s synth plugin, cleanimg-customize check, Pulumi policy pack',
  },
  {
    id: 'HD044',
    reason: 'the policy, its binding and the signature policies are cluster-scoped and the default-deny NetworkPolicy is not a pod: none of them is judged by a policy bound to the pods of the namespace, and a policy cannot guard its own binding.',
    enforcedBy: 'construct validation, cdk8s synth plugin, cleanimg-customize check, Pulumi policy pack',
  },
  {
    id: 'HD045',
    reason: 'a PersistentVolume is cluster-scoped and the policy is bound to the objects inside its namespace, so it never sees one; the pod names only a claim, and which volume backs it is decided after admission (Pod Security does not look at PersistentVolumes either).',
    enforcedBy: 'HardenedApp, cdk8s synth plugin, cleanimg-customize check, Pulumi policy pack',
  },
  {
    id: 'HD046',
    reason: 'mutating webhooks and admission policies, their bindings and RuntimeClasses are cluster-scoped, and a Kyverno or Gatekeeper policy carries no pod spec, so the policy bound to the namespace never matches them; in a hardened namespace it and Pod Security still judge each pod after every mutation (validation runs last), but a mutator reaches the pods of every namespace.',
    enforcedBy: 'HardenedApp, cdk8s synth plugin, cleanimg-customize check, Pulumi policy pack',
  },
];

function normalizePrefix(prefix: string): string {
  return prefix.includes('/') ? prefix : `${prefix}/`;
}

function validationFor(id: string, title: string, fix: string, cel: RuleCel): CelValidation {
  const message = `${id} ${title} — ${fix}`;
  if ('pod' in cel) return { expression: cel.pod, message, reason: 'Forbidden' };
  const list = `variables.${cel.each}`;
  const v = cel.each === 'volumes' ? 'v' : 'c';
  const what = cel.each === 'volumes' ? 'volume' : 'container';
  return {
    expression: `${list}.all(${v}, ${cel.ok})`,
    message,
    messageExpression: `${celString(`${id} ${what} `)} + string(${list}.filter(${v}, !(${cel.ok})).map(${v}, ${v}.name)[0]) + ${celString(`: ${title} — ${fix}`)}`,
    reason: 'Forbidden',
  };
}

/** The ids of the rules that have a CEL validation. */
export const CEL_GENERATED_IDS: readonly string[] = Object.keys(RULE_CEL);

/**
 * The validations of the hardening policy, in rule order: one per generated rule, plus `NS001`
 * when `allowedRegistries` is given.
 */
/**
 * The spec of a namespace's ValidatingAdmissionPolicy for `checks` (from {@link celChecks}): what
 * HardenedNamespace writes, and what HD044 compares a written policy with.
 */
export function policySpec(checks: readonly GeneratedCheck[]): { failurePolicy: 'Fail'; matchConstraints: unknown; matchConditions: unknown[]; variables: unknown[]; validations: unknown[] } {
  return {
    failurePolicy: 'Fail',
    matchConstraints: {
      resourceRules: POLICY_RESOURCES.map((r) => ({ apiGroups: [r.apiGroup], apiVersions: [r.apiVersion], operations: ['CREATE', 'UPDATE'], resources: [...r.resources] })),
    },
    matchConditions: POD_MATCH_CONDITIONS.map((m) => ({ name: m.name, expression: m.expression })),
    variables: POD_VARIABLES.map((v) => ({ name: v.name, expression: v.expression })),
    validations: checks.map((c) => ({ ...c.validation })),
  };
}

export function celChecks(options: CelOptions = {}): GeneratedCheck[] {
  const out: GeneratedCheck[] = [];
  for (const rule of RULES) {
    const cel = RULE_CEL[rule.id];
    if (!cel) continue;
    for (const one of Array.isArray(cel) ? cel : [cel]) out.push({ id: rule.id, validation: validationFor(rule.id, rule.title, rule.fix, one) });
    if (rule.id === 'HD003' && options.allowedRegistries?.length) {
      const prefixes = options.allowedRegistries.map(normalizePrefix);
      out.push({
        id: ALLOWED_REGISTRIES_ID,
        validation: validationFor(ALLOWED_REGISTRIES_ID, `images come from an allowed registry (${prefixes.join(', ')})`,
          'push the image to an allowed registry (cleanimg-customize build can copy it) and reference it there by digest, written in full',
          { each: 'allContainers', ok: `has(c.image) && [${prefixes.map(celString).join(', ')}].exists(r, c.image.startsWith(r))` }),
      });
    }
  }
  return out;
}

/** For docs and tests: every rule id, and whether the policy checks it. */
export function celCoverage(): { generated: string[]; notGenerated: NotGenerated[]; unknown: string[] } {
  const generated = RULES.filter((r) => RULE_CEL[r.id]).map((r) => r.id);
  const notGenerated = CEL_NOT_GENERATED.filter((n) => ruleById(n.id));
  const accounted = new Set([...generated, ...notGenerated.map((n) => n.id)]);
  return { generated, notGenerated, unknown: RULES.map((r) => r.id).filter((id) => !accounted.has(id)) };
}
