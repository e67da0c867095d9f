/**
 * Storage a workload declares (`writablePaths` with `storage`): PersistentVolumeClaims it creates,
 * or a StatefulSet's claim templates, and the access-mode checks that keep pods schedulable.
 */
import type { Problem } from '../../errors';
import type { KubeObject } from '../../rules';
import type { StorageProps } from '../props';
import { claimNameFor } from './pod-template';
import type { ClaimRequest, Json } from './container';

const SINGLE_NODE = new Set(['ReadWriteOnce', 'ReadWriteOncePod']);

function claimSpec(s: StorageProps): Json {
  return {
    accessModes: [s.accessMode ?? 'ReadWriteOnce'],
    ...(s.storageClassName ? { storageClassName: s.storageClassName } : {}),
    resources: { requests: { storage: s.size } },
  };
}

/** The PVCs a Deployment, Job or CronJob creates for its new storage. */
export function claimObjects(workload: string, namespace: string | undefined, labels: Readonly<Record<string, string>>, claims: readonly ClaimRequest[]): KubeObject[] {
  return claims.map((c) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claimNameFor(workload, c.volumeName), ...(namespace ? { namespace } : {}), labels: { ...labels } },
    spec: claimSpec(c.storage),
  }));
}

/** A StatefulSet's volumeClaimTemplates: one claim per pod, named after the volume. */
export function claimTemplates(labels: Readonly<Record<string, string>>, claims: readonly ClaimRequest[]): Json[] {
  return claims.map((c) => ({ metadata: { name: c.volumeName, labels: { ...labels } }, spec: claimSpec(c.storage) }));
}

/** A claim one node mounts cannot serve two pods of a Deployment spread over nodes (PROP008). */
export function singleNodeClaimProblems(claims: readonly ClaimRequest[], several: boolean): Problem[] {
  if (!several) return [];
  return claims.filter((c) => SINGLE_NODE.has(c.storage.accessMode ?? 'ReadWriteOnce')).map((c) => ({
    code: 'PROP008',
    path: `writablePaths (volume ${c.volumeName})`,
    message: `a ${c.storage.accessMode ?? 'ReadWriteOnce'} claim can be mounted by one node only, but the Deployment can have several pods`,
    fix: 'use replicas: 1 (updated with Recreate), accessMode: ReadWriteMany, or a HardenedStatefulSet (one claim per pod)',
  }));
}
