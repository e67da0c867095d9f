/**
 * Benchmark: registering N HardenedDeployments + EnvConfigs with the Pulumi face, against the same
 * N raw `@pulumi/kubernetes` Deployments + ConfigMaps (the same objects, written by hand), under
 * `pulumi.runtime.setMocks` in one process. Runs are interleaved (face, raw, face, raw, ...) after a
 * warm-up; prints the median CPU time of each and the ratio face/raw (target <= 1.2).
 *
 *   node --expose-gc --import tsx bench/pulumi-register.ts [N=200] [RUNS=7]
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { envConfig, hardenedDeployment, type DigestRef } from '../src/core';
import { EnvConfig, HardenedDeployment } from '../src/pulumi';

const N = Number(process.argv[2] ?? 200);
const RUNS = Number(process.argv[3] ?? 7);
const IMAGE: DigestRef = 'registry.example.com/app@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';

/** A fresh mock engine per run, so that no run pays for the resources of earlier ones. */
function freshMocks(): void {
  pulumi.runtime.setMocks({
    newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
    call: (args) => args.inputs,
  }, 'bench', 'bench', false);
}

const configProps = (i: number) => ({ name: `app-${i}`, namespace: 'bench', data: { 'app.conf': `id=${i}\nmode=fast\n` }, mountPath: '/etc/app' });
const deploymentProps = (i: number) => ({
  name: `app-${i}`, namespace: 'bench',
  containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }], writablePaths: [{ path: '/var/cache/app', sizeLimit: '64Mi' }] }],
});

async function settle(resources: pulumi.CustomResource[]): Promise<void> {
  await Promise.all(resources.map((r) => new Promise<void>((resolve) => pulumi.all([r.urn, r.id]).apply(() => resolve()))));
}

async function face(run: string): Promise<number> {
  freshMocks();
  global.gc?.();
  const t0 = cpuMs();
  const all: pulumi.CustomResource[] = [];
  for (let i = 0; i < N; i++) {
    const cfg = new EnvConfig(`${run}-cfg-${i}`, configProps(i));
    const d = new HardenedDeployment(`${run}-app-${i}`, { ...deploymentProps(i), containers: [{ ...deploymentProps(i).containers[0]!, config: [cfg] }] });
    all.push(cfg.configMap!, d.deployment);
  }
  await settle(all);
  return cpuMs() - t0;
}

// The raw baseline registers the very objects the face would (computed once, outside the timing:
// a hand-written program has them as literals).
const rawObjects = Array.from({ length: N }, (_, i) => {
  const cfg = envConfig(configProps(i));
  const d = hardenedDeployment({ ...deploymentProps(i), containers: [{ ...deploymentProps(i).containers[0]!, config: [cfg] }] } as never);
  return { configMap: cfg.configMap as Record<string, any>, deployment: d.deployment as Record<string, any>, serviceAccount: d.serviceAccount as Record<string, any> };
});

/** The raw baseline; with `withServiceAccounts`, also the ServiceAccount each hardened Deployment runs as. */
async function raw(run: string, withServiceAccounts = false): Promise<number> {
  freshMocks();
  global.gc?.();
  const t0 = cpuMs();
  const all: pulumi.CustomResource[] = [];
  for (let i = 0; i < N; i++) {
    const o = rawObjects[i]!;
    all.push(new k8s.core.v1.ConfigMap(`${run}-cfg-${i}`, { metadata: o.configMap.metadata, immutable: true, data: o.configMap.data }));
    if (withServiceAccounts) all.push(new k8s.core.v1.ServiceAccount(`${run}-app-${i}`, { metadata: o.serviceAccount.metadata, automountServiceAccountToken: false }));
    all.push(new k8s.apps.v1.Deployment(`${run}-app-${i}`, { metadata: o.deployment.metadata, spec: o.deployment.spec }));
  }
  await settle(all);
  return cpuMs() - t0;
}

/**
 * The Pulumi floor for the resource graph A registers: the same two component resources (empty,
 * `registerOutputs` with one plain value), the same three Kubernetes children with `{ parent }` and
 * the same `dependsOn` edges, with the objects precomputed. A minus D is what cleanimg's own code
 * costs (props validation, the core, the rule list, Outputs); D minus B is what the extra resources
 * cost in the Pulumi runtime, whoever writes them.
 */
class EmptyComponent extends pulumi.ComponentResource {
  done(outputs: Record<string, unknown>): void {
    this.registerOutputs(outputs);
  }
}

