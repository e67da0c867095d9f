/**
 * The Pulumi policy pack's policies: the one rule list (src/rules) run over the inputs of every
 * `kubernetes:*` resource of a stack, one policy per rule, enforcement `mandatory`. So `pulumi
 * preview --policy-pack policy-pack` fails on a raw insecure `k8s.apps.v1.Deployment` written beside
 * a HardenedDeployment, with the same rule ids, paths and fixes as every other guard.
 *
 * Exceptions, each narrow:
 * - HD030 (no literal Secret data) exempts a Secret made by our EnvConfig component from Pulumi
 *   secrets: a typed `kubernetes:core/v1:Secret` whose URN shows an EnvConfig parent AND that
 *   carries the secret-source annotation. Its data is a Pulumi secret (encrypted in state, never
 *   written to Git). A Secret written by hand, with `data` or `stringData`, is still refused, and so
 *   is a look-alike made as a CustomResource of kind Secret.
 * - `*Patch` resources (server-side apply patches) are partial: only fields they actually set are
 *   judged (a patch that sets `privileged: true` fails; one that leaves `runAsNonRoot` out does not).
 *   But a container, init container, ephemeral container or volume entry in a patch is judged whole
 *   (its image aside, which the API server requires of a new container): the patch cannot say
 *   whether it edits an entry or adds a new one, so it restates the entry's security settings. A custom resource whose kind
 *   itself ends in `Patch` (its inputs say so) is judged whole.
 * - An object that names no namespace goes where its provider's `namespace` points: it is judged
 *   in that namespace (a provider set to `kube-system` makes every such workload HD029). A
 *   kubeconfig context's default namespace is not visible to the pack; admission still judges it.
 * - Components whose every object is registered as a resource of its own, and so judged on its own
 *   (`helm.v4.Chart`, `yaml.v2.ConfigGroup`/`ConfigFile`, `kustomize.v2.Directory` and their v1 SDK
 *   counterparts), are not judged themselves: their inputs are chart values or raw manifests, not
 *   objects. `helm.v3.Release` is the opposite: the provider installs the chart itself and
 *   registers nothing, so it is refused (HD034) and `helm.v4.Chart` is the fix; so are the custom
 *   resources whose controller installs a chart or a Git path in the cluster (Flux `HelmRelease`
 *   and `Kustomization`, Argo CD `Application` and `ApplicationSet`).
 *
 * Custom resources (`kubernetes:<group>/<version>:<Kind>`, e.g. `kubernetes:argoproj.io/v1alpha1:Rollout`)
 * are judged like everything else: the rules find their pod specs by shape.
 * - During preview, values not yet known (e.g. an image digest a build will produce) are skipped;
 *   `pulumi up` runs the policies again with every value known.
 *
 * This module needs only the types of `@pulumi/policy`; policy-pack/index.js makes the PolicyPack.
 */
