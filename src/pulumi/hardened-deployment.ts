import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import type { HardenedDeploymentProps } from '../core/props';
import { hardenedDeployment, type HardenedDeploymentResult } from '../core/workload/deployment';
import { HardenedWorkload, type WorkloadArgs } from './hardened-workload';

export { kubeArgs, type ExposeOptions, type HardenedContainerArgs, type PulumiImageInput } from './hardened-workload';

/** The type token of the HardenedDeployment component. */
export const HARDENED_DEPLOYMENT_TYPE = 'cleanimg:index:HardenedDeployment';

export interface HardenedDeploymentArgs extends WorkloadArgs<HardenedDeploymentProps> {}

/**
 * A hardened Deployment as a Pulumi component: its ServiceAccount, claims, Deployment, and (with 2+
 * replicas or autoscaling) HorizontalPodAutoscaler and PodDisruptionBudget; exactly the objects the
 * cdk8s HardenedDeployment synthesizes for the same props (same core, same rule list). Kubernetes
 * names are set explicitly (`metadata.name` = `args.name` or the Pulumi resource name), so Pulumi
 * adds no random suffix and the names match cdk8s; children are named after the resource name.
 */
export class HardenedDeployment extends HardenedWorkload<HardenedDeploymentResult> {
  declare readonly workload: k8s.apps.v1.Deployment;

  /** The Deployment (the same resource as `workload`). */
  get deployment(): k8s.apps.v1.Deployment {
    return this.workload;
  }

  constructor(resourceName: string, args: HardenedDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(HARDENED_DEPLOYMENT_TYPE, resourceName, args, hardenedDeployment, opts);
  }
}
