/**
 * What every hardened workload component shares in Pulumi: the core's objects (ServiceAccount,
 * claims, the workload, its HPA, PDB or headless Service) registered as typed `@pulumi/kubernetes`
 * resources under the component, exposure (Service, Ingress, HTTPRoute), and resolution of Inputs.
 * Each kind (HardenedDeployment, HardenedStatefulSet, HardenedJob, HardenedCronJob) only names its
 * core builder and type token, so the objects are those the cdk8s face synthesizes.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { DigestRef } from '../core/image-ref';
import type { EnvConfigAttachment, HardenedContainerProps, HardenedPodProps } from '../core/props';
import { httpRouteFor, ingressFor, serviceFor, type HttpRouteOptions, type IngressOptions, type ServiceOptions } from '../core/workload/exposure';
import type { HardenedWorkloadResult } from '../core/workload/result';
import { CleanimgError } from '../errors';
import { ownershipAnnotationProblems } from './ssa-ownership';
import type { KubeObject } from '../rules';
import type { PulumiAttachmentSource } from './env-config';
import { asOutput, isPlain, lateContainerImages, mapKnown, resolveWithLate, type Known } from './resolve';
import { secretFieldGuard } from './secret-fields';

export type { ServiceOptions as ExposeOptions, IngressOptions, HttpRouteOptions } from '../core/workload/exposure';

/**
 * An image: a digest-pinned reference, an Output of one (e.g. a CustomizedImage's `ref`), or an
 * object with `imageRef`. A plain string must have the `repo@sha256:` form to type-check; Outputs
 * are checked (HD003) when their value is known.
 */
export type PulumiImageInput = DigestRef | pulumi.Output<string> | Promise<string> | { readonly imageRef: DigestRef | pulumi.Output<string> };

export interface HardenedContainerArgs extends Omit<HardenedContainerProps, 'image' | 'config' | 'env'> {
  /** Pinned by digest: `repo@sha256:<digest>`, `repo:tag@sha256:<digest>`, an Output of one, or an object with `imageRef`. */
  readonly image: PulumiImageInput;
  /** Literal, non-secret environment variables (values may be Outputs, never secret ones). @default none */
  readonly env?: Readonly<Record<string, pulumi.Input<string>>>;
  /** EnvConfig components whose files, secrets and env this container receives. @default none */
  readonly config?: readonly (PulumiAttachmentSource | pulumi.Input<EnvConfigAttachment>)[];
}

type InputFields = 'name' | 'namespace' | 'labels' | 'annotations' | 'containers' | 'initContainers';

/** The args of a workload component: the core props of its kind, with Inputs where values may come later. */
export type WorkloadArgs<P extends HardenedPodProps> = Omit<P, InputFields> & {
  /** Kubernetes name of the workload and its ServiceAccount (set explicitly, no suffix). @default the Pulumi resource name */
  readonly name?: string;
  /** @default the namespace of the provider's kubeconfig context */
  readonly namespace?: pulumi.Input<string>;
  /** Extra labels on the workload and its pods (never a secret Output: PROP010). @default none */
  readonly labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Extra annotations on the workload. @default none */
  readonly annotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  readonly containers: readonly HardenedContainerArgs[];
  /** @default none */
  readonly initContainers?: readonly HardenedContainerArgs[];
  /** Also create a ClusterIP Service for the declared ports (like `exposeViaService()`). @default no Service */
  readonly service?: boolean | ServiceOptions;
  /** Also create an Ingress (and the Service) for a declared port. @default none */
  readonly ingress?: IngressOptions;
  /** Also create a Gateway API HTTPRoute (and the Service) for a declared port. @default none */
  readonly httpRoute?: HttpRouteOptions;
};

