/**
 * Objects beside the pods that change what a pod gets where no pod spec shows it, written in a cdk8s
 * chart next to hardened workloads whose pod specs pass every pod rule: a PersistentVolume on the
 * node's filesystem that the pod binds through an ordinary claim (HD045); objects that rewrite or
 * re-place the pod at admission, after the guards judged it (HD046). Each constructs;
 * HardenedApp, the synth plugin and `check` must refuse what it writes.
 */
import type { Chart } from 'cdk8s';
import type { Cdk8sAttack } from '../cdk8s-harness';
import { hardenedObject, raw } from './common';

const claimSpec = (volumeName: string) => ({ accessModes: ['ReadWriteOnce'], storageClassName: '', volumeName, resources: { requests: { storage: '1Gi' } } });
const persistentVolume = (name: string, source: object) => ({
  apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name },
  spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: '', ...source },
});

/** A hardened Deployment (it passes every pod rule) that mounts `volume` at /host. */
function mountingAtHost(chart: Chart, volume: object): void {
  const d = hardenedObject('reader');
  d.spec.template.spec.volumes.push({ name: 'host', ...volume });
  d.spec.template.spec.containers[0].volumeMounts.push({ name: 'host', mountPath: '/host' });
  raw(chart, 'reader', d);
}

export const CDK8S_CLUSTER_OBJECT_ATTACKS: readonly Cdk8sAttack[] = [
  {
    name: 'a hostPath PersistentVolume of the node\'s root, bound by a claim a hardened Deployment mounts', category: 'raw-objects', target: 'raw', stage: 'synth', rule: 'HD045',
    build: (c) => {
      raw(c, 'pv', persistentVolume('node-root', { hostPath: { path: '/', type: 'Directory' } }));
      raw(c, 'pvc', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'node-root' }, spec: claimSpec('node-root') });
      mountingAtHost(c, { persistentVolumeClaim: { claimName: 'node-root' } });
    },
  },
  {
    name: 'a hostPath PersistentVolume bound by an ephemeral volume\'s claim template (no PVC object)', category: 'raw-objects', target: 'raw', stage: 'synth', rule: 'HD045',
    build: (c) => {
      raw(c, 'pv', persistentVolume('node-root-2', { hostPath: { path: '/' } }));
      mountingAtHost(c, { ephemeral: { volumeClaimTemplate: { spec: claimSpec('node-root-2') } } });
    },
  },
  {
    name: 'a local PersistentVolume whose path is the node\'s /etc', category: 'raw-objects', target: 'raw', stage: 'synth', rule: 'HD045',
    build: (c) => raw(c, 'pv', persistentVolume('node-etc', { local: { path: '/etc' }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'Exists' }] }] } } })),
  },
  {
    name: 'a hostPath PersistentVolume inside a List', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD045',
    build: (c) => raw(c, 'l', { apiVersion: 'v1', kind: 'List', metadata: { name: 'storage' }, items: [persistentVolume('in-list', { hostPath: { path: '/var/run' } })] }),
  },
  {
    name: 'a RuntimeClass that adds a toleration of every taint to the hardened Deployment naming it', category: 'raw-objects', target: 'raw', stage: 'synth', rule: 'HD046',
    build: (c) => {
      raw(c, 'rc', { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'anywhere' }, handler: 'runc', scheduling: { nodeSelector: { 'node-role.kubernetes.io/control-plane': '' }, tolerations: [{ operator: 'Exists' }] } });
      const d = hardenedObject('placed');
      d.spec.template.spec.runtimeClassName = 'anywhere';
      raw(c, 'placed', d);
    },
  },
  {
    name: 'a MutatingAdmissionPolicy and binding that make a namespace\'s pods privileged', category: 'raw-objects', target: 'raw', stage: 'synth', rule: 'HD046',
    build: (c) => {
      raw(c, 'map', { apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'MutatingAdmissionPolicy', metadata: { name: 'loosen' }, spec: {
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
        failurePolicy: 'Ignore', mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: '[JSONPatch{op: "add", path: "/spec/hostPID", value: true}]' } }],
      } });
      raw(c, 'mapb', { apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'MutatingAdmissionPolicyBinding', metadata: { name: 'loosen' }, spec: { policyName: 'loosen' } });
    },
  },
  {
    name: 'a MutatingWebhookConfiguration that sends every pod to an outside webhook', category: 'raw-objects', target: 'raw', stage: 'synth', rule: 'HD046',
    build: (c) => raw(c, 'mwc', { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'loosen' }, webhooks: [{
      name: 'loosen.example.com', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore', clientConfig: { url: 'https://loosen.example.com/mutate' },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
    }] }),
  },
  {
    name: 'a Kyverno ClusterPolicy whose mutate rule gives every pod hostPID', category: 'raw-objects', target: 'raw', stage: 'synth', rule: 'HD046',
    build: (c) => raw(c, 'kyverno', { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'loosen' }, spec: { rules: [{
      name: 'host-pid', match: { any: [{ resources: { kinds: ['Pod'] } }] }, mutate: { patchStrategicMerge: { spec: { hostPID: true } } },
    }] } }),
  },
];
