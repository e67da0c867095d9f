import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import type { HardenedStatefulSetProps } from '../core/props';
import { hardenedStatefulSet, type HardenedStatefulSetResult } from '../core/workload/statefulset';
import { HardenedWorkload, type WorkloadArgs } from './hardened-workload';

/** The type token of the HardenedStatefulSet component. */
export const HARDENED_STATEFUL_SET_TYPE = 'cleanimg:index:HardenedStatefulSet';

export interface HardenedStatefulSetArgs extends WorkloadArgs<HardenedStatefulSetProps> {}

/** A hardened StatefulSet (claim templates from declared storage, a headless Service) as a Pulumi component: the cdk8s HardenedStatefulSet's objects. */
export class HardenedStatefulSet extends HardenedWorkload<HardenedStatefulSetResult> {
  declare readonly workload: k8s.apps.v1.StatefulSet;

  get statefulSet(): k8s.apps.v1.StatefulSet {
    return this.workload;
  }

  constructor(resourceName: string, args: HardenedStatefulSetArgs, opts?: pulumi.ComponentResourceOptions) {
    super(HARDENED_STATEFUL_SET_TYPE, resourceName, args, hardenedStatefulSet, opts);
  }
}
