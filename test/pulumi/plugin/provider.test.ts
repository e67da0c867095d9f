// The plugin package's provider under Pulumi's mock runtime: Construct builds the TypeScript
// components (same children, same rule ids), unwraps inputs the engine wrapped only for their
// dependencies, keeps secret ones wrapped, and refuses unknown types.
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { CleanimgError } from '../../../src/errors';
import { CleanimgProvider, plainWhereKnown } from '../../../src/pulumi/plugin/provider';
import { installMocks, valueOf } from '../harness';

const recorder = installMocks();
const provider = new CleanimgProvider('0.0.0-test', join(__dirname, '..', '..', '..', 'pulumi-plugin', 'schema.json'));
const IMAGE = `registry.example.com/app@sha256:${'a'.repeat(64)}`;
const container = { name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }], writablePaths: [{ path: '/tmp', sizeLimit: '64Mi' }] };

/** Waits until the mocks have recorded what `done` looks for (registration is asynchronous). */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!done()) throw new Error(`timed out waiting for ${what}`);
}
const has = (type: string, name: string) => () => recorder.resources.some((x) => x.type === type && x.name === name);

/** An Output as the provider server makes it for an input with dependencies. */
type OutputCtor = new (resources: Set<unknown>, value: Promise<unknown>, isKnown: Promise<boolean>, isSecret: Promise<boolean>, all: Promise<unknown[]>) => pulumi.Output<unknown>;
const OutputClass = pulumi.Output as unknown as OutputCtor;
const wrapped = <T>(v: T, secret = false) => new OutputClass(new Set(), Promise.resolve(v), Promise.resolve(true), Promise.resolve(secret), Promise.resolve([])) as pulumi.Output<T>;

