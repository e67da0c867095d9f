import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  hardenedNamespace,
  type EgressAllow, type HardenedNamespaceProps as CoreProps, type HardenedNamespaceResult, type NamespaceWorkload, type NetworkPeer, type WorkloadLike,
} from '../core/namespace';
import { CleanimgError } from '../errors';
import type { KubeObject } from '../rules';
import { HardenedWorkload, kubeArgs } from './hardened-workload';
import { isPlain, mapKnown, resolveWith, type Known } from './resolve';
import { ownershipAnnotationProblems } from './ssa-ownership';

/** The type token of the HardenedNamespace component. */
export const HARDENED_NAMESPACE_TYPE = 'cleanimg:index:HardenedNamespace';

/** A peer given as core props, or a hardened workload (its pods, in its namespace). */
export type PulumiPeerLike = NetworkPeer | HardenedWorkload;

/** A workload of any kind with the traffic it may receive and send (the cdk8s face's `allowFrom` / `allowTo`). */
export interface NamespaceWorkloadEntry {
  readonly workload: HardenedWorkload;
  /** Who may connect to the declared ports. An empty list admits nobody. @default any source, declared ports only */
  readonly ingressFrom?: readonly PulumiPeerLike[];
  /** Outgoing traffic beyond DNS. @default none */
  readonly egressTo?: readonly PulumiEgressAllow[];
}

/** The same as {@link NamespaceWorkloadEntry}, keyed `deployment` (kept for programs written before other kinds existed). */
export interface NamespaceDeployment {
  readonly deployment: HardenedWorkload;
  /** Who may connect to the declared ports. An empty list admits nobody. @default any source, declared ports only */
  readonly ingressFrom?: readonly PulumiPeerLike[];
  /** Outgoing traffic beyond DNS. @default none */
  readonly egressTo?: readonly PulumiEgressAllow[];
}

/** Outgoing traffic a workload may send beyond DNS; a peer may be a hardened workload. */
export interface PulumiEgressAllow extends Omit<EgressAllow, 'to'> {
  readonly to: readonly PulumiPeerLike[];
}

/**
 * Declares the workloads of the namespace. It is called by the constructor, after the namespace's
 * own props are checked and before any Kubernetes object is registered; `opts` must be merged into
 * the options of every component it creates (HardenedDeployment, HardenedJob, ..., EnvConfig): they make each
 * Kubernetes object of those components depend on the guards (Namespace, policy, binding, Role,
 * default-deny and DNS NetworkPolicies), so no workload reaches the cluster before the policy does.
 */
export type DeclareDeployments = (opts: pulumi.ComponentResourceOptions) => readonly (HardenedWorkload | NamespaceWorkloadEntry | NamespaceDeployment)[];

export interface HardenedNamespaceArgs extends Omit<CoreProps, 'name' | 'workloads'> {
  /** Kubernetes name of the Namespace (a DNS label). @default the Pulumi resource name */
  readonly name?: string;
  /**
   * The hardened workloads (any kind) running here, declared inside the namespace so they can be ordered
   * after its guards (a Pulumi `dependsOn` cannot be added to a resource once it is constructed).
   * @default none
   */
  readonly deployments?: DeclareDeployments;
}

/** Guards: the objects every workload of the namespace is ordered after. */
const GUARD_KEYS = (r: HardenedNamespaceResult) => [r.namespace, r.policy, r.policyBinding, ...r.signaturePolicies, r.role, ...r.networkPolicies.filter((n) => ['default-deny', 'allow-dns'].includes(String(n.metadata?.name)))].map(keyOf);

function keyOf(o: KubeObject): string {
  return `${o.kind}/${o.metadata?.name}`;
}

/**
 * A workload whose values are not known yet, as its plain args shape it: decides which objects exist.
 * A namespace given as a plain value is kept (so one elsewhere is refused now); one still to come is
 * taken to be this one, and checked when known.
 */
function standIn(w: HardenedWorkload, namespace: string): WorkloadLike {
  const s = w.shape;
  return { ...s, workload: { ...s.workload, metadata: { ...s.workload.metadata, namespace: s.workload.metadata?.namespace ?? namespace } } };
}

function entryOf(e: HardenedWorkload | NamespaceWorkloadEntry | NamespaceDeployment): NamespaceWorkloadEntry {
  if (e instanceof HardenedWorkload) return { workload: e };
  if ('workload' in e) return e;
  const { deployment, ...rest } = e;
  return { workload: deployment, ...rest };
}

/**
 * A namespace that enforces the hardening rules in the cluster, as a Pulumi component: the objects
 * of the core's `hardenedNamespace()` (the same as the cdk8s HardenedNamespace synthesizes for the
 * same props), registered as typed `@pulumi/kubernetes` resources parented to the component:
 * Namespace (Pod Security `restricted`, pinned), ValidatingAdmissionPolicy and binding
 * (admissionregistration.k8s.io/v1), Role and RoleBinding, NetworkPolicies.
 *
 * Order: the Role and NetworkPolicies depend on the Namespace, the binding on the policy, and every
 * Kubernetes object of the deployments (and EnvConfigs) declared in `args.deployments` on all the
 * guards. Bad props throw at construction with the cdk8s face's codes and messages, before any
 * Kubernetes object is registered; bad workloads too, when their args were plain values (else when
 * their values are known).
 */
