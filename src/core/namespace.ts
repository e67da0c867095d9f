/**
 * The hardened namespace: props in, plain Kubernetes objects out (no framework imports), so the
 * cdk8s and Pulumi faces only translate.
 *
 * - a Namespace labelled for Pod Security `restricted` (enforce, audit and warn), pinned to a version;
 * - a ValidatingAdmissionPolicy and its binding, whose CEL is generated from the rule list
 *   (`src/rules/cel`), so `kubectl edit`, `kubectl set` and `kubectl create` are held to the same
 *   rules as the constructs. Pod Security alone is not enough: it enforces on Pods only and merely
 *   warns on Deployments, so an insecure Deployment would be accepted and its pods would fail later;
 * - a Role and RoleBinding for the workloads' ServiceAccounts (see {@link HardenedNamespaceProps.grants});
 * - a default-deny NetworkPolicy (ingress and egress), DNS egress to kube-system, and per workload
 *   an allow for its declared ports (plus any declared egress).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { CleanimgError, type Problem } from '../errors';
import type { KubeObject } from '../rules';
import { CEL_NOT_GENERATED, celChecks, policySpec } from '../rules/cel';
import type { HardenedWorkloadResult } from './workload/result';
import { SYSTEM_NAMESPACES } from '../rules/shape-rules';
import { MIN_POD_SECURITY_VERSION, podSecurityVersionTooOld } from '../rules/guard-rules';
import { checkImageSignatures, defaultScopes, imageSignatureObjects, POLICY_CONTROLLER_INCLUDE_LABEL, type ImageSignaturePolicy } from './image-signature-policy';
import { containersOf, findPodSpecs } from '../rules/pod-spec';

/** The Pod Security Standards version the labels pin by default. */
export const DEFAULT_POD_SECURITY_VERSION = 'v1.33';

/** The label every namespace carries with its own name (set by the API server since 1.22). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** A set of network peers: pods (by labels) in this or another namespace, a whole namespace, or an IP block. */
export interface NetworkPeer {
  /** Pods with these labels. With `namespace`, in that namespace; else in this one. */
  readonly pods?: Readonly<Record<string, string>>;
  /** A namespace by name. Alone: every pod in it. */
  readonly namespace?: string;
  /** An IP block in CIDR notation (not combinable with `pods` or `namespace`). */
  readonly cidr?: string;
  /** Parts of `cidr` to leave out. */
  readonly except?: readonly string[];
}

export interface NetworkPort {
  readonly port: number;
  /** @default TCP */
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
}

/** Outgoing traffic a workload may send beyond DNS. */
export interface EgressAllow {
  /**
   * Peers. An IP block that contains a cloud metadata block (link-local 169.254.0.0/16 with
   * 169.254.169.254, which hands out node credentials; fe80::/10; 100.100.100.200; fd00:ec2::254)
   * gets it as `except`, and one inside such a block is refused, unless `unsafeAllowLinkLocal` is set.
   */
  readonly to: readonly NetworkPeer[];
  readonly ports: readonly NetworkPort[];
  /** Allow link-local and cloud metadata addresses. @default false */
  readonly unsafeAllowLinkLocal?: boolean;
  /** Allow the API server's addresses (see HardenedNamespaceProps.apiServer). @default false */
  readonly unsafeAllowApiServer?: boolean;
}

/** What the namespace needs of a hardened workload of any kind: the core's result (or a construct's `result`). */
export type WorkloadLike = Pick<HardenedWorkloadResult, 'workload' | 'serviceAccount' | 'selector' | 'ports'>;

export interface NamespaceWorkload {
  /** A hardened Deployment, StatefulSet, Job or CronJob. */
  readonly workload: WorkloadLike;
  /**
   * Who may connect to the workload's declared container ports. An empty list admits nobody.
   * @default any source, on the declared ports only (every other port stays closed)
   */
  readonly ingressFrom?: readonly NetworkPeer[];
  /** @default nothing beyond DNS */
  readonly egressTo?: readonly EgressAllow[];
}

/**
 * Traffic for pods named by their labels rather than passed as workloads: the workloads of a program
 * in another Pulumi language (which cannot hand its HardenedDeployment to the namespace), or pods not
 * made by cleanimg. It becomes the NetworkPolicy `allow-<name>`, the same as a workload's.
 */
export interface NamespaceAllow {
  /** Names the NetworkPolicy `allow-<name>` (a DNS label, not the name of a workload of the namespace). */
  readonly name: string;
  /** The pods, by labels (non-empty): hardened workloads select `app.kubernetes.io/name: <name>`. */
  readonly pods: Readonly<Record<string, string>>;
  /** The ports the pods listen on; only these are opened. @default none (no ingress) */
  readonly ports?: readonly NetworkPort[];
  /** Who may connect to `ports`. An empty list admits nobody. @default any source, on `ports` only */
  readonly ingressFrom?: readonly NetworkPeer[];
  /** @default nothing beyond DNS */
  readonly egressTo?: readonly EgressAllow[];
}

