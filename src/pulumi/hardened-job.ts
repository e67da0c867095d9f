import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import type { HardenedCronJobProps, HardenedJobProps } from '../core/props';
import { hardenedCronJob, hardenedJob, type HardenedCronJobResult, type HardenedJobResult } from '../core/workload/job';
import { HardenedWorkload, type WorkloadArgs } from './hardened-workload';

/** The type tokens of the HardenedJob and HardenedCronJob components. */
export const HARDENED_JOB_TYPE = 'cleanimg:index:HardenedJob';
export const HARDENED_CRON_JOB_TYPE = 'cleanimg:index:HardenedCronJob';

export interface HardenedJobArgs extends WorkloadArgs<HardenedJobProps> {}
export interface HardenedCronJobArgs extends WorkloadArgs<HardenedCronJobProps> {}

/** A hardened Job as a Pulumi component (`pulumi up` waits for it to complete): the cdk8s HardenedJob's objects. */
export class HardenedJob extends HardenedWorkload<HardenedJobResult> {
  declare readonly workload: k8s.batch.v1.Job;

  get job(): k8s.batch.v1.Job {
    return this.workload;
  }

  constructor(resourceName: string, args: HardenedJobArgs, opts?: pulumi.ComponentResourceOptions) {
    super(HARDENED_JOB_TYPE, resourceName, args, hardenedJob, opts);
  }
}

/** A hardened CronJob as a Pulumi component: the cdk8s HardenedCronJob's objects. */
export class HardenedCronJob extends HardenedWorkload<HardenedCronJobResult> {
  declare readonly workload: k8s.batch.v1.CronJob;

  get cronJob(): k8s.batch.v1.CronJob {
    return this.workload;
  }

  constructor(resourceName: string, args: HardenedCronJobArgs, opts?: pulumi.ComponentResourceOptions) {
    super(HARDENED_CRON_JOB_TYPE, resourceName, args, hardenedCronJob, opts);
  }
}
