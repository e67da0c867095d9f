/**
 * Objects beside the pods that change what a pod gets where no pod spec shows it, written in a cdk8s
 * chart next to hardened workloads whose pod specs pass every pod rule: a PersistentVolume on the
 * node's filesystem that the pod binds through an ordinary claim (HD045). Each constructs;
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
];