/** An RBAC rule for the workloads' ServiceAccounts; refused when it grants something dangerous. */
export interface RoleGrant {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

export interface HardenedNamespaceProps {
  /** The namespace name (DNS label). */
  readonly name: string;
  /** Pod Security Standards version for enforce, audit and warn, e.g. `v1.33`, or `latest`. @default v1.33 */
  readonly podSecurityVersion?: string;
  /** Extra labels on the Namespace (the Pod Security labels cannot be overridden). @default none */
  readonly labels?: Readonly<Record<string, string>>;
  /** Annotations on the Namespace. @default none */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Registries (or registry/repository prefixes) images must come from. @default any registry */
  readonly allowedRegistries?: readonly string[];
  /** The hardened workloads (any kind) that run here: their ServiceAccounts are bound, their ports opened, their egress allowed. @default none */
  readonly workloads?: readonly NamespaceWorkload[];
  /**
   * What the workloads' ServiceAccounts may do in the namespace. The default is nothing: a hardened
   * pod mounts no token (HD015), so it cannot call the API at all, and the Role only states that and
   * is the one place a grant is added. Refused: wildcards (`*`, `pods/*`, a `*` before a subresource), `pods/exec`, `pods/attach`,
   * `pods/ephemeralcontainers`, `pods/portforward`, `pods/proxy`, `services/proxy`, reading secrets
   * (get, list, watch), minting tokens (`serviceaccounts/token`), the verbs escalate, bind, impersonate,
   * writing any kind that starts pods (pods, deployments, jobs, ...: a new pod can mount any Secret of
   * the namespace) and writing the namespace's guards (NetworkPolicies, Roles and bindings, admission objects).
   * @default []
   */
  readonly grants?: readonly RoleGrant[];
  /** Where DNS runs; `false` for no DNS egress. @default { namespace: 'kube-system' } (any pod there, port 53) */
  readonly dns?: false | { readonly namespace?: string; readonly pods?: Readonly<Record<string, string>> };
  /**
   * The API server's addresses as pods reach it: the `kubernetes` Service's ClusterIP and its
   * endpoints (`kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes`), as
   * CIDRs. Every egress IP block that contains one gets it as `except`, and one inside is refused
   * (NS018), unless the allow says `unsafeAllowApiServer: true`. A hardened pod mounts no token, but
   * the API server still answers anonymous requests and is a target of its own. Left out, the
   * library cannot know the addresses: an IP block such as 0.0.0.0/0 reaches the API server.
   * @default none
   */
  readonly apiServer?: { readonly cidrs: readonly string[] };
  /**
   * Admission-time signature checks from the public key that signs the namespace's images: a sigstore
   * policy-controller ClusterImagePolicy (and the namespace label that turns it on) and a Kyverno
   * ClusterPolicy with verifyImages. The verifier must be installed in the cluster (docs/admission.md,
   * "Signed images only"). @default none
   */
  readonly imageSignatures?: ImageSignaturePolicy;
  /**
   * NetworkPolicy allows for pods named by labels, beside those derived from `workloads`: how a
   * program in another language gives its workloads their traffic (a hardened workload's pods carry
   * `app.kubernetes.io/name: <name>`). @default none
   */
  readonly allows?: readonly NamespaceAllow[];
}

export interface HardenedNamespaceResult {
  readonly namespace: KubeObject;
  readonly policy: KubeObject;
  readonly policyBinding: KubeObject;
  readonly role: KubeObject;
  /** Absent when there is no workload. */
  readonly roleBinding?: KubeObject;
  /** default-deny, allow-dns (unless disabled), then one per workload with ports or egress. */
  readonly networkPolicies: readonly KubeObject[];
  /** With `imageSignatures`: the ClusterImagePolicy and/or the Kyverno ClusterPolicy. */
  readonly signaturePolicies: readonly KubeObject[];
  /** All objects, in apply order: the Namespace and the policy before anything they guard. */
  readonly objects: readonly KubeObject[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PSS_VERSION = /^(v1\.\d{1,3}|latest)$/;
const CIDR = /^((\d{1,3}\.){3}\d{1,3}\/\d{1,2}|[0-9a-fA-F:]+:[0-9a-fA-F:.]*\/\d{1,3})$/;
const REGISTRY_PREFIX = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(\/[a-z0-9._\/-]*)?$/;

/** Subresources a workload identity must never reach: each one is a way into a running container. */
const FORBIDDEN_SUBRESOURCES = ['pods/exec', 'pods/attach', 'pods/ephemeralcontainers', 'pods/portforward', 'pods/proxy', 'services/proxy', 'serviceaccounts/token'];
const SECRET_READ_VERBS = ['get', 'list', 'watch'];
const FORBIDDEN_VERBS = ['escalate', 'bind', 'impersonate'];
const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];
/** Kinds whose objects start pods, by API group: writing one runs a pod the app chose. */
const POD_MAKERS: Readonly<Record<string, readonly string[]>> = {
  '': ['pods', 'replicationcontrollers', 'podtemplates'],
  apps: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'],
  batch: ['jobs', 'cronjobs'],
};
/** Kinds that hold the namespace's guards, by API group: writing one can switch a guard off. */
const GUARD_KINDS: Readonly<Record<string, readonly string[]>> = {
  '': ['namespaces'],
  'networking.k8s.io': ['networkpolicies'],
  'rbac.authorization.k8s.io': ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'],
  'admissionregistration.k8s.io': ['validatingadmissionpolicies', 'validatingadmissionpolicybindings', 'validatingwebhookconfigurations', 'mutatingwebhookconfigurations', 'mutatingadmissionpolicies', 'mutatingadmissionpolicybindings'],
};
/** Whether `resource` of `group` is in the table (own keys only: a group named `constructor` finds nothing). */
const listed = (table: Readonly<Record<string, readonly string[]>>, group: string, resource: string) => Object.hasOwn(table, group) && table[group]!.includes(resource);

/** Why a grant is dangerous, one problem per reason; empty when it is fine. */
export function dangerousGrants(grants: readonly RoleGrant[], where = 'grants'): Problem[] {
  const out: Problem[] = [];
  grants.forEach((g, i) => {
    const at = `${where}[${i}]`;
    const add = (message: string, fix: string) => out.push({ code: 'NS011', path: at, message, fix });
    const resources = g.resources ?? [];
    const verbs = g.verbs ?? [];
    const groups = g.apiGroups ?? [];
    if (!Array.isArray(resources) || !Array.isArray(verbs) || !Array.isArray(groups) || resources.length === 0 || verbs.length === 0) {
      add('a grant needs apiGroups, resources and verbs (non-empty lists)', 'write { apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }');
      return;
    }
    if (resources.some((r) => r === '*' || r.endsWith('/*') || r.startsWith('*/')) || verbs.includes('*') || groups.includes('*'))
      add(`a wildcard (${JSON.stringify({ apiGroups: groups, resources, verbs })}) grants pods/exec and secrets among everything else`, 'name each resource and verb the app needs');
    const core = groups.includes('');
    for (const r of resources) {
      if (core && FORBIDDEN_SUBRESOURCES.includes(r))
        add(`${r} lets the workload ${r === 'serviceaccounts/token' ? 'mint tokens for other identities' : 'reach into running containers'}`, `remove ${r}; debug with logs and metrics, not a shell`);
      if (core && r === 'secrets' && verbs.some((v) => SECRET_READ_VERBS.includes(v)))
        add(`${verbs.filter((v) => SECRET_READ_VERBS.includes(v)).join(', ')} on secrets reads ${g.resourceNames?.length ? 'secrets' : 'every secret in the namespace'} through the API`, 'mount the one Secret the app needs as a file (EnvConfig secrets) instead of reading it from the API');
    }
    for (const v of verbs.filter((x) => FORBIDDEN_VERBS.includes(x)))
      add(`the verb ${v} lets the workload gain permissions it was not given`, `remove ${v}`);
    const writes = verbs.filter((v) => WRITE_VERBS.includes(v));
    for (const r of resources.filter((x) => groups.some((gr) => listed(POD_MAKERS, gr, x))))
      if (writes.some((v) => v !== 'delete' && v !== 'deletecollection'))
        add(`${writes.join(', ')} on ${r} lets the workload start pods of its own choosing, which can mount any Secret or ServiceAccount of the namespace`, `remove the write verbs on ${r}; pods are made by the deployment pipeline, not by the app`);
    for (const r of resources.filter((x) => groups.some((gr) => listed(GUARD_KINDS, gr, x))))
      if (writes.length)
        add(`${writes.join(', ')} on ${r} lets the workload undo the namespace's own guards (its default-deny NetworkPolicy, its Role and binding, its admission policy)`, `remove the write verbs on ${r}`);
  });
  return out;
}

/**
 * Where cloud metadata services answer (they hand node credentials to any pod that reaches them):
 * link-local 169.254.0.0/16 (169.254.169.254 on most clouds) and fe80::/10, Alibaba's 100.100.100.200,
 * AWS's IPv6 fd00:ec2::254.
 */
const METADATA_BLOCKS = {
  ipv4: [['169.254.0.0', 16], ['100.100.100.200', 32]],
  ipv6: [['fe80::', 10], ['fd00:ec2::254', 128]],
} as const;

type Family = 'ipv4' | 'ipv6';
const familyOf = (address: string): Family | undefined => (isIPv6(address) ? 'ipv6' : isIPv4(address) ? 'ipv4' : undefined);

/** The blocks (of `cidr`'s family) an IP block lies inside, and those it contains (to be cut out of it). */
function blockOverlap(cidr: string, blocks: readonly (readonly [string, number])[]): { inside: string[]; contains: string[] } {
  const [base = '', bits = ''] = cidr.split('/');
  const family = familyOf(base);
  const out = { inside: [] as string[], contains: [] as string[] };
  if (!family) return out;
  const prefix = Number(bits);
  const within = (b: string, p: number, address: string) => {
    const list = new BlockList();
    list.addSubnet(b, p, family);
    return list.check(address, family);
  };
  for (const [mb, mp] of blocks) {
    if (familyOf(mb) !== family) continue;
    if (prefix >= mp && within(mb, mp, base)) out.inside.push(`${mb}/${mp}`);
    else if (prefix < mp && within(base, prefix, mb)) out.contains.push(`${mb}/${mp}`);
  }
  return out;
}

/** What an egress IP block must leave out: metadata blocks and the API server, unless allowed. */
interface EgressGuards {
  readonly allowLinkLocal: boolean;
  readonly allowApiServer: boolean;
  readonly apiServer: readonly (readonly [string, number])[];
}

const METADATA_LIST: readonly (readonly [string, number])[] = [...METADATA_BLOCKS.ipv4, ...METADATA_BLOCKS.ipv6];

/** The `except` entries an egress IP block needs, and NS017/NS018 for one inside a guarded block. */
function egressExcepts(cidr: string, at: string, problems: Problem[], egress: EgressGuards): string[] {
  const metadata = egress.allowLinkLocal ? { inside: [], contains: [] } : blockOverlap(cidr, METADATA_LIST);
  if (metadata.inside.length)
    problems.push({ code: 'NS017', path: at, message: `${cidr} lies in ${metadata.inside.join(', ')}, where cloud metadata services hand node credentials to any pod that reaches them`, fix: 'remove it; if the workload truly needs it, set unsafeAllowLinkLocal: true on this egress allow' });
  const api = egress.allowApiServer ? { inside: [], contains: [] } : blockOverlap(cidr, egress.apiServer);
  if (api.inside.length)
    problems.push({ code: 'NS018', path: at, message: `${cidr} lies in ${api.inside.join(', ')}, the API server's address (apiServer.cidrs)`, fix: 'remove it; if the workload truly calls the API server, set unsafeAllowApiServer: true on this egress allow' });
  return [...metadata.contains, ...api.contains];
}

function peerObject(p: NetworkPeer, at: string, problems: Problem[], egress?: EgressGuards): Record<string, unknown> {
  const bad = (message: string, fix: string) => problems.push({ code: 'NS016', path: at, message, fix });
  if (p.cidr !== undefined) {
    if (p.pods || p.namespace) bad('cidr cannot be combined with pods or namespace', 'use separate peers');
    for (const c of [p.cidr, ...(p.except ?? [])]) if (!CIDR.test(c)) bad(`${JSON.stringify(c)} is not a CIDR`, 'write e.g. 10.0.0.0/8');
    const except = [...(p.except ?? [])];
    if (egress && CIDR.test(p.cidr)) for (const x of egressExcepts(p.cidr, at, problems, egress)) if (!except.includes(x)) except.push(x);
    return { ipBlock: { cidr: p.cidr, ...(except.length ? { except } : {}) } };
  }
  if (!p.pods && !p.namespace) {
    bad('a peer needs pods, namespace or cidr', 'name the pods (labels), the namespace or the IP block allowed');
    return {};
  }
  if (p.namespace !== undefined && !DNS_LABEL.test(p.namespace)) bad(`${JSON.stringify(p.namespace)} is not a namespace name`, 'use a DNS label');
  return {
    ...(p.namespace ? { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: p.namespace } } } : {}),
    ...(p.pods ? { podSelector: { matchLabels: { ...p.pods } } } : {}),
  };
}