import type { EnforcementLevel, PolicyPackArgs, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';
import { checkObject, RULES, type KubeObject, type Rule, type Violation } from '../rules';
import { ENV_CONFIG_TYPE, SECRET_SOURCE_ANNOTATION, SECRET_SOURCE_PULUMI } from './env-config';

export const POLICY_PACK_NAME = 'cleanimg-hardening';

/** The policy name of a rule: `cleanimg-hd003`. */
export function policyName(rule: Rule): string {
  return `cleanimg-${rule.id.toLowerCase()}`;
}

const pointerKey = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');

function isUnknownValueError(e: unknown): boolean {
  // @pulumi/policy's UnknownValueError (thrown by its proxy when a value is unknown during preview).
  return !!e && typeof e === 'object' && 'unknownTypeSentinel' in e;
}

/**
 * A plain copy of resource props read through the policy framework's unknown-checking proxy:
 * unknown values are left out and their JSON pointers collected.
 */
export function knownCopy(props: unknown, unknown: string[], path = ''): unknown {
  if (props === null || typeof props !== 'object') return props;
  const out: Record<string, unknown> | unknown[] = Array.isArray(props) ? [] : {};
  for (const k of Object.keys(props)) {
    let v: unknown;
    try {
      v = (props as Record<string, unknown>)[k];
    } catch (e) {
      if (!isUnknownValueError(e)) throw e;
      unknown.push(`${path}/${pointerKey(k)}`);
      continue;
    }
    (out as Record<string, unknown>)[k] = knownCopy(v, unknown, `${path}/${pointerKey(k)}`);
  }
  return out;
}

/** apiVersion and kind from a type token: `kubernetes:apps/v1:Deployment` gives `apps/v1`, `Deployment`. */
export function kindOfType(type: string): { apiVersion?: string; kind?: string } {
  const m = /^kubernetes:([^:]+):(.+)$/.exec(type);
  if (!m) return {};
  const [group, version] = m[1]!.includes('/') ? m[1]!.split('/') as [string, string] : ['core', m[1]!];
  return { apiVersion: group === 'core' ? version : `${group}/${version}`, kind: m[2]!.replace(/Patch$/, '') };
}

function pointerValue(o: unknown, pointer: string): unknown {
  let node = o;
  for (const raw of pointer.split('/').slice(1)) {
    const k = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[k];
  }
  return node;
}

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

/**
 * Component types of @pulumi/kubernetes whose objects are each registered as a resource (checked in
 * its provider: `yaml/v2` registers every object it decodes, `helm.sh/v4` and `kustomize/v2` render
 * through it; the v1 SDK components create one resource per object). Their own inputs are not objects.
 */
export const COMPONENTS_WITH_JUDGED_CHILDREN: ReadonlySet<string> = new Set([
  'kubernetes:helm.sh/v4:Chart', 'kubernetes:yaml/v2:ConfigGroup', 'kubernetes:yaml/v2:ConfigFile', 'kubernetes:kustomize/v2:Directory',
  'kubernetes:helm.sh/v3:Chart', 'kubernetes:helm.sh/v2:Chart', 'kubernetes:yaml:ConfigGroup', 'kubernetes:yaml:ConfigFile', 'kubernetes:kustomize:Directory',
]);

/** True when the URN's type chain shows our EnvConfig component as the resource's parent. */
export function madeByEnvConfig(urn: string): boolean {
  const types = (urn.split('::')[2] ?? '').split('$');
  return types.length >= 2 && types[types.length - 2] === ENV_CONFIG_TYPE;
}

/** A resource as the policy framework hands it over (the fields we use). */
export type PolicyResourceLike = Pick<ResourceValidationArgs, 'type' | 'props' | 'urn' | 'name'> & {
  readonly provider?: { readonly props: Record<string, unknown> };
};

/** The namespace the resource's provider puts objects in that name none, when known. */
function providerNamespace(r: PolicyResourceLike): string | undefined {
  const props = knownCopy(r.provider?.props, []) as Record<string, unknown> | undefined;
  const ns = props?.namespace;
  return typeof ns === 'string' && ns !== '' ? ns : undefined;
}

/** `object` as the provider creates it: in the provider's namespace when it names none. */
function inProviderNamespace(object: KubeObject, r: PolicyResourceLike): KubeObject {
  const ns = providerNamespace(r);
  if (!ns || object.metadata?.namespace) return object;
  return { ...object, metadata: { ...object.metadata, namespace: ns } };
}

/** A list entry that a patch may add rather than edit: judged whole. */
const PATCH_ENTRY = /^(.*\/(?:containers|initContainers|ephemeralContainers|volumes)\/\d+)(?:\/|$)/;

/** A container's image: a patch may leave it out (the API server refuses a new container without one). */
const CONTAINER_IMAGE = /\/(?:containers|initContainers|ephemeralContainers)\/\d+\/image$/;

/** True when `path` lies in a container or volume entry that the patch sets (its image aside). */
function inPatchedEntry(object: KubeObject, path: string): boolean {
  const m = PATCH_ENTRY.exec(path);
  return !!m && pointerValue(object, m[1]!) !== undefined && !CONTAINER_IMAGE.test(path);
}

/**
 * Runs `rules` over one resource's inputs and returns the violations that apply, after the
 * exceptions described at the top of this file.
 */
export function violationsOfResource(r: PolicyResourceLike, rules: readonly Rule[] = RULES): Violation[] {
  if (!r.type.startsWith('kubernetes:') || r.type.startsWith('pulumi:providers:') || COMPONENTS_WITH_JUDGED_CHILDREN.has(r.type)) return [];
  const fromType = kindOfType(r.type);
  if (!fromType.kind) return [];
  const unknown: string[] = [];
  const props = knownCopy(r.props, unknown) as KubeObject;
  let object: KubeObject = { ...props, apiVersion: props.apiVersion ?? fromType.apiVersion, kind: props.kind ?? fromType.kind };
  if (!object.metadata?.name && r.name) object.metadata = { ...object.metadata, name: r.name };
  const named = object.metadata?.namespace;
  object = inProviderNamespace(object, r);
  const fromProvider = !named && object.metadata?.namespace !== undefined;
  // `kubernetes:apps/v1:DeploymentPatch` is a patch; a CustomResource of kind `NetworkPatch` says so in its inputs.
  const typeKind = r.type.slice(r.type.lastIndexOf(':') + 1);
  const isPatch = typeKind.endsWith('Patch') && props.kind !== typeKind;
  const exemptSecret = r.type === 'kubernetes:core/v1:Secret' && madeByEnvConfig(r.urn)
    && (object.metadata?.annotations as Record<string, unknown> | undefined)?.[SECRET_SOURCE_ANNOTATION] === SECRET_SOURCE_PULUMI
    && (object as Record<string, unknown>).stringData === undefined;
  return checkObject(object, rules).filter((v) =>
    !unknown.some((u) => under(v.path, u) || under(u, v.path))
    && !(isPatch && pointerValue(object, v.path) === undefined && !inPatchedEntry(object, v.path))
    && !(exemptSecret && v.code === 'HD030'))
    .map((v) => (fromProvider && v.path === '/metadata/namespace' ? { ...v, message: `${v.message} (the object names no namespace; its provider's default namespace is ${object.metadata!.namespace})` } : v));
}

/** Formats a violation for `reportViolation`: object, rule, path, what is wrong and the fix. */
export function violationMessage(v: Violation): string {
  return `${v.object} ${v.code} ${v.path}: ${v.message} — ${v.fix}`;
}

/** One policy per rule, each running that rule over every Kubernetes resource's inputs. */
export function cleanimgPolicies(enforcementLevel: EnforcementLevel = 'mandatory', rules: readonly Rule[] = RULES): ResourceValidationPolicy[] {
  return rules.map((rule) => ({
    name: policyName(rule),
    description: `${rule.id}: ${rule.title}`,
    enforcementLevel,
    severity: 'high',
    remediationSteps: rule.fix,
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
      for (const v of violationsOfResource(args, [rule])) report(violationMessage(v));
    },
  }));
}

/** The arguments of the cleanimg PolicyPack (see policy-pack/index.js). */
export function policyPackArgs(enforcementLevel: EnforcementLevel = 'mandatory'): PolicyPackArgs {
  return {
    description: 'cleanimg hardening rules for Kubernetes resources (the same rule list as the cdk8s face, the CLI and admission)',
    enforcementLevel,
    policies: cleanimgPolicies(enforcementLevel),
  };
}
