/**
 * HD045: objects beside the pods that hand a pod what its spec does not show. Each case must fire
 * exactly its rule at its path, with a message naming the field; ordinary objects of the same kinds pass.
 */
import { describe, expect, it } from 'vitest';
import { checkObject, type KubeObject } from '../../src/rules';

const found = (o: object) => checkObject(o as KubeObject).map((v) => `${v.code} ${v.path}`);
const pv = (spec: object) => ({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'v' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], ...spec } });

describe('PersistentVolumes on a node\'s filesystem (HD045)', () => {
  it('refuses hostPath and local sources, naming the field, the path and the fix', () => {
    expect(found(pv({ hostPath: { path: '/' } }))).toEqual(['HD045 /spec/hostPath']);
    expect(found(pv({ local: { path: '/etc' } }))).toEqual(['HD045 /spec/local']);
    const [v] = checkObject(pv({ hostPath: { path: '/var/lib/kubelet', type: 'Directory' } }) as KubeObject);
    expect(v!.message).toContain('hostPath PersistentVolume');
    expect(v!.message).toContain('"/var/lib/kubelet"');
    expect(v!.fix).toMatch(/StorageClass/);
  });

  it('refuses one in a List, and one without apiVersion', () => {
    expect(found({ apiVersion: 'v1', kind: 'List', items: [pv({ hostPath: { path: '/' } })] })).toEqual(['HD045 /items/0/spec/hostPath']);
    expect(found({ kind: 'PersistentVolume', spec: { hostPath: { path: '/' } } })).toEqual(['HD045 /spec/hostPath']);
  });

  it('passes network and CSI volumes, a null source, and a look-alike kind of another group', () => {
    expect(found(pv({ nfs: { server: 'nfs.example.com', path: '/exports/a' } }))).toEqual([]);
    expect(found(pv({ csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-1' } }))).toEqual([]);
    expect(found(pv({ hostPath: null }))).toEqual([]);
    expect(found({ apiVersion: 'example.com/v1', kind: 'PersistentVolume', metadata: { name: 'x' }, spec: { size: 1 } })).toEqual([]);
  });
});
