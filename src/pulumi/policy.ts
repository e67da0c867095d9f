/**
 * The Pulumi policy pack's policies: the one rule list (src/rules) run over the inputs of every
 * `kubernetes:*` resource of a stack, one policy per rule, enforcement `mandatory`. So `pulumi
 * preview --policy-pack policy-pack` fails on a raw insecure `k8s.apps.v1.Deployment` written beside
 * a HardenedDeployment, with the same rule ids, paths and fixes as every other guard.
 *
 * Exceptions, each narrow:
 * - HD030 (no literal Secret data) exempts only the Secrets that the person running the CLI names in
 *   the pack's config (`--policy-pack-config`: `{"cleanimg-hd030": {"pulumiSecrets": ["shop/api-secret"]}}`),
 *   the managed Secrets of EnvConfig components, whose data comes from Pulumi secrets. Nothing in a
 *   resource can prove that: its URN, parent and annotations are the program's to write, and the
 *   Kubernetes SDK wraps every Secret's data in a Pulumi secret itself. So by default every typed
 *   Secret with data is refused, an EnvConfig's too; `stringData` and look-alike CustomResources are
 *   never exempt.
 * - PUL001 (Pulumi only): the annotations `pulumi.com/patchFieldManager` and `pulumi.com/patchForce`,
 *   and a provider's `enablePatchForce`, are refused on every resource (see ssa-ownership.ts): with
 *   them a compliant patch can take over fields of another resource and remove them.
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
 * - During preview, values not yet known (e.g. an image digest a build will produce) are set
 *   aside, and so is a finding that depends on them; a finding that holds whatever they turn out to
 *   be is reported (preview-unknowns.ts). `pulumi up` runs the policies again with every value known.
 *
 * This module needs only the types of `@pulumi/policy`; policy-pack/index.js makes the PolicyPack.
 */