export class HardenedNamespace extends pulumi.ComponentResource {
  readonly name: string;
  readonly namespace: k8s.core.v1.Namespace;
  readonly policy: k8s.admissionregistration.v1.ValidatingAdmissionPolicy;
  readonly policyBinding: k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding;
  readonly role: k8s.rbac.v1.Role;
  /** Present when there is a deployment. */
  readonly roleBinding?: k8s.rbac.v1.RoleBinding;
  /** With `imageSignatures`: the ClusterImagePolicy and/or Kyverno ClusterPolicy, keyed by kind. */
  readonly signaturePolicies: Readonly<Record<string, k8s.apiextensions.CustomResource>>;
  /** Keyed by Kubernetes name: default-deny, allow-dns, allow-<deployment>. */
  readonly networkPolicies: Readonly<Record<string, k8s.networking.v1.NetworkPolicy>>;
  /** The workloads declared in `args.deployments`, in order (any kind). */
  readonly workloads: readonly HardenedWorkload[];
  /** The same as `workloads`. */
  readonly deployments: readonly HardenedWorkload[];
  /** The core's result, when every input was plain. */
  readonly resultValue?: HardenedNamespaceResult;
  /** The guards, in apply order: every workload object depends on them. */
  readonly guards: readonly pulumi.CustomResource[];
  private readonly known: Known<HardenedNamespaceResult>;
  private cachedResult?: pulumi.Output<HardenedNamespaceResult>;

  /** The core's result: the exact objects registered. */
  get result(): pulumi.Output<HardenedNamespaceResult> {
    return (this.cachedResult ??= this.known.plain ? pulumi.output(this.known.value as never) as unknown as pulumi.Output<HardenedNamespaceResult> : this.known.value);
  }

