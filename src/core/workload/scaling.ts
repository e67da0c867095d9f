/**
 * Production shape of long-running kinds: replicas or a HorizontalPodAutoscaler (never both, so an
 * apply never fights the autoscaler), a PodDisruptionBudget and soft topology spread once there can
 * be two pods.
 */
import type { Problem } from '../../errors';
import type { KubeObject } from '../../rules';
import type { ScalingProps, SpreadProps } from '../props';
import type { Json } from './container';

export interface Scaling {
  /** `replicas` to write, or undefined under an autoscaler. */
  readonly replicas?: number;
  /** True when there can be two or more pods. */
  readonly several: boolean;
  readonly spread?: SpreadProps;
  readonly problems: Problem[];
}

/** Replicas, spread and the conflicts between scaling props. `defaultReplicas` is the kind's. */
export function resolveScaling(p: ScalingProps, defaultReplicas: number): Scaling {
  const problems: Problem[] = [];
  const a = p.autoscaling;
  if (a && p.replicas !== undefined)
    problems.push({ code: 'PROP008', path: 'replicas', message: 'replicas and autoscaling are both set: every apply would reset what the autoscaler chose', fix: 'remove replicas (autoscaling.minReplicas sets the floor)' });
  if (a && (a.minReplicas ?? 2) > a.maxReplicas)
    problems.push({ code: 'PROP008', path: 'autoscaling.minReplicas', message: `minReplicas ${a.minReplicas ?? 2} is above maxReplicas ${a.maxReplicas}`, fix: 'lower minReplicas or raise maxReplicas' });
  const replicas = a ? undefined : p.replicas ?? defaultReplicas;
  const several = a ? a.maxReplicas > 1 : (replicas ?? 0) > 1;
  const spread = p.spread === false || !several ? undefined : p.spread ?? {};
  return { replicas, several, spread, problems };
}

function meta(name: string, namespace: string | undefined, labels: Readonly<Record<string, string>>): Json {
  return { name, ...(namespace ? { namespace } : {}), labels: { ...labels } };
}

/** The HorizontalPodAutoscaler (autoscaling/v2) of a workload, when `autoscaling` is set. */
export function autoscalerFor(p: ScalingProps, target: { apiVersion: string; kind: string; name: string; namespace?: string; labels: Readonly<Record<string, string>> }): KubeObject | undefined {
  const a = p.autoscaling;
  if (!a) return undefined;
  const metric = (name: string, averageUtilization: number) => ({ type: 'Resource', resource: { name, target: { type: 'Utilization', averageUtilization } } });
  const metrics = [
    ...(a.cpuUtilization !== undefined || a.memoryUtilization === undefined ? [metric('cpu', a.cpuUtilization ?? 70)] : []),
    ...(a.memoryUtilization !== undefined ? [metric('memory', a.memoryUtilization)] : []),
  ];
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: meta(target.name, target.namespace, target.labels),
    spec: {
      scaleTargetRef: { apiVersion: target.apiVersion, kind: target.kind, name: target.name },
      minReplicas: a.minReplicas ?? 2,
      maxReplicas: a.maxReplicas,
      metrics,
    },
  };
}

/** The PodDisruptionBudget (policy/v1) of a workload that can have two or more pods. */
export function disruptionBudgetFor(p: ScalingProps, several: boolean, name: string, namespace: string | undefined, labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>>): KubeObject | undefined {
  if (p.disruptionBudget === false || !several) return undefined;
  const b = p.disruptionBudget ?? {};
  const limit = b.minAvailable !== undefined ? { minAvailable: b.minAvailable } : { maxUnavailable: b.maxUnavailable ?? 1 };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(name, namespace, labels),
    // AlwaysAllow: a pod that never became ready does not block a node drain.
    spec: { selector: { matchLabels: { ...selector } }, ...limit, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
  };
}
