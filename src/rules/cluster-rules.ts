/**
 * Rules about objects beside the pods that change what a pod gets, where no pod spec shows it (so
 * neither the pod rules nor Pod Security ever see it):
 *
 * - HD045: a PersistentVolume backed by a node's filesystem (`hostPath`, `local`). A pod that binds
 *   it through an ordinary claim (a PVC's or an ephemeral volume's `volumeName`) mounts that
 *   directory of the node: hostPath (HD010) by indirection.
 *
 * Such objects are cluster-wide and belong to the platform team, not to an app's manifests.
 */
import { groupOf } from './pod-spec';
import type { Finding, Json, KubeObject, Rule } from './rule';

/** `kind` of the API group `group`, any version (an object without apiVersion is taken at its word). */
const isKind = (o: KubeObject, kind: string, group: string) => o.kind === kind && (o.apiVersion === undefined || groupOf(o.apiVersion) === group);
const specOf = (o: KubeObject): Json => {
  const spec = (o as Json).spec;
  return spec && typeof spec === 'object' ? spec : {};
};
const present = (v: unknown) => v !== undefined && v !== null;

// ---- HD045: PersistentVolumes on a node's filesystem ----

/** PersistentVolume sources that are a directory of the node the pod runs on. */
export const NODE_FILESYSTEM_SOURCES: Readonly<Record<string, string>> = {
  hostPath: 'a hostPath PersistentVolume gives every pod that binds it the node\'s directory',
  local: 'a local PersistentVolume gives every pod that binds it the node\'s directory (any directory, not only a dedicated disk)',
};

function nodeFilesystemFindings(o: KubeObject): Finding[] {
  if (!isKind(o, 'PersistentVolume', '')) return [];
  const spec = specOf(o);
  return Object.entries(NODE_FILESYSTEM_SOURCES).filter(([source]) => present(spec[source])).map(([source, why]) => {
    const path = (spec[source] as Json | undefined)?.path;
    return { path: `/spec/${source}`, message: `${why}${typeof path === 'string' ? ` (${JSON.stringify(path)})` : ''}: host filesystem access that Pod Security and the pod rules (HD010) never see, since the pod names only a claim` };
  });
}

export const CLUSTER_RULES: Rule[] = [
  {
    id: 'HD045',
    title: 'no PersistentVolume exposes a node\'s filesystem (spec.hostPath, spec.local)',
    fix: 'remove the PersistentVolume and let a claim of a StorageClass provision the volume (network or CSI storage); volumes on a node\'s disks are the platform team\'s, outside the app\'s manifests',
    check: (o) => nodeFilesystemFindings(o),
  },
];
