import { ApiObject } from 'cdk8s';
import { LabelSelector, type IPodSelector, type PodSelectorConfig } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { httpRouteFor, ingressFor, serviceFor, type HttpRouteOptions, type IngressOptions, type ServiceOptions } from '../core/workload/exposure';
import type { HardenedWorkloadResult } from '../core/workload/result';
import type { KubeObject } from '../rules';

export type { ServiceOptions as ExposeOptions, IngressOptions, HttpRouteOptions } from '../core/workload/exposure';

/** The ApiObject id of each extra object a workload may bring. */
function idOf(o: KubeObject, kind: string): string {
  if (o.kind === 'PersistentVolumeClaim') return `Claim-${o.metadata!.name}`;
  if (o.kind === 'Service') return 'HeadlessService';
  if (o.kind === 'HorizontalPodAutoscaler') return 'Autoscaler';
  if (o.kind === 'PodDisruptionBudget') return 'DisruptionBudget';
  return o.kind === kind ? kind : String(o.kind);
}

/**
 * What every hardened workload construct shares: the core's objects as ApiObjects (ServiceAccount,
 * claims, the workload, and its HPA, PDB or headless Service), exposure, and pod selection. Each kind
 * (HardenedDeployment, HardenedStatefulSet, HardenedJob, HardenedCronJob) only calls its core builder.
 *
 * It is an `IPodSelector`, so a cdk8s-plus Service or NetworkPolicy can select its pods.
 */
export abstract class HardenedWorkload extends Construct implements IPodSelector {
  /** The Deployment, StatefulSet, Job or CronJob. */
  readonly workload: ApiObject;
  readonly serviceAccount: ApiObject;
  /** The framework-neutral result, as the core built it. */
  readonly result: HardenedWorkloadResult;
  /** Labels selecting this workload's pods. */
  readonly selector: Readonly<Record<string, string>>;
  readonly name: string;
  /** The Service made by `exposeViaService` (or by the first Ingress / HTTPRoute). */
  service?: ApiObject;

  protected constructor(scope: Construct, id: string, name: string, result: HardenedWorkloadResult) {
    super(scope, id);
    this.name = name;
    this.result = result;
    this.selector = result.selector;
    const kind = result.kind;
    const made = new Map<KubeObject, ApiObject>();
    for (const o of result.objects) made.set(o, new ApiObject(this, o === result.serviceAccount ? 'ServiceAccount' : idOf(o, kind), o as never));
    this.serviceAccount = made.get(result.serviceAccount)!;
    this.workload = made.get(result.workload)!;
    for (const o of [result.serviceAccount, ...result.claims]) this.workload.addDependency(made.get(o)!);
  }

  /** Adds a ClusterIP Service for the declared ports. */
  exposeViaService(options: ServiceOptions = {}): ApiObject {
    const svc = new ApiObject(this, `Service${options.name ? `-${options.name}` : ''}`, serviceFor(this.result, options) as never);
    this.service ??= svc;
    return svc;
  }

  /** Adds an Ingress (and the Service, if there is none yet) for a declared port. */
  exposeViaIngress(options: IngressOptions): ApiObject {
    const ingress = ingressFor(this.result, options);
    if (!options.serviceName) this.service ?? this.exposeViaService();
    return new ApiObject(this, `Ingress-${ingress.metadata!.name}`, ingress as never);
  }

  /** Adds a Gateway API HTTPRoute (and the Service, if there is none yet) for a declared port. */
  exposeViaHttpRoute(options: HttpRouteOptions): ApiObject {
    const route = httpRouteFor(this.result, options);
    if (!options.serviceName) this.service ?? this.exposeViaService();
    return new ApiObject(this, `HTTPRoute-${route.metadata!.name}`, route as never);
  }

  toPodSelectorConfig(): PodSelectorConfig {
    return { labelSelector: LabelSelector.of({ labels: { ...this.selector } }) };
  }
}
