/**
 * Rules about the guards themselves: the objects that make a namespace enforce the other rules. An
 * escape hatch on them (a JSON patch, a Pulumi transformation) or a hand-written look-alike would
 * switch enforcement off while every pod spec still passes:
 *
 * - HD043: a Namespace does not weaken Pod Security (its `enforce` label, when present, is
 *   `restricted`, at a version no older than MIN_POD_SECURITY_VERSION; cleanimg's namespaces always carry it);
 * - HD044: cleanimg's guard objects are as cleanimg writes them: the admission policy (failurePolicy
 *   Fail, the generated validations) and its binding (Deny, bound to its namespace), the default-deny
 *   NetworkPolicy, and the signature policies (enforcing).
 */
// A cycle (the CEL module reads the rule list); both sides use the other only inside functions.
import { celChecks, policySpec } from './cel';
import { groupOf } from './pod-spec';
import type { Finding, Json, KubeObject, Rule } from './rule';

const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
const ENFORCE_VERSION_LABEL = 'pod-security.kubernetes.io/enforce-version';
/**
 * The oldest Pod Security version whose restricted profile holds every restricted check but one: a
 * namespace may pin it or a later one (or `latest`). Older versions drop checks: runAsUser 0 came in
 * v1.23, capabilities in v1.22, seccomp in v1.19, allowPrivilegeEscalation in v1.8. (v1.34 added the
 * probe-host check; HD028 holds it for every version.)
 */
export const MIN_POD_SECURITY_VERSION = 'v1.25';

/** Whether a Pod Security version label value is older than {@link MIN_POD_SECURITY_VERSION} (not a version at all counts as older: the API server then uses latest, but a writer meant something else). */
export function podSecurityVersionTooOld(v: unknown): boolean {
  if (v === 'latest') return false;
  const m = typeof v === 'string' ? /^v1\.(\d{1,3})$/.exec(v) : null;
  return !m || Number(m[1]) < Number(MIN_POD_SECURITY_VERSION.slice(3));
}
/** The label every namespace carries with its own name (core/namespace.ts's NAMESPACE_NAME_LABEL; not imported: the core imports the rules). */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
const MANAGED_BY = 'app.kubernetes.io/managed-by';
const HARDENING_PREFIX = 'cleanimg-hardening.';
const SIGNATURES_PREFIX = 'cleanimg-signatures.';

const labelsOf = (o: KubeObject): Record<string, unknown> => {
  const l = (o.metadata as Json | undefined)?.labels;
  return l && typeof l === 'object' ? l : {};
};
const managed = (o: KubeObject) => labelsOf(o)[MANAGED_BY] === 'cleanimg';
const nameOf = (o: KubeObject) => (typeof o.metadata?.name === 'string' ? o.metadata.name : '');
/** JSON with object keys sorted and undefined members left out: writers (cdk8s) may reorder keys, never list items. */
export const canonical = (v: unknown): unknown => (Array.isArray(v) ? v.map(canonical)
  : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().filter((k) => (v as Json)[k] !== undefined).map((k) => [k, canonical((v as Json)[k])])) : v);
const same = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
/** `kind` of the API group `group` (an object without apiVersion is taken at its word). */
const isKind = (o: KubeObject, kind: string, group: string) => o.kind === kind && (o.apiVersion === undefined || groupOf(o.apiVersion) === group);

function namespaceFindings(o: KubeObject): Finding[] {
  if (!isKind(o, 'Namespace', '')) return [];
  const labels = labelsOf(o);
  const enforce = labels[ENFORCE_LABEL];
  if (enforce !== undefined && enforce !== 'restricted')
    return [{ path: `/metadata/labels/${ENFORCE_LABEL.replace('/', '~1')}`, message: `Pod Security enforces ${JSON.stringify(enforce)} in this namespace: its pods may run as root, privileged, on the host's namespaces` }];
  if (enforce === undefined && managed(o))
    return [{ path: '/metadata/labels', message: `a namespace cleanimg writes has lost its ${ENFORCE_LABEL} label: Pod Security no longer enforces anything in it` }];
  const version = labels[ENFORCE_VERSION_LABEL];
  if (enforce !== undefined && version !== undefined && podSecurityVersionTooOld(version))
    return [{ path: `/metadata/labels/${ENFORCE_VERSION_LABEL.replace('/', '~1')}`, message: `Pod Security enforces the restricted profile of ${JSON.stringify(version)}, older than ${MIN_POD_SECURITY_VERSION}: it lacks checks added since (root UIDs, capabilities, seccomp)` }];
  return [];
}

/** The policy spec cleanimg generates without allowedRegistries (computed once: the CEL module reads this rule list, so not at load). */
let generated: ReturnType<typeof policySpec> | undefined;
const generatedPolicy = () => (generated ??= policySpec(celChecks({})));

