import * as pulumi from '@pulumi/pulumi';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { HardenedDeployment as Cdk8sHardenedDeployment } from '../../src/cdk8s';
import { CleanimgError } from '../../src/errors';
import { EnvConfig, HardenedDeployment } from '../../src/pulumi';
import { checkObjects } from '../../src/rules';
import { installMocks, settle, valueOf } from './harness';
import { runFixture } from './run-fixture';
import { thrown } from '../support/expect-error';

const recorder = installMocks();
const inputsOf = recorder.inputsOf;
const PINNED = 'registry.example.com/app@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';
const plain = (o: unknown) => JSON.parse(JSON.stringify(o));
/** Lets pending registrations reach the mocks (registration is asynchronous: a count taken at once proves nothing). */
const tick = () => new Promise((r) => setTimeout(r, 50));


describe('HardenedDeployment (Pulumi)', () => {
  it('registers a hardened Deployment and its ServiceAccount, named explicitly, parented to the component', async () => {
    const d = new HardenedDeployment('web', { namespace: 'apps', containers: [{ name: 'web', image: PINNED, ports: [{ containerPort: 8080, name: 'http' }] }] });
    const urns = await settle(d, d.deployment, d.serviceAccount);
    expect(urns[0]).toMatch(/::cleanimg:index:HardenedDeployment::web$/);
    expect(urns[1]).toMatch(/::cleanimg:index:HardenedDeployment\$kubernetes:apps\/v1:Deployment::web$/);
    expect(urns[2]).toMatch(/::cleanimg:index:HardenedDeployment\$kubernetes:core\/v1:ServiceAccount::web$/);
    const dep = inputsOf('kubernetes:apps/v1:Deployment', 'web');
    const sa = inputsOf('kubernetes:core/v1:ServiceAccount', 'web');
    expect(dep.metadata.name).toBe('web');
    expect(sa.metadata.name).toBe('web');
    expect(sa.automountServiceAccountToken).toBe(false);
    const pod = dep.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('web');
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } });
    expect(pod.containers[0].image).toBe(PINNED);
    expect(checkObjects([dep, sa])).toEqual([]);
    // The same object as the core built, and as the cdk8s face synthesizes.
    expect(plain(dep)).toEqual(plain(d.resultValue!.deployment));
    const chart = Testing.chart();
    new Cdk8sHardenedDeployment(chart, 'web', { name: 'web', namespace: 'apps', containers: [{ name: 'web', image: PINNED, ports: [{ containerPort: 8080, name: 'http' }] }] });
    expect(Testing.synth(chart).find((o) => o.kind === 'Deployment')).toEqual(plain(dep));
    expect(await pulumi.isSecret(d.deployment.spec)).toBe(false);
    // Production shape by default: two replicas, so a PodDisruptionBudget, ordered after the Deployment.
    expect(Object.keys(d.children)).toEqual(['ServiceAccount/web', 'Deployment/web', 'PodDisruptionBudget/web']);
    expect(d.deployment).toBe(d.workload);
    const [pdbUrn] = await settle(d.children['PodDisruptionBudget/web']);
    expect(pdbUrn).toMatch(/::cleanimg:index:HardenedDeployment\$kubernetes:policy\/v1:PodDisruptionBudget::web$/);
    expect(inputsOf('kubernetes:policy/v1:PodDisruptionBudget', 'web').spec).toEqual({ selector: { matchLabels: { 'app.kubernetes.io/name': 'web' } }, maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });

  it('follows the naming rule: Kubernetes names from args.name (else the resource name), Pulumi names from the resource name', async () => {
    const named = new HardenedDeployment('gw-staging', { name: 'gateway', namespace: 'staging', service: true, containers: [{ name: 'a', image: PINNED, ports: [{ containerPort: 8080 }] }] });
    const cfg = new EnvConfig('gw-staging-config', { name: 'gateway', namespace: 'staging', data: { 'a.conf': 'x' } });
    const urns = await settle(named.deployment, named.serviceAccount, named.service, cfg.configMap);
    expect(urns.map((u) => u.split('::').pop())).toEqual(['gw-staging', 'gw-staging', 'gw-staging', 'gw-staging-config']);
    for (const t of ['kubernetes:apps/v1:Deployment', 'kubernetes:core/v1:ServiceAccount', 'kubernetes:core/v1:Service'])
      expect(inputsOf(t, 'gw-staging').metadata.name).toBe('gateway');
    expect(inputsOf('kubernetes:core/v1:ConfigMap', 'gw-staging-config').metadata.name).toMatch(/^gateway-[0-9a-f]{10}$/);
  });

  it('creates the Service with `service: true` or exposeViaService(), parented to the component', async () => {
    const d = new HardenedDeployment('svc', { service: true, containers: [{ name: 'a', image: PINNED, ports: [{ containerPort: 8080, name: 'http' }, { containerPort: 9090, name: 'metrics' }] }] });
    const extra = d.exposeViaService({ name: 'metrics', ports: [9090] });
    const [svcUrn, extraUrn] = await settle(d.service, extra);
    expect(svcUrn).toMatch(/HardenedDeployment\$kubernetes:core\/v1:Service::svc$/);
    expect(extraUrn).toMatch(/HardenedDeployment\$kubernetes:core\/v1:Service::svc-metrics$/);
    expect(inputsOf('kubernetes:core/v1:Service', 'svc').spec.ports.map((p: { port: number }) => p.port)).toEqual([8080, 9090]);
    expect(inputsOf('kubernetes:core/v1:Service', 'svc-metrics')).toMatchObject({ metadata: { name: 'metrics' }, spec: { selector: { 'app.kubernetes.io/name': 'svc' }, ports: [{ port: 9090 }] } });
  });

  it('takes an image as an Output or an object with imageRef (a CustomizedImage), resolved inside apply', async () => {
    const fromOutput = new HardenedDeployment('img-out', { containers: [{ name: 'a', image: pulumi.output(PINNED), ports: [{ containerPort: 80 }] }] });
    const fromObject = new HardenedDeployment('img-obj', { containers: [{ name: 'a', image: { imageRef: pulumi.output(PINNED) }, ports: [{ containerPort: 80 }] }] });
    expect(fromOutput.resultValue).toBeUndefined();
    await settle(fromOutput.deployment, fromObject.deployment);
    expect(inputsOf('kubernetes:apps/v1:Deployment', 'img-out').spec.template.spec.containers[0].image).toBe(PINNED);
    expect(inputsOf('kubernetes:apps/v1:Deployment', 'img-obj').spec.template.spec.containers[0].image).toBe(PINNED);
    expect((await valueOf(fromObject.result)).deployment.metadata?.name).toBe('img-obj');
  });

  it('mounts EnvConfig files and Pulumi-made Secrets read-only, and depends on the EnvConfig', async () => {
    const cfg = new EnvConfig('cfg', { name: 'cfg', data: { 'a.conf': 'x=1\n' }, managedSecret: { mountPath: '/var/run/secrets/app', data: { token: pulumi.secret('t0ken-value') } } });
    const d = new HardenedDeployment('uses-cfg', { containers: [{ name: 'a', image: PINNED, ports: [{ containerPort: 80 }], config: [cfg] }] });
    await settle(d.deployment);
    const pod = inputsOf('kubernetes:apps/v1:Deployment', 'uses-cfg').spec.template.spec;
    expect(pod.volumes).toEqual(expect.arrayContaining([
      { name: 'cfg-config', configMap: { name: await valueOf(cfg.configMapName) } },
      { name: 'cfg-secret-0', secret: { secretName: 'cfg-secret', defaultMode: 0o440 } },
    ]));
    expect(pod.containers[0].volumeMounts).toEqual(expect.arrayContaining([
      { name: 'cfg-config', mountPath: '/etc/cfg', readOnly: true },
      { name: 'cfg-secret-0', mountPath: '/var/run/secrets/app', readOnly: true },
    ]));
    expect(JSON.stringify(pod)).not.toContain('t0ken');
    expect(pod.containers[0].env).toBeUndefined();
  });

  it('refuses bad args at construction with the same rule ids and messages as the cdk8s face, registering nothing', async () => {
    const base = { name: 'bad', containers: [{ name: 'a', image: PINNED, ports: [{ containerPort: 8080 }] }] };
    const container = base.containers[0]!;
    const cases: Record<string, unknown>[] = [
      { ...base, runAsUser: 0 },
      { ...base, runAsGroup: 1000 },
      { ...base, containers: [{ ...container, image: 'nginx:1.25' }] },
      { ...base, containers: [{ ...container, privileged: true }] },
      { ...base, hostNetwork: true },
      { ...base, containers: [{ ...container, writablePaths: [{ path: '/data', hostPath: '/var/data' }] }] },
      { ...base, containers: [{ ...container, command: ['/bin/sh', '-c', 'run'] }] },
      { ...base, containers: [{ ...container, env: { API_TOKEN: 'ghp_0123456789abcdefghijABCDEFGHIJ012345' } }] },
      { ...base, containers: [container, container] },
      { ...base, containers: [] },
    ];
    for (const props of cases) {
      const fromCdk8s = thrown(() => new Cdk8sHardenedDeployment(Testing.chart(), 'c', props as never));
      await tick();
      const before = recorder.resources.length;
      const fromPulumi = thrown(() => new HardenedDeployment(`bad-${cases.indexOf(props)}`, props as never));
      expect(fromPulumi, JSON.stringify(props)).toBeInstanceOf(CleanimgError);
      expect(fromPulumi.problems.length).toBeGreaterThan(0);
      expect(fromPulumi.message).toBe(fromCdk8s.message);
      expect(fromPulumi.problems).toEqual(fromCdk8s.problems);
      await tick();
      expect(recorder.resources.length).toBe(before);
    }
    const codes = (props: Record<string, unknown>) => thrown(() => new HardenedDeployment('codes', props as never)).problems.map((p) => p.code);
    expect(codes(cases[0]!)).toContain('HD002');
    expect(codes(cases[2]!)).toContain('HD003');
    expect(codes(cases[4]!)).toContain('HD009');
  });

  it('does not type-check a tag-only image string, and refuses it at run time too (HD003)', () => {
    const build = () => new HardenedDeployment('typed', {
      containers: [{
        name: 'a',
        // @ts-expect-error a tag-only reference is not a DigestRef (checked by tsc -p tsconfig.test.json)
        image: 'nginx:1.25',
        ports: [{ containerPort: 80 }],
      }],
    });
    expect(build).toThrow(/HD003 containers\[0\]\.image/);
  });

  it('refuses `service: true` without a declared port before registering anything', async () => {
    await tick();
    const before = recorder.resources.length;
    const probe = { exec: { command: ['/healthcheck'] } };
    const e = thrown(() => new HardenedDeployment('no-ports', { service: true, containers: [{ name: 'worker', image: PINNED, probes: { readiness: probe, liveness: probe } }] }));
    expect(e).toBeInstanceOf(CleanimgError);
    expect(e.problems.map((p) => p.code)).toEqual(['PROP006']);
    await tick();
    expect(recorder.resources.length).toBe(before);
  });

  it('checks args given as Outputs when their values are known: the program fails with the rule id', () => {
    const bad = runFixture('image-tag');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('HD003 containers[0].image: image "nginx:1.25" is not pinned by digest');
    const badNs = runFixture('root-namespace-output');
    expect(badNs.status).not.toBe(0);
    expect(badNs.stderr).toContain('PROP002 namespace: must be a DNS label');
    const good = runFixture('good');
    expect(good.stderr).toBe('');
    expect(good.status).toBe(0);
  }, 300_000);
});
