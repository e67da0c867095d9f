// Manifests read by Go's YAML reader as they were meant (HD033): random Unicode strings in every
// string prop of HardenedDeployment and EnvConfig props, written by HardenedApp's writer (its fast
// path and, forced, its cdk8s fallback) and by a plain cdk8s App checked by the synth plugin, read
// back by yaml-echo (sigs.k8s.io/yaml, kubectl's document split): every document Go reads equals the
// object written, or the case was refused with HD033 (test/cdk8s/go-yaml-roundtrip.ts). Before it, the
// issue's own example as a control: cdk8s's writer lets a U+2028 in workingDir turn into `hostPID:
// true` and `hostNetwork: true` for Go while the JS parser reads one harmless string.
// The seed is printed (replay: FC_SEED=<seed>); E2E_YAML_SAMPLES changes the sample size.
import { ApiObject, App, Chart } from 'cdk8s';
import { ValidationContext } from 'cdk8s-cli/plugins';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { HardenedApp, HardeningValidation } from '../../src/cdk8s';
import { hardenedDeployment } from '../../src/core';
import { formatReport, readWithGo, roundTrip } from '../cdk8s/go-yaml-roundtrip';
import { skipWithout, tool } from './support/tools';

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
const SAMPLES = Number(process.env.E2E_YAML_SAMPLES ?? 1000);
const dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-yaml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const INJECTION = '/srv\n\u2028      hostPID: true\u2028      hostNetwork: true';

/**
 * The issue's example: a workingDir holding U+2028. The props refuse it now (PROP002: paths take no
 * line separators), so the Deployment is the hardened one with that string put in by hand, as a
 * JSON patch or a raw object would: the writers must still carry it to Go as one string.
 */
function issueApp(app: App): void {
  const d = structuredClone(hardenedDeployment({ name: 'web', containers: [{ name: 'app', image: `registry.example.com/app@sha256:${'ab'.repeat(32)}`, ports: [{ containerPort: 8080 }] }] }).deployment) as any;
  d.spec.template.spec.containers[0].workingDir = INJECTION;
  new ApiObject(new Chart(app, 'issue'), 'web', d);
}

/** The Deployment's pod spec as Go reads `text`. */
function podSpecByGo(text: string, name: string): Record<string, unknown> {
  const file = join(dir, name);
  writeFileSync(file, text);
  const docs = readWithGo(tool('yaml-echo'), [file]).get(file)!;
  expect(docs.filter((d) => d.error)).toEqual([]);
  const deployment = docs.map((d) => d.object as { kind?: string; spec?: { template: { spec: Record<string, unknown> } } }).find((o) => o?.kind === 'Deployment')!;
  return deployment.spec!.template.spec;
}

describe.skipIf(skipWithout(['yaml-echo']))('YAML read by Go as it was meant', () => {
  it('control: cdk8s\'s writer lets a U+2028 in workingDir become hostPID and hostNetwork for Go, not for the JS parser', () => {
    const plain = new App({ outdir: join(dir, 'plain') });
    issueApp(plain);
    const text = plain.synthYaml();
    const go = podSpecByGo(text, 'plain.yaml');
    expect(go.hostPID).toBe(true);
    expect(go.hostNetwork).toBe(true);
    const js = parseAllDocuments(text).map((d) => d.toJS()).find((o) => o.kind === 'Deployment').spec.template.spec;
    expect(js.hostPID).toBeUndefined();
    expect(js.containers[0].workingDir).toContain('hostPID: true');
  });

  it('HardenedApp writes the same app so that Go reads the workingDir back, and the plugin refuses cdk8s\'s text', async () => {
    const app = new HardenedApp();
    issueApp(app);
    const go = podSpecByGo(app.synthYaml(), 'hardened.yaml');
    expect(go.hostPID).toBeUndefined();
    expect(go.hostNetwork).toBeUndefined();
    expect((go.containers as { workingDir: string }[])[0]!.workingDir).toBe(INJECTION);

    const outdir = join(dir, 'plugin');
    const plain = new App({ outdir });
    issueApp(plain);
    plain.synth();
    const manifests = readdirSync(outdir).map((f) => join(outdir, f));
    const context = new ValidationContext(manifests, 'cleanimg', '0.1.0');
    await new HardeningValidation({ keepFailedManifests: true }).validate(context as never);
    expect(context.report.success).toBe(false);
    const report = context.report.toString();
    expect(report).toMatch(/HD033/);
    expect(report).toMatch(/U\+2028 \(LINE SEPARATOR\) written raw; Go's YAML reads it as a line break/);
    expect(readFileSync(manifests[0]!, 'utf8')).toContain('\u2028');
  });

  it(`random strings in every string prop (${SAMPLES} cases): Go reads every written document as meant, or HD033 refused it`, async () => {
    process.stderr.write(`[e2e] yaml round trip: ${SAMPLES} cases, seed ${SEED} (replay: FC_SEED=${SEED})\n`);
    const report = await roundTrip(tool('yaml-echo'), SAMPLES, SEED);
    process.stderr.write(`${formatReport(report)}\n`);
    for (const path of ['hardened-fast', 'hardened-fallback', 'cdk8s+plugin'] as const) expect(report.counts[path].mismatches, `${path} (seed ${SEED})`).toBe(0);
    expect(report.ownProblems, `seed ${SEED}`).toEqual([]);
    expect(report.counts['hardened-fast'].written).toBeGreaterThan(SAMPLES / 2);
    expect(report.counts['hardened-fast'].refusedHD033).toBeGreaterThan(0);
    expect(report.counts['cdk8s+plugin'].written).toBeGreaterThan(0);
    expect(report.fastDocuments).toBeGreaterThan(0);
  }, 1_800_000);
});