type KubeCtor = new (name: string, args: never, opts: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/** The typed resource class of each kind a workload registers. */
const RESOURCE_CLASSES: Record<string, KubeCtor> = {
  ServiceAccount: k8s.core.v1.ServiceAccount as unknown as KubeCtor,
  PersistentVolumeClaim: k8s.core.v1.PersistentVolumeClaim as unknown as KubeCtor,
  Service: k8s.core.v1.Service as unknown as KubeCtor,
  Deployment: k8s.apps.v1.Deployment as unknown as KubeCtor,
  StatefulSet: k8s.apps.v1.StatefulSet as unknown as KubeCtor,
  Job: k8s.batch.v1.Job as unknown as KubeCtor,
  CronJob: k8s.batch.v1.CronJob as unknown as KubeCtor,
  HorizontalPodAutoscaler: k8s.autoscaling.v2.HorizontalPodAutoscaler as unknown as KubeCtor,
  PodDisruptionBudget: k8s.policy.v1.PodDisruptionBudget as unknown as KubeCtor,
  Ingress: k8s.networking.v1.Ingress as unknown as KubeCtor,
};

/** `build`, refusing first the annotations that share or take over field ownership (PUL001, also when they arrive as an Output). */
function withOwnershipCheck<R>(build: (props: never) => R, where: string): (props: never) => R {
  return (props) => {
    const problems = ownershipAnnotationProblems((props as { annotations?: unknown }).annotations, where);
    if (problems.length) throw new CleanimgError(`${where}: ${problems.length} invalid prop${problems.length === 1 ? '' : 's'}:`, problems);
    return build(props);
  };
}

function isAttachmentSource(c: unknown): c is PulumiAttachmentSource {
  // `in`, not a read: reading `attachment` would make an Output that is not needed when the value is known.
  return !!c && typeof c === 'object' && !pulumi.Output.isInstance(c) && 'attachment' in c && !('volumes' in c);
}

/** The container args with EnvConfig components replaced by their attachments (plain when known). */
function containerInput(c: HardenedContainerArgs): unknown {
  const config = c.config?.map((a) => (isAttachmentSource(a) ? a.attachmentValue ?? a.attachment : a));
  const image = c.image && typeof c.image === 'object' && !pulumi.Output.isInstance(c.image) && 'imageRef' in c.image ? c.image.imageRef : c.image;
  return { ...c, image, ...(config ? { config } : {}) };
}

/** Kubernetes args (metadata, spec, ...) of one object: plain fields, or one Output per field. */
export function kubeArgs(o: Known<KubeObject>, fields: readonly string[]): Record<string, pulumi.Input<unknown>> {
  const out: Record<string, pulumi.Input<unknown>> = {};
  for (const f of fields) {
    if (o.plain) {
      if (o.value[f] !== undefined) out[f] = o.value[f];
    } else out[f] = o.value.apply((v) => v[f]);
  }
  return out;
}

const keyOf = (o: KubeObject) => `${o.kind}/${o.metadata?.name}`;
const isPending = (v: unknown) => pulumi.Output.isInstance(v) || (!!v && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function');

/** A copy of the core input with every value that comes later left out (images: a stand-in), to learn which objects exist. */
function withoutPending(v: unknown, key?: string): unknown {
  if (isPending(v)) return key === 'image' ? `pending.cleanimg.invalid/shape@sha256:${'0'.repeat(64)}` : undefined;
  if (Array.isArray(v)) return v.map((x) => withoutPending(x)).filter((x) => x !== undefined);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutPending(x, k)]).filter(([, x]) => x !== undefined));
}

/**
 * The base of the workload components. When every arg is a plain value, bad args fail at
 * construction, with the cdk8s face's rule ids and messages, and nothing is registered; when some
 * are Outputs, the same checks run when their values are known. Which objects exist is decided by
 * the plain args (replicas, autoscaling, storage, ...), so preview shows them all.
 */
