/**
 * An order in which `kubectl apply -f` accepts a set of objects in one go on an empty cluster:
 * namespaces and what guards them first, then definitions (CRDs), identities and RBAC, config and
 * storage, Services, workloads, and what refers to workloads (autoscalers, routes); kinds not
 * listed (custom resources) last, after their definitions. The sort is stable: objects of the same
 * rank keep their order (so the dependencies cdk8s computed still hold within a rank).
 */
import type { KubeObject } from '../rules';

const ORDER = [
  'Namespace',
  'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding',
  'NetworkPolicy', 'ResourceQuota', 'LimitRange', 'PriorityClass',
  'CustomResourceDefinition',
  'ServiceAccount', 'Secret', 'ConfigMap', 'StorageClass', 'PersistentVolume', 'PersistentVolumeClaim',
  'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding',
  'Service', 'PodDisruptionBudget',
  'DaemonSet', 'Pod', 'ReplicationController', 'ReplicaSet', 'Deployment', 'StatefulSet', 'Job', 'CronJob',
  'HorizontalPodAutoscaler', 'IngressClass', 'Ingress', 'Gateway', 'HTTPRoute', 'GRPCRoute',
  'APIService', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration',
];
const RANK = new Map(ORDER.map((k, i) => [k, i]));

function rankOf(o: unknown): number {
  const kind = o && typeof o === 'object' ? (o as KubeObject).kind : undefined;
  const base = typeof kind === 'string' ? kind.replace(/List$/, '') : '';
  return RANK.get(kind ?? '') ?? RANK.get(base) ?? ORDER.length;
}

/** The objects in apply order (a new array; stable for equal ranks). */
export function sortForApply<T>(objects: readonly T[]): T[] {
  return objects.map((o, i) => ({ o, i, r: rankOf(o) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.o);
}
