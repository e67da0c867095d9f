/** Unit tests of the policy pack's helpers, with the policy framework's own unknown-checking proxy. */
import { unknownCheckingProxy } from '@pulumi/policy';
import { describe, expect, it } from 'vitest';
import { cleanimgPolicies, kindOfType, knownCopy, PACK_RULES, SECRET_SOURCE_ANNOTATION, SECRET_SOURCE_PULUMI, violationsOfResource, type PolicyResourceLike } from '../../src/pulumi';
import { hardenedObject, IMAGE } from '../security/attacks/common';

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

  it('exempts a Secret from HD030 only when the pack config names it, never for its URN, parent or annotation', () => {
    const secret = (name: string, extra: Record<string, unknown> = {}): PolicyResourceLike => ({
      type: 'kubernetes:core/v1:Secret', name, urn: `urn:pulumi:dev::shop::cleanimg:index:EnvConfig$kubernetes:core/v1:Secret::${name}`,
      props: { metadata: { name, namespace: 'shop', annotations: { [SECRET_SOURCE_ANNOTATION]: SECRET_SOURCE_PULUMI } }, data: { k: 'dg==' }, ...extra },
    });
    const codes = (r: PolicyResourceLike, pulumiSecrets?: string[]) => [...new Set(violationsOfResource(r, PACK_RULES, { pulumiSecrets }).map((v) => v.code))];
    expect(codes(secret('api-secret'))).toEqual(['HD030']);
    expect(violationsOfResource(secret('api-secret'))[0]!.fix).toContain('{"cleanimg-hd030": {"pulumiSecrets": ["shop/api-secret"]}}');
    expect(codes(secret('api-secret'), ['shop/api-secret'])).toEqual([]);
    expect(codes(secret('api-secret'), ['api-secret'])).toEqual([]);
    expect(codes(secret('api-secret'), ['other/api-secret', 'db-secret'])).toEqual(['HD030']);
    expect(codes(secret('api-secret', { stringData: { k: 'v' } }), ['shop/api-secret'])).toEqual(['HD030']);
    const lookAlike = { ...secret('api-secret'), type: 'kubernetes:v1:Secret' };
    expect(codes(lookAlike, ['shop/api-secret'])).toEqual(['HD030']);
  });

  it('keeps a finding during preview when the insecure part is known, and sets aside one that an unknown value decides', () => {
    const judge = (o: object) => violationsOfResource({ type: 'kubernetes:argoproj.io/v1alpha1:Workflow', name: 'wf', urn: 'urn:pulumi:s::p::kubernetes:argoproj.io/v1alpha1:Workflow::wf', props: unknownCheckingProxy(o) }).map((v) => `${v.code} ${v.path}`);
    const workflow = (env: unknown) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { name: 'wf', namespace: 'shop' }, spec: { entrypoint: 'main', templates: [{ name: 'main', container: { image: IMAGE, command: ['/bin/app'], securityContext: { privileged: true }, env: [{ name: 'BUILD', value: env }] } }] } });
    expect(judge(workflow(unknownStringValue))).toEqual(judge(workflow('x')));
    expect(judge(workflow(unknownStringValue))).toContain('HD034 /spec/templates/0/container');
    const deployment = (edit: (pod: any) => void) => { const o = hardenedObject('d'); edit(o.spec.template.spec); return o; };
    const codes = (o: object) => violationsOfResource({ type: 'kubernetes:apps/v1:Deployment', name: 'd', urn: 'urn:pulumi:s::p::kubernetes:apps/v1:Deployment::d', props: unknownCheckingProxy(o) }).map((v) => v.code);
    expect(codes(deployment((p) => p.volumes.push({ name: unknownStringValue })))).toEqual(['HD012']);
    expect(codes(deployment((p) => p.volumes.push({ name: 'scratch', emptyDir: unknownObjectValue })))).toEqual([]);
    expect(codes(deployment((p) => { p.hostNetwork = unknownStringValue; }))).toEqual([]);
  });

  it('reports nothing for a compliant object with any one of its leaf values unknown during preview', () => {
    const o = hardenedObject('d');
    const pointers: string[][] = [];
    const walk = (v: unknown, at: string[]) => {
      if (at.length && (v === null || typeof v !== 'object')) pointers.push(at);
      if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
    };
    walk(o, []);
    expect(pointers.length).toBeGreaterThan(30);
    const failures: string[] = [];
    for (const at of pointers) {
      const copy = structuredClone(o);
      const parent = at.slice(0, -1).reduce((n: any, k) => n[k], copy);
      parent[at[at.length - 1]!] = typeof parent[at[at.length - 1]!] === 'object' ? unknownObjectValue : unknownStringValue;
      const r = { type: 'kubernetes:apps/v1:Deployment', name: 'd', urn: 'urn:pulumi:s::p::kubernetes:apps/v1:Deployment::d', props: unknownCheckingProxy(copy) };
      failures.push(...violationsOfResource(r).map((v) => `/${at.join('/')} unknown: ${v.code} ${v.path}`));
    }
    expect(failures).toEqual([]);
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
    expect(policies.map((p) => p.name)).toEqual(PACK_RULES.map((r) => `cleanimg-${r.id.toLowerCase()}`));
    expect(new Set(policies.map((p) => p.enforcementLevel))).toEqual(new Set(['mandatory']));
    const reports: string[] = [];
    const hd003 = policies.find((p) => p.name === 'cleanimg-hd003')!;
    const validate = hd003.validateResource as (a: any, r: (m: string) => void) => void;
    validate({ type: 'kubernetes:core/v1:Pod', name: 'p', urn: 'u', props: { kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'busybox' }] } } }, (m) => reports.push(m));
    expect(reports).toEqual(['Pod/p HD003 /spec/containers/0/image: image "busybox" is not pinned by digest — use busybox@sha256:<digest> or a CustomizedImage']);
  });
});