function portObjects(ports: readonly NetworkPort[], at: string, problems: Problem[]): Record<string, unknown>[] {
  return ports.map((p, i) => {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
      problems.push({ code: 'NS016', path: `${at}[${i}].port`, message: `${JSON.stringify(p.port)} is not a port number`, fix: 'use an integer from 1 to 65535' });
    return { port: p.port, protocol: p.protocol ?? 'TCP' };
  });
}

/** The name of the policy and its binding for a namespace (both are cluster-scoped, so the name carries the namespace). */
export function policyNameFor(namespace: string): string {
  return `cleanimg-hardening.${namespace}`;
}

/** The API server's CIDRs as [base, prefix] (a bare address is one host), with NS016 for what is not one. */
function apiServerBlocks(api: HardenedNamespaceProps['apiServer'], problems: Problem[]): [string, number][] {
  if (api === undefined) return [];
  const cidrs = Array.isArray(api?.cidrs) ? api.cidrs : [];
  if (!cidrs.length) problems.push({ code: 'NS016', path: 'apiServer.cidrs', message: 'no address given', fix: 'list the kubernetes Service ClusterIP and its endpoints, e.g. ["10.96.0.1/32", "192.0.2.10/32"], or leave apiServer out' });
  return cidrs.flatMap((c, i) => {
    const cidr = typeof c === 'string' && !c.includes('/') ? `${c}/${isIPv6(c) ? 128 : 32}` : c;
    if (typeof cidr !== 'string' || !CIDR.test(cidr)) {
      problems.push({ code: 'NS016', path: `apiServer.cidrs[${i}]`, message: `${JSON.stringify(c)} is not a CIDR or an address`, fix: 'write e.g. 10.96.0.1/32' });
      return [];
    }
    const [base = '', bits = ''] = cidr.split('/');
    return [[base, Number(bits)] as [string, number]];
  });
}

