// Every synthesized example (examples/*, through cdk8s) judged by real systems: the API
// server with strict validation, warnings as errors and Pod Security "restricted"; a Pod
// from each pod template admitted; and the upstream evaluator, kube-score and checkov.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitPodsFromTemplates, applyStrict, ensureNamespaces } from './support/admission';
import { EXAMPLES, writeExamples } from './support/examples';
import { CLUSTER_TOOLS } from './support/global-setup';
import { CHECKOV_HARDENING, KUBE_SCORE_HARDENING, checkov, kubeScore, loadAllowList, psaCheck } from './support/scanners';
import { sharedCluster, sharedClusterError, type SharedCluster } from './support/shared-cluster';
import { skipWithout } from './support/tools';

let dir: string;
let files: Record<string, string> = {};
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-examples-'));
  files = writeExamples(dir);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skipWithout(CLUSTER_TOOLS))('synthesized examples on a real API server', () => {
  let k: SharedCluster;
  beforeAll(() => {
    const c = sharedCluster();
    if (!c) throw new Error(sharedClusterError() ?? 'no cluster');
    k = c;
  });

  for (const [name, make] of Object.entries(EXAMPLES)) {
    it(`${name}: accepted by apply --dry-run=server --warnings-as-errors --validate=strict; every pod template admitted`, async () => {
      const objs = make();
      await ensureNamespaces(k, objs);
      const applied = await applyStrict(k, objs);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);
      const pods = await admitPodsFromTemplates(k, objs);
      expect(pods.length).toBeGreaterThan(0);
      for (const p of pods) {
        expect([p.workload, p.result.stderr]).toEqual([p.workload, '']);
        expect(p.result.code).toBe(0);
      }
    });
  }
});

describe.skipIf(skipWithout(['psa-check']))('synthesized examples: upstream Pod Security evaluator', () => {
  it('allows every pod template at restricted/latest', async () => {
    const { result, report } = await psaCheck(Object.values(files));
    expect(result.stderr).toBe('');
    expect(report?.findings).toEqual([]);
    expect(report!.checked).toBeGreaterThanOrEqual(Object.keys(files).length);
    expect(result.code).toBe(0);
  });
});

describe.skipIf(skipWithout(['kube-score']))('synthesized examples: kube-score', () => {
  for (const name of Object.keys(EXAMPLES)) {
    it(`${name}: every hardening check passes; other findings are allow-listed`, async () => {
      const allow = loadAllowList()['kube-score'] ?? {};
      const { findings, grades } = await kubeScore([files[name]!]);
      for (const [obj, g] of grades) {
        if (!obj.startsWith('Deployment/') && !obj.startsWith('StatefulSet/')) continue;
        for (const id of KUBE_SCORE_HARDENING) expect([obj, id, g.get(id)]).toEqual([obj, id, 10]);
      }
      expect(findings.filter((f) => !(f.check in allow))).toEqual([]);
    });
  }
});

describe.skipIf(skipWithout(['checkov']))('synthesized examples: checkov', () => {
  for (const name of Object.keys(EXAMPLES)) {
    it(`${name}: every hardening check passes; other findings are allow-listed`, async () => {
      const allow = loadAllowList()['checkov'] ?? {};
      const { passed, failed } = await checkov(files[name]!);
      const failedIds = new Set(failed.map((f) => f.id));
      for (const id of CHECKOV_HARDENING) expect([id, failedIds.has(id)]).toEqual([id, false]);
      expect(passed.length).toBeGreaterThan(0);
      expect(failed.filter((f) => !(f.id in allow))).toEqual([]);
    });
  }
});
