/**
 * Parity: for every example scenario, the objects the Pulumi components register equal, field by
 * field, the objects the cdk8s charts synthesize from the same props (examples/<scenario>/props.ts).
 */
import { Testing } from 'cdk8s';
import { beforeAll, describe, expect, it } from 'vitest';
import { installMocks, settle, type Recorder } from './harness';
import { NginxChart } from '../../examples/nginx/chart';
import { GatewayChart, PRODUCTION, STAGING } from '../../examples/per-env/chart';
import { PostgresChart } from '../../examples/postgres/chart';
import { PythonAppChart } from '../../examples/python-app/chart';
import { deployExamples, type ExampleStack } from '../../examples/pulumi/program';

const recorder: Recorder = installMocks();
let stack: ExampleStack;

type Obj = Record<string, any>;
const key = (o: Obj) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
/** JSON round trip: drops undefined fields, as both engines do before sending objects anywhere. */
const plain = (o: unknown) => JSON.parse(JSON.stringify(o));

function cdk8sObjects(chart: string): Obj[] {
  const app = Testing.app();
  const c = chart === 'postgres' ? new PostgresChart(app, 'postgres')
    : chart === 'nginx' ? new NginxChart(app, 'nginx')
      : chart === 'gateway-staging' ? new GatewayChart(app, 'gateway-staging', STAGING)
        : chart === 'gateway-production' ? new GatewayChart(app, 'gateway-production', PRODUCTION)
          : new PythonAppChart(app, 'python-app');
  return Testing.synth(c).map(plain);
}

function pulumiObjects(namespace: string, names: readonly string[]): Obj[] {
  return recorder.kube().map((r) => plain(r.inputs)).filter((o) => o.metadata?.namespace === namespace && names.some((n) => o.metadata?.name?.startsWith(n)));
}

let childUrns: string[] = [];
beforeAll(async () => {
  stack = deployExamples();
  childUrns = await settle(...Object.values(stack.deployments).flatMap((d) => [d, d.deployment, d.serviceAccount, d.service]),
    ...Object.values(stack.configs).flatMap((c) => [c, c.configMap, c.secret]));
});

const SCENARIOS = [
  { chart: 'postgres', namespace: 'databases', names: ['postgres'] },
  { chart: 'nginx', namespace: 'web', names: ['nginx'] },
  { chart: 'gateway-staging', namespace: 'staging', names: ['gateway'] },
  { chart: 'gateway-production', namespace: 'production', names: ['gateway'] },
  { chart: 'python-app', namespace: 'apps', names: ['python-app'] },
] as const;

describe('Pulumi face registers the objects cdk8s synthesizes', () => {
  for (const s of SCENARIOS) {
    it(`${s.chart}: same objects, field by field`, () => {
      const fromCdk8s = cdk8sObjects(s.chart);
      const fromPulumi = pulumiObjects(s.namespace, s.names);
      expect(fromCdk8s.length).toBeGreaterThan(1);
      expect(fromPulumi.map(key).sort()).toEqual(fromCdk8s.map(key).sort());
      for (const o of fromCdk8s) expect(fromPulumi.find((p) => key(p) === key(o)), key(o)).toEqual(o);
    });
  }

  it('parents every Kubernetes resource to one of our components', () => {
    expect(childUrns.length).toBe(recorder.kube().length + Object.keys(stack.deployments).length + Object.keys(stack.configs).length);
    for (const u of childUrns.filter((x) => x.includes('kubernetes:'))) expect(u).toMatch(/::cleanimg:index:(HardenedDeployment|EnvConfig)\$kubernetes:[^$]+::[^:]+$/);
  });

  it('registers nothing beyond the scenarios (every Kubernetes resource is accounted for)', () => {
    const all = SCENARIOS.flatMap((s) => cdk8sObjects(s.chart)).map(key).sort();
    expect(recorder.kube().map((r) => key(r.inputs)).sort()).toEqual(all);
  });
});