const PROP_KEYS: Readonly<Record<string, readonly string[]>> = {
  '': ['name', 'podSecurityVersion', 'labels', 'annotations', 'allowedRegistries', 'workloads', 'grants', 'dns', 'apiServer', 'imageSignatures', 'allows'],
  workload: ['workload', 'ingressFrom', 'egressTo'],
  allow: ['name', 'pods', 'ports', 'ingressFrom', 'egressTo'],
  egress: ['to', 'ports', 'unsafeAllowLinkLocal', 'unsafeAllowApiServer'],
};

/** PROP001 for keys HardenedNamespace does not read (a JavaScript caller's typo would be dropped without a word). */
function unknownProps(props: HardenedNamespaceProps): Problem[] {
  const out: Problem[] = [];
  const check = (o: unknown, kind: string, at: string) => {
    if (!o || typeof o !== 'object') return;
    for (const k of Reflect.ownKeys(o)) {
      if (typeof k === 'string' && PROP_KEYS[kind]!.includes(k)) continue;
      out.push({ code: 'PROP001', path: `${at}${at ? '.' : ''}${String(k)}`, message: `"${String(k)}" is not a known prop`, fix: 'remove it or correct its spelling' });
    }
  };
  check(props, '', '');
  (Array.isArray(props.workloads) ? props.workloads : []).forEach((w, i) => {
    check(w, 'workload', `workloads[${i}]`);
    ((Array.isArray(w?.egressTo) ? w.egressTo : []) as readonly unknown[]).forEach((e: unknown, j: number) => check(e, 'egress', `workloads[${i}].egressTo[${j}]`));
  });
  (Array.isArray(props.allows) ? props.allows : []).forEach((a, i) => {
    check(a, 'allow', `allows[${i}]`);
    ((Array.isArray(a?.egressTo) ? a.egressTo : []) as readonly unknown[]).forEach((e: unknown, j: number) => check(e, 'egress', `allows[${i}].egressTo[${j}]`));
  });
  return out;
}

