/** Unit tests of the policy pack's helpers, with the policy framework's own unknown-checking proxy. */
import { unknownCheckingProxy } from '@pulumi/policy';
import { describe, expect, it } from 'vitest';
import { cleanimgPolicies, kindOfType, knownCopy, madeByEnvConfig, violationsOfResource } from '../../src/pulumi';
import { RULES } from '../../src/rules';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unknownStringValue, unknownObjectValue } = require('@pulumi/policy/proxy');

describe('policy helpers', () => {
  it('derives apiVersion and kind from Kubernetes type tokens', () => {
    expect(kindOfType('kubernetes:apps/v1:Deployment')).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment' });
    expect(kindOfType('kubernetes:core/v1:Secret')).toEqual({ apiVersion: 'v1', kind: 'Secret' });
    expect(kindOfType('kubernetes:networking.k8s.io/v1:Ingress')).toEqual({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' });
    expect(kindOfType('kubernetes:apps/v1:DeploymentPatch')).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment' });
    expect(kindOfType('aws:s3/bucket:Bucket')).toEqual({});
    // CustomResource and CustomResourcePatch: `kubernetes:<apiVersion>:<kind>[Patch]`
    expect(kindOfType('kubernetes:argoproj.io/v1alpha1:Rollout')).toEqual({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout' });
    expect(kindOfType('kubernetes:serving.knative.dev/v1:ServicePatch')).toEqual({ apiVersion: 'serving.knative.dev/v1', kind: 'Service' });
  });

  it('recognises an EnvConfig parent in real (full-chain) and mock URNs, and nothing else', () => {
    expect(madeByEnvConfig('urn:pulumi:dev::shop::pulumi:pulumi:Stack$my:app:Web$cleanimg:index:EnvConfig$kubernetes:core/v1:Secret::cfg-secret')).toBe(true);
    expect(madeByEnvConfig('urn:pulumi:test::p::cleanimg:index:EnvConfig$kubernetes:core/v1:Secret::cfg-secret')).toBe(true);
    expect(madeByEnvConfig('urn:pulumi:dev::shop::cleanimg:index:EnvConfig$my:index:Wrapper$kubernetes:core/v1:Secret::s')).toBe(false);
    expect(madeByEnvConfig('urn:pulumi:dev::shop::kubernetes:core/v1:Secret::cleanimg:index:EnvConfig')).toBe(false);
    expect(madeByEnvConfig('urn:pulumi:dev::shop::my:index:Comp$kubernetes:core/v1:Secret::s')).toBe(false);
  });

  it('copies known values through the framework proxy and lists the unknown ones as JSON pointers', () => {
    const props = unknownCheckingProxy({ metadata: { name: 'x', labels: unknownObjectValue }, spec: { containers: [{ image: unknownStringValue, name: 'a' }] }, 'a/b': unknownStringValue });
    const unknown: string[] = [];
    expect(knownCopy(props, unknown)).toEqual({ metadata: { name: 'x' }, spec: { containers: [{ name: 'a' }] } });
    expect(unknown.sort()).toEqual(['/a~1b', '/metadata/labels', '/spec/containers/0/image']);
  });

  it('judges a resource the framework hands over, minus unknown fields', () => {
    const props = unknownCheckingProxy({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: unknownStringValue }] } });
    const v = violationsOfResource({ type: 'kubernetes:core/v1:Pod', name: 'p', urn: 'urn:pulumi:s::p::kubernetes:core/v1:Pod::p', props });
    expect(v.length).toBeGreaterThan(3);
    expect(v.map((x) => x.code)).not.toContain('HD003');
    expect(v.map((x) => x.code)).toContain('HD001');
  });

  it('judges a custom resource with a pod template by shape, and refuses helm.v3.Release', () => {
    const rollout = violationsOfResource({ type: 'kubernetes:argoproj.io/v1alpha1:Rollout', name: 'r', urn: 'urn:pulumi:s::p::kubernetes:argoproj.io/v1alpha1:Rollout::r', props: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'r' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'nginx:1' }] } } } } });
    expect(rollout.map((v) => v.code)).toEqual(expect.arrayContaining(['HD001', 'HD003', 'HD015']));
    expect(rollout.find((v) => v.code === 'HD003')!.path).toBe('/spec/template/spec/containers/0/image');
    const release = violationsOfResource({ type: 'kubernetes:helm.sh/v3:Release', name: 'x', urn: 'urn:pulumi:s::p::kubernetes:helm.sh/v3:Release::x', props: { chart: 'x' } });
    expect(release.map((v) => [v.code, v.object])).toEqual([['HD034', 'Release/x']]);
    expect(release[0]!.fix).toMatch(/helm\.v4\.Chart/);
  });

  it('makes one policy per rule, mandatory by default, reporting rule id, path and fix', () => {
    const policies = cleanimgPolicies();
    expect(policies.map((p) => p.name)).toEqual(RULES.map((r) => `cleanimg-${r.id.toLowerCase()}`));
    expect(new Set(policies.map((p) => p.enforcementLevel))).toEqual(new Set(['mandatory']));
    const reports: string[] = [];
    const hd003 = policies.find((p) => p.name === 'cleanimg-hd003')!;
    const validate = hd003.validateResource as (a: any, r: (m: string) => void) => void;
    validate({ type: 'kubernetes:core/v1:Pod', name: 'p', urn: 'u', props: { kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'busybox' }] } } }, (m) => reports.push(m));
    expect(reports).toEqual(['Pod/p HD003 /spec/containers/0/image: image "busybox" is not pinned by digest — use busybox@sha256:<digest> or a CustomizedImage']);
  });
});