export abstract class HardenedWorkload<R extends HardenedWorkloadResult = HardenedWorkloadResult> extends pulumi.ComponentResource {
  readonly name: string;
  /** The Deployment, StatefulSet, Job or CronJob. */
  readonly workload: pulumi.CustomResource;
  readonly serviceAccount: k8s.core.v1.ServiceAccount;
  /** Every Kubernetes object of the workload (exposure included), by `Kind/name`. */
  readonly children: Readonly<Record<string, pulumi.CustomResource>> = {};
  /** The Service, when `args.service` is set or `exposeViaService()` was called. */
  service?: k8s.core.v1.Service;
  /** The core's result, when every input was plain. */
  readonly resultValue?: R;
  protected readonly known: Known<R>;
  /**
   * The objects that exist, as the core builds them from the plain args (values that come later left
   * out): used to register every object, and by HardenedNamespace, before the values are known.
   */
  readonly shape: R;
  private readonly resourceName: string;
  private cache: { result?: pulumi.Output<R>; selector?: pulumi.Output<Record<string, string>> } = {};

  // Outputs are made on first use: each Output costs the Pulumi runtime promises and stack captures.

  /** The core's result: the exact objects registered. */
  get result(): pulumi.Output<R> {
    return (this.cache.result ??= asOutput(this.known));
  }

  /** Labels selecting this workload's pods. */
  get selector(): pulumi.Output<Record<string, string>> {
    return (this.cache.selector ??= asOutput(mapKnown(this.known, (r) => ({ ...r.selector }))));
  }