/** NS010, HD029, NS012, NS013 for the namespace's own props (name, Pod Security version, labels, registries). */
function namespacePropProblems(props: HardenedNamespaceProps): Problem[] {
  const problems: Problem[] = [];
  const name = props.name;
  if (typeof name !== 'string' || !DNS_LABEL.test(name))
    problems.push({ code: 'NS010', path: 'name', message: `${JSON.stringify(name)} is not a namespace name`, fix: 'use a DNS label: lower-case letters, digits and "-", at most 63 characters' });
  else if (SYSTEM_NAMESPACES.includes(name))
    problems.push({ code: 'HD029', path: 'name', message: `${JSON.stringify(name)} is a system namespace: its Pod Security labels, default-deny policy and Role would be applied over the cluster's own`, fix: 'use a namespace of your own' });
  const version = props.podSecurityVersion ?? DEFAULT_POD_SECURITY_VERSION;
  if (!PSS_VERSION.test(version))
    problems.push({ code: 'NS013', path: 'podSecurityVersion', message: `${JSON.stringify(version)} is not a Pod Security version`, fix: `use a Kubernetes minor version such as ${DEFAULT_POD_SECURITY_VERSION} (pinned), or latest` });
  else if (podSecurityVersionTooOld(version))
    problems.push({ code: 'NS013', path: 'podSecurityVersion', message: `${JSON.stringify(version)} is older than ${MIN_POD_SECURITY_VERSION}: its restricted profile lacks checks added since (root UIDs, capabilities, seccomp)`, fix: `use ${MIN_POD_SECURITY_VERSION} or later, such as ${DEFAULT_POD_SECURITY_VERSION} (pinned), or latest` });
  for (const k of Object.keys(props.labels ?? {}))
    if (k.startsWith('pod-security.kubernetes.io/'))
      problems.push({ code: 'NS013', path: `labels.${k}`, message: 'the Pod Security labels are always restricted', fix: 'remove the label; set podSecurityVersion to pin another version' });
  (props.allowedRegistries ?? []).forEach((r, i) => {
    if (typeof r !== 'string' || !REGISTRY_PREFIX.test(r))
      problems.push({ code: 'NS012', path: `allowedRegistries[${i}]`, message: `${JSON.stringify(r)} is not a registry or registry/repository prefix`, fix: 'write e.g. registry.example.com or ghcr.io/acme/' });
  });
  if (props.allowedRegistries && props.allowedRegistries.length === 0)
    problems.push({ code: 'NS012', path: 'allowedRegistries', message: 'an empty list would refuse every image', fix: 'list at least one registry, or leave allowedRegistries out' });
  return problems;
}

