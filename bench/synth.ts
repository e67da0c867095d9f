/**
 * Synth benchmark: N HardenedDeployments + EnvConfigs (rules included: HardenedApp validates every
 * object) against N cdk8s-plus-28 Deployments + ConfigMaps and N plain ApiObjects, each measured in a
 * fresh process, interleaved, median of R runs. Prints wall time, peak RSS and the ratios.
 *
 *   npm run build && npx tsx bench/synth.ts [counts=1000] [runs=3]      e.g. npx tsx bench/synth.ts 100,1000,3000 3
 *
 * `apiobject` is the anchor of TESTBED.md (minimal Deployments and ConfigMaps); `apiobject-same`
 * writes the very objects cleanimg emits as plain ApiObjects, which isolates the library's overhead.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const counts = (process.argv[2] ?? '1000').split(',').map(Number);
const runs = Number(process.argv[3] ?? 3);
const variants = ['cleanimg', 'cdk8s-plus-28', 'apiobject', 'apiobject-same'] as const;
const worker = join(__dirname, 'synth-worker.ts');
const tsx = require.resolve('tsx/cli');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const count of counts) {
  const samples: Record<string, { ms: number[]; rss: number[] }> = {};
  for (let r = 0; r < runs; r++) {
    for (const v of variants) {
      const out = JSON.parse(execFileSync(process.execPath, [tsx, worker, v, String(count)], { encoding: 'utf8', maxBuffer: 1 << 30 }));
      (samples[v] ??= { ms: [], rss: [] }).ms.push(out.ms);
      samples[v]!.rss.push(out.rssMiB);
    }
  }
  const m = Object.fromEntries(variants.map((v) => [v, { ms: median(samples[v]!.ms), rss: median(samples[v]!.rss) }]));
  console.log(`synth of ${count} workloads (median of ${runs}, node ${process.version})`);
  for (const v of variants) console.log(`  ${v.padEnd(14)} ${(m[v]!.ms / 1000).toFixed(2).padStart(7)} s  ${m[v]!.rss.toFixed(0).padStart(5)} MiB`);
  console.log(`  ratio cleanimg / cdk8s-plus-28: ${(m.cleanimg!.ms / m['cdk8s-plus-28']!.ms).toFixed(2)}   (goal <= 1.0)`);
  console.log(`  ratio cleanimg / apiobject:     ${(m.cleanimg!.ms / m.apiobject!.ms).toFixed(2)}   (minimal objects: no security context, probes or resources)`);
  console.log(`  ratio cleanimg / apiobject-same: ${(m.cleanimg!.ms / m['apiobject-same']!.ms).toFixed(2)}  (the same objects written by hand; goal <= 1.3)`);
}