  protected constructor(type: string, resourceName: string, args: WorkloadArgs<HardenedPodProps>, build: (props: never) => R, opts?: pulumi.ComponentResourceOptions) {
    const name = args.name ?? resourceName;
    const { service, ingress, httpRoute, ...rest } = args;
    const coreInput = {
      ...rest,
      name,
      containers: args.containers.map(containerInput),
      ...(args.initContainers ? { initContainers: args.initContainers.map(containerInput) } : {}),
    };
    // Validate before registering anything, and before any Output is made (one made first would
    // reject again, unhandled, after this constructor threw): plain args that break a rule throw here.
    const allPlain = isPlain(coreInput);
    const checkedBuild = withOwnershipCheck(build, `${type.slice(type.lastIndexOf(':') + 1)} ${JSON.stringify(name)}`);
    const planned = checkedBuild((allPlain ? coreInput : withoutPending(coreInput)) as never);
    const exposure = exposureOf(planned, service, ingress, httpRoute);
    // A secret Output in any field but an attachment would reach the cluster in plain text: refused when known.
    const guard = allPlain ? undefined : secretFieldGuard(coreInput, `${planned.kind} ${JSON.stringify(name)}`, (path) => /\]\.config\b/.test(path));
    const known: Known<R> = allPlain ? { plain: true, value: planned } : resolveWithLate(coreInput, (p) => checkedBuild(p as never), lateContainerImages, guard);
    const shape = known.plain ? known.value : planned;
    super(type, resourceName, {}, opts);
    this.resourceName = resourceName;
    this.name = name;
    this.known = known;
    this.shape = shape;
    if (known.plain && !known.late) this.resultValue = known.value;
    this.registerObjects(shape, args);
    this.serviceAccount = this.children[keyOf(shape.serviceAccount)] as k8s.core.v1.ServiceAccount;
    this.workload = this.children[keyOf(shape.workload)]!;
    if (exposure.service) this.exposeViaService(exposure.service);
    if (ingress) this.exposeViaIngress(ingress);
    if (httpRoute) this.exposeViaHttpRoute(httpRoute);
    this.registerOutputs({ name });
  }

  private registerObjects(shape: R, args: WorkloadArgs<HardenedPodProps>): void {
    const configs = [...args.containers, ...(args.initContainers ?? [])].flatMap((c) => c.config ?? [])
      .filter((a): a is PulumiAttachmentSource & pulumi.Resource => pulumi.Resource.isInstance(a));
    const made = this.children as Record<string, pulumi.CustomResource>;
    const before = (...objs: (KubeObject | undefined)[]) => objs.filter((o): o is KubeObject => !!o).map((o) => made[keyOf(o)]!);
    for (const o of shape.objects) {
      const dependsOn = o === shape.workload ? [...before(shape.serviceAccount, ...shape.claims, shape.headlessService), ...configs]
        : o === shape.autoscaler || o === shape.disruptionBudget ? before(shape.workload) : [];
      made[keyOf(o)] = this.register(o, this.known, dependsOn);
    }
  }

  /** Registers one object of the result (found by kind and name in the known result). */
  private register(o: KubeObject, from: Known<HardenedWorkloadResult>, dependsOn: pulumi.Resource[], pick?: (r: HardenedWorkloadResult) => KubeObject): pulumi.CustomResource {
    const key = keyOf(o);
    const value = mapKnown(from, (r) => {
      const found = pick ? pick(r) : r.objects.find((x) => keyOf(x) === key);
      if (!found) throw new CleanimgError(`${this.name}: ${key} was expected but the args' values do not produce it`, [{ code: 'PROP009', path: key, message: 'a value given as an Output changed which objects the workload has', fix: 'give replicas, autoscaling, storage and exposure as plain values' }]);
      return found;
    });
    const fields = Object.keys(o).filter((f) => f !== 'apiVersion' && f !== 'kind');
    const ctor = RESOURCE_CLASSES[o.kind!];
    const opts = { parent: this, ...(dependsOn.length ? { dependsOn } : {}) };
    const childName = this.childName(o);
    if (ctor) return new ctor(childName, kubeArgs(value, fields) as never, opts);
    return new k8s.apiextensions.CustomResource(childName, { apiVersion: o.apiVersion!, kind: o.kind!, ...kubeArgs(value, fields) }, opts);
  }

  private childName(o: KubeObject): string {
    const k8sName = String(o.metadata?.name);
    if (k8sName === this.name) return this.resourceName;
    return k8sName.startsWith(`${this.name}-`) ? `${this.resourceName}${k8sName.slice(this.name.length)}` : `${this.resourceName}-${k8sName}`;
  }

  /** Adds a ClusterIP Service for the declared ports (the cdk8s face's `exposeViaService`). */
  exposeViaService(options: ServiceOptions = {}): k8s.core.v1.Service {
    const svc = this.registerExposure((r) => serviceFor(r, options)) as k8s.core.v1.Service;
    this.service ??= svc;
    return svc;
  }

  /** Adds an Ingress (and the Service, if there is none yet) for a declared port. */
  exposeViaIngress(options: IngressOptions): pulumi.CustomResource {
    if (!options.serviceName) this.service ?? this.exposeViaService();
    return this.registerExposure((r) => ingressFor(r, options));
  }

  /** Adds a Gateway API HTTPRoute (and the Service, if there is none yet) for a declared port. */
  exposeViaHttpRoute(options: HttpRouteOptions): pulumi.CustomResource {
    if (!options.serviceName) this.service ?? this.exposeViaService();
    return this.registerExposure((r) => httpRouteFor(r, options));
  }

  private registerExposure(make: (r: HardenedWorkloadResult) => KubeObject): pulumi.CustomResource {
    const o = make(this.shape);
    const made = this.register(o, this.known, [this.workload], make);
    (this.children as Record<string, pulumi.CustomResource>)[keyOf(o)] = made;
    return made;
  }
}

/** Exposure decided before anything is registered, so a missing port fails with nothing registered. */
function exposureOf(shape: HardenedWorkloadResult, service: boolean | ServiceOptions | undefined, ingress?: IngressOptions, httpRoute?: HttpRouteOptions): { service?: ServiceOptions } {
  const svc = service ? (service === true ? {} : service) : (ingress && !ingress.serviceName) || (httpRoute && !httpRoute.serviceName) ? {} : undefined;
  if (svc) serviceFor(shape, svc);
  if (ingress) ingressFor(shape, ingress);
  if (httpRoute) httpRouteFor(shape, httpRoute);
  return svc ? { service: svc } : {};
}
