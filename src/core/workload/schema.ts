/** Run-time validation of each workload kind's props (strict: unknown keys are errors). */
import { z } from 'zod';
import { intOrPercent, nonNegativeInt, podShape, positiveInt } from '../props-schema';
import { cronScheduleProblem, timeZoneProblem } from './schedule';

const autoscaling = z.strictObject({
  minReplicas: positiveInt.optional(),
  maxReplicas: positiveInt,
  cpuUtilization: z.number().int().min(1).max(1000).optional(),
  memoryUtilization: z.number().int().min(1).max(1000).optional(),
});

const disruptionBudget = z.union([
  z.literal(false),
  z.strictObject({ maxUnavailable: intOrPercent.optional(), minAvailable: intOrPercent.optional() })
    .refine((b) => b.maxUnavailable === undefined || b.minAvailable === undefined, 'set maxUnavailable or minAvailable, not both'),
]);

const spread = z.union([z.literal(false), z.strictObject({ nodes: z.boolean().optional(), zones: z.boolean().optional(), maxSkew: positiveInt.optional() })]);

const scalingShape = {
  replicas: nonNegativeInt.optional(),
  autoscaling: autoscaling.optional(),
  disruptionBudget: disruptionBudget.optional(),
  spread: spread.optional(),
};

export const deploymentSchema = z.strictObject({
  ...podShape,
  ...scalingShape,
  strategy: z.union([
    z.strictObject({ type: z.literal('RollingUpdate'), maxSurge: intOrPercent.optional(), maxUnavailable: intOrPercent.optional() }),
    z.strictObject({ type: z.literal('Recreate') }),
  ]).optional(),
});

export const statefulSetSchema = z.strictObject({
  ...podShape,
  ...scalingShape,
  podManagementPolicy: z.enum(['OrderedReady', 'Parallel']).optional(),
  updateStrategy: z.union([
    z.strictObject({ type: z.literal('RollingUpdate'), partition: nonNegativeInt.optional(), maxUnavailable: intOrPercent.optional() }),
    z.strictObject({ type: z.literal('OnDelete') }),
  ]).optional(),
  claimRetention: z.strictObject({ whenDeleted: z.enum(['Retain', 'Delete']).optional(), whenScaled: z.enum(['Retain', 'Delete']).optional() }).optional(),
});

const jobShape = {
  backoffLimit: nonNegativeInt.optional(),
  activeDeadlineSeconds: positiveInt.optional(),
  ttlSecondsAfterFinished: nonNegativeInt.optional(),
  restartPolicy: z.enum(['Never', 'OnFailure']).optional(),
  completions: positiveInt.optional(),
  parallelism: positiveInt.optional(),
};

export const jobSchema = z.strictObject({ ...podShape, ...jobShape });

export const cronJobSchema = z.strictObject({
  ...podShape,
  ...jobShape,
  schedule: z.string().superRefine((s, ctx) => {
    const problem = cronScheduleProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  timeZone: z.string().superRefine((s, ctx) => {
    const problem = timeZoneProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }).optional(),
  concurrencyPolicy: z.enum(['Forbid', 'Replace', 'Allow']).optional(),
  startingDeadlineSeconds: nonNegativeInt.optional(),
  successfulJobsHistoryLimit: nonNegativeInt.optional(),
  failedJobsHistoryLimit: nonNegativeInt.optional(),
  suspend: z.boolean().optional(),
});
