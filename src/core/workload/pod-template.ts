/**
 * The one pod-template builder: every workload kind (Deployment, StatefulSet, Job, CronJob) wraps
 * the template made here, so the hardening exists once. Kind-dependent behaviour is passed in as
 * options (default probes, restart policy, claim templates); kind-dependent rules live in the rule
 * list, not in copies of this builder.
 */
import type { Problem } from '../../errors';
import { DEFAULT_ID } from '../ids';
import type { ContainerPortProps, HardenedContainerProps, HardenedPodProps, SpreadProps } from '../props';
import { buildContainer, type ClaimRequest, type Json } from './container';

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'Job' | 'CronJob';

export interface PodTemplateOptions {
  /** TCP probes on the first port when a container declares none (long-running kinds). */
  readonly defaultProbes: boolean;
  /** For Jobs: `Never` or `OnFailure`. Long-running kinds leave Kubernetes' `Always`. */
  readonly restartPolicy?: 'Never' | 'OnFailure';
  /** Soft topology spread, already decided by the kind (undefined: none). */
  readonly spread?: SpreadProps;
  /**
   * How new storage reaches the pod: `volumes` (a PVC per claim, named `<workload>-<volume>`) or
   * `templates` (a StatefulSet's volumeClaimTemplates: the controller adds the volumes).
   */
  readonly claims: 'volumes' | 'templates';
}

export interface PodTemplate {
  /** `{ metadata, spec }` of the pod template. */
  readonly template: Json;
  /** Labels that select this workload's pods. */
  readonly selector: Readonly<Record<string, string>>;
  /** Labels of the workload and its pods. */
  readonly labels: Readonly<Record<string, string>>;
  /** Every declared container port. */
  readonly ports: readonly (ContainerPortProps & { container: string })[];
  /** New storage the workload must create (PVCs or claim templates). */
  readonly claims: readonly ClaimRequest[];
  /** True when any pod volume is a PersistentVolumeClaim (new or existing). */
  readonly usesClaims: boolean;
  readonly problems: readonly Problem[];
}

/** The name of the PVC a workload creates for one of its volumes. */
export function claimNameFor(workload: string, volumeName: string): string {
  return `${workload}-${volumeName}`.slice(0, 253).replace(/-+$/, '');
}

function topologySpread(spread: SpreadProps, selector: Readonly<Record<string, string>>): Json[] {
  const keys = [...(spread.nodes !== false ? ['kubernetes.io/hostname'] : []), ...(spread.zones ? ['topology.kubernetes.io/zone'] : [])];
  return keys.map((topologyKey) => ({
    maxSkew: spread.maxSkew ?? 1,
    topologyKey,
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: { ...selector } },
  }));
}

/** Scheduling fields of the pod spec, each only when set. */
function schedulingFields(p: HardenedPodProps, spread: Json[]): Json {
  return {
    ...(p.nodeSelector ? { nodeSelector: { ...p.nodeSelector } } : {}),
    ...(p.tolerations ? { tolerations: p.tolerations.map((t) => ({ ...t })) } : {}),
    ...(p.affinity ? { affinity: structuredClone(p.affinity) } : {}),
    ...(spread.length ? { topologySpreadConstraints: spread } : {}),
    ...(p.priorityClassName ? { priorityClassName: p.priorityClassName } : {}),
    ...(p.terminationGracePeriodSeconds !== undefined ? { terminationGracePeriodSeconds: p.terminationGracePeriodSeconds } : {}),
  };
}

/** Pod volumes, each name once (PROP004 when two different volumes share a name). */
class VolumeSet {
  readonly byName = new Map<string, Json>();
  readonly problems: Problem[] = [];

  add(list: readonly Json[], where: string): void {
    for (const v of list) {
      const prev = this.byName.get(String(v.name));
      if (prev && JSON.stringify(prev) !== JSON.stringify(v))
        this.problems.push({ code: 'PROP004', path: where, message: `two different volumes are named ${JSON.stringify(v.name)}`, fix: 'rename a container or an EnvConfig' });
      this.byName.set(String(v.name), v);
    }
  }
}

function uniqueNameProblems(names: readonly unknown[]): Problem[] {
  return names.flatMap((n, i) => (names.indexOf(n) !== i
    ? [{ code: 'PROP004', path: 'containers', message: `two containers are named ${JSON.stringify(n)}`, fix: 'give each container its own name' }] : []));
}

/** Builds the hardened pod template of workload `p` (props already checked by the props schema). */
export function buildPodTemplate(p: HardenedPodProps, opts: PodTemplateOptions): PodTemplate {
  const uid = p.runAsUser ?? DEFAULT_ID;
  const gid = p.runAsGroup ?? DEFAULT_ID;
  const problems: Problem[] = [];
  const volumes = new VolumeSet();
  const claims: ClaimRequest[] = [];
  let usesClaims = false;
  const build = (list: readonly HardenedContainerProps[], field: string, init: boolean) => list.map((c, i) => {
    const where = `${field}[${i}]`;
    const b = buildContainer(c, { where, uid, gid, init, defaultProbes: opts.defaultProbes });
    problems.push(...b.problems);
    volumes.add(b.volumes, where);
    if (opts.claims === 'volumes') volumes.add(b.claims.map((r) => ({ name: r.volumeName, persistentVolumeClaim: { claimName: claimNameFor(p.name, r.volumeName) } })), where);
    claims.push(...b.claims);
    usesClaims ||= b.claims.length > 0 || b.existingClaims.length > 0;
    return b.container;
  });
  const initContainers = build(p.initContainers ?? [], 'initContainers', true);
  const containers = build(p.containers, 'containers', false);
  problems.push(...volumes.problems, ...uniqueNameProblems([...initContainers, ...containers].map((c) => c.name)));

  const selector = { 'app.kubernetes.io/name': p.name };
  const labels = { ...p.labels, ...selector, 'app.kubernetes.io/managed-by': 'cleanimg' };
  const spread = opts.spread ? topologySpread(opts.spread, selector) : [];
  const spec: Json = {
    serviceAccountName: p.name,
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: gid, fsGroup: gid, seccompProfile: { type: 'RuntimeDefault' } },
    ...(opts.restartPolicy ? { restartPolicy: opts.restartPolicy } : {}),
    ...(initContainers.length ? { initContainers } : {}),
    containers,
    volumes: [...volumes.byName.values()],
    ...schedulingFields(p, spread),
  };
  const ports = p.containers.flatMap((c) => (c.ports ?? []).map((port) => ({ ...port, container: c.name })));
  return { template: { metadata: { labels }, spec }, selector, labels, ports, claims, usesClaims, problems };
}
