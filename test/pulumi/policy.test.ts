/**
 * The policy pack, run as the Pulumi CLI runs it (a process serving the Analyzer gRPC service) and
 * fed resources the way the engine feeds them during `pulumi preview`: the objects of our
 * components pass, a raw insecure Deployment written beside them fails with mandatory violations
 * naming the same rule ids as every other guard.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployExamples } from '../../examples/pulumi/program';
import { EnvConfig, HardenedDeployment, PACK_RULES, SECRET_SOURCE_ANNOTATION } from '../../src/pulumi';
import { installMocks, settle } from './harness';
import { startPack, type AnalyzedResource, type Diagnostic, type PackClient } from './policy-pack-client';

const recorder = installMocks();
const MANDATORY = 1;
const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';
const SECRET = (value: unknown) => ({ '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270', value });
const urn = (type: string, name: string, parentType?: string) => `urn:pulumi:test::cleanimg-test::${parentType ? `${parentType}$` : ''}${type}::${name}`;
const ruleIds = (ds: Diagnostic[]) => [...new Set(ds.map((d) => d.policyName.replace('cleanimg-', '').toUpperCase()))].sort();

let pack: PackClient;
/** The Secrets our examples' EnvConfigs make from Pulumi secrets, exempted as the person running the CLI would: the examples' config file (README), and this test's own. */
const EXAMPLE_CONFIG = JSON.parse(readFileSync(join(__dirname, '../../examples/pulumi/policy-config.json'), 'utf8')) as { 'cleanimg-hd030': { pulumiSecrets: string[] } };
const GRANTED = { 'cleanimg-hd030': { pulumiSecrets: [...EXAMPLE_CONFIG['cleanimg-hd030'].pulumiSecrets, 'policy-secret-secret'] } };
beforeAll(async () => { pack = await startPack({}, GRANTED); }, 120_000);
afterAll(() => pack?.stop());

/** A resource our program registered, as the engine would hand it to the analyzer. */
async function asAnalyzed(r: pulumi.CustomResource | undefined): Promise<AnalyzedResource> {
  if (!r) throw new Error('resource missing');
  const [u] = await settle(r);
  const [type, name] = [u!.split('::')[2]!.split('$').pop()!, u!.split('::')[3]!];
  return { type, name, urn: u!, props: recorder.inputsOf(type, name) };
}

const INSECURE_DEPLOYMENT = {
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'legacy', namespace: 'apps' },
  spec: {
    selector: { matchLabels: { app: 'legacy' } },
    template: { metadata: { labels: { app: 'legacy' } }, spec: { containers: [{ name: 'web', image: 'nginx:latest', ports: [{ containerPort: 80 }] }] } },
  },
};

