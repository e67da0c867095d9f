// (c) Scanners nobody here wrote, over the fixtures: the upstream Pod Security evaluator
// (test/tools/psa-check, k8s.io/pod-security-admission at restricted/latest), kube-score and checkov.
// The hardened fixture passes every hardening check; every other finding on it must be in
// test/e2e/allowlist.yaml with one line of reasoning. The guide's Deployments fail.
import { readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKOV_HARDENING, KUBE_SCORE_HARDENING, checkov, kubeScore, loadAllowList, psaCheck } from './support/scanners';
import { writeExamples } from './support/examples';
import { skipWithout } from './support/tools';

const HARDENED = [join(__dirname, 'fixtures', 'hardened-deployment.yaml')];
const GUIDE_DIR = join(__dirname, '..', 'fixtures', 'guide');
const GUIDE = readdirSync(GUIDE_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => join(GUIDE_DIR, f));
const guideFile = (prefix: string) => GUIDE.find((f) => f.includes(`/${prefix}`))!;

describe.skipIf(skipWithout(['psa-check']))('upstream Pod Security evaluator (psa-check)', () => {
  it('allows the hardened fixture at restricted/latest', async () => {
    const { result, report } = await psaCheck(HARDENED);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(report).toMatchObject({ level: 'restricted', version: 'latest', checked: 1, findings: [] });
  });

  it("refuses each of the guide's Deployments, and only those", async () => {
    const { result, report } = await psaCheck(GUIDE);
    expect(result.code).toBe(1);
    const byName = new Map(report!.findings.map((f) => [`${f.file.split('/').pop()}#${f.name}`, f]));
    // 01, 03, 07 hold ConfigMaps and a Secret: no pod template, nothing to evaluate.
    expect(report!.skipped.sort()).toEqual(
      ['ConfigMap/app-config', 'Secret/app-secrets', 'ConfigMap/nginx-config-staging', 'ConfigMap/nginx-config-production', 'ConfigMap/nginx-config', 'ConfigMap/nginx-config'].sort(),
    );
    const deployments = ['02-python-deployment.yaml#python-app', '04-nginx-deployment-staging.yaml#nginx', '05-nginx-deployment-production.yaml#nginx', '06-python-deployment-complete.yaml#python-app', '08-nginx-deployment-complete.yaml#nginx'];
    expect(report!.checked).toBe(deployments.length);
    // 06 is the guide's "hardened" example: misplaced fields are ignored by the evaluator
    // exactly as by the server, so privilege escalation and capabilities stay open.
    const f06 = byName.get('06-python-deployment-complete.yaml#python-app')!;
    expect(f06.reasons).toEqual(['allowPrivilegeEscalation != false', 'unrestricted capabilities']);
    const f08 = byName.get('08-nginx-deployment-complete.yaml#nginx')!;
    expect(f08.reasons).toEqual(['allowPrivilegeEscalation != false', 'unrestricted capabilities', 'seccompProfile']);
    for (const k of ['02-python-deployment.yaml#python-app', '04-nginx-deployment-staging.yaml#nginx']) {
      expect(byName.get(k)!.reasons).toEqual(['allowPrivilegeEscalation != false', 'unrestricted capabilities', 'runAsNonRoot != true', 'seccompProfile']);
    }
    for (const k of deployments.filter((d) => !d.startsWith('05'))) expect(byName.get(k)?.path, k).toBe('/spec/template/spec');
    // 05 is a fragment whose template is empty: no container, nothing for Pod Security to refuse.
    expect(byName.has('05-nginx-deployment-production.yaml#nginx')).toBe(false);
    expect(report!.findings).toHaveLength(4);
  });

  it('gives a clear error and exit 2 on input it cannot read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-psa-'));
    try {
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n');
      const { result } = await psaCheck([bad]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('bad.yaml');
      const { result: none } = await psaCheck([guideFile('01')]);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('no pod template');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(skipWithout(['kube-score']))('kube-score', () => {
  it('passes every hardening check on the hardened fixture; other findings are allow-listed', async () => {
    const allow = loadAllowList()['kube-score'] ?? {};
    const { findings, grades } = await kubeScore(HARDENED);
    const g = grades.get('Deployment/hardened-app');
    expect(g, JSON.stringify([...grades.keys()])).toBeDefined();
    for (const id of KUBE_SCORE_HARDENING) expect([id, g!.get(id)]).toEqual([id, 10]);
    const unexpected = findings.filter((f) => !(f.check in allow));
    expect(unexpected).toEqual([]);
  });

  it("fails the guide's Deployments on hardening checks, each for its own reasons", async () => {
    // Hardening checks that do not reach grade 10 ("all OK"), per guide file scored alone.
    const expected: Record<string, string[]> = {
      '02': ['container-ephemeral-storage-request-and-limit', 'container-resources', 'container-seccomp-profile', 'container-security-context-user-group-id'],
      '04': ['container-ephemeral-storage-request-and-limit', 'container-resources', 'container-seccomp-profile', 'container-security-context-user-group-id'],
      // The "complete" examples: their pod-level readOnlyRootFilesystem is not where
      // Kubernetes reads it, and kube-score says so too.
      '06': ['container-resources', 'container-security-context-readonlyrootfilesystem', 'container-security-context-user-group-id'],
      '08': [
        'container-ephemeral-storage-request-and-limit',
        'container-resources',
        'container-seccomp-profile',
        'container-security-context-readonlyrootfilesystem',
        'container-security-context-user-group-id',
      ],
    };
    for (const [prefix, checks] of Object.entries(expected)) {
      const { result, findings } = await kubeScore([guideFile(prefix)]);
      expect(result.code, prefix).not.toBe(0);
      const failed = [...new Set(findings.filter((f) => KUBE_SCORE_HARDENING.includes(f.check)).map((f) => f.check))].sort();
      expect([prefix, failed]).toEqual([prefix, checks]);
    }
  });
});

describe.skipIf(skipWithout(['checkov']))('checkov (--framework kubernetes)', () => {
  it('passes every hardening check on the hardened fixture; other findings are allow-listed', async () => {
    const allow = loadAllowList()['checkov'] ?? {};
    const { passed, failed } = await checkov(HARDENED[0]!);
    for (const id of CHECKOV_HARDENING) expect([id, passed.includes(id)]).toEqual([id, true]);
    expect(failed.filter((f) => !(f.id in allow))).toEqual([]);
  });

  it("fails the guide's Deployments on hardening checks, each for its own reasons", async () => {
    const n = (ids: number[]) => ids.filter((i) => i !== 11).map((i) => `CKV_K8S_${i}`).sort();
    const expected: Record<string, string[]> = {
      // Also CKV_K8S_35: the guide passes DATABASE_URL from a Secret as an environment variable.
      '02': n([8, 9, 10, 11, 12, 13, 20, 23, 28, 29, 31, 35, 37, 38, 40]),
      // The "complete" examples: the pod-level readOnlyRootFilesystem counts for nothing (CKV_K8S_22).
      '06': n([8, 9, 10, 11, 12, 13, 20, 22, 28, 30, 37, 38]),
      '08': n([8, 9, 10, 11, 12, 13, 20, 22, 28, 30, 31, 37, 38, 40]),
    };
    for (const [prefix, ids] of Object.entries(expected)) {
      const { result, failed } = await checkov(guideFile(prefix));
      expect(result.code, prefix).not.toBe(0);
      const got = [...new Set(failed.map((f) => f.id).filter((id) => CHECKOV_HARDENING.includes(id)))].sort();
      expect([prefix, got]).toEqual([prefix, ids]);
    }
  });
});

describe.skipIf(skipWithout(['kube-score', 'checkov']))('the allow-list stays honest', () => {
  it('every entry is still needed by the hardened fixture or a synthesized example', async () => {
    const allow = loadAllowList();
    const dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-allow-'));
    try {
      const inputs = [...HARDENED, ...Object.values(writeExamples(dir))];
      const seen: Record<string, Set<string>> = { 'kube-score': new Set(), checkov: new Set() };
      for (const f of inputs) {
        for (const x of (await kubeScore([f])).findings) seen['kube-score']!.add(x.check);
        for (const x of (await checkov(f)).failed) seen.checkov!.add(x.id);
      }
      const stale = Object.entries(allow).flatMap(([t, entries]) => Object.keys(entries).filter((id) => !seen[t]?.has(id)).map((id) => `${t}.${id}`));
      expect(stale).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
