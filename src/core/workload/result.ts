/** What every workload kind returns, and the assembly they share. */
import { CleanimgError, type Problem } from '../../errors';
import { assertNoViolations, checkObjects, type KubeObject } from '../../rules';
import type { ContainerPortProps, HardenedPodProps } from '../props';
import type { Json } from './container';
import type { PodTemplate, WorkloadKind } from './pod-template';

export interface HardenedWorkloadResult {
  readonly kind: WorkloadKind;
  /** The Deployment, StatefulSet, Job or CronJob. */
  readonly workload: KubeObject;
  readonly serviceAccount: KubeObject;
  /** Labels that select this workload's pods. */
  readonly selector: Readonly<Record<string, string>>;
  /** Every declared container port, for Services and NetworkPolicies. */
  readonly ports: readonly (ContainerPortProps & { container: string })[];
  /** PersistentVolumeClaims the workload creates (a StatefulSet's claim templates are in the workload). */
  readonly claims: readonly KubeObject[];
  readonly autoscaler?: KubeObject;
  readonly disruptionBudget?: KubeObject;
  /** A StatefulSet's governing headless Service. */
  readonly headlessService?: KubeObject;
  /** All objects, in apply order. */
  readonly objects: readonly KubeObject[];
}

/** The label of a construct's error: `HardenedDeployment "web"`. */
export function describeWorkload(what: string, props: unknown): string {
  return `${what} ${JSON.stringify((props as { name?: unknown } | undefined)?.name ?? '')}`;
}

/** Throws one CleanimgError listing every problem, if there are any. */
export function throwProblems(what: string, problems: readonly Problem[]): void {
  if (problems.length) throw new CleanimgError(`${what}: ${problems.length} invalid prop${problems.length === 1 ? '' : 's'}:`, problems);
}

/**
 * Metadata of the workload's own objects (workload, ServiceAccount, HPA, PDB, ...). Empty annotations
 * are left out, as cdk8s leaves them out of metadata, so both faces write the same object.
 */
export function objectMetadata(p: HardenedPodProps, labels: Readonly<Record<string, string>>, name = p.name): Json {
  const annotations = p.annotations && Object.keys(p.annotations).length ? { annotations: { ...p.annotations } } : {};
  return { name, ...(p.namespace ? { namespace: p.namespace } : {}), labels: { ...labels }, ...annotations };
}

export interface WorkloadParts {
  readonly kind: WorkloadKind;
  readonly apiVersion: string;
  readonly spec: Json;
  readonly claims?: readonly KubeObject[];
  readonly autoscaler?: KubeObject;
  readonly disruptionBudget?: KubeObject;
  readonly headlessService?: KubeObject;
}

/**
 * The ServiceAccount and the workload around a built pod template, checked against the whole rule
 * list (so nothing the builder writes can break a rule), in apply order.
 */
export function assembleWorkload(what: string, p: HardenedPodProps, pod: PodTemplate, parts: WorkloadParts): HardenedWorkloadResult {
  const metadata = objectMetadata(p, pod.labels);
  const serviceAccount: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: objectMetadata(p, pod.labels), automountServiceAccountToken: false };
  const workload: KubeObject = { apiVersion: parts.apiVersion, kind: parts.kind, metadata, spec: parts.spec };
  const claims = parts.claims ?? [];
  const extras = [parts.headlessService, parts.autoscaler, parts.disruptionBudget].filter((o): o is KubeObject => o !== undefined);
  const objects = [serviceAccount, ...claims, workload, ...extras];
  assertNoViolations(checkObjects(objects), what);
  return {
    kind: parts.kind, workload, serviceAccount, selector: pod.selector, ports: pod.ports, claims,
    ...(parts.autoscaler ? { autoscaler: parts.autoscaler } : {}),
    ...(parts.disruptionBudget ? { disruptionBudget: parts.disruptionBudget } : {}),
    ...(parts.headlessService ? { headlessService: parts.headlessService } : {}),
    objects,
  };
}
