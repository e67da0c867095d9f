/**
 * HD045, HD046: objects beside the pods that hand a pod what its spec does not show. Each case must fire
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

describe('objects that rewrite or re-place pods at admission (HD046)', () => {
  const webhook = { name: 'm.example.com', clientConfig: { url: 'https://m.example.com' }, admissionReviewVersions: ['v1'], sideEffects: 'None' };
  it('refuses mutating webhooks and admission policies and their bindings, in any version', () => {
    expect(found({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'm' }, webhooks: [webhook] })).toEqual(['HD046 /kind']);
    expect(found({ apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'MutatingAdmissionPolicy', metadata: { name: 'm' }, spec: { mutations: [] } })).toEqual(['HD046 /kind']);
    expect(found({ apiVersion: 'admissionregistration.k8s.io/v1alpha1', kind: 'MutatingAdmissionPolicyBinding', metadata: { name: 'm' }, spec: { policyName: 'm' } })).toEqual(['HD046 /kind']);
    const [v] = checkObject({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'm' } } as KubeObject);
    expect(v!.message).toMatch(/MutatingWebhookConfiguration .*rewrites the objects it matches at admission/);
    expect(v!.fix).toMatch(/remove the MutatingWebhookConfiguration/);
  });

  it('refuses Gatekeeper mutators and Kyverno mutate rules, not Kyverno\'s other rules', () => {
    expect(found({ apiVersion: 'mutation.gatekeeper.sh/v1', kind: 'Assign', metadata: { name: 'a' }, spec: { location: 'spec.hostPID', parameters: { assign: { value: true } } } })).toEqual(['HD046 /kind']);
    const kyverno = (rules: object[]) => ({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'k' }, spec: { rules } });
    expect(found(kyverno([{ name: 'validate', validate: { message: 'x' } }, { name: 'loosen', mutate: { patchStrategicMerge: { spec: { hostPID: true } } } }]))).toEqual(['HD046 /spec/rules/1/mutate']);
    expect(found({ ...kyverno([{ name: 'loosen', mutate: {} }]), kind: 'Policy', metadata: { name: 'k', namespace: 'shop' } })).toEqual(['HD046 /spec/rules/0/mutate']);
    expect(found(kyverno([{ name: 'signed', verifyImages: [{ imageReferences: ['*'], mutateDigest: false }] }]))).toEqual([]);
  });

  it('refuses a RuntimeClass that adds tolerations, naming them; passes one that adds none, or only a nodeSelector', () => {
    const rc = (scheduling?: object) => ({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'r' }, handler: 'runc', ...(scheduling ? { scheduling } : {}) });
    const [v, ...rest] = checkObject(rc({ tolerations: [{ operator: 'Exists' }] }) as KubeObject);
    expect(rest).toEqual([]);
    expect([v!.code, v!.path]).toEqual(['HD046', '/scheduling/tolerations']);
    expect(v!.message).toContain('[{"operator":"Exists"}]');
    expect(v!.fix).toMatch(/scheduling\.tolerations/);
    expect(found(rc({ tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }] }))).toEqual(['HD046 /scheduling/tolerations']);
    expect(found(rc())).toEqual([]);
    expect(found(rc({ tolerations: [] }))).toEqual([]);
    expect(found(rc({ nodeSelector: { 'sandbox.example.com/gvisor': 'true' } }))).toEqual([]);
    expect(found({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'v' }, webhooks: [webhook] })).toEqual([]);
  });
});
