/**
 * Attacks on the plugin package's provider (src/pulumi/plugin): what a YAML, Python, Go or C#
 * program can send through the engine's Construct call, which no TypeScript type stands in front
 * of. Every input arrives as plain data (or an Output of it): no class, no seal but the ones this
 * process made. Each attack must be refused with its rule id, or, where the input is ignored, the
 * objects registered must stay hardened. (The stack transform that edits our children, which only a
 * program can register, is in test/e2e/node-pulumi-plugin.e2e.test.ts: the policy pack refuses it.)
 */
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { CleanimgError } from '../../src/errors';
import { CleanimgProvider } from '../../src/pulumi/plugin/provider';
import { installMocks, valueOf } from '../pulumi/harness';

const recorder = installMocks();
const provider = new CleanimgProvider('0.0.0-test', join(__dirname, '..', '..', 'pulumi-plugin', 'schema.json'));
const IMAGE = `registry.example.com/app@sha256:${'a'.repeat(64)}`;
const container = { name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }] };
const base = { namespace: 'apps', containers: [container] };

async function refused(type: string, inputs: Record<string, unknown>): Promise<string[]> {
  const e = await provider.construct(`attack-${Math.random().toString(36).slice(2, 8)}`, type, inputs, {}).then(() => undefined, (x: unknown) => x);
  expect(e, `${type} ${JSON.stringify(inputs).slice(0, 200)} was accepted`).toBeInstanceOf(CleanimgError);
  return (e as CleanimgError).problems.map((p) => p.code);
}

const DEPLOYMENT = 'cleanimg:index:HardenedDeployment';

describe('attacks through the plugin provider (Construct from any language)', () => {
  const attacks: Array<[string, string, Record<string, unknown>, string]> = [
    ['a securityContext on a container', DEPLOYMENT, { ...base, containers: [{ ...container, securityContext: { privileged: true } }] }, 'HD001'],
    ['privileged on a container', DEPLOYMENT, { ...base, containers: [{ ...container, privileged: true }] }, 'HD006'],
    ['hostNetwork on the pod', DEPLOYMENT, { ...base, hostNetwork: true }, 'HD009'],
    ['a hostPath volume', DEPLOYMENT, { ...base, volumes: [{ name: 'h', hostPath: { path: '/' } }] }, 'HD012'],
    ['root by runAsUser 0', DEPLOYMENT, { ...base, runAsUser: 0 }, 'HD002'],
    ['an image by tag', DEPLOYMENT, { ...base, containers: [{ ...container, image: 'nginx:latest' }] }, 'HD003'],
    ['an image object with a tag inside', DEPLOYMENT, { ...base, containers: [{ ...container, image: { imageRef: 'nginx:latest' } }] }, 'HD003'],
    ['kube-system', DEPLOYMENT, { ...base, namespace: 'kube-system' }, 'HD029'],
    ['a writable path over the token folder', DEPLOYMENT, { ...base, containers: [{ ...container, writablePaths: [{ path: '/var/run/secrets/kubernetes.io/serviceaccount', sizeLimit: '1Mi' }] }] }, 'HD032'],
    ['envFrom a Secret', DEPLOYMENT, { ...base, containers: [{ ...container, envFrom: [{ secretRef: { name: 's' } }] }] }, 'HD017'],
    ['a shell command', DEPLOYMENT, { ...base, containers: [{ ...container, command: ['sh', '-c', 'id'] }] }, 'HD016'],
    ['automountServiceAccountToken', 'cleanimg:index:HardenedJob', { ...base, automountServiceAccountToken: true }, 'HD015'],
    ['a look-alike attachment that mounts the token folder', DEPLOYMENT, { ...base, containers: [{ ...container, config: [{ volumes: [{ name: 't', configMap: { name: 't' } }], volumeMounts: [{ name: 't', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }], env: [], seal: 'x' }] }] }, 'PROP007'],
    ['a hostPath in a look-alike attachment', DEPLOYMENT, { ...base, containers: [{ ...container, config: [{ volumes: [{ name: 'h', hostPath: { path: '/' } }], volumeMounts: [], env: [], seal: 'x' }] }] }, 'PROP007'],
    ['an EnvConfig with binaryData', 'cleanimg:index:EnvConfig', { name: 'c', namespace: 'apps', binaryData: { k: 'AAAA' } }, 'PROP001'],
    ['a namespace allow to the cloud metadata address', 'cleanimg:index:HardenedNamespace', { name: 'apps', allows: [{ name: 'web', pods: { app: 'web' }, egressTo: [{ to: [{ cidr: '169.254.169.254/32' }], ports: [{ port: 80 }] }] }] }, 'NS017'],
    ['a namespace allow whose empty selector opens every pod', 'cleanimg:index:HardenedNamespace', { name: 'apps', allows: [{ name: 'all', pods: {}, ports: [{ port: 22 }] }] }, 'NS016'],
  ];
  it.each(attacks)('%s is refused', async (_name, type, inputs, rule) => {
    expect(await refused(type, inputs)).toContain(rule);
  });

  it('a real attachment changed on its way (a volume added) is refused: the seal no longer matches', async () => {
    const cfg = await provider.construct('cfg-tamper', 'cleanimg:index:EnvConfig', { name: 'tamper', namespace: 'apps', data: { k: 'v' } }, {});
    const real = await valueOf(cfg.state['attachment'] as pulumi.Output<{ volumes: unknown[] }>);
    const tampered = { ...real, volumes: [...real.volumes, { name: 'h', hostPath: { path: '/' } }] };
    expect(await refused(DEPLOYMENT, { ...base, containers: [{ ...container, config: [tampered] }] })).toContain('PROP007');
  });

  it('a "__proto__" key (as JSON from another language makes it) cannot set a field: refused, or the objects stay hardened', async () => {
    recorder.clear();
    const inputs = JSON.parse(`{"namespace":"apps","containers":[${JSON.stringify(container)}],"__proto__":{"runAsUser":0,"hostNetwork":true}}`) as Record<string, unknown>;
    const e = await provider.construct('proto', DEPLOYMENT, inputs, {}).then(() => undefined, (x: unknown) => x);
    if (e) {
      expect(e).toBeInstanceOf(CleanimgError);
      return;
    }
    for (let i = 0; i < 100 && !recorder.resources.some((r) => r.type === 'kubernetes:apps/v1:Deployment' && r.name === 'proto'); i++) await new Promise((r) => setTimeout(r, 10));
    const spec = recorder.inputsOf('kubernetes:apps/v1:Deployment', 'proto').spec.template.spec;
    expect(spec.hostNetwork).toBeUndefined();
    expect(spec.securityContext.runAsUser).toBe(65532);
  });

  it('component type tokens that are not components are refused, prototype names included', async () => {
    for (const type of ['cleanimg:index:constructor', 'cleanimg:index:__proto__', 'cleanimg:index:toString', 'cleanimg:other:HardenedDeployment', 'kubernetes:apps/v1:Deployment']) {
      expect(await refused(type, base), type).toContain('PROP001');
    }
  });
});
