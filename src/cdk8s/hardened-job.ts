import type { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import type { HardenedCronJobProps as CoreCronJobProps, HardenedJobProps as CoreJobProps } from '../core/props';
import { hardenedCronJob, hardenedJob, type HardenedCronJobResult, type HardenedJobResult } from '../core/workload/job';
import { HardenedWorkload } from './hardened-workload';
import { defaultNameUnder } from './naming';

export interface HardenedJobProps extends Omit<CoreJobProps, 'name'> {
  /** Name of the Job and its ServiceAccount. @default derived from the construct path */
  readonly name?: string;
}

export interface HardenedCronJobProps extends Omit<CoreCronJobProps, 'name'> {
  /** Name of the CronJob and its ServiceAccount. @default derived from the construct path */
  readonly name?: string;
}

/** A Job with every hardening of HardenedDeployment, run to completion (restartPolicy Never, backoffLimit 3 by default); no probes required. */
export class HardenedJob extends HardenedWorkload {
  readonly job: ApiObject;
  declare readonly result: HardenedJobResult;

  constructor(scope: Construct, id: string, props: HardenedJobProps) {
    const name = props.name ?? defaultNameUnder(scope, id);
    super(scope, id, name, hardenedJob({ ...props, name }));
    this.job = this.workload;
  }
}

/** A CronJob whose jobs are HardenedJobs; `concurrencyPolicy: Forbid` by default, schedule and time zone checked at construction. */
export class HardenedCronJob extends HardenedWorkload {
  readonly cronJob: ApiObject;
  declare readonly result: HardenedCronJobResult;

  constructor(scope: Construct, id: string, props: HardenedCronJobProps) {
    const name = props.name ?? defaultNameUnder(scope, id);
    super(scope, id, name, hardenedCronJob({ ...props, name }));
    this.cronJob = this.workload;
  }
}