function admissionFindings(o: KubeObject): Finding[] {
  const name = nameOf(o);
  const spec = (o as Json).spec ?? {};
  // Ours by name, or (a renamed binding) by the policy it binds.
  const boundToOurs = typeof spec.policyName === 'string' && spec.policyName.startsWith(HARDENING_PREFIX);
  if (!name.startsWith(HARDENING_PREFIX) && !boundToOurs) return [];
  const out: Finding[] = [];
  if (isKind(o, 'ValidatingAdmissionPolicyBinding', 'admissionregistration.k8s.io')) {
    const actions: unknown[] = Array.isArray(spec.validationActions) ? spec.validationActions : [];
    if (!actions.includes('Deny')) out.push({ path: '/spec/validationActions', message: `the binding's validationActions are ${JSON.stringify(spec.validationActions ?? null)}: the namespace's admission policy refuses nothing` });
    if (spec.policyName !== name) out.push({ path: '/spec/policyName', message: `the binding names the policy ${JSON.stringify(spec.policyName ?? null)}, not ${name}` });
    const ns = (boundToOurs ? spec.policyName as string : name).slice(HARDENING_PREFIX.length);
    if (!same(spec.matchResources, { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: ns } } }) || spec.paramRef !== undefined)
      out.push({ path: '/spec/matchResources', message: `the binding no longer selects exactly the namespace ${ns}` });
  } else if (isKind(o, 'ValidatingAdmissionPolicy', 'admissionregistration.k8s.io') && name.startsWith(HARDENING_PREFIX)) {
    if (spec.failurePolicy !== 'Fail') out.push({ path: '/spec/failurePolicy', message: `failurePolicy is ${JSON.stringify(spec.failurePolicy ?? null)}: a check that errors would admit the request` });
    const { validations: expectedValidations, failurePolicy: _f, ...rest } = generatedPolicy();
    // NS001 (allowedRegistries) is the one validation that depends on the namespace's props.
    const validations: unknown[] = (Array.isArray(spec.validations) ? spec.validations : []).filter((v: Json) => !(typeof v?.message === 'string' && v.message.startsWith('NS001 ')));
    if (!same(validations, expectedValidations)) out.push({ path: '/spec/validations', message: 'the policy\'s validations are not the ones this version of cleanimg generates from its rule list: one was removed, loosened or added (or the manifest predates an upgrade: synthesize it again)' });
    for (const [k, v] of Object.entries(rest))
      if (!same(spec[k], v)) out.push({ path: `/spec/${k}`, message: `the policy's ${k} is not the generated one: requests it should judge may escape it` });
  }
  return out;
}

function networkFindings(o: KubeObject): Finding[] {
  if (!isKind(o, 'NetworkPolicy', 'networking.k8s.io') || nameOf(o) !== 'default-deny' || !managed(o)) return [];
  return same((o as Json).spec, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }) ? []
    : [{ path: '/spec', message: 'the namespace\'s default-deny NetworkPolicy no longer denies all ingress and egress of every pod' }];
}

function signatureFindings(o: KubeObject): Finding[] {
  if (!nameOf(o).startsWith(SIGNATURES_PREFIX)) return [];
  const spec = (o as Json).spec ?? {};
  const out: Finding[] = [];
  if (isKind(o, 'ClusterImagePolicy', 'policy.sigstore.dev')) {
    if (spec.mode !== undefined && spec.mode !== 'enforce') out.push({ path: '/spec/mode', message: `mode is ${JSON.stringify(spec.mode)}: unsigned images are admitted with a warning` });
  } else if (isKind(o, 'ClusterPolicy', 'kyverno.io')) {
    if (spec.validationFailureAction !== undefined && !/^enforce$/i.test(String(spec.validationFailureAction))) out.push({ path: '/spec/validationFailureAction', message: `validationFailureAction is ${JSON.stringify(spec.validationFailureAction)}: unsigned images are only reported` });
    if (spec.validationFailureActionOverrides !== undefined) out.push({ path: '/spec/validationFailureActionOverrides', message: 'overrides can turn enforcement off per namespace' });
    if (spec.failurePolicy !== undefined && spec.failurePolicy !== 'Fail') out.push({ path: '/spec/failurePolicy', message: `failurePolicy is ${JSON.stringify(spec.failurePolicy)}: a webhook error admits the pod` });
    if (spec.admission === false) out.push({ path: '/spec/admission', message: 'admission is false: the policy never runs when pods are created' });
    (Array.isArray(spec.rules) ? spec.rules : []).forEach((r: Json, i: number) => (Array.isArray(r?.verifyImages) ? r.verifyImages : []).forEach((v: Json, j: number) => {
      const at = `/spec/rules/${i}/verifyImages/${j}`;
      if (v?.failureAction !== undefined && v.failureAction !== 'Enforce') out.push({ path: `${at}/failureAction`, message: `failureAction is ${JSON.stringify(v.failureAction)}: unsigned images are only reported` });
      if (v?.required === false) out.push({ path: `${at}/required`, message: 'required is false: an image without a signature is admitted' });
    }));
  }
  return out;
}

export const GUARD_RULES: Rule[] = [
  {
    id: 'HD043',
    title: 'namespaces do not weaken Pod Security',
    fix: `leave pod-security.kubernetes.io/enforce at restricted and its enforce-version at ${MIN_POD_SECURITY_VERSION} or later, or latest (HardenedNamespace sets both); run what needs more privilege outside the app's manifests, in a namespace the platform team owns`,
    check: (o) => namespaceFindings(o),
  },
  {
    id: 'HD044',
    title: 'the namespace\'s guards are as cleanimg writes them',
    fix: 'remove the patch or transformation on the HardenedNamespace\'s objects (admission policy and binding, default-deny NetworkPolicy, signature policies); change them through its props',
    check: (o) => [...admissionFindings(o), ...networkFindings(o), ...signatureFindings(o)],
  },
];
