/**
 * The hardened StatefulSet: one claim per pod from declared storage (volumeClaimTemplates), a
 * governing headless Service, and the production shape of every long-running kind.
 */
import type { KubeObject } from '../../rules';
import type { HardenedStatefulSetProps } from '../props';
import { parseProps } from '../props-schema';
import type { Json } from './container';
import { buildPodTemplate, type PodTemplate } from './pod-template';
import { assembleWorkload, describeWorkload, objectMetadata, throwProblems, type HardenedWorkloadResult } from './result';
import { autoscalerFor, disruptionBudgetFor, resolveScaling } from './scaling';
import { statefulSetSchema } from './schema';
import { claimTemplates } from './storage';

export interface HardenedStatefulSetResult extends HardenedWorkloadResult {
  readonly kind: 'StatefulSet';
  readonly statefulSet: KubeObject;
  readonly headlessService: KubeObject;
}

/** The name of a StatefulSet's governing headless Service. */
export function headlessServiceName(name: string): string {
  return `${name.slice(0, 54).replace(/-+$/, '')}-headless`;
}

function headlessService(p: HardenedStatefulSetProps, pod: PodTemplate): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMetadata(p, pod.labels, headlessServiceName(p.name)),
    spec: {
      clusterIP: 'None',
      selector: { ...pod.selector },
      ports: pod.ports.map((x) => ({ name: x.name ?? `port-${x.containerPort}`, port: x.containerPort, targetPort: x.name ?? x.containerPort, protocol: x.protocol ?? 'TCP' })),
    },
  };
}

function updateStrategyOf(p: HardenedStatefulSetProps): Json | undefined {
  const s = p.updateStrategy;
  if (!s) return undefined;
  if (s.type === 'OnDelete') return { type: 'OnDelete' };
  const rollingUpdate = { ...(s.partition !== undefined ? { partition: s.partition } : {}), ...(s.maxUnavailable !== undefined ? { maxUnavailable: s.maxUnavailable } : {}) };
  return { type: 'RollingUpdate', ...(Object.keys(rollingUpdate).length ? { rollingUpdate } : {}) };
}

/** Builds a hardened StatefulSet and what it needs, or throws one error listing every problem. */
export function hardenedStatefulSet(props: HardenedStatefulSetProps): HardenedStatefulSetResult {
  const what = describeWorkload('HardenedStatefulSet', props);
  const p = parseProps(statefulSetSchema, props, what) as HardenedStatefulSetProps;
  const scaling = resolveScaling(p, 1);
  const pod = buildPodTemplate(p, { defaultProbes: true, spread: scaling.spread, claims: 'templates' });
  throwProblems(what, [...scaling.problems, ...pod.problems]);
  const service = headlessService(p, pod);
  const updateStrategy = updateStrategyOf(p);
  const spec = {
    ...(scaling.replicas !== undefined ? { replicas: scaling.replicas } : {}),
    serviceName: service.metadata!.name,
    selector: { matchLabels: { ...pod.selector } },
    ...(p.podManagementPolicy ? { podManagementPolicy: p.podManagementPolicy } : {}),
    ...(updateStrategy ? { updateStrategy } : {}),
    ...(p.claimRetention ? { persistentVolumeClaimRetentionPolicy: { whenDeleted: p.claimRetention.whenDeleted ?? 'Retain', whenScaled: p.claimRetention.whenScaled ?? 'Retain' } } : {}),
    template: pod.template,
    ...(pod.claims.length ? { volumeClaimTemplates: claimTemplates(pod.labels, pod.claims) } : {}),
  };
  const result = assembleWorkload(what, p, pod, {
    kind: 'StatefulSet',
    apiVersion: 'apps/v1',
    spec,
    headlessService: service,
    autoscaler: autoscalerFor(p, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: p.name, namespace: p.namespace, labels: pod.labels }),
    disruptionBudget: disruptionBudgetFor(p, scaling.several, p.name, p.namespace, pod.labels, pod.selector),
  });
  return { ...result, kind: 'StatefulSet', statefulSet: result.workload, headlessService: service };
}
