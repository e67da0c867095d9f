import type { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import { hardenedDeployment, type HardenedDeploymentResult } from '../core/workload/deployment';
import type { HardenedDeploymentProps as CoreProps } from '../core/props';
import { defaultNameUnder } from './naming';
import { HardenedWorkload } from './hardened-workload';

export type { ExposeOptions, IngressOptions, HttpRouteOptions } from './hardened-workload';

export interface HardenedDeploymentProps extends Omit<CoreProps, 'name'> {
  /** Name of the Deployment and its ServiceAccount. @default derived from the construct path */
  readonly name?: string;
}

/**
 * A Deployment in which insecure settings cannot be expressed: non-root UID 65532, read-only root
 * filesystem, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault, its own
 * ServiceAccount with no token mounted, writable paths only as sized emptyDirs or PVCs, images
 * pinned by digest, resources and probes set; with 2+ replicas (default 2) or autoscaling, a
 * PodDisruptionBudget and soft spread across nodes. Construction fails with every problem at once.
 */
export class HardenedDeployment extends HardenedWorkload {
  readonly deployment: ApiObject;
  declare readonly result: HardenedDeploymentResult;

  constructor(scope: Construct, id: string, props: HardenedDeploymentProps) {
    const name = props.name ?? defaultNameUnder(scope, id);
    super(scope, id, name, hardenedDeployment({ ...props, name }));
    this.deployment = this.workload;
  }
}