/** NS014 and NS015 for workloads that are not hardened results, live elsewhere, or come twice. */
function workloadProblems(workloads: readonly NamespaceWorkload[], name: unknown, allows: readonly NamespaceAllow[] = []): Problem[] {
  const problems: Problem[] = [];
  const names = new Set<string>();
  allows.forEach((a, i) => {
    const aname = a?.name;
    if (typeof aname !== 'string' || !DNS_LABEL.test(aname)) problems.push({ code: 'NS016', path: `allows[${i}].name`, message: `${JSON.stringify(aname)} is not a name`, fix: 'use a DNS label (the NetworkPolicy is named allow-<name>)' });
    else if (names.has(aname)) problems.push({ code: 'NS015', path: `allows[${i}]`, message: `two allows are named ${aname}`, fix: 'give each allow its own name, or put both peers in one allow' });
    else names.add(aname);
  });
  workloads.forEach((w, i) => {
    const meta = w?.workload?.workload?.metadata;
    const wname = meta?.name;
    if (!meta || typeof wname !== 'string') {
      problems.push({ code: 'NS014', path: `workloads[${i}]`, message: 'not a hardened workload (no workload.metadata.name)', fix: 'pass the result of hardenedDeployment(), hardenedStatefulSet(), hardenedJob() or hardenedCronJob(), or a hardened construct' });
      return;
    }
    if (meta.namespace !== undefined && meta.namespace !== name)
      problems.push({ code: 'NS014', path: `workloads[${i}]`, message: `${w.workload.workload.kind ?? 'workload'} ${wname} is in namespace ${meta.namespace}, not ${name}`, fix: `create it with namespace: ${JSON.stringify(name)} (or leave namespace unset)` });
    if (names.has(wname)) problems.push({ code: 'NS015', path: `workloads[${i}]`, message: `two workloads (or a workload and an allow) are named ${wname}`, fix: 'add each workload once; name an allow differently from the workloads' });
    names.add(wname);
  });
  return problems;
}

const MANAGED = { 'app.kubernetes.io/managed-by': 'cleanimg' };

/** One workload's allow: ingress on its declared ports (from `ingressFrom`), and its declared egress; none when it has neither. */
function workloadAllow(w: NamespaceWorkload, at: string, metadata: (n: string) => KubeObject['metadata'], apiServer: EgressGuards['apiServer'], problems: Problem[]): KubeObject | undefined {
  const d = w?.workload;
  const wname = d?.workload?.metadata?.name;
  if (typeof wname !== 'string') return undefined;
  const ports = (d.ports ?? []).map((p: WorkloadLike['ports'][number]) => ({ port: p.containerPort, protocol: p.protocol ?? 'TCP' }));
  const ingress = ports.length && (w.ingressFrom === undefined || w.ingressFrom.length > 0)
    ? [{ ...(w.ingressFrom ? { from: w.ingressFrom.map((p, j) => peerObject(p, `${at}.ingressFrom[${j}]`, problems)) } : {}), ports }]
    : [];
  const egress = (w.egressTo ?? []).map((e, j) => {
    if (!e.to?.length || !e.ports?.length) problems.push({ code: 'NS016', path: `${at}.egressTo[${j}]`, message: 'an egress allow needs at least one peer and one port', fix: 'list to: [...] and ports: [...]' });
    const guards: EgressGuards = { allowLinkLocal: e.unsafeAllowLinkLocal === true, allowApiServer: e.unsafeAllowApiServer === true, apiServer };
    return { to: (e.to ?? []).map((p, k) => peerObject(p, `${at}.egressTo[${j}].to[${k}]`, problems, guards)), ports: portObjects(e.ports ?? [], `${at}.egressTo[${j}].ports`, problems) };
  });
  if (!ingress.length && !egress.length) return undefined;
  return {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: metadata(`allow-${wname}`),
    spec: {
      podSelector: { matchLabels: { ...d.selector } },
      policyTypes: [...(ingress.length ? ['Ingress'] : []), ...(egress.length ? ['Egress'] : [])],
      ...(ingress.length ? { ingress } : {}),
      ...(egress.length ? { egress } : {}),
    },
  };
}