describe('the plugin provider', () => {
  it('serves the schema file', async () => {
    const schema = JSON.parse(await provider.getSchema()) as { name: string; resources: Record<string, unknown> };
    expect(schema.name).toBe('cleanimg');
    expect(Object.keys(schema.resources)).toContain('cleanimg:index:HardenedDeployment');
  });

  it('constructs a HardenedDeployment whose children are those of the TypeScript component, and reports name and selector', async () => {
    recorder.clear();
    const r = await provider.construct('api', 'cleanimg:index:HardenedDeployment', { namespace: 'apps', autoscaling: { minReplicas: 2, maxReplicas: 4 }, containers: [container] }, {});
    expect(await valueOf(r.urn as pulumi.Output<string>)).toContain('cleanimg:index:HardenedDeployment::api');
    expect(r.state['name']).toBe('api');
    await until(has('kubernetes:autoscaling/v2:HorizontalPodAutoscaler', 'api'), 'the HPA');
    await until(has('kubernetes:policy/v1:PodDisruptionBudget', 'api'), 'the PDB');
    expect(await valueOf(r.state['selector'] as pulumi.Output<Record<string, string>>)).toEqual({ 'app.kubernetes.io/name': 'api' });
    const kinds = recorder.kube().map((x) => x.type).sort();
    expect(kinds).toEqual(['kubernetes:apps/v1:Deployment', 'kubernetes:autoscaling/v2:HorizontalPodAutoscaler', 'kubernetes:core/v1:ServiceAccount', 'kubernetes:policy/v1:PodDisruptionBudget']);
  });

  it('unwraps a known, non-secret input the engine wrapped for its dependencies: the objects are decided as for plain args', async () => {
    recorder.clear();
    await provider.construct('wrapped', 'cleanimg:index:HardenedDeployment', { namespace: 'apps', autoscaling: wrapped({ minReplicas: 2, maxReplicas: 4 }), containers: wrapped([container]) }, {});
    await until(has('kubernetes:apps/v1:Deployment', 'wrapped'), 'the Deployment');
    await new Promise((r) => setTimeout(r, 50));
    expect(recorder.kube().map((x) => x.type)).toContain('kubernetes:autoscaling/v2:HorizontalPodAutoscaler');
  });

  it('passes an EnvConfig attachment from one Construct to the next (the YAML `${cfg.attachment}` path)', async () => {
    recorder.clear();
    const cfg = await provider.construct('cfg', 'cleanimg:index:EnvConfig', { name: 'api', namespace: 'apps', data: { 'app.env': 'A=1\n' }, mountPath: '/etc/api' }, {});
    const attachment = await valueOf(cfg.state['attachment'] as pulumi.Output<unknown>);
    await provider.construct('api2', 'cleanimg:index:HardenedDeployment', { namespace: 'apps', containers: wrapped([{ ...container, config: [attachment] }]) }, {});
    await until(has('kubernetes:apps/v1:Deployment', 'api2'), 'the Deployment');
    const d = recorder.inputsOf('kubernetes:apps/v1:Deployment', 'api2');
    expect(d.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'api-config', mountPath: '/etc/api', readOnly: true });
  });

  it('gives a workload of another language\'s program its traffic through HardenedNamespace allows (by its selector)', async () => {
    recorder.clear();
    const d = await provider.construct('web', 'cleanimg:index:HardenedDeployment', { namespace: 'shop', containers: [container] }, {});
    const selector = await valueOf(d.state['selector'] as pulumi.Output<Record<string, string>>);
    await provider.construct('shop', 'cleanimg:index:HardenedNamespace', {
      allows: wrapped([{ name: 'web', pods: selector, ports: [{ port: 8080 }], ingressFrom: [{ namespace: 'ingress' }] }]),
    }, {});
    await until(has('kubernetes:networking.k8s.io/v1:NetworkPolicy', 'shop-allow-web'), 'the allow');
    expect(recorder.inputsOf('kubernetes:networking.k8s.io/v1:NetworkPolicy', 'shop-allow-web').spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'web' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress' } } }], ports: [{ port: 8080, protocol: 'TCP' }] }],
    });
  });

  it('refuses a look-alike attachment with PROP007, as the TypeScript component does', async () => {
    const fake = { volumes: [{ name: 'x', configMap: { name: 'x' } }], volumeMounts: [{ name: 'x', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }], env: [], seal: 'forged' };
    const e = await provider.construct('fake', 'cleanimg:index:HardenedDeployment', { namespace: 'apps', containers: [{ ...container, config: [fake] }] }, {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CleanimgError);
    expect((e as CleanimgError).problems.map((p) => p.code)).toContain('PROP007');
  });

  it('refuses insecure args with the rule ids of the TypeScript component', async () => {
    const e = await provider.construct('bad', 'cleanimg:index:HardenedDeployment', { namespace: 'kube-system', containers: [{ ...container, image: 'nginx:latest', privileged: true }] }, {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CleanimgError);
    expect((e as CleanimgError).problems.map((p) => p.code)).toEqual(expect.arrayContaining(['HD003', 'HD006', 'HD029']));
  });

  it('unwraps only known, non-secret inputs: a secret or an unknown value stays an Output (checked when known)', async () => {
    const unknown = new OutputClass(new Set(), Promise.resolve(undefined), Promise.resolve(false), Promise.resolve(false), Promise.resolve([]));
    const out = await plainWhereKnown({ plain: 'a', known: wrapped({ k: 'v' }), secret: wrapped({ k: 'v' }, true), unknown });
    expect(out['plain']).toBe('a');
    expect(out['known']).toEqual({ k: 'v' });
    expect(pulumi.Output.isInstance(out['secret'])).toBe(true);
    expect(pulumi.Output.isInstance(out['unknown'])).toBe(true);
  });

  it('refuses a type that is not one of its components, naming the ones it has', async () => {
    const e = await provider.construct('x', 'cleanimg:index:Pod', {}, {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CleanimgError);
    expect(String((e as Error).message) + JSON.stringify((e as CleanimgError).problems)).toMatch(/cleanimg:index:HardenedDeployment/);
  });
});
