/**
 * The hardened Job and CronJob: the same pod template, run to completion (restartPolicy Never or
 * OnFailure, a backoff limit), no probes required. A CronJob wraps the Job spec in a schedule and
 * defaults to `concurrencyPolicy: Forbid`, so a slow run is never doubled.
 */
import type { KubeObject } from '../../rules';
import type { HardenedCronJobProps, HardenedJobProps, HardenedPodProps, JobProps } from '../props';
import { parseProps } from '../props-schema';
import type { Json } from './container';
import { buildPodTemplate, type PodTemplate } from './pod-template';
import { assembleWorkload, describeWorkload, throwProblems, type HardenedWorkloadResult } from './result';
import { cronJobSchema, jobSchema } from './schema';
import { claimObjects } from './storage';

export const DEFAULT_BACKOFF_LIMIT = 3;
/**
 * A run that could not start within 5 minutes of its time is skipped, not started late; without a
 * deadline, a CronJob that missed more than 100 runs (a controller outage) stops for good.
 */
export const DEFAULT_STARTING_DEADLINE = 300;

export interface HardenedJobResult extends HardenedWorkloadResult {
  readonly kind: 'Job';
  readonly job: KubeObject;
}

export interface HardenedCronJobResult extends HardenedWorkloadResult {
  readonly kind: 'CronJob';
  readonly cronJob: KubeObject;
}

function jobPod(p: HardenedPodProps & JobProps, what: string): PodTemplate {
  const pod = buildPodTemplate(p, { defaultProbes: false, restartPolicy: p.restartPolicy ?? 'Never', claims: 'volumes' });
  throwProblems(what, pod.problems);
  return pod;
}

/** The Job spec (also a CronJob's jobTemplate.spec); no selector: the Job controller sets it. */
function jobSpec(p: JobProps, pod: PodTemplate): Json {
  return {
    backoffLimit: p.backoffLimit ?? DEFAULT_BACKOFF_LIMIT,
    ...(p.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: p.activeDeadlineSeconds } : {}),
    ...(p.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: p.ttlSecondsAfterFinished } : {}),
    ...(p.completions !== undefined ? { completions: p.completions } : {}),
    ...(p.parallelism !== undefined ? { parallelism: p.parallelism } : {}),
    template: pod.template,
  };
}

/** Builds a hardened Job, or throws one error listing every problem. */
export function hardenedJob(props: HardenedJobProps): HardenedJobResult {
  const what = describeWorkload('HardenedJob', props);
  const p = parseProps(jobSchema, props, what) as HardenedJobProps;
  const pod = jobPod(p, what);
  const result = assembleWorkload(what, p, pod, { kind: 'Job', apiVersion: 'batch/v1', spec: jobSpec(p, pod), claims: claimObjects(p.name, p.namespace, pod.labels, pod.claims) });
  return { ...result, kind: 'Job', job: result.workload };
}

/** Builds a hardened CronJob, or throws one error listing every problem. */
export function hardenedCronJob(props: HardenedCronJobProps): HardenedCronJobResult {
  const what = describeWorkload('HardenedCronJob', props);
  const p = parseProps(cronJobSchema, props, what) as HardenedCronJobProps;
  const pod = jobPod(p, what);
  const spec = {
    schedule: p.schedule,
    ...(p.timeZone ? { timeZone: p.timeZone } : {}),
    concurrencyPolicy: p.concurrencyPolicy ?? 'Forbid',
    startingDeadlineSeconds: p.startingDeadlineSeconds ?? DEFAULT_STARTING_DEADLINE,
    successfulJobsHistoryLimit: p.successfulJobsHistoryLimit ?? 3,
    failedJobsHistoryLimit: p.failedJobsHistoryLimit ?? 1,
    ...(p.suspend !== undefined ? { suspend: p.suspend } : {}),
    jobTemplate: { metadata: { labels: { ...pod.labels } }, spec: jobSpec(p, pod) },
  };
  const result = assembleWorkload(what, p, pod, { kind: 'CronJob', apiVersion: 'batch/v1', spec, claims: claimObjects(p.name, p.namespace, pod.labels, pod.claims) });
  return { ...result, kind: 'CronJob', cronJob: result.workload };
}
