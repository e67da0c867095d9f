import { ApiObject, Chart, JsonPatch, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { CleanimgError, type Problem } from '../errors';
import {
  hardenedNamespace,
  type EgressAllow, type HardenedNamespaceProps as CoreProps, type HardenedNamespaceResult, type NamespaceWorkload, type NetworkPeer, type NetworkPort,
} from '../core/namespace';
import type { KubeObject } from '../rules';
import { canonical } from '../rules/guard-rules';
import type { HardenedDeployment } from './hardened-deployment';
import { HardenedWorkload } from './hardened-workload';
import { defaultName } from './naming';

/** A peer given as core props, or a hardened workload (its pods, in its namespace). */
export type PeerLike = NetworkPeer | HardenedWorkload;

export interface WorkloadOptions {
  /** Who may connect to the declared ports. @default any source, declared ports only */
  readonly ingressFrom?: readonly PeerLike[];
  /** Outgoing traffic beyond DNS. @default none */
  readonly egressTo?: readonly EgressAllow[];
}

export interface HardenedNamespaceProps extends Omit<CoreProps, 'name' | 'workloads'> {
  /** @default derived from the construct path */
  readonly name?: string;
  /** Hardened workloads (any kind) running here; more with {@link HardenedNamespace.addWorkload}. @default none */
  readonly workloads?: readonly HardenedWorkload[];
  /** The same as `workloads` (kept for programs written before other kinds existed). @default none */
  readonly deployments?: readonly HardenedDeployment[];
}

interface Entry {
  readonly workload: HardenedWorkload;
  ingressFrom?: NetworkPeer[];
  egressTo: EgressAllow[];
}

const CLUSTER_SCOPED = new Set(['Namespace', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ClusterImagePolicy', 'ClusterPolicy']);

/**
 * A namespace that enforces the hardening rules in the cluster: Pod Security `restricted` labels
 * (pinned), a ValidatingAdmissionPolicy generated from the rule list and bound to this namespace,
 * a Role for the workloads' ServiceAccounts that grants nothing dangerous, a default-deny
 * NetworkPolicy with DNS egress, and an allow for each workload's declared ports.
 *
 * It emits exactly the objects of the core's `hardenedNamespace()` (in the core's order for the
 * workloads given in props; one added later brings its RoleBinding or NetworkPolicy at the end).
 * Workloads of every kind (HardenedDeployment, HardenedStatefulSet, HardenedJob, HardenedCronJob)
 * may be added; they must end up in this namespace (their own `namespace`, or their chart's), and
 * are ordered after the guards. Its name defaults to the chart's namespace.
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
    const { deployments = [], workloads = [], ...rest } = props;
    this.props = { ...rest, name: this.name };
    const given = [...workloads, ...deployments];
    // The workloads given here go in before anything is emitted, so the objects come out in the core's order.
    for (const w of given) if (!this.entries.some((e) => e.workload === w)) this.entries.push({ workload: w, egressTo: [] });
    this.current = hardenedNamespace(this.coreProps());
    this.namespace = this.emit(this.current.namespace, 'Namespace');
    this.policy = this.emit(this.current.policy, 'Policy');
    this.policyBinding = this.emit(this.current.policyBinding, 'PolicyBinding');
    this.policyBinding.addDependency(this.policy);
    this.role = this.emit(this.current.role, 'Role');
    this.sync();
    for (const w of given) w.node.addDependency(this);
  }

  /**
   * HD044 for each of this namespace's objects that an escape hatch changed (a JSON patch: the object
   * rules also judge what it changed, but not a renamed guard) or took out of the tree
   * (`node.tryRemoveChild`: a missing binding enforces nothing). Labels a Chart adds are allowed.
   * HardenedApp asks it after the object rules; the synth plugin sees files only, where a renamed or
   * missing guard cannot be told from an object the user never had.
   */
  guardProblems(): Problem[] {
    const inTree = new Set<unknown>(this.node.findAll());
    const fix = 'remove the patch or the removal; change the namespace through its props';
    const out: Problem[] = [];
    for (const [key, obj] of this.emitted) {
      const core = this.current.objects.find((o) => `${o.kind}/${o.metadata!.name}` === key);
      if (!core) continue;
      if (!inTree.has(obj)) out.push({ code: 'HD044', path: obj.node.path, message: `${key} was removed from the namespace's objects: what it guards is no longer enforced`, fix });
      else if (!writtenAsBuilt(obj.toJson() as KubeObject, core)) out.push({ code: 'HD044', path: obj.node.path, message: `${key} was changed after HardenedNamespace built it`, fix });
    }
    return out;
  }

  /** The core's result for the workloads and allows added so far. */
  get result(): HardenedNamespaceResult {
    return this.current;
  }

  /** Runs `workload` (any kind) here: binds its ServiceAccount, opens its declared ports, orders it after the guards. */
  addWorkload(workload: HardenedWorkload, options: WorkloadOptions = {}): this {
    if (this.entries.some((e) => e.workload === workload)) return this;
    const entry: Entry = { workload, egressTo: [...(options.egressTo ?? [])] };
    if (options.ingressFrom) entry.ingressFrom = options.ingressFrom.map((p) => this.peer(p));
    this.update(() => this.entries.push(entry), () => this.entries.pop());
    workload.node.addDependency(this);
    return this;
  }

  /** The same as {@link addWorkload} (kept for programs written before other kinds existed). */
  addDeployment(deployment: HardenedWorkload, options: WorkloadOptions = {}): this {
    return this.addWorkload(deployment, options);
  }

  /** Lets only these sources reach `workload`'s declared ports (adding to earlier `allowFrom` calls). */
  allowFrom(workload: HardenedWorkload, ...sources: PeerLike[]): this {
    if (sources.length === 0) throw new CleanimgError(`HardenedNamespace ${this.name}: allowFrom needs a source`, [{ code: 'NS016', path: 'allowFrom', message: 'no source given', fix: 'pass a HardenedDeployment or a peer ({ pods }, { namespace }, { cidr })' }]);
    const entry = this.entryOf(workload);
    const before = entry.ingressFrom;
    this.update(() => { entry.ingressFrom = [...(before ?? []), ...sources.map((p) => this.peer(p))]; }, () => { entry.ingressFrom = before; });
    return this;
  }

  /** Lets `workload` connect to `target`: for a hardened workload, on its declared ports unless `ports` is given. */
  allowTo(workload: HardenedWorkload, target: PeerLike, ports?: readonly NetworkPort[]): this {
    const entry = this.entryOf(workload);
    const p = ports ?? (target instanceof HardenedWorkload ? target.result.ports.map((x) => ({ port: x.containerPort, protocol: x.protocol ?? 'TCP' })) : []);
    this.update(() => entry.egressTo.push({ to: [this.peer(target)], ports: p }), () => entry.egressTo.pop());
    return this;
  }

  private entryOf(workload: HardenedWorkload): Entry {
    const e = this.entries.find((x) => x.workload === workload);
    if (!e) throw new CleanimgError(`HardenedNamespace ${this.name}: ${workload.name} is not in this namespace`, [{ code: 'NS014', path: workload.node.path, message: 'the workload was not added', fix: 'call addWorkload(workload) first' }]);
    return e;
  }

  private peer(p: PeerLike): NetworkPeer {
    if (!(p instanceof HardenedWorkload)) return p;
    const ns = p.workload.metadata.namespace;
    return { pods: { ...p.selector }, ...(ns && ns !== this.name ? { namespace: ns } : {}) };
  }

  private coreProps(): CoreProps {
    const workloads: NamespaceWorkload[] = this.entries.map((e) => {
      const r = e.workload.result;
      // The namespace the workload really lands in: its own, else its chart's.
      const ns = e.workload.workload.metadata.namespace;
      if (ns === undefined) {
        throw new CleanimgError(`HardenedNamespace ${this.name}: ${r.kind} ${e.workload.name} has no namespace`, [{
          code: 'NS014', path: e.workload.node.path, message: 'it would be applied to the kubeconfig\'s namespace, outside these guards',
          fix: `set namespace: ${JSON.stringify(this.name)} on it, or create it in a Chart with namespace: ${JSON.stringify(this.name)}`,
        }]);
      }
      const workload = { ...r.workload, metadata: { ...r.workload.metadata, namespace: ns } };
      return { workload: { ...r, workload }, ...(e.ingressFrom ? { ingressFrom: e.ingressFrom } : {}), ...(e.egressTo.length ? { egressTo: e.egressTo } : {}) };
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

/** Whether cdk8s wrote `built` as the core made it; the only difference allowed is labels a Chart adds. */
function writtenAsBuilt(written: KubeObject, built: KubeObject): boolean {
  const labels = { ...(written.metadata?.labels as Record<string, string> | undefined) };
  const own = (built.metadata?.labels ?? {}) as Record<string, string>;
  for (const k of Object.keys(labels)) if (!Object.hasOwn(own, k)) delete labels[k];
  const w = { ...written, metadata: { ...written.metadata, ...(written.metadata?.labels ? { labels } : {}) } };
  return JSON.stringify(canonical(w)) === JSON.stringify(canonical(built));
}