/** default-deny, allow-dns (unless `dns: false`), then one allow per workload; their problems (NS016-NS018) go to `problems`. */
function networkPoliciesFor(name: string, props: HardenedNamespaceProps, apiServer: EgressGuards['apiServer'], problems: Problem[]): KubeObject[] {
  const metadata = (n: string) => ({ name: n, namespace: name, labels: { ...MANAGED } });
  const out: KubeObject[] = [{
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: metadata('default-deny'),
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  }];
  if (props.dns !== false) {
    const to = peerObject({ namespace: props.dns?.namespace ?? 'kube-system', pods: props.dns?.pods }, 'dns', problems);
    out.push({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: metadata('allow-dns'),
      spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [to], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }] },
    });
  }
  (props.workloads ?? []).forEach((w, i) => {
    const allow = workloadAllow(w, `workloads[${i}]`, metadata, apiServer, problems);
    if (allow) out.push(allow);
  });
  (Array.isArray(props.allows) ? props.allows : []).forEach((a, i) => {
    const allow = workloadAllow(asWorkload(a, `allows[${i}]`, problems), `allows[${i}]`, metadata, apiServer, problems);
    if (allow) out.push(allow);
  });
  return out;
}

/** An allow by labels in the shape of a workload entry (its pods as the selector, its ports as declared ports); NS016 for what cannot be one. */
function asWorkload(a: NamespaceAllow, at: string, problems: Problem[]): NamespaceWorkload {
  const bad = (message: string, fix: string) => problems.push({ code: 'NS016', path: at, message, fix });
  const pods = a?.pods;
  if (!pods || typeof pods !== 'object' || Array.isArray(pods) || Object.keys(pods).length === 0)
    bad('an allow needs pods: a non-empty set of labels (an empty selector would be every pod of the namespace)', 'write pods: { "app.kubernetes.io/name": "<workload name>" }');
  else for (const [k, v] of Object.entries(pods)) if (typeof v !== 'string') bad(`the label ${JSON.stringify(k)} has no string value`, 'give each label a string value');
  if (a?.ingressFrom !== undefined && !(a.ports?.length)) bad('ingressFrom needs the ports it opens', 'list ports: [{ port: 8080 }]');
  const ports = Array.isArray(a?.ports) ? portObjects(a.ports, `${at}.ports`, problems) : [];
  return {
    workload: {
      workload: { metadata: { name: a?.name } },
      selector: pods && typeof pods === 'object' ? { ...pods } : {},
      ports: ports.map((p) => ({ containerPort: p.port as number, protocol: p.protocol as 'TCP' | 'UDP' | 'SCTP', container: '' })),
      serviceAccount: {},
    },
    ...(a?.ingressFrom !== undefined ? { ingressFrom: a.ingressFrom } : {}),
    ...(a?.egressTo !== undefined ? { egressTo: a.egressTo } : {}),
  };
}

/** The ValidatingAdmissionPolicy generated from the rule list, and its binding to the namespace. */
function admissionPolicyFor(name: string, allowedRegistries: readonly string[] | undefined): { policy: KubeObject; policyBinding: KubeObject } {
  const policyName = policyNameFor(name);
  const checks = celChecks({ allowedRegistries });
  const policy: KubeObject = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy',
    metadata: {
      name: policyName, labels: { ...MANAGED },
      annotations: {
        'cleanimg.dev/rules': [...new Set(checks.map((c) => c.id))].join(','),
        'cleanimg.dev/rules-not-checked-here': CEL_NOT_GENERATED.map((n) => n.id).join(','),
      },
    },
    spec: policySpec(checks),
  };
  const policyBinding: KubeObject = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: policyName, labels: { ...MANAGED } },
    spec: {
      policyName,
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: name } } },
    },
  };
  return { policy, policyBinding };
}

