import * as crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hardenedDeployment, hardenedNamespace } from '../../src/core';
import { checkImageSignatures, defaultScopes } from '../../src/core/image-signature-policy';
import { checkObjects } from '../../src/rules';
import { thrown } from '../support/expect-error';
import { baseProps, IMAGE } from '../support/fixtures';

const KEY = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const web = hardenedDeployment(baseProps({ namespace: 'shop' }));
const repo = IMAGE.split('@')[0]!;

/** policy-controller's glob grammar (pkg/apis/glob, v0.13.1): characters allowed, `**` any, `*` any but `/`. */
const pcGlob = (g: string) => {
  expect(g).toMatch(/^[a-zA-Z0-9-_:/*.@]+$/);
  return new RegExp(`^${g.replace(/\./g, '\\.').replace(/\*\*/g, '#').replace(/\*/g, '[^/]*').replace(/#/g, '.*')}$`);
};

describe('imageSignatures on hardenedNamespace', () => {
  it('writes a ClusterImagePolicy for the workloads\' repositories and a Kyverno policy for every image of the namespace', () => {
    const r = hardenedNamespace({ name: 'shop', workloads: [{ workload: web }], imageSignatures: { publicKey: KEY } });
    const [cip, kyverno] = r.signaturePolicies as any[];
    expect(cip.kind).toBe('ClusterImagePolicy');
    expect(cip.metadata.name).toBe('cleanimg-signatures.shop');
    expect(cip.spec.images).toEqual([{ glob: `${repo}@**` }, { glob: `${repo}:**` }]);
    expect(pcGlob(cip.spec.images[0].glob).test(IMAGE)).toBe(true);
    expect(pcGlob(cip.spec.images[0].glob).test(IMAGE.replace(repo, `${repo}-evil`))).toBe(false);
    expect(kyverno.kind).toBe('ClusterPolicy');
    expect(kyverno.spec.rules[0].verifyImages[0].imageReferences).toEqual(['*']);
    expect(r.namespace.metadata!.labels).toMatchObject({ 'policy.sigstore.dev/include': 'true' });
    expect(checkObjects([...r.objects, ...web.objects])).toEqual([]);
    // Guards before the Role and the workloads' objects.
    expect(r.objects.map((o) => o.kind).slice(0, 5)).toEqual(['Namespace', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ClusterImagePolicy', 'ClusterPolicy']);
  });

  it('adds the allowed registries as prefixes, and takes explicit scopes over the defaults for both verifiers', () => {
    expect(defaultScopes([IMAGE, IMAGE], ['registry.example.com', 'ghcr.io/acme/'])).toEqual([{ prefix: 'registry.example.com/' }, { prefix: 'ghcr.io/acme/' }, { repository: repo }]);
    const r = hardenedNamespace({ name: 'shop', imageSignatures: { publicKey: KEY, images: ['registry.example.com/shop/', 'localhost:5000/app'] } });
    const [cip, kyverno] = r.signaturePolicies as any[];
    expect(cip.spec.images.map((i: any) => i.glob)).toEqual(['registry.example.com/shop/**', 'localhost:5000/app@**', 'localhost:5000/app:**']);
    expect(pcGlob('registry.example.com/shop/**').test(`registry.example.com/shop/a/b@sha256:${'1'.repeat(64)}`)).toBe(true);
    expect(kyverno.spec.rules[0].verifyImages[0].imageReferences).toEqual(['registry.example.com/shop/*', 'localhost:5000/app@*', 'localhost:5000/app:*']);
  });

  it('writes only the verifiers asked for; no ClusterImagePolicy (and no label) when policy-controller is not one', () => {
    const k = hardenedNamespace({ name: 'shop', workloads: [{ workload: web }], imageSignatures: { publicKey: KEY, verifiers: ['kyverno'] } });
    expect(k.signaturePolicies.map((o) => o.kind)).toEqual(['ClusterPolicy']);
    expect(k.namespace.metadata!.labels).not.toHaveProperty('policy.sigstore.dev/include');
    const p = hardenedNamespace({ name: 'shop', workloads: [{ workload: web }], imageSignatures: { publicKey: KEY, verifiers: ['policy-controller'], signatureFormat: 'both' } });
    expect(p.signaturePolicies.map((o) => o.kind)).toEqual(['ClusterImagePolicy']);
  });

  it('writes no ClusterImagePolicy while nothing is in scope (policy-controller\'s no-match policy governs the namespace)', () => {
    const r = hardenedNamespace({ name: 'shop', imageSignatures: { publicKey: KEY } });
    expect(r.signaturePolicies.map((o) => o.kind)).toEqual(['ClusterPolicy']);
    expect(r.namespace.metadata!.labels).toMatchObject({ 'policy.sigstore.dev/include': 'true' });
  });

  it('re-encodes the key: the policies never carry the caller\'s text', () => {
    const r = hardenedNamespace({ name: 'shop', imageSignatures: { publicKey: `  ${KEY.replace(/\n/g, '\r\n')}\n\n`, verifiers: ['kyverno'] } });
    expect((r.signaturePolicies[0] as any).spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.publicKeys).toBe(KEY);
  });

  it('reports every problem at once, with its path, and never echoes a private key', () => {
    const priv = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const { problems } = checkImageSignatures({ publicKey: priv, verifiers: ['kyverno', 'kyverno'], signatureFormat: 'bundle', images: ['web'] });
    expect(problems.map((p) => `${p.code} ${p.path}`)).toEqual([
      'NS019 imageSignatures.publicKey', 'NS021 imageSignatures.verifiers', 'NS021 imageSignatures.signatureFormat', 'NS020 imageSignatures.images[0]',
    ]);
    expect(JSON.stringify(problems)).not.toContain(priv.split('\n')[1]);
    expect(thrown(() => hardenedNamespace({ name: 'shop', imageSignatures: { publicKey: priv } })).problems.map((p) => p.code)).toEqual(['NS019']);
  });
});