import type { EnforcementLevel, PolicyPackArgs, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';
import { checkObject, objectId, RULES, type KubeObject, type Rule, type Violation } from '../rules';
import { knownFindings } from './preview-unknowns';
import { providerForceViolation, SSA_OWNERSHIP_RULE } from './ssa-ownership';

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


/**
 * Component types of @pulumi/kubernetes whose objects are each registered as a resource (checked in
 * its provider: `yaml/v2` registers every object it decodes, `helm.sh/v4` and `kustomize/v2` render
 * through it; the v1 SDK components create one resource per object). Their own inputs are not objects.
 */
export const COMPONENTS_WITH_JUDGED_CHILDREN: ReadonlySet<string> = new Set([
  'kubernetes:helm.sh/v4:Chart', 'kubernetes:yaml/v2:ConfigGroup', 'kubernetes:yaml/v2:ConfigFile', 'kubernetes:kustomize/v2:Directory',
  'kubernetes:helm.sh/v3:Chart', 'kubernetes:helm.sh/v2:Chart', 'kubernetes:yaml:ConfigGroup', 'kubernetes:yaml:ConfigFile', 'kubernetes:kustomize:Directory',
]);

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

/** What the person running the CLI configured (the program cannot change it). */
export interface PackConfig {
  /**
   * Secrets exempt from HD030, as `namespace/name` (or `name`, in any namespace): the managed
   * Secrets of EnvConfig components whose data comes from Pulumi secrets.
   */
  readonly pulumiSecrets?: readonly string[];
}

/** The rules the pack runs: the one rule list, and PUL001 (Pulumi's server-side-apply ownership). */
export const PACK_RULES: readonly Rule[] = [...RULES, SSA_OWNERSHIP_RULE];

/**
 * True when the pack's config names this Secret. The URN, the parent and the annotations are all
 * the program's to choose, so they prove nothing: only the configuration grants the exemption.
 */
function grantedSecret(r: PolicyResourceLike, object: KubeObject, config: PackConfig): boolean {
  if (r.type !== 'kubernetes:core/v1:Secret' || (object as Record<string, unknown>).stringData !== undefined) return false;
  const { name, namespace } = object.metadata ?? {};
  const ids = [name, ...(namespace ? [`${namespace}/${name}`] : [])];
  return (config.pulumiSecrets ?? []).some((s) => ids.includes(s));
}

/** The object the resource creates, as far as it is known, with the JSON pointers of the unknown values. */
function objectOf(r: PolicyResourceLike): { object: KubeObject; unknown: string[]; fromProvider: boolean } {
  const fromType = kindOfType(r.type);
  const unknown: string[] = [];
  const props = knownCopy(r.props, unknown) as KubeObject;
  let object: KubeObject = { ...props, apiVersion: props.apiVersion ?? fromType.apiVersion, kind: props.kind ?? fromType.kind };
  if (!object.metadata?.name && r.name) object.metadata = { ...object.metadata, name: r.name };
  const named = object.metadata?.namespace;
  object = inProviderNamespace(object, r);
  return { object, unknown, fromProvider: !named && object.metadata?.namespace !== undefined };
}

/**
 * Runs `rules` over one resource's inputs and returns the violations that apply, after the
 * exceptions described at the top of this file.
 */
export function violationsOfResource(r: PolicyResourceLike, rules: readonly Rule[] = PACK_RULES, config: PackConfig = {}): Violation[] {
  if (!r.type.startsWith('kubernetes:') || r.type.startsWith('pulumi:providers:') || COMPONENTS_WITH_JUDGED_CHILDREN.has(r.type)) return [];
  if (!kindOfType(r.type).kind) return [];
  const { object, unknown, fromProvider } = objectOf(r);
  // `kubernetes:apps/v1:DeploymentPatch` is a patch; a CustomResource of kind `NetworkPatch` says so in its inputs.
  const typeKind = r.type.slice(r.type.lastIndexOf(':') + 1);
  const isPatch = typeKind.endsWith('Patch') && object.kind !== typeKind;
  const exemptSecret = grantedSecret(r, object, config);
  const judge = (o: KubeObject) => checkObject(o, rules).filter((v) =>
    !(isPatch && pointerValue(o, v.path) === undefined && !inPatchedEntry(o, v.path))
    && !(exemptSecret && v.code === 'HD030'));
  const found = knownFindings(object, unknown, judge);
  const force = rules.includes(SSA_OWNERSHIP_RULE) ? providerForceViolation(knownCopy(r.provider?.props, []) as Record<string, unknown> | undefined, objectId(object)) : undefined;
  return [...found, ...(force ? [force] : [])].map((v) => inPulumiTerms(v, r, object, fromProvider));
}

/** The pack's wording: where a provider put the object, and how a Pulumi-made Secret is exempted. */
function inPulumiTerms(v: Violation, r: PolicyResourceLike, object: KubeObject, fromProvider: boolean): Violation {
  if (fromProvider && v.path === '/metadata/namespace') return { ...v, message: `${v.message} (the object names no namespace; its provider's default namespace is ${object.metadata!.namespace})` };
  if (v.code === 'HD030' && r.type === 'kubernetes:core/v1:Secret' && v.path === '/data') {
    const id = object.metadata?.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata?.name;
    return { ...v, fix: `${v.fix}; if it is an EnvConfig managedSecret whose data comes from Pulumi secrets, whoever runs the CLI lists it in the pack's config: --policy-pack-config with {"cleanimg-hd030": {"pulumiSecrets": [${JSON.stringify(id)}]}}` };
  }
  return v;
}

/** Formats a violation for `reportViolation`: object, rule, path, what is wrong and the fix. */
export function violationMessage(v: Violation): string {
  return `${v.object} ${v.code} ${v.path}: ${v.message} — ${v.fix}`;
}

/** HD030's config: the Secrets the person running the CLI exempts (see PackConfig). */
const HD030_CONFIG_SCHEMA = { properties: { pulumiSecrets: { type: 'array' as const, items: { type: 'string' as const } } } };

/** One policy per rule, each running that rule over every Kubernetes resource's inputs. */
export function cleanimgPolicies(enforcementLevel: EnforcementLevel = 'mandatory', rules: readonly Rule[] = PACK_RULES): ResourceValidationPolicy[] {
  return rules.map((rule) => ({
    name: policyName(rule),
    description: `${rule.id}: ${rule.title}`,
    enforcementLevel,
    severity: 'high',
    remediationSteps: rule.fix,
    ...(rule.id === 'HD030' ? { configSchema: HD030_CONFIG_SCHEMA } : {}),
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
      const config = rule.id === 'HD030' ? args.getConfig<PackConfig>() : {};
      for (const v of violationsOfResource(args, [rule], config)) report(violationMessage(v));
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