/** The Role `cleanimg-app` with the grants, and its binding to the workloads' ServiceAccounts (none without workloads). */
function rbacFor(name: string, grants: readonly RoleGrant[], workloads: readonly NamespaceWorkload[]): { role: KubeObject; roleBinding?: KubeObject } {
  const metadata = { name: 'cleanimg-app', namespace: name, labels: { ...MANAGED } };
  const role: KubeObject = {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { ...metadata, labels: { ...MANAGED } },
    rules: grants.map((g) => ({ apiGroups: [...g.apiGroups], resources: [...g.resources], verbs: [...g.verbs], ...(g.resourceNames?.length ? { resourceNames: [...g.resourceNames] } : {}) })),
  };
  const subjects = workloads.map((w) => ({ kind: 'ServiceAccount', name: String(w.workload.serviceAccount.metadata?.name), namespace: name }));
  if (!subjects.length) return { role };
  return {
    role,
    roleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { ...metadata, labels: { ...MANAGED } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cleanimg-app' },
      subjects,
    },
  };
}

/** Builds the hardened namespace's objects, or throws one error listing every problem. */
export function hardenedNamespace(input: HardenedNamespaceProps): HardenedNamespaceResult {
  const props: HardenedNamespaceProps = input && typeof input === 'object' ? input : ({} as HardenedNamespaceProps);
  const name = props.name;
  const problems = namespacePropProblems(props);
  problems.push(...dangerousGrants(props.grants ?? []));
  const signatures = props.imageSignatures === undefined ? undefined : checkImageSignatures(props.imageSignatures);
  if (signatures) problems.push(...signatures.problems);
  if (signatures?.verifiers.includes('policy-controller') && props.labels && Object.hasOwn(props.labels, POLICY_CONTROLLER_INCLUDE_LABEL))
    problems.push({ code: 'NS013', path: `labels.${POLICY_CONTROLLER_INCLUDE_LABEL}`, message: 'the label that turns policy-controller on for the namespace is set by imageSignatures', fix: 'remove the label' });
  problems.push(...unknownProps(props));
  const apiServer = apiServerBlocks(props.apiServer, problems);
  const workloads = props.workloads ?? [];
  if (props.allows !== undefined && !Array.isArray(props.allows))
    problems.push({ code: 'NS016', path: 'allows', message: 'allows must be a list', fix: 'write allows: [{ name, pods, ports, ingressFrom, egressTo }]' });
  problems.push(...workloadProblems(workloads, name, Array.isArray(props.allows) ? props.allows : []));
  // Built now so their problems are reported with the rest.
  const networkPolicies = networkPoliciesFor(name, props, apiServer, problems);
  if (problems.length) throw new CleanimgError(`HardenedNamespace ${JSON.stringify(name ?? '')}: ${problems.length} invalid prop${problems.length === 1 ? '' : 's'}:`, problems);

  const signed = signatures
    ? imageSignatureObjects(name, signatures, defaultScopes(workloads.flatMap((w) => imagesOf(w.workload.workload)), props.allowedRegistries))
    : undefined;
  const signaturePolicies = signed ? [signed.clusterImagePolicy, signed.kyvernoPolicy].filter((o): o is KubeObject => o !== undefined) : [];
  const version = props.podSecurityVersion ?? DEFAULT_POD_SECURITY_VERSION;
  const namespace: KubeObject = {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: {
      name,
      labels: {
        ...props.labels, ...MANAGED, ...signed?.namespaceLabels,
        ...Object.fromEntries(['enforce', 'audit', 'warn'].flatMap((mode) => [
          [`pod-security.kubernetes.io/${mode}`, 'restricted'],
          [`pod-security.kubernetes.io/${mode}-version`, version],
        ])),
      },
      // Empty annotations are left out, as cdk8s leaves them out of metadata (same object in both faces).
      ...(props.annotations && Object.keys(props.annotations).length ? { annotations: { ...props.annotations } } : {}),
    },
  };
  const { policy, policyBinding } = admissionPolicyFor(name, props.allowedRegistries);
  const { role, roleBinding } = rbacFor(name, props.grants ?? [], workloads);
  return {
    namespace, policy, policyBinding, role, ...(roleBinding ? { roleBinding } : {}), networkPolicies, signaturePolicies,
    objects: [namespace, policy, policyBinding, ...signaturePolicies, role, ...(roleBinding ? [roleBinding] : []), ...networkPolicies],
  };
}

/** The images of every container and init container of a workload's pod template. */
function imagesOf(workload: KubeObject): string[] {
  return findPodSpecs(workload).flatMap((site) => containersOf(site).map((c) => c.container?.image)).filter((i): i is string => typeof i === 'string');
}