async function floor(run: string): Promise<number> {
  freshMocks();
  global.gc?.();
  const t0 = cpuMs();
  const all: pulumi.CustomResource[] = [];
  for (let i = 0; i < N; i++) {
    const o = rawObjects[i]!;
    const cfg = new EmptyComponent('cleanimg:index:EnvConfig', `${run}-cfg-${i}`, {});
    const cm = new k8s.core.v1.ConfigMap(`${run}-cfg-${i}`, { metadata: o.configMap.metadata, immutable: true, data: o.configMap.data }, { parent: cfg });
    cfg.done({ name: `app-${i}` });
    const hd = new EmptyComponent('cleanimg:index:HardenedDeployment', `${run}-app-${i}`, {});
    const sa = new k8s.core.v1.ServiceAccount(`${run}-app-${i}`, { metadata: o.serviceAccount.metadata, automountServiceAccountToken: false }, { parent: hd });
    const d = new k8s.apps.v1.Deployment(`${run}-app-${i}`, { metadata: o.deployment.metadata, spec: o.deployment.spec }, { parent: hd, dependsOn: [sa, cfg] });
    hd.done({ name: `app-${i}` });
    all.push(cm, d);
  }
  await settle(all);
  return cpuMs() - t0;
}

/**
 * CPU time (user + system) of this process, in ms. Everything here runs in this process (the mock
 * engine is in-process), so CPU time measures the work without the noise of other jobs on the machine.
 */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  // For profiling one side alone: BENCH_ONLY=face|raw|raw-sa|floor node --cpu-prof --import tsx bench/pulumi-register.ts
  const only = process.env.BENCH_ONLY;
  if (only) {
    const one = (k: number) => (only === 'face' ? face(`face-${k}`) : only === 'floor' ? floor(`floor-${k}`) : raw(`${only}-${k}`, only === 'raw-sa'));
    const xs: number[] = [];
    for (let k = 0; k <= RUNS; k++) xs.push(await one(k));
    console.log(`${only}: median ${median(xs.slice(1)).toFixed(1)} CPU ms [${xs.map((x) => x.toFixed(0)).join(' ')}]`);
    return;
  }
  await face('warm-face');
  await raw('warm-raw');
  await raw('warm-raw-sa', true);
  await floor('warm-floor');
  const f: number[] = [];
  const r: number[] = [];
  const rs: number[] = [];
  const fl: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    // The order rotates, so that no variant always runs right after the same other one.
    const order = [() => face(`face-${k}`).then((x) => f.push(x)), () => raw(`raw-${k}`).then((x) => r.push(x)),
      () => raw(`raw-sa-${k}`, true).then((x) => rs.push(x)), () => floor(`floor-${k}`).then((x) => fl.push(x))];
    for (let j = 0; j < order.length; j++) await order[(j + k) % order.length]!();
  }
  const [mf, mr, mrs, mfl] = [median(f), median(r), median(rs), median(fl)];
  const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
  console.log(`pulumi-register: ${N} workloads, ${RUNS} interleaved runs after a warm-up (mocks; CPU ms of this process; node ${process.version})`);
  console.log(`  A cleanimg HardenedDeployment + EnvConfig (5 resources each: 2 components, Deployment, ServiceAccount, ConfigMap): median ${mf.toFixed(1)}  [${list(f)}]`);
  console.log(`  B raw Deployment + ConfigMap (2 resources each, the issue's anchor):                       median ${mr.toFixed(1)}  [${list(r)}]`);
  console.log(`  C raw Deployment + ConfigMap + ServiceAccount (3 resources: the same Kubernetes objects as A): median ${mrs.toFixed(1)}  [${list(rs)}]`);
  console.log(`  D the same 5 resources as A written raw (2 empty components + C, same parents and dependsOn): median ${mfl.toFixed(1)}  [${list(fl)}]`);
  console.log(`  ratio A/B: ${(mf / mr).toFixed(2)} (the issue's target <= 1.2; A registers 5 resources where B registers 2)`);
  console.log(`  ratio A/C: ${(mf / mrs).toFixed(2)} (same Kubernetes objects; the difference is the two component resources and cleanimg's code)`);
  console.log(`  ratio A/D: ${(mf / mfl).toFixed(2)} (same resource graph; the difference is cleanimg's own code)`);
  console.log(`  ratio D/B: ${(mfl / mr).toFixed(2)} (the Pulumi runtime's floor for this graph against the anchor)`);
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
