/**
 * Attacks on HardenedNamespace's imageSignatures: a private key that would be published in a
 * cluster-wide policy, text smuggled around the key, scopes that verifiers read differently or that
 * cover nothing, a format no verifier reads (every image refused, so someone turns the check off),
 * and the namespace label that switches policy-controller off.
 */
import * as crypto from 'node:crypto';
import { expect } from 'vitest';
import { HardenedNamespace } from '../../../src/cdk8s';
import type { Cdk8sAttack } from '../cdk8s-harness';
import { cdk8sWorkload } from './common';
import { SIGNING_KEY_PAIR, SIGNING_PRIVATE_KEY_PKCS8 as PRIVATE_PKCS8, SIGNING_PUBLIC_KEY } from './signing-key';

const PRIVATE_SEC1 = SIGNING_KEY_PAIR.privateKey.export({ type: 'sec1', format: 'pem' }).toString();
const P384 = crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ED25519 = crypto.generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

const withSignatures = (imageSignatures: unknown, extra: Record<string, unknown> = {}): Cdk8sAttack['build'] => (c) => {
  const ns = new HardenedNamespace(c, 'ns', { name: 'shop', imageSignatures: imageSignatures as never, ...extra });
  ns.addWorkload(cdk8sWorkload(c, 'Deployment', { namespace: 'shop' }));
};

const attack = (name: string, rule: string, imageSignatures: unknown, extra?: Record<string, unknown>): Cdk8sAttack => ({
  name, category: 'values', target: 'Namespace', stage: 'construct', rule, build: withSignatures(imageSignatures, extra),
});

export const CDK8S_SIGNATURE_ATTACKS: readonly Cdk8sAttack[] = [
  attack('the private key (PKCS#8) as imageSignatures.publicKey: it would be published cluster-wide', 'NS019', { publicKey: PRIVATE_PKCS8 }),
  attack('the private key (SEC1) after the public key', 'NS019', { publicKey: `${SIGNING_PUBLIC_KEY}${PRIVATE_SEC1}` }),
  attack('a cosign encrypted private key file', 'NS019', { publicKey: '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n' }),
  attack('two public keys (a second, attacker-held key admits its images)', 'NS019', { publicKey: `${SIGNING_PUBLIC_KEY}${P384}` }),
  attack('YAML smuggled after the key (a second attestor in a block scalar)', 'NS019', { publicKey: `${SIGNING_PUBLIC_KEY}\n  - keys: {publicKeys: x}` }),
  attack('a PEM header line in the key block', 'NS019', { publicKey: SIGNING_PUBLIC_KEY.replace('\n', '\nProc-Type: 4,ENCRYPTED\n') }),
  attack('a P-384 key (the policies say sha256 for P-256)', 'NS019', { publicKey: P384 }),
  attack('an ed25519 key', 'NS019', { publicKey: ED25519 }),
  attack('an empty key', 'NS019', { publicKey: '' }),
  attack('a key given as an object', 'NS019', { publicKey: { toString: () => SIGNING_PUBLIC_KEY } }),
  attack('the bundle format (no verifier reads it with a key: every image refused)', 'NS021', { publicKey: SIGNING_PUBLIC_KEY, signatureFormat: 'bundle' }),
  attack('an unknown verifier', 'NS021', { publicKey: SIGNING_PUBLIC_KEY, verifiers: ['gatekeeper'] }),
  attack('an empty verifier list (a policy for nobody)', 'NS021', { publicKey: SIGNING_PUBLIC_KEY, verifiers: [] }),
  attack('a scope with a tag (the next digest is not covered)', 'NS020', { publicKey: SIGNING_PUBLIC_KEY, images: ['registry.example.com/shop/web:v1'] }),
  attack('a scope with a digest', 'NS020', { publicKey: SIGNING_PUBLIC_KEY, images: [`registry.example.com/shop/web@sha256:${'a'.repeat(64)}`] }),
  attack('a wildcard scope (globs mean different things to the two verifiers)', 'NS020', { publicKey: SIGNING_PUBLIC_KEY, images: ['registry.example.com/*'] }),
  attack('a short Docker Hub name (expanded differently by each verifier)', 'NS020', { publicKey: SIGNING_PUBLIC_KEY, images: ['nginx'] }),
  attack('a Cyrillic letter in the registry host', 'NS020', { publicKey: SIGNING_PUBLIC_KEY, images: ['registry.ex\u0430mple.com/shop/web'] }),
  attack('an empty scope list (a policy that covers nothing)', 'NS020', { publicKey: SIGNING_PUBLIC_KEY, images: [] }),
  attack('a __proto__ key in imageSignatures (mode: warn through the prototype)', 'PROP001', { publicKey: SIGNING_PUBLIC_KEY, ...JSON.parse('{"__proto__": {"mode": "warn"}}') }),
  attack('a prop imageSignatures does not read (mode: warn)', 'PROP001', { publicKey: SIGNING_PUBLIC_KEY, mode: 'warn' }),
  attack('policy-controller switched off by the namespace label', 'NS013', { publicKey: SIGNING_PUBLIC_KEY }, { labels: { 'policy.sigstore.dev/include': 'false' } }),
  {
    name: 'signature policies are written with the key re-encoded, enforcing, and covering every image of the namespace', category: 'values', target: 'Namespace', stage: 'written', rule: 'NS019',
    build: withSignatures({ publicKey: `\n\n${SIGNING_PUBLIC_KEY.replace(/\n/g, '\r\n')}\n` }),
    verify: (objects) => {
      const cip = objects.find((o) => o.kind === 'ClusterImagePolicy') as any;
      const kyverno = objects.find((o) => o.kind === 'ClusterPolicy') as any;
      const ns = objects.find((o) => o.kind === 'Namespace') as any;
      expect(cip.spec.authorities).toEqual([{ name: 'cleanimg-key', key: { data: SIGNING_PUBLIC_KEY, hashAlgorithm: 'sha256' } }]);
      expect(cip.spec.mode).toBe('enforce');
      expect(ns.metadata.labels['policy.sigstore.dev/include']).toBe('true');
      const verify = kyverno.spec.rules[0].verifyImages[0];
      expect(verify).toMatchObject({ imageReferences: ['*'], failureAction: 'Enforce', required: true, verifyDigest: true });
      expect(verify.attestors[0].entries[0].keys.publicKeys).toBe(SIGNING_PUBLIC_KEY);
      expect(kyverno.spec.failurePolicy).toBe('Fail');
      expect(kyverno.spec.rules[0].match).toEqual({ any: [{ resources: { kinds: ['Pod'], namespaces: ['shop'] } }] });
    },
  },
];
