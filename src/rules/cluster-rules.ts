/**
 * Rules about objects beside the pods that change what a pod gets, where no pod spec shows it (so
 * neither the pod rules nor Pod Security ever see it):
 *
 * - HD045: a PersistentVolume backed by a node's filesystem (`hostPath`, `local`). A pod that binds
 *   it through an ordinary claim (a PVC's or an ephemeral volume's `volumeName`) mounts that
 *   directory of the node: hostPath (HD010) by indirection;
 * - HD046: objects that rewrite or re-place pods at admission: mutating webhooks and mutating
 *   admission policies (and their bindings, built-in, Gatekeeper's and Kyverno's mutate rules), and a
 *   RuntimeClass whose `scheduling` adds tolerations to every pod that names it. The pod the guards
 *   judged is then not the pod that runs. (A RuntimeClass's `nodeSelector` is not refused: a pod may
 *   set the same selector itself, and a selector alone cannot pass a taint.)
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

// ---- HD046: objects that rewrite or re-place pods at admission ----

/** Kinds of `admissionregistration.k8s.io` that change objects at admission. */
export const MUTATING_ADMISSION_KINDS = ['MutatingWebhookConfiguration', 'MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding'];
/** API groups every kind of which changes objects at admission: Gatekeeper's mutators (Assign, AssignMetadata, ModifySet, AssignImage). */
export const MUTATING_GROUPS = ['mutation.gatekeeper.sh'];

const REWRITES = 'rewrites the objects it matches at admission, after every guard has judged them: a pod could run privileged, as root or on the host although its spec passed';

function mutatingFindings(o: KubeObject): Finding[] {
  const group = groupOf(o.apiVersion);
  const builtIn = MUTATING_ADMISSION_KINDS.find((k) => isKind(o, k, 'admissionregistration.k8s.io'));
  if (builtIn || (group !== undefined && MUTATING_GROUPS.includes(group))) return [{ path: '/kind', message: `a ${String(o.kind)} (${String(o.apiVersion ?? 'no apiVersion')}) ${REWRITES}` }];
  if (!isKind(o, 'ClusterPolicy', 'kyverno.io') && !isKind(o, 'Policy', 'kyverno.io')) return [];
  const rules: unknown[] = Array.isArray(specOf(o).rules) ? specOf(o).rules : [];
  return rules.flatMap((r, i) => (present((r as Json | null)?.mutate) ? [{ path: `/spec/rules/${i}/mutate`, message: `the Kyverno rule ${JSON.stringify((r as Json).name ?? i)} ${REWRITES}` }] : []));
}

function runtimeClassFindings(o: KubeObject): Finding[] {
  if (!isKind(o, 'RuntimeClass', 'node.k8s.io')) return [];
  const tolerations = (o as Json).scheduling?.tolerations;
  if (!present(tolerations) || (Array.isArray(tolerations) && tolerations.length === 0)) return [];
  return [{
    path: '/scheduling/tolerations',
    message: `the RuntimeClass adds the tolerations ${JSON.stringify(tolerations)} to every pod that names it (runtimeClassName), where no pod spec shows them: its pods could be placed on tainted nodes, the control plane's among them (HD041)`,
    fix: 'remove scheduling.tolerations from the RuntimeClass; a pod that must tolerate a taint says so in its own spec, where HD041 judges it',
  }];
}

export const CLUSTER_RULES: Rule[] = [
  {
    id: 'HD045',
    title: 'no PersistentVolume exposes a node\'s filesystem (spec.hostPath, spec.local)',
    fix: 'remove the PersistentVolume and let a claim of a StorageClass provision the volume (network or CSI storage); volumes on a node\'s disks are the platform team\'s, outside the app\'s manifests',
    check: (o) => nodeFilesystemFindings(o),
  },
  {
    id: 'HD046',
    title: 'no object rewrites or re-places pods at admission (mutating webhooks and admission policies, RuntimeClass tolerations)',
    fix: 'remove the MutatingWebhookConfiguration, MutatingAdmissionPolicy, binding or mutate rule (the pod the guards judged must be the pod that runs; mutating admission is the platform team\'s, outside the app\'s manifests), and a RuntimeClass\'s scheduling.tolerations',
    check: (o) => [...mutatingFindings(o), ...runtimeClassFindings(o)],
  },
];
