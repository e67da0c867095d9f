/**
 * Parity: for every example scenario, the objects the Pulumi components register equal, field by
 * field, the objects the cdk8s charts synthesize from the same props (examples/<scenario>/props.ts).
 */
import { Testing } from 'cdk8s';
import { beforeAll, describe, expect, it } from 'vitest';
import { installMocks, settle, type Recorder } from './harness';
import { GoApiChart } from '../../examples/go-api/chart';
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
          : chart === 'go-api' ? new GoApiChart(app, 'go-api')
            : new PythonAppChart(app, 'python-app');
  return Testing.synth(c).map(plain);
}

/** The scenario's objects: everything in its namespace, plus the Namespace and the policy and binding (cluster-scoped) of it. */
function pulumiObjects(namespace: string): Obj[] {
  return recorder.kube().map((r) => plain(r.inputs)).filter((o) => o.metadata?.namespace === namespace
    || (o.kind === 'Namespace' && o.metadata?.name === namespace)
    || (o.kind?.startsWith('ValidatingAdmissionPolicy') && o.metadata?.name === `cleanimg-hardening.${namespace}`));
}

let childUrns: string[] = [];
beforeAll(async () => {
  stack = deployExamples();
  childUrns = await settle(...Object.values(stack.deployments).flatMap((d) => [d, ...Object.values(d.children)]),
    ...Object.values(stack.configs).flatMap((c) => [c, c.configMap, c.secret]),
    ...Object.values(stack.namespaces).flatMap((n) => [n, n.namespace, n.policy, n.policyBinding, n.role, n.roleBinding, ...Object.values(n.networkPolicies)]));
});

const SCENARIOS = [
  { chart: 'postgres', namespace: 'databases' },
  { chart: 'nginx', namespace: 'web' },
  { chart: 'gateway-staging', namespace: 'staging' },
  { chart: 'gateway-production', namespace: 'production' },
  { chart: 'python-app', namespace: 'apps' },
  { chart: 'go-api', namespace: 'api' },
] as const;

const NAMESPACE_KINDS = ['Namespace', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'Role', 'RoleBinding', 'NetworkPolicy'];

describe('Pulumi face registers the objects cdk8s synthesizes', () => {
  for (const s of SCENARIOS) {
    it(`${s.chart}: same objects, field by field`, () => {
      const fromCdk8s = cdk8sObjects(s.chart);
      const fromPulumi = pulumiObjects(s.namespace);
      expect(fromCdk8s.length).toBeGreaterThan(1);
      // the namespace's guards are part of the comparison
      expect(NAMESPACE_KINDS.every((k) => fromCdk8s.some((o) => o.kind === k))).toBe(true);
      expect(fromPulumi.map(key).sort()).toEqual(fromCdk8s.map(key).sort());
      for (const o of fromCdk8s) expect(fromPulumi.find((p) => key(p) === key(o)), key(o)).toEqual(o);
    });
  }

  it('parents every Kubernetes resource to one of our components', () => {
    expect(Object.keys(stack.namespaces)).toHaveLength(6);
    expect(childUrns.length).toBe(recorder.kube().length + Object.keys(stack.deployments).length + Object.keys(stack.configs).length + Object.keys(stack.namespaces).length);
    for (const u of childUrns.filter((x) => x.includes('kubernetes:'))) expect(u).toMatch(/::cleanimg:index:(HardenedDeployment|HardenedStatefulSet|HardenedCronJob|EnvConfig|HardenedNamespace)\$kubernetes:[^$]+::[^:]+$/);
    const namespaceChildren = childUrns.filter((x) => /::cleanimg:index:HardenedNamespace\$kubernetes:/.test(x));
    expect(namespaceChildren.length).toBe(recorder.kube().filter((r) => NAMESPACE_KINDS.includes(r.inputs.kind)).length);
  });

  it('registers nothing beyond the scenarios (every Kubernetes resource is accounted for)', () => {
    const all = SCENARIOS.flatMap((s) => cdk8sObjects(s.chart)).map(key).sort();
    expect(recorder.kube().map((r) => key(r.inputs)).sort()).toEqual(all);
  });
});
