import { ApiObject, Chart, JsonPatch, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { CleanimgError } from '../errors';
import {
  hardenedNamespace,
  type EgressAllow, type HardenedNamespaceProps as CoreProps, type HardenedNamespaceResult, type NamespaceWorkload, type NetworkPeer, type NetworkPort,
} from '../core/namespace';
import type { KubeObject } from '../rules';
import { defaultName } from './env-config';
import { HardenedDeployment } from './hardened-deployment';

/** A peer given as core props, or a HardenedDeployment (its pods, in its namespace). */
export type PeerLike = NetworkPeer | HardenedDeployment;

export interface WorkloadOptions {
  /** Who may connect to the declared ports. @default any source, declared ports only */
  readonly ingressFrom?: readonly PeerLike[];
  /** Outgoing traffic beyond DNS. @default none */
  readonly egressTo?: readonly EgressAllow[];
}

export interface HardenedNamespaceProps extends Omit<CoreProps, 'name' | 'workloads'> {
  /** @default derived from the construct path */
  readonly name?: string;
  /** Hardened deployments running here; more with {@link HardenedNamespace.addDeployment}. @default none */
  readonly deployments?: readonly HardenedDeployment[];
}

interface Entry {
  readonly deployment: HardenedDeployment;
  ingressFrom?: NetworkPeer[];
  egressTo: EgressAllow[];
}

const CLUSTER_SCOPED = new Set(['Namespace', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

/**
 * A namespace that enforces the hardening rules in the cluster: Pod Security `restricted` labels
 * (pinned), a ValidatingAdmissionPolicy generated from the rule list and bound to this namespace,
 * a Role for the workloads' ServiceAccounts that grants nothing dangerous, a default-deny
 * NetworkPolicy with DNS egress, and an allow for each deployment's declared ports.
 *
 * It emits exactly the objects of the core's `hardenedNamespace()` (in the core's order for the
 * deployments given in props; one added later brings its RoleBinding or NetworkPolicy at the end).
 * Deployments added to it must end up in this namespace (their own `namespace`, or their chart's),
 * and are ordered after the guards. Its name defaults to the chart's namespace.
 */
export class HardenedNamespace extends Construct {
  readonly name: string;
  readonly namespace: ApiObject;
  readonly policy: ApiObject;
  readonly policyBinding: ApiObject;
  readonly role: ApiObject;
  private readonly props: Omit<CoreProps, 'workloads'>;
  private readonly entries: Entry[] = [];
  private readonly emitted = new Map<string, ApiObject>();
  private current: HardenedNamespaceResult;

  constructor(scope: Construct, id: string, props: HardenedNamespaceProps = {}) {
    super(scope, id);
    this.name = props.name ?? Chart.of(this).namespace ?? defaultName(this);
    const { deployments = [], ...rest } = props;
    this.props = { ...rest, name: this.name };
    // The deployments given here go in before anything is emitted, so the objects come out in the core's order.
    for (const d of deployments) if (!this.entries.some((e) => e.deployment === d)) this.entries.push({ deployment: d, egressTo: [] });
    this.current = hardenedNamespace(this.coreProps());
    this.namespace = this.emit(this.current.namespace, 'Namespace');
    this.policy = this.emit(this.current.policy, 'Policy');
    this.policyBinding = this.emit(this.current.policyBinding, 'PolicyBinding');
    this.policyBinding.addDependency(this.policy);
    this.role = this.emit(this.current.role, 'Role');
    this.sync();
    for (const d of deployments) d.node.addDependency(this);
  }

  /** The core's result for the deployments and allows added so far. */
  get result(): HardenedNamespaceResult {
    return this.current;
  }

  /** Runs `deployment` here: binds its ServiceAccount, opens its declared ports, orders it after the guards. */
  addDeployment(deployment: HardenedDeployment, options: WorkloadOptions = {}): this {
    if (this.entries.some((e) => e.deployment === deployment)) return this;
    const entry: Entry = { deployment, egressTo: [...(options.egressTo ?? [])] };
    if (options.ingressFrom) entry.ingressFrom = options.ingressFrom.map((p) => this.peer(p));
    this.update(() => this.entries.push(entry), () => this.entries.pop());
    deployment.node.addDependency(this);
    return this;
  }

  /** Lets only these sources reach `deployment`'s declared ports (adding to earlier `allowFrom` calls). */
  allowFrom(deployment: HardenedDeployment, ...sources: PeerLike[]): this {
    if (sources.length === 0) throw new CleanimgError(`HardenedNamespace ${this.name}: allowFrom needs a source`, [{ code: 'NS016', path: 'allowFrom', message: 'no source given', fix: 'pass a HardenedDeployment or a peer ({ pods }, { namespace }, { cidr })' }]);
    const entry = this.entryOf(deployment);
    const before = entry.ingressFrom;
    this.update(() => { entry.ingressFrom = [...(before ?? []), ...sources.map((p) => this.peer(p))]; }, () => { entry.ingressFrom = before; });
    return this;
  }

  /** Lets `deployment` connect to `target`: for a HardenedDeployment, on its declared ports unless `ports` is given. */
  allowTo(deployment: HardenedDeployment, target: PeerLike, ports?: readonly NetworkPort[]): this {
    const entry = this.entryOf(deployment);
    const p = ports ?? (target instanceof HardenedDeployment ? target.result.ports.map((x) => ({ port: x.containerPort, protocol: x.protocol ?? 'TCP' })) : []);
    this.update(() => entry.egressTo.push({ to: [this.peer(target)], ports: p }), () => entry.egressTo.pop());
    return this;
  }

  private entryOf(deployment: HardenedDeployment): Entry {
    const e = this.entries.find((x) => x.deployment === deployment);
    if (!e) throw new CleanimgError(`HardenedNamespace ${this.name}: ${deployment.name} is not in this namespace`, [{ code: 'NS014', path: deployment.node.path, message: 'the deployment was not added', fix: 'call addDeployment(deployment) first' }]);
    return e;
  }

  private peer(p: PeerLike): NetworkPeer {
    if (!(p instanceof HardenedDeployment)) return p;
    const ns = p.deployment.metadata.namespace;
    return { pods: { ...p.selector }, ...(ns && ns !== this.name ? { namespace: ns } : {}) };
  }

  private coreProps(): CoreProps {
    const workloads: NamespaceWorkload[] = this.entries.map((e) => {
      const r = e.deployment.result;
      // The namespace the deployment really lands in: its own, else its chart's.
      const ns = e.deployment.deployment.metadata.namespace;
      if (ns === undefined) {
        throw new CleanimgError(`HardenedNamespace ${this.name}: deployment ${e.deployment.name} has no namespace`, [{
          code: 'NS014', path: e.deployment.node.path, message: 'it would be applied to the kubeconfig\'s namespace, outside these guards',
          fix: `set namespace: ${JSON.stringify(this.name)} on it, or create it in a Chart with namespace: ${JSON.stringify(this.name)}`,
        }]);
      }
      const deployment = { ...r.deployment, metadata: { ...r.deployment.metadata, namespace: ns } };
      return { deployment: { ...r, deployment }, ...(e.ingressFrom ? { ingressFrom: e.ingressFrom } : {}), ...(e.egressTo.length ? { egressTo: e.egressTo } : {}) };
    });
    return { ...this.props, workloads };
  }

  /** Applies a change, rebuilds through the core (which throws on bad input), and undoes the change if it threw. */
  private update(change: () => void, undo: () => void): void {
    change();
    try {
      this.current = hardenedNamespace(this.coreProps());
    } catch (e) {
      undo();
      throw e;
    }
    this.sync();
  }

  /** Creates an ApiObject for each object of the current result that has none yet; their content is read at synth. */
  private sync(): void {
    for (const o of this.current.objects) {
      const key = `${o.kind}/${o.metadata!.name}`;
      if (this.emitted.has(key)) continue;
      const id = o.kind === 'NetworkPolicy' ? `NetworkPolicy-${o.metadata!.name}` : o.kind!;
      this.emit(o, id, key);
    }
  }

  private emit(o: KubeObject, id: string, key = `${o.kind}/${o.metadata!.name}`): ApiObject {
    const existing = this.emitted.get(key);
    if (existing) return existing;
    const { apiVersion, kind, metadata, ...body } = o;
    const lazyBody = Object.fromEntries(Object.keys(body).map((field) => [field, Lazy.any({ produce: () => this.find(key)[field] })]));
    const obj = new ApiObject(this, id, { apiVersion: apiVersion!, kind: kind!, metadata: metadata as never, ...lazyBody } as never);
    if (CLUSTER_SCOPED.has(kind!) && Chart.of(this).namespace) obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    this.emitted.set(key, obj);
    return obj;
  }

  private find(key: string): Record<string, unknown> {
    const o = this.current.objects.find((x) => `${x.kind}/${x.metadata!.name}` === key);
    if (!o) throw new Error(`internal: ${key} vanished from the HardenedNamespace result`);
    return o as Record<string, unknown>;
  }
}
