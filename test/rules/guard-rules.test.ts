import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hardenedDeployment, hardenedNamespace } from '../../src/core';
import { checkObjects, type KubeObject } from '../../src/rules';
import { baseProps } from '../support/fixtures';

const publicKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const web = hardenedDeployment(baseProps({ namespace: 'shop' }));
const ns = hardenedNamespace({ name: 'shop', allowedRegistries: ['registry.example.com'], imageSignatures: { publicKey }, workloads: [{ workload: web }] });
const codes = (objects: KubeObject[]) => checkObjects(objects).map((v) => `${v.code} ${v.object} ${v.path}`);
const edited = (o: KubeObject, edit: (x: any) => void) => { const c = structuredClone(o) as any; edit(c); return c as KubeObject; };

describe('the guards of a namespace (HD043, HD044)', () => {
  it('pass every object HardenedNamespace writes, with allowedRegistries and signature policies', () => {
    expect(codes([...ns.objects, ...web.objects])).toEqual([]);
  });

  it('refuse a weakened or removed Pod Security enforce label, on any Namespace', () => {
    expect(codes([edited(ns.namespace, (n) => { n.metadata.labels['pod-security.kubernetes.io/enforce'] = 'baseline'; })])).toEqual(['HD043 Namespace/shop /metadata/labels/pod-security.kubernetes.io~1enforce']);
    expect(codes([edited(ns.namespace, (n) => { delete n.metadata.labels['pod-security.kubernetes.io/enforce']; })])).toEqual(['HD043 Namespace/shop /metadata/labels']);
    expect(codes([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } }])).toHaveLength(1);
    // A Namespace of the user's that says nothing about Pod Security is left alone (the cluster's default applies).
    expect(codes([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }])).toEqual([]);
  });

  it('refuse each way of switching the admission policy off', () => {
    const b = ns.policyBinding;
    const p = ns.policy;
    expect(codes([edited(b, (x) => { x.spec.validationActions = ['Warn', 'Audit']; })])).toEqual(['HD044 ValidatingAdmissionPolicyBinding/cleanimg-hardening.shop /spec/validationActions']);
    expect(codes([edited(b, (x) => { x.spec.policyName = 'other'; })])).toHaveLength(1);
    // renamed (a Pulumi transformation can rename, not remove): still ours by the policy it binds
    expect(codes([edited(b, (x) => { x.metadata.name = 'renamed'; x.spec.validationActions = ['Audit']; })])).toEqual([
      'HD044 ValidatingAdmissionPolicyBinding/renamed /spec/validationActions', 'HD044 ValidatingAdmissionPolicyBinding/renamed /spec/policyName']);
    expect(codes([edited(b, (x) => { x.spec.matchResources = {}; })])).toHaveLength(1);
    expect(codes([edited(p, (x) => { x.spec.failurePolicy = 'Ignore'; })])).toEqual(['HD044 ValidatingAdmissionPolicy/cleanimg-hardening.shop /spec/failurePolicy']);
    expect(codes([edited(p, (x) => { x.spec.validations[3].expression = 'true'; })])).toEqual(['HD044 ValidatingAdmissionPolicy/cleanimg-hardening.shop /spec/validations']);
    expect(codes([edited(p, (x) => { x.spec.variables[0].expression = '{}'; })])).toEqual(['HD044 ValidatingAdmissionPolicy/cleanimg-hardening.shop /spec/variables']);
    // NS001 depends on the namespace's props: it may differ, the rest may not.
    expect(codes([edited(p, (x) => { x.spec.validations = x.spec.validations.filter((v: any) => !v.message.startsWith('NS001 ')); })])).toEqual([]);
  });

  it('refuse a default-deny that no longer denies, and signature policies that no longer enforce', () => {
    const deny = ns.networkPolicies[0]!;
    expect(codes([edited(deny, (x) => { x.spec.policyTypes = ['Egress']; })])).toEqual(['HD044 NetworkPolicy/shop/default-deny /spec']);
    const [cip, kyverno] = ns.signaturePolicies as KubeObject[];
    expect(codes([edited(cip!, (x) => { x.spec.mode = 'warn'; })])).toHaveLength(1);
    expect(codes([edited(kyverno!, (x) => { x.spec.validationFailureAction = 'Audit'; })])).toHaveLength(1);
    expect(codes([edited(kyverno!, (x) => { x.spec.admission = false; })])).toHaveLength(1);
    expect(codes([edited(kyverno!, (x) => { x.spec.rules[0].verifyImages[0].required = false; })])).toHaveLength(1);
  });

  it('leave the user\'s own policies and NetworkPolicies alone', () => {
    const own = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'audit-only' }, spec: { policyName: 'x', validationActions: ['Audit'] } };
    const np = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: 'mine' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    expect(codes([own, np])).toEqual([]);
  });
});
