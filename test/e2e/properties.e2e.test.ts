// The property-based tier's half that needs real tools: random VALID HardenedDeployment props (the
// same arbitrary as test/core/properties.test.ts) judged by systems nobody here wrote.
//  - the upstream Pod Security evaluator (psa-check, k8s.io/pod-security-admission) allows every
//    pod template at restricted/latest: a few hundred samples, batched into a few files;
//  - the real API server accepts a smaller sample (Deployments, ServiceAccounts, ConfigMaps) with
//    a strict server-side dry run, warnings as errors, and admits a Pod made from each template.
// The seed is printed; replay with FC_SEED=<seed>. E2E_PROPERTY_SAMPLES changes the sample size.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envConfig, hardenedDeployment } from '../../src/core';
import { deploymentProps, validDeploymentCase, type DeploymentCase } from '../core/properties.arbitraries';
import { applyStrict, ensureNamespaces, STRICT_DRY_RUN } from './support/admission';
import { CLUSTER_TOOLS } from './support/global-setup';
import { podFromTemplate, toYaml, type KObject } from './support/k8s';
import { psaCheck } from './support/scanners';
import { sharedCluster, sharedClusterError, type SharedCluster } from './support/shared-cluster';
import { skipWithout } from './support/tools';

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
const SAMPLES = Number(process.env.E2E_PROPERTY_SAMPLES ?? 300);
const BATCHES = 3;
const API_SAMPLES = Math.min(SAMPLES, 40);
const NAMESPACE = 'properties-e2e';

interface Sample {
  case: DeploymentCase;
  objects: KObject[];
  deployment: KObject;
}

let samples: Sample[] = [];
let dir: string;

beforeAll(() => {
  process.stderr.write(`[e2e] properties: ${SAMPLES} random deployments, seed ${SEED} (replay: FC_SEED=${SEED})\n`);
  dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-properties-'));
  const cases = fc.sample(validDeploymentCase({ namespace: NAMESPACE }), { numRuns: SAMPLES, seed: SEED });
  samples = cases.map((c, i) => {
    // Unique names in the batch (random names may repeat).
    const named: DeploymentCase = { ...c, deployment: { ...c.deployment, name: `p${i}-${c.deployment.name}`.slice(0, 40).replace(/-+$/, '') } };
    const result = hardenedDeployment(deploymentProps(named));
    const configMaps = named.envConfigs.map((p) => envConfig(p).configMap).filter((x): x is Record<string, unknown> => !!x) as KObject[];
    return { case: named, deployment: result.deployment as KObject, objects: [...configMaps, ...(result.objects as KObject[])] };
  });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skipWithout(['psa-check']))('random valid deployments: the upstream Pod Security evaluator', () => {
  it('allows every pod template at restricted/latest', async () => {
    const files: string[] = [];
    const per = Math.ceil(samples.length / BATCHES);
    for (let b = 0; b < BATCHES; b++) {
      const batch = samples.slice(b * per, (b + 1) * per);
      if (batch.length === 0) continue;
      const file = join(dir, `batch-${b}.yaml`);
      writeFileSync(file, toYaml(batch.flatMap((s) => s.objects)));
      files.push(file);
    }
    const { result, report } = await psaCheck(files);
    expect(result.stderr).toBe('');
    expect(report, result.stdout).toBeDefined();
    // On a finding, the seed above reproduces the sample; the finding names the Deployment.
    expect(report!.findings, `seed ${SEED}`).toEqual([]);
    expect(report!.checked).toBe(samples.length);
    expect(result.code).toBe(0);
  });

  it('control: the evaluator does flag a sample once its container may escalate privileges', async () => {
    const d = structuredClone(samples[0]!.deployment) as any;
    delete d.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation;
    const file = join(dir, 'control.yaml');
    writeFileSync(file, toYaml([d]));
    const { result, report } = await psaCheck([file]);
    expect(result.code).toBe(1);
    expect(report!.findings.map((f) => f.reasons).flat()).toContain('allowPrivilegeEscalation != false');
  });
});

describe.skipIf(skipWithout(CLUSTER_TOOLS))('random valid deployments: the real API server', () => {
  let k: SharedCluster;
  beforeAll(() => {
    const c = sharedCluster();
    if (!c) throw new Error(sharedClusterError() ?? 'no cluster');
    k = c;
  });

  it(`accepts ${API_SAMPLES} samples with a strict server-side dry run, and admits a Pod from each template`, async () => {
    const some = samples.slice(0, API_SAMPLES);
    const objects = some.flatMap((s) => s.objects);
    await ensureNamespaces(k, objects);
    const applied = await applyStrict(k, objects);
    expect(applied.stderr, `seed ${SEED}`).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout.match(/deployment\.apps\/\S+ (created|configured|unchanged) \(server dry run\)/g)?.length).toBe(some.length);
    const pods = some.map((s) => podFromTemplate(s.deployment, `${s.deployment.metadata!.name}-pod`));
    const created = await k.kubectl(['create', ...STRICT_DRY_RUN, '-f', '-'], { input: toYaml(pods) });
    expect(created.stderr, `seed ${SEED}`).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout.match(/pod\/\S+ created \(server dry run\)/g)?.length).toBe(some.length);
  });
});
