/**
 * Synth benchmark: N HardenedDeployments + EnvConfigs (rules included: HardenedApp validates every
 * object) against N cdk8s-plus-28 Deployments + ConfigMaps and N plain ApiObjects, each measured in a
 * fresh process, interleaved, median of R runs. Prints wall and CPU time, peak RSS and the ratios.
 *
 *   npm run build && npx tsx bench/synth.ts [counts=1000] [runs=3]      e.g. npx tsx bench/synth.ts 100,1000,3000 3
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
const variants = ['cleanimg', 'cleanimg-cdk8s-yaml', 'cdk8s-plus-28', 'apiobject', 'apiobject-same'] as const;
const worker = join(__dirname, 'synth-worker.ts');
const tsx = require.resolve('tsx/cli');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const count of counts) {
  const samples: Record<string, { ms: number[]; cpu: number[]; rss: number[]; objects: number; bytes: number }> = {};
  for (let r = 0; r < runs; r++) {
    // The order rotates, so that no variant always runs first or right after the same other one.
    for (let j = 0; j < variants.length; j++) {
      const v = variants[(j + r) % variants.length]!;
      const out = JSON.parse(execFileSync(process.execPath, [tsx, worker, v, String(count)], { encoding: 'utf8', maxBuffer: 1 << 30 }));
      const s = (samples[v] ??= { ms: [], cpu: [], rss: [], objects: out.objects, bytes: out.bytes });
      s.ms.push(out.ms);
      s.cpu.push(out.cpuMs);
      s.rss.push(out.rssMiB);
    }
  }
  const m = Object.fromEntries(variants.map((v) => [v, { ms: median(samples[v]!.ms), cpu: median(samples[v]!.cpu), rss: median(samples[v]!.rss) }]));
  // Wall time, and CPU time of the process (less disturbed by other jobs on a shared machine).
  const ratio = (a: string, b: string) => `${(m[a]!.ms / m[b]!.ms).toFixed(2)} wall, ${(m[a]!.cpu / m[b]!.cpu).toFixed(2)} CPU`;
  console.log(`synth of ${count} workloads (median of ${runs}, node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
  for (const v of variants) {
    const s = samples[v]!;
    console.log(`  ${v.padEnd(20)} ${(m[v]!.ms / 1000).toFixed(2).padStart(6)} s wall ${(m[v]!.cpu / 1000).toFixed(2).padStart(6)} s CPU  ${m[v]!.rss.toFixed(0).padStart(4)} MiB  ${String(s.objects).padStart(5)} objects ${(s.bytes / 2 ** 20).toFixed(2).padStart(5)} MiB YAML  wall [${s.ms.map((x) => (x / 1000).toFixed(2)).join(' ')}]`);
  }
  console.log(`  ratio cleanimg / cdk8s-plus-28:            ${ratio('cleanimg', 'cdk8s-plus-28')}  (goal <= 1.0)`);
  console.log(`  ratio cleanimg / apiobject:                ${ratio('cleanimg', 'apiobject')}  (minimal objects: no security context, probes or resources)`);
  console.log(`  ratio cleanimg / apiobject-same:           ${ratio('cleanimg', 'apiobject-same')}  (the same objects as plain ApiObjects, written by cdk8s's YAML writer; goal <= 1.3)`);
  console.log(`  ratio cleanimg-cdk8s-yaml / cdk8s-plus-28: ${ratio('cleanimg-cdk8s-yaml', 'cdk8s-plus-28')}  (both with cdk8s's YAML writer)`);
  console.log(`  ratio cleanimg-cdk8s-yaml / apiobject-same: ${ratio('cleanimg-cdk8s-yaml', 'apiobject-same')}  (the library's overhead with the same writer)`);
}
