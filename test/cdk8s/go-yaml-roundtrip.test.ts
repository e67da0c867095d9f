/**
 * A fast slice of the round trip through Go's YAML reader (test/cdk8s/go-yaml-roundtrip.ts): a few
 * hundred random cases written by HardenedApp's writer (fast and forced fallback) and by a plain
 * cdk8s App checked by the synth plugin, read back by `yaml-echo` (sigs.k8s.io/yaml). Skipped, with
 * the reason printed, when yaml-echo is not provisioned (`bash test/e2e/provision.sh yaml-echo`);
 * test/e2e/yaml-roundtrip.e2e.test.ts runs the large sample. `FC_SEED` replays, `GO_YAML_RUNS` resizes.
 */
import { Yaml } from 'cdk8s';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringifyDocuments } from '../../src/cdk8s/yaml-writer';
import { findTool } from '../e2e/support/tools';
import { firstDifference, formatReport, readWithGo, roundTrip } from './go-yaml-roundtrip';

const yamlEcho = findTool('yaml-echo');
if (!yamlEcho) process.stderr.write('[go-yaml round trip] skipped: yaml-echo not found (run `bash test/e2e/provision.sh yaml-echo`)\n');

describe.skipIf(!yamlEcho)('strings written for Go, read back by Go (yaml-echo)', () => {
  it('every document Go reads equals the object written, or the case was refused with HD033', async () => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    const report = await roundTrip(yamlEcho!, Number(process.env.GO_YAML_RUNS ?? 200), seed);
    process.stdout.write(`${formatReport(report)}\n`);
    for (const path of ['hardened-fast', 'hardened-fallback', 'cdk8s+plugin'] as const) expect(report.counts[path].mismatches, `${path} (seed ${seed})`).toBe(0);
    expect(report.ownProblems, `seed ${seed}`).toEqual([]);
    // The sample exercised what it is meant to: writes and refusals on every path, both writers.
    expect(report.counts['hardened-fast'].written).toBeGreaterThan(report.generated / 2);
    expect(report.counts['hardened-fast'].refusedHD033).toBeGreaterThan(0);
    expect(report.counts['cdk8s+plugin'].written).toBeGreaterThan(0);
    expect(report.counts['cdk8s+plugin'].refusedHD033).toBeGreaterThan(report.counts['hardened-fast'].refusedHD033);
    expect(report.fastDocuments).toBeGreaterThan(0);
    expect(report.fallbackDocuments).toBeGreaterThan(0);
  }, 300_000);
});

describe.skipIf(!yamlEcho)('every character, written by both writers, read back by Go', () => {
  it('reads `x<c>y` back for every code point c but the surrogates, as a value and as a key', () => {
    const all: string[] = [];
    for (let c = 0; c <= 0x10ffff; c += c < 0x10000 ? 1 : 0x3f) if (c < 0xd800 || c > 0xdfff) all.push(`x${String.fromCodePoint(c)}y`);
    const docs: Record<string, unknown>[] = [];
    for (let i = 0; i < all.length; i += 2048) {
      const chunk = all.slice(i, i + 2048);
      docs.push({ values: chunk }, { keys: Object.fromEntries(chunk.map((s, j) => [s, j])) });
    }
    const dir = mkdtempSync(join(tmpdir(), 'go-yaml-chars-'));
    try {
      const files = (['fast', 'fallback'] as const).map((w) => {
        const file = join(dir, `${w}.yaml`);
        writeFileSync(file, stringifyDocuments(Yaml.stringify, docs, w === 'fast'));
        return file;
      });
      const read = readWithGo(yamlEcho!, files);
      for (const file of files) {
        const got = read.get(file)!;
        expect(got.length).toBe(docs.length);
        got.forEach((d, i) => {
          expect(d.error, `${file} document ${i}`).toBeUndefined();
          expect(firstDifference(docs[i], d.object), `${file} document ${i}`).toBeUndefined();
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(all.length).toBeGreaterThan(80_000);
  }, 120_000);
});
