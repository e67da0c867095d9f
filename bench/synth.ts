/**
 * Synth benchmark: N HardenedDeployments + EnvConfigs (rules included: HardenedApp validates every
 * object) against N cdk8s-plus-28 Deployments + ConfigMaps and N plain ApiObjects, each measured in a
 * fresh process, interleaved, median of R runs. Prints wall and CPU time, peak RSS and the ratios.
 *
 *   npm run build && npx tsx bench/synth.ts [counts=1000] [runs=3] [--mixed-only|--no-mixed]      e.g. npx tsx bench/synth.ts 100,1000,3000 3
 *
 * A second section, "mixed", builds workloads of every kind with configs, HPAs, PDBs, Services and
 * claim templates (bench/synth-mixed.ts) with cleanimg, with cdk8s-plus-28 with every security
 * setting written by hand, and as the same objects as plain ApiObjects.
 *
 * `apiobject` is the anchor of TESTBED.md (minimal Deployments and ConfigMaps); `apiobject-same`
 * writes the very objects cleanimg emits as plain ApiObjects, which isolates the library's overhead.
 * `cleanimg` writes its YAML with HardenedApp's direct writer (the same bytes as cdk8s's writer);
 * `cleanimg-cdk8s-yaml` is the same app with cdk8s's writer for every document, like the other variants.
 * Prints the objects and bytes each variant writes.
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';

const counts = (process.argv[2] ?? '1000').split(',').map(Number);
const runs = Number(process.argv[3] ?? 3);
/** `--mixed-only` or `--no-mixed` pick the sections; both run by default. */
const sections = process.argv.includes('--mixed-only') ? ['mixed'] : process.argv.includes('--no-mixed') ? ['deployments'] : ['deployments', 'mixed'];
const variants = ['cleanimg', 'cleanimg-cdk8s-yaml', 'cdk8s-plus-28', 'apiobject', 'apiobject-same'] as const;
const mixedVariants = ['mixed-cleanimg', 'mixed-cdk8s-plus-28', 'mixed-apiobject-same'] as const;
const worker = join(__dirname, 'synth-worker.ts');
const tsx = require.resolve('tsx/cli');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
type Medians = Record<string, { ms: number; cpu: number; rss: number }>;

/** Runs each variant `runs` times in fresh processes, interleaved and rotated; prints one line per variant; returns the medians. */
function measure(title: string, vs: readonly string[], count: number): Medians {
  const samples: Record<string, { ms: number[]; cpu: number[]; rss: number[]; objects: number; bytes: number }> = {};
  for (let r = 0; r < runs; r++) {
    // The order rotates, so that no variant always runs first or right after the same other one.
    for (let j = 0; j < vs.length; j++) {
      const v = vs[(j + r) % vs.length]!;
      const out = JSON.parse(execFileSync(process.execPath, [tsx, worker, v, String(count)], { encoding: 'utf8', maxBuffer: 1 << 30 }));
      const s = (samples[v] ??= { ms: [], cpu: [], rss: [], objects: out.objects, bytes: out.bytes });
      s.ms.push(out.ms);
      s.cpu.push(out.cpuMs);
      s.rss.push(out.rssMiB);
    }
  }
  const m: Medians = Object.fromEntries(vs.map((v) => [v, { ms: median(samples[v]!.ms), cpu: median(samples[v]!.cpu), rss: median(samples[v]!.rss) }]));
  console.log(`${title} (median of ${runs}, node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
  for (const v of vs) {
    const s = samples[v]!;
    console.log(`  ${v.padEnd(20)} ${(m[v]!.ms / 1000).toFixed(2).padStart(6)} s wall ${(m[v]!.cpu / 1000).toFixed(2).padStart(6)} s CPU  ${m[v]!.rss.toFixed(0).padStart(4)} MiB  ${String(s.objects).padStart(5)} objects ${(s.bytes / 2 ** 20).toFixed(2).padStart(5)} MiB YAML  wall [${s.ms.map((x) => (x / 1000).toFixed(2)).join(' ')}]`);
  }
  return m;
}

// Wall time, and CPU time of the process (less disturbed by other jobs on a shared machine).
const ratioOf = (m: Medians) => (a: string, b: string) => `${(m[a]!.ms / m[b]!.ms).toFixed(2)} wall, ${(m[a]!.cpu / m[b]!.cpu).toFixed(2)} CPU`;

for (const count of counts) {
  if (sections.includes('deployments')) {
    const ratio = ratioOf(measure(`synth of ${count} workloads`, variants, count));
    console.log(`  ratio cleanimg / cdk8s-plus-28:            ${ratio('cleanimg', 'cdk8s-plus-28')}  (goal <= 1.0)`);
    console.log(`  ratio cleanimg / apiobject:                ${ratio('cleanimg', 'apiobject')}  (minimal objects: no security context, probes or resources)`);
    console.log(`  ratio cleanimg / apiobject-same:           ${ratio('cleanimg', 'apiobject-same')}  (the same objects as plain ApiObjects, written by cdk8s's YAML writer; goal <= 1.3)`);
    console.log(`  ratio cleanimg-cdk8s-yaml / cdk8s-plus-28: ${ratio('cleanimg-cdk8s-yaml', 'cdk8s-plus-28')}  (both with cdk8s's YAML writer)`);
    console.log(`  ratio cleanimg-cdk8s-yaml / apiobject-same: ${ratio('cleanimg-cdk8s-yaml', 'apiobject-same')}  (the library's overhead with the same writer)`);
  }
  if (sections.includes('mixed')) {
    // Every kind, with configs, HPAs, PDBs, Services and claim templates (bench/synth-mixed.ts).
    const ratio = ratioOf(measure(`mixed synth of ${count} workloads of every kind`, mixedVariants, count));
    console.log(`  ratio mixed cleanimg / cdk8s-plus-28:      ${ratio('mixed-cleanimg', 'mixed-cdk8s-plus-28')}  (cdk8s-plus-28 with every security setting by hand; goal <= 0.7)`);
    console.log(`  ratio mixed cleanimg / apiobject-same:     ${ratio('mixed-cleanimg', 'mixed-apiobject-same')}  (the same objects as plain ApiObjects)`);
  }
}