  constructor(resourceName: string, args: HardenedNamespaceArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    const { deployments: declare, ...rest } = args ?? {};
    const name = rest.name ?? resourceName;
    const props: CoreProps = { ...rest, name };
    // The namespace's own props first: a bad one throws here, with nothing registered.
    const owning = ownershipAnnotationProblems(props.annotations, `HardenedNamespace ${JSON.stringify(name)}`);
    if (owning.length) throw new CleanimgError(`HardenedNamespace ${JSON.stringify(name)}: ${owning.length} invalid prop${owning.length === 1 ? '' : 's'}:`, owning);
    hardenedNamespace(props);
    super(HARDENED_NAMESPACE_TYPE, resourceName, {}, opts);
    this.name = name;

    // Workloads are registered only once the guards are: their dependsOn waits on this promise. When
    // the constructor throws, it never settles, so the refused workloads never reach the engine (a
    // rejection would surface once per Output of every one of their resources, as unhandled errors).
    let release!: (guards: pulumi.Resource[]) => void;
    const guardsReady = new Promise<pulumi.Resource[]>((resolve) => { release = resolve; });
    const afterGuards: pulumi.ResourceTransformation = (a) => ({
      props: a.props,
      opts: { ...a.opts, dependsOn: [a.opts.dependsOn ?? [], guardsReady] as unknown as pulumi.Input<pulumi.Resource>[] },
    });

    let shape: HardenedNamespaceResult;
    const entries: NamespaceWorkloadEntry[] = (declare ? declare({ transformations: [afterGuards] }) : []).map(entryOf);
    const peer = (p: PulumiPeerLike): NetworkPeer | pulumi.Output<NetworkPeer> => {
      if (!(p instanceof HardenedWorkload)) return p;
      const toPeer = (r: WorkloadLike): NetworkPeer => {
        const ns = r.workload.metadata?.namespace;
        return { pods: { ...r.selector }, ...(ns && ns !== name ? { namespace: ns } : {}) };
      };
      return p.resultValue ? toPeer(p.resultValue) : p.result.apply(toPeer);
    };
    const workloadInput = (e: NamespaceWorkloadEntry) => ({
      workload: e.workload.resultValue ?? e.workload.result,
      ...(e.ingressFrom ? { ingressFrom: e.ingressFrom.map(peer) } : {}),
      ...(e.egressTo ? { egressTo: e.egressTo.map((x) => ({ ...x, to: x.to.map(peer) })) } : {}),
    });
    const coreWith = (workloads: readonly NamespaceWorkload[]): HardenedNamespaceResult => {
      workloads.forEach((w, i) => {
        if (w.workload.workload.metadata?.namespace === undefined) {
          const d = entries[i]!.workload.name;
          throw new CleanimgError(`HardenedNamespace ${name}: ${w.workload.workload.kind ?? 'workload'} ${d} has no namespace`, [{
            code: 'NS014', path: d, message: 'it would be applied to the provider\'s default namespace, outside these guards',
            fix: `set namespace: ${JSON.stringify(name)} on it`,
          }]);
        }
      });
      return hardenedNamespace({ ...props, workloads });
    };
    const inputs = entries.map(workloadInput);
    const allPlain = isPlain(inputs);
    if (allPlain) shape = coreWith(inputs as unknown as NamespaceWorkload[]);
    else {
      // Which objects exist is decided now; stand-ins for the deployments whose values come later.
      // Bad plain values throw here, before the Output below exists (it would reject again, unhandled).
      const plainPeer = (p: PulumiPeerLike): NetworkPeer => (p instanceof HardenedWorkload ? (p.resultValue ? peer(p) as NetworkPeer : { pods: { 'app.kubernetes.io/name': p.name } }) : p);
      shape = hardenedNamespace({
        ...props,
        workloads: entries.map((e) => ({
          workload: e.workload.resultValue ?? standIn(e.workload, name),
          ...(e.ingressFrom ? { ingressFrom: e.ingressFrom.map(plainPeer) } : {}),
          ...(e.egressTo ? { egressTo: e.egressTo.map((x) => ({ ...x, to: x.to.map(plainPeer) })) } : {}),
        })),
      });
    }
    const known: Known<HardenedNamespaceResult> = allPlain ? { plain: true, value: shape } : resolveWith(inputs, (w) => coreWith(w as unknown as NamespaceWorkload[]));
    this.known = known;
    if (known.plain) this.resultValue = known.value;
    this.workloads = entries.map((e) => e.workload);
    this.deployments = this.workloads;

    const objectArgs = (key: string, fields: readonly string[]) => kubeArgs(mapKnown(known, (r) => {
      const o = r.objects.find((x) => keyOf(x) === key);
      if (!o) {
        throw new CleanimgError(`HardenedNamespace ${name}: ${key} was expected but the deployments' values do not produce it`, [{
          code: 'PROP009', path: key, message: 'a workload whose args are Outputs changed which NetworkPolicies exist once its values were known',
          fix: 'declare the deployment\'s ports, or give it plain args',
        }]);
      }
      return o;
    }), fields);

    const child = { parent: this };
    this.namespace = new k8s.core.v1.Namespace(resourceName, objectArgs(keyOf(shape.namespace), ['metadata']) as k8s.core.v1.NamespaceArgs, child);
    this.policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(resourceName,
      objectArgs(keyOf(shape.policy), ['metadata', 'spec']) as unknown as k8s.admissionregistration.v1.ValidatingAdmissionPolicyArgs, child);
    this.policyBinding = new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(resourceName,
      objectArgs(keyOf(shape.policyBinding), ['metadata', 'spec']) as unknown as k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingArgs,
      { ...child, dependsOn: [this.policy] });
    const signaturePolicies: Record<string, k8s.apiextensions.CustomResource> = {};
    for (const sp of shape.signaturePolicies) {
      signaturePolicies[String(sp.kind)] = new k8s.apiextensions.CustomResource(`${resourceName}-${String(sp.kind).toLowerCase()}`,
        objectArgs(keyOf(sp), ['apiVersion', 'kind', 'metadata', 'spec']) as unknown as k8s.apiextensions.CustomResourceArgs, child);
    }
    this.signaturePolicies = signaturePolicies;
    const afterNamespace = { ...child, dependsOn: [this.namespace] };
    this.role = new k8s.rbac.v1.Role(resourceName, objectArgs(keyOf(shape.role), ['metadata', 'rules']) as k8s.rbac.v1.RoleArgs, afterNamespace);
    if (shape.roleBinding) {
      this.roleBinding = new k8s.rbac.v1.RoleBinding(resourceName,
        objectArgs(keyOf(shape.roleBinding), ['metadata', 'roleRef', 'subjects']) as unknown as k8s.rbac.v1.RoleBindingArgs, { ...child, dependsOn: [this.namespace, this.role] });
    }
    const policies: Record<string, k8s.networking.v1.NetworkPolicy> = {};
    const guardKeys = GUARD_KEYS(shape);
    const byKey = new Map<string, pulumi.CustomResource>([
      [keyOf(shape.namespace), this.namespace], [keyOf(shape.policy), this.policy], [keyOf(shape.policyBinding), this.policyBinding], [keyOf(shape.role), this.role],
      ...shape.signaturePolicies.map((sp) => [keyOf(sp), signaturePolicies[String(sp.kind)]!] as [string, pulumi.CustomResource]),
    ]);
    for (const np of shape.networkPolicies) {
      const npName = String(np.metadata?.name);
      const created = new k8s.networking.v1.NetworkPolicy(`${resourceName}-${npName}`,
        objectArgs(keyOf(np), ['metadata', 'spec']) as k8s.networking.v1.NetworkPolicyArgs, afterNamespace);
      policies[npName] = created;
      byKey.set(keyOf(np), created);
    }
    this.networkPolicies = policies;
    this.guards = guardKeys.map((k) => byKey.get(k)!);
    release([...this.guards]);
    this.registerOutputs({ name });
  }
}