describe('cleanimg policy pack', () => {
  it('loads like the CLI loads it, with one mandatory policy per rule', async () => {
    const info = await pack.info();
    expect(info.name).toBe('cleanimg-hardening');
    expect(info.policies.map((p) => p.name).sort()).toEqual(PACK_RULES.map((r) => `cleanimg-${r.id.toLowerCase()}`).sort());
    expect(info.policies.every((p) => p.enforcementLevel === MANDATORY)).toBe(true);
  });

  it('passes every object the Pulumi face registers for the examples, and a Pulumi-made Secret the config names', async () => {
    const stack = deployExamples();
    const withSecret = new EnvConfig('policy-secret', { name: 'policy-secret', managedSecret: { mountPath: '/var/run/secrets/x', data: { token: pulumi.secret('abc123-very-secret') } } });
    const resources = [
      ...Object.values(stack.deployments).flatMap((d) => Object.values(d.children)),
      ...Object.values(stack.configs).flatMap((c) => [c.configMap, c.secret]),
      withSecret.secret,
    ].filter((r) => !!r) as pulumi.CustomResource[];
    expect(resources.length).toBeGreaterThan(15);
    for (const r of resources) {
      const a = await asAnalyzed(r);
      expect(await pack.analyze(a), `${a.type} ${a.name}`).toEqual([]);
    }
    const secret = await asAnalyzed(withSecret.secret);
    expect(secret.urn).toContain('cleanimg:index:EnvConfig$kubernetes:core/v1:Secret');
    expect(JSON.stringify(secret.props)).toContain('1b47061264138c4ac30d75fd1eb44270'); // sent as a secret
  });

  it('fails a raw insecure k8s.apps.v1.Deployment written beside ours, with mandatory violations naming rule, path and fix', async () => {
    const raw = new k8s.apps.v1.Deployment('legacy', INSECURE_DEPLOYMENT as k8s.apps.v1.DeploymentArgs);
    const a = await asAnalyzed(raw);
    const ds = await pack.analyze(a);
    expect(ds.length).toBeGreaterThan(5);
    expect(ds.every((d) => d.enforcementLevel === MANDATORY)).toBe(true);
    expect(ruleIds(ds)).toEqual(expect.arrayContaining(['HD001', 'HD002', 'HD003', 'HD004', 'HD005', 'HD008', 'HD014']));
    const hd003 = ds.find((d) => d.policyName === 'cleanimg-hd003')!;
    expect(hd003.message).toContain('Deployment/apps/legacy HD003 /spec/template/spec/containers/0/image: image "nginx:latest" is not pinned by digest');
    expect(hd003.message).toContain('— use nginx:latest@sha256:<digest> or a CustomizedImage');
    expect(hd003.message.startsWith('HD003: images are pinned by digest')).toBe(true);
  });

  it('fails our own Deployment when a Pulumi transformation weakens it after construction', async () => {
    const weakened = new HardenedDeployment('weakened', {
      containers: [{ name: 'a', image: 'registry.example.com/app@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9', ports: [{ containerPort: 8080 }] }],
    }, {
      transformations: [(t) => {
        if (t.type !== 'kubernetes:apps/v1:Deployment') return undefined;
        const props = structuredClone(t.props) as any;
        props.spec.template.spec.containers[0].securityContext.privileged = true;
        props.spec.template.spec.hostNetwork = true;
        return { props, opts: t.opts };
      }],
    });
    const ds = await pack.analyze(await asAnalyzed(weakened.deployment));
    expect(ruleIds(ds)).toEqual(['HD006', 'HD009']);
    expect(ds.every((d) => d.enforcementLevel === MANDATORY)).toBe(true);
  });

  it('fails a hand-written Secret with literal data, even with our annotation or under an EnvConfig with stringData', async () => {
    const handWritten = new k8s.core.v1.Secret('db-password', { metadata: { name: 'db-password' }, stringData: { password: 'hunter2' } });
    expect(ruleIds(await pack.analyze(await asAnalyzed(handWritten)))).toEqual(['HD030']);
    const props = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', annotations: { [SECRET_SOURCE_ANNOTATION]: 'pulumi-secret' } }, data: SECRET({ k: 'dg==' }) };
    const disguised = { type: 'kubernetes:core/v1:Secret', name: 's', urn: urn('kubernetes:core/v1:Secret', 's'), props };
    expect(ruleIds(await pack.analyze(disguised))).toEqual(['HD030']);
    const inEnvConfig = { ...disguised, urn: urn('kubernetes:core/v1:Secret', 's', 'cleanimg:index:EnvConfig'), props: { ...props, stringData: SECRET({ k: 'v' }) } };
    expect(ruleIds(await pack.analyze(inEnvConfig))).toEqual(['HD030']);
    // ... and so is the same Secret under an EnvConfig, with data only: its URN proves nothing ...
    expect(ruleIds(await pack.analyze({ ...disguised, urn: inEnvConfig.urn }))).toEqual(['HD030']);
    // ... unless the pack's config names it.
    expect(await pack.analyze({ ...disguised, name: 'policy-secret-secret', props: { ...props, metadata: { ...props.metadata, name: 'policy-secret-secret' } } })).toEqual([]);
  });

  it('refuses an EnvConfig\'s managed Secret that the pack config does not name, saying how to name it', async () => {
    const cfg = new EnvConfig('ungranted', { name: 'ungranted', namespace: 'shop', managedSecret: { mountPath: '/var/run/secrets/x', data: { token: pulumi.secret('abc123-very-secret') } } });
    const ds = await pack.analyze(await asAnalyzed(cfg.secret));
    expect(ruleIds(ds)).toEqual(['HD030']);
    expect(ds[0]!.message).toContain('{"cleanimg-hd030": {"pulumiSecrets": ["shop/ungranted-secret"]}}');
  });

  it('skips only the values unknown during preview and still judges the rest', async () => {
    const hardened = (await asAnalyzed(deployExamples({}).deployments['python-app']?.workload)).props as any;
    const pod = hardened.spec.template.spec;
    const unknownImage = { ...hardened, spec: { ...hardened.spec, template: { ...hardened.spec.template, spec: { ...pod, containers: [{ ...pod.containers[0], image: UNKNOWN }] } } } };
    const r = { type: 'kubernetes:apps/v1:Deployment', name: 'pg', urn: urn('kubernetes:apps/v1:Deployment', 'pg') };
    expect(await pack.analyze({ ...r, props: unknownImage })).toEqual([]);
    const privileged = structuredClone(unknownImage);
    privileged.spec.template.spec.containers[0].securityContext.privileged = true;
    expect(ruleIds(await pack.analyze({ ...r, props: privileged }))).toEqual(['HD006']);
    expect(await pack.analyze({ ...r, props: { ...hardened, spec: UNKNOWN } })).toEqual([]);
  });

  it('judges only the fields a *Patch resource sets', async () => {
    const r = { type: 'kubernetes:apps/v1:DeploymentPatch', name: 'scale', urn: urn('kubernetes:apps/v1:DeploymentPatch', 'scale') };
    expect(await pack.analyze({ ...r, props: { metadata: { name: 'web' }, spec: { replicas: 5 } } })).toEqual([]);
    const escalate = { metadata: { name: 'web' }, spec: { template: { spec: { securityContext: { runAsUser: 0 } } } } };
    expect(ruleIds(await pack.analyze({ ...r, props: escalate }))).toEqual(['HD002']);
  });

  it('judges a container entry of a *Patch whole (it may add a container), its image aside', async () => {
    const r = { type: 'kubernetes:apps/v1:DeploymentPatch', name: 'sidecar', urn: urn('kubernetes:apps/v1:DeploymentPatch', 'sidecar') };
    const bare = { metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'web', securityContext: { privileged: true } }] } } } };
    const ids = ruleIds(await pack.analyze({ ...r, props: bare }));
    expect(ids).toEqual(expect.arrayContaining(['HD004', 'HD006', 'HD007']));
    expect(ids).not.toContain('HD003');
    const hardened: any = structuredClone((await asAnalyzed(deployExamples({}).deployments['python-app']?.workload)).props);
    const { image: _image, ...restated } = hardened.spec.template.spec.containers[0];
    expect(await pack.analyze({ ...r, props: { metadata: { name: 'web' }, spec: { template: { spec: { containers: [restated] } } } } })).toEqual([]);
  });

  it('judges custom resources by the shape of their pod spec: an Argo Rollout and a Knative Service', async () => {
    const template = structuredClone((await asAnalyzed(deployExamples({}).deployments['python-app']?.workload)).props as any).spec.template;
    const privileged = structuredClone(template);
    privileged.spec.containers[0].securityContext.privileged = true;
    const rollout = new k8s.apiextensions.CustomResource('rollout', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'rollout' }, spec: { template: privileged } });
    const a = await asAnalyzed(rollout);
    expect(a.type).toBe('kubernetes:argoproj.io/v1alpha1:Rollout');
    const ds = await pack.analyze(a);
    expect(ruleIds(ds)).toEqual(['HD006']);
    expect(ds[0]!.message).toContain('Rollout/rollout HD006 /spec/template/spec/containers/0/securityContext/privileged');
    const hostPath = structuredClone(template);
    hostPath.spec.volumes.push({ name: 'host', hostPath: { path: '/var/run/docker.sock' } });
    const knative = new k8s.apiextensions.CustomResource('ksvc', { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'ksvc' }, spec: { template: hostPath } });
    expect(ruleIds(await pack.analyze(await asAnalyzed(knative)))).toEqual(['HD010']);
    const hardened = new k8s.apiextensions.CustomResource('rollout-ok', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'rollout-ok' }, spec: { template } });
    expect(await pack.analyze(await asAnalyzed(hardened))).toEqual([]);
  });

  it('judges a CustomResourcePatch by the fields it sets, and a custom kind that ends in Patch whole', async () => {
    const patch = new k8s.apiextensions.CustomResourcePatch('rollout-patch', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'rollout' }, spec: { template: { spec: { containers: [{ name: 'app', securityContext: { privileged: true } }] } } } });
    const a = await asAnalyzed(patch);
    expect(a.type).toBe('kubernetes:argoproj.io/v1alpha1:RolloutPatch');
    expect(ruleIds(await pack.analyze(a))).toEqual(expect.arrayContaining(['HD004', 'HD006']));
    const sized = new k8s.apiextensions.CustomResourcePatch('rollout-scale', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'rollout' }, spec: { replicas: 3 } });
    expect(await pack.analyze(await asAnalyzed(sized))).toEqual([]);
    const own = new k8s.apiextensions.CustomResource('runner-patch', { apiVersion: 'example.com/v1', kind: 'RunnerPatch', metadata: { name: 'runner' }, spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx@sha256:' + 'ab'.repeat(32) }] } } } });
    expect(ruleIds(await pack.analyze(await asAnalyzed(own)))).toEqual(expect.arrayContaining(['HD001', 'HD004', 'HD015']));
  });

  it('refuses helm.v3.Release (HD034), whose objects no guard sees, pointing to helm.v4.Chart', async () => {
    const release = new k8s.helm.v3.Release('ingress', { chart: 'ingress-nginx', repositoryOpts: { repo: 'https://charts.example.com' }, values: { controller: { hostNetwork: true } } });
    const a = await asAnalyzed(release);
    expect(a.type).toBe('kubernetes:helm.sh/v3:Release');
    const ds = await pack.analyze(a);
    expect(ruleIds(ds)).toEqual(['HD034']);
    expect(ds[0]!.enforcementLevel).toBe(MANDATORY);
    expect(ds[0]!.message).toMatch(/helm\.v3\.Release.*no guard sees.*use helm\.v4\.Chart/);
  });

  it('leaves components whose objects are registered one by one to the judgment of those objects', async () => {
    const values = { containers: [{ name: 'x', image: 'nginx', securityContext: { privileged: true } }], image: 'nginx', command: ['sh'] };
    for (const type of ['kubernetes:helm.sh/v4:Chart', 'kubernetes:yaml/v2:ConfigGroup', 'kubernetes:kustomize/v2:Directory']) {
      expect(await pack.analyze({ type, name: 'c', urn: urn(type, 'c'), props: { chart: 'x', values, objs: [INSECURE_DEPLOYMENT] } })).toEqual([]);
    }
    // ... and a child such a component registers is an ordinary resource, judged as such.
    const child = { type: 'kubernetes:apps/v1:Deployment', name: 'legacy', urn: urn('kubernetes:apps/v1:Deployment', 'legacy', 'kubernetes:helm.sh/v4:Chart'), props: INSECURE_DEPLOYMENT };
    expect(ruleIds(await pack.analyze(child))).toEqual(expect.arrayContaining(['HD001', 'HD003']));
  });

  it('walks a DeploymentList resource item by item', async () => {
    const privileged = structuredClone((await asAnalyzed(deployExamples({}).deployments['python-app']?.workload)).props) as any;
    privileged.spec.template.spec.containers[0].securityContext.privileged = true;
    const list = new k8s.apps.v1.DeploymentList('list', { items: [privileged] });
    const ds = await pack.analyze(await asAnalyzed(list));
    expect(ruleIds(ds)).toEqual(['HD006']);
    expect(ds[0]!.message).toContain('/items/0/spec/template/spec/containers/0/securityContext/privileged');
  });

  it('ignores resources that are not Kubernetes objects', async () => {
    const props = { bucket: 'x', acl: 'public-read', image: 'nginx:latest' };
    expect(await pack.analyze({ type: 'aws:s3/bucket:Bucket', name: 'b', urn: urn('aws:s3/bucket:Bucket', 'b'), props })).toEqual([]);
    expect(await pack.analyze({ type: 'cleanimg:index:HardenedDeployment', name: 'c', urn: urn('cleanimg:index:HardenedDeployment', 'c'), props: {} })).toEqual([]);
  });

  it('runs with the enforcement level the environment asks for (advisory for a dry run)', async () => {
    const advisory = await startPack({ CLEANIMG_POLICY_ENFORCEMENT: 'advisory' });
    try {
      const ds = await advisory.analyze({ type: 'kubernetes:apps/v1:Deployment', name: 'legacy', urn: urn('kubernetes:apps/v1:Deployment', 'legacy'), props: INSECURE_DEPLOYMENT });
      expect(ds.length).toBeGreaterThan(5);
      expect(ds.every((d) => d.enforcementLevel === 0)).toBe(true);
    } finally {
      advisory.stop();
    }
  }, 120_000);
});
