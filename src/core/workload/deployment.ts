/**
 * The hardened Deployment: props in, plain Kubernetes objects out. No framework imports: the cdk8s
 * and Pulumi faces only translate these objects, so both faces give the same result.
 */
import type { KubeObject } from '../../rules';
import type { HardenedDeploymentProps } from '../props';
import { parseProps } from '../props-schema';
import { buildPodTemplate } from './pod-template';
import { assembleWorkload, describeWorkload, throwProblems, type HardenedWorkloadResult } from './result';
import { autoscalerFor, disruptionBudgetFor, resolveScaling } from './scaling';
import { deploymentSchema } from './schema';
import { claimObjects, singleNodeClaimProblems } from './storage';

export interface HardenedDeploymentResult extends HardenedWorkloadResult {
  readonly kind: 'Deployment';
  /** The Deployment (the same object as `workload`). */
  readonly deployment: KubeObject;
}

/** RollingUpdate unless asked, or unless one replica holds a claim (a new pod could not attach it). */
function strategyOf(p: HardenedDeploymentProps, replicas: number | undefined, usesClaims: boolean) {
  const s = p.strategy;
  if (s?.type === 'RollingUpdate') {
    const rollingUpdate = { ...(s.maxSurge !== undefined ? { maxSurge: s.maxSurge } : {}), ...(s.maxUnavailable !== undefined ? { maxUnavailable: s.maxUnavailable } : {}) };
    return { type: 'RollingUpdate', ...(Object.keys(rollingUpdate).length ? { rollingUpdate } : {}) };
  }
  if (s) return { type: s.type };
  return replicas === 1 && usesClaims ? { type: 'Recreate' } : undefined;
}

/** Builds a hardened Deployment and what it needs, or throws one error listing every problem. */
export function hardenedDeployment(props: HardenedDeploymentProps): HardenedDeploymentResult {
  const what = describeWorkload('HardenedDeployment', props);
  const p = parseProps(deploymentSchema, props, what) as HardenedDeploymentProps;
  const scaling = resolveScaling(p, 2);
  const pod = buildPodTemplate(p, { defaultProbes: true, spread: scaling.spread, claims: 'volumes' });
  throwProblems(what, [...scaling.problems, ...pod.problems, ...singleNodeClaimProblems(pod.claims, scaling.several)]);
  const strategy = strategyOf(p, scaling.replicas, pod.usesClaims);
  const spec = {
    ...(scaling.replicas !== undefined ? { replicas: scaling.replicas } : {}),
    selector: { matchLabels: { ...pod.selector } },
    ...(strategy ? { strategy } : {}),
    template: pod.template,
  };
  const result = assembleWorkload(what, p, pod, {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    spec,
    claims: claimObjects(p.name, p.namespace, pod.labels, pod.claims),
    autoscaler: autoscalerFor(p, { apiVersion: 'apps/v1', kind: 'Deployment', name: p.name, namespace: p.namespace, labels: pod.labels }),
    disruptionBudget: disruptionBudgetFor(p, scaling.several, p.name, p.namespace, pod.labels, pod.selector),
  });
  return { ...result, kind: 'Deployment', deployment: result.workload };
}
