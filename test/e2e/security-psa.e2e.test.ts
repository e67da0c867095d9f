// The security suite (test/security) judged by someone other than ourselves. Every cdk8s attack is
// run again through every guard; then:
// - every manifest the library WROTE in the suite (attacks it neutralized) is read by Go's YAML
//   (yaml-echo, sigs.k8s.io/yaml) as the JS parser read it, and the upstream Pod Security evaluator
//   (psa-check: k8s.io/pod-security-admission, restricted, latest) allows every pod in it;
// - every attack the guards refused is written once more by a plain cdk8s App with no guard, and
//   upstream judges that output: an attack refused by a rule that is exactly a Pod Security control
//   must be refused upstream too (else our attack is no attack, or upstream reads it differently);
//   the others are counted as "beyond Pod Security" (digests, shells, secrets, quantities...).
// Counts are printed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { firstDifference, readWithGo } from '../cdk8s/go-yaml-roundtrip';
import { findPsaCheck, type PsaCheck, type UpstreamVerdict } from '../rules/psa/psa-check';
import { CDK8S_ATTACKS } from '../security/attacks';
import { CHECK_ATTACKS, writeAttack } from '../security/attacks/check-files';
import { runCdk8sAttack, type AttackOutput } from '../security/cdk8s-harness';
import { inCI, skipWithout, tool } from './support/tools';

/** Rules that are exactly an upstream restricted control: what they refuse, upstream refuses. */
const SAME_AS_UPSTREAM = new Set(['HD001', 'HD005', 'HD006', 'HD009', 'HD010', 'HD011', 'HD024', 'HD025', 'HD027']);

const found = findPsaCheck();
const missing = 'reason' in found ? found.reason : undefined;
if (missing && inCI()) throw new Error(`E2E_TOOL_MISSING: ${missing}`);
if (missing) process.stderr.write(`[e2e] skipping security-psa: ${missing}\n`);

const dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-security-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** psa-check's verdicts on files (one per pod template it found). */
function verdicts(psa: PsaCheck, files: readonly string[]): UpstreamVerdict[] {
  const r = spawnSync(psa.binary, ['--verdicts', ...files], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`psa-check exited ${r.status ?? r.signal}: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as { level: string; version: string; verdicts?: UpstreamVerdict[] };
  expect(`${report.level}:${report.version}`).toBe('restricted:latest');
  return report.verdicts ?? [];
}

/**
 * Upstream's verdict on one file written with no guard: `refused` (a pod Pod Security refuses),
 * `undecodable` (Go cannot decode it into the API types, so the API server refuses it too), or `allowed`.
 */
function upstreamOn(psa: PsaCheck, file: string): 'refused' | 'undecodable' | 'allowed' {
  const r = spawnSync(psa.binary, ['--verdicts', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  // A file Go's YAML cannot read as it is (UTF-16 LE, which kubectl converts to UTF-8 first) is undecodable here too.
  if (r.status === 2 && /cannot unmarshal|json:|no kind|yaml: /.test(r.stderr)) return 'undecodable';
  if (r.status === 2 && /no pod template found/.test(r.stderr)) return 'allowed'; // nothing for Pod Security to judge (a Secret, a ConfigMap)
  if (r.status !== 0 && r.status !== 1) throw new Error(`psa-check exited ${r.status ?? r.signal}: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as { verdicts?: UpstreamVerdict[] };
  return (report.verdicts ?? []).some((v) => !v.allowed) ? 'refused' : 'allowed';
}

describe.skipIf(missing !== undefined || skipWithout(['yaml-echo']))('the security suite, judged by Go\'s YAML and the upstream Pod Security evaluator', () => {
  const psa = found as PsaCheck;
  let outputs: AttackOutput[] | undefined;
  const all = async () => {
    if (outputs) return outputs;
    const out: AttackOutput[] = [];
    for (const a of CDK8S_ATTACKS) {
      const o = await runCdk8sAttack(a);
      if (o) out.push(o);
    }
    return (outputs = out);
  };
  const files = (source: AttackOutput['source'], list: AttackOutput[]) => list.filter((o) => o.source === source).map((o, i) => {
    const file = join(dir, `${source}-${String(i).padStart(3, '0')}.yaml`);
    writeFileSync(file, o.yaml);
    return { file, output: o };
  });

  it('every manifest the library wrote is read by Go as written, and upstream allows every pod in it', async () => {
    const written = files('written', await all());
    expect(written.length).toBeGreaterThan(20);
    const byGo = readWithGo(tool('yaml-echo'), written.map((w) => w.file));
    const differences = written.flatMap(({ file, output }) => {
      const meant = parseAllDocuments(output.yaml).map((d) => d.toJS() as unknown).filter((o) => o !== null);
      const read = byGo.get(file)!;
      const errors = read.filter((d) => d.error).map((d) => `${output.attack}: Go: ${d.error}`);
      const diff = firstDifference(meant, read.filter((d) => !d.error).map((d) => d.object).filter((o) => o !== null));
      return [...errors, ...(diff ? [`${output.attack}: ${diff}`] : [])];
    });
    expect(differences).toEqual([]);
    const judged = verdicts(psa, written.map((w) => w.file));
    const refused = judged.filter((v) => !v.allowed).map((v) => `${written.find((w) => w.file === v.file)!.output.attack}: ${v.kind}/${v.name} ${v.checks.join(',')}`);
    process.stdout.write(`[security-psa] ${written.length} manifests written by the library in the suite, ${judged.length} pod templates judged upstream, ${refused.length} refused\n`);
    expect(judged.length).toBeGreaterThanOrEqual(written.length - 2);
    expect(refused).toEqual([]);
  }, 600_000);

  it('every attack refused by a Pod Security rule of ours is refused upstream too, when written with no guard', async () => {
    const unguarded = files('unguarded', await all());
    expect(unguarded.length).toBeGreaterThan(20);
    const upstream = new Map(unguarded.map((u) => [u.file, upstreamOn(psa, u.file)] as const));
    const refusedFiles = new Set(unguarded.filter((u) => upstream.get(u.file) !== 'allowed').map((u) => u.file));
    // Upstream judges the pods of built-in kinds; a pod template inside a custom resource, an
    // unknown kind or a List's items is judged only when a controller makes the pods, so the
    // hidden-object attacks are counted apart (our guards see into them; upstream does not).
    const hidden = unguarded.filter((u) => u.output.category === 'hidden-objects');
    const mustBeRefused = unguarded.filter((u) => SAME_AS_UPSTREAM.has(u.output.rule) && u.output.category !== 'hidden-objects');
    const agreed = mustBeRefused.filter((u) => refusedFiles.has(u.file));
    const beyond = unguarded.filter((u) => !SAME_AS_UPSTREAM.has(u.output.rule) && u.output.category !== 'hidden-objects');
    const beyondRules = [...new Set(beyond.map((u) => u.output.rule))].sort();
    const undecodable = unguarded.filter((u) => upstream.get(u.file) === 'undecodable').map((u) => u.output.attack);
    process.stdout.write(`[security-psa] ${unguarded.length} attacks refused by our guards, written with no guard: ${mustBeRefused.length} by a rule that is a Pod Security control (${agreed.length} refused upstream too); ${beyond.length} beyond Pod Security (${beyondRules.join(' ')}), of which upstream refuses ${beyond.filter((u) => refusedFiles.has(u.file)).length}; ${hidden.length} hidden objects (Lists, custom resources, odd kinds), of which upstream sees ${hidden.filter((u) => refusedFiles.has(u.file)).length}; ${undecodable.length} that Go cannot decode into the API types (${undecodable.join('; ')})\n`);
    expect(mustBeRefused.filter((u) => !refusedFiles.has(u.file)).map((u) => `${u.output.attack} (${u.output.rule})`)).toEqual([]);
  }, 600_000);

  it('every attack on check is real: Go reads its files otherwise than the JS parser, or upstream refuses them', () => {
    const real = CHECK_ATTACKS.map((a) => {
      const root = writeAttack(a);
      const files = Object.keys(a.files).map((f) => join(root, f));
      const byGo = readWithGo(tool('yaml-echo'), files);
      const differs = files.some((f) => {
        let meant: unknown[];
        try {
          meant = parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS() as unknown);
        } catch {
          return true; // the JS parser cannot read it at all
        }
        const read = byGo.get(f)!;
        return read.some((d) => d.error) || firstDifference(meant, read.map((d) => d.object)) !== undefined;
      });
      const refused = files.some((f) => upstreamOn(psa, f) !== 'allowed');
      return { a, differs, refused };
    });
    process.stdout.write(`[security-psa] ${real.length} attacks on check: Go reads ${real.filter((r) => r.differs).length} otherwise than the JS parser; upstream refuses ${real.filter((r) => r.refused).length}\n`);
    expect(real.filter((r) => !r.differs && !r.refused).map((r) => r.a.name)).toEqual([]);
    expect(real.filter((r) => r.a.upstreamRefuses && !r.refused).map((r) => r.a.name)).toEqual([]);
  }, 600_000);
});
