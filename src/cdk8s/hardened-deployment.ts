import { ApiObject } from 'cdk8s';
import { LabelSelector, type IPodSelector, type PodSelectorConfig } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { hardenedDeployment, serviceFor, type HardenedDeploymentResult } from '../core/deployment';
import type { HardenedDeploymentProps as CoreProps } from '../core/props';
import { defaultName } from './env-config';

export interface HardenedDeploymentProps extends Omit<CoreProps, 'name'> {
  /** Name of the Deployment and its ServiceAccount. @default derived from the construct path */
  readonly name?: string;
}

export interface ExposeOptions {
  /** @default the deployment's name */
  readonly name?: string;
  /** Expose only these container ports. @default every declared port */
  readonly ports?: readonly number[];
}

/**
 * A Deployment in which insecure settings cannot be expressed: non-root UID 65532, read-only root
 * filesystem, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault, its own
 * ServiceAccount with no token mounted, writable paths only as sized emptyDirs or PVCs, images
 * pinned by digest, resources and probes set. Construction fails with every broken rule at once.
 *
 * It is an `IPodSelector`, so a cdk8s-plus Service or NetworkPolicy can select its pods.
 */
export class HardenedDeployment extends Construct implements IPodSelector {
  readonly deployment: ApiObject;
  readonly serviceAccount: ApiObject;
  /** The framework-neutral result, as the core built it. */
  readonly result: HardenedDeploymentResult;
  /** Labels selecting this deployment's pods. */
  readonly selector: Readonly<Record<string, string>>;
  readonly name: string;

  constructor(scope: Construct, id: string, props: HardenedDeploymentProps) {
    super(scope, id);
    this.name = props.name ?? defaultName(this);
    this.result = hardenedDeployment({ ...props, name: this.name });
    this.selector = this.result.selector;
    this.serviceAccount = new ApiObject(this, 'ServiceAccount', this.result.serviceAccount as never);
    this.deployment = new ApiObject(this, 'Deployment', this.result.deployment as never);
    this.deployment.addDependency(this.serviceAccount);
  }

  /** Adds a ClusterIP Service for the declared ports. */
  exposeViaService(options: ExposeOptions = {}): ApiObject {
    return new ApiObject(this, `Service${options.name ? `-${options.name}` : ''}`, serviceFor(this.result, options) as never);
  }

  toPodSelectorConfig(): PodSelectorConfig {
    return { labelSelector: LabelSelector.of({ labels: { ...this.selector } }) };
  }
}
