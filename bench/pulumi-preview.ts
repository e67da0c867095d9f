/**
 * Benchmark: `pulumi preview` of the example stack (examples/pulumi: the scenarios with cleanimg's
 * Pulumi face) against the same stack written with raw `@pulumi/kubernetes` resources, with the real
 * CLI, Node.js language host and Kubernetes provider of the end-to-end tier, against its API server
 * (etcd + kube-apiserver on 127.0.0.1; the provider dry-runs every object on the server).
 *
 *   npm run build && npx tsx bench/pulumi-preview.ts [RUNS=3]
 *
 * The raw stack registers the very Kubernetes resources the face registers (type, name and inputs
 * recorded from the face under mocks, in this process), in the same order, without the components
 * and without dependsOn. Both programs run the same way (Node.js language host, `--import tsx`).
 * Each preview runs on a fresh stack of a throwaway file backend; runs are interleaved; prints wall
 * times, medians and the ratio. Needs the tools of test/e2e/provision.sh ($CLEANIMG_TOOLS).
 */
import * as pulumi from '@pulumi/pulumi';
import { buildSync } from 'esbuild';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployExamples } from '../examples/pulumi/program';
import { startCluster } from '../test/e2e/support/cluster';
import { pulumiWorkspace, REPO } from '../test/e2e/support/pulumi';

const RUNS = Number(process.argv[2] ?? 3);

interface Registered { type: string; name: string; inputs: Record<string, unknown> }

/** The Kubernetes resources the example program registers, read through mocks. */
async function recordFaceResources(): Promise<Registered[]> {
  const out: Registered[] = [];
  pulumi.runtime.setMocks({
    newResource: (a) => {
      if (a.type.startsWith('kubernetes:')) out.push({ type: a.type, name: a.name, inputs: a.inputs });
      return { id: `${a.name}-id`, state: a.inputs };
    },
    call: (a) => a.inputs,
  }, 'bench', 'bench', false);
  const stack = deployExamples();
  const all = [...Object.values(stack.deployments).map((d) => d.workload), ...Object.values(stack.namespaces).map((n) => n.namespace)];
  await Promise.all(all.map((r) => new Promise<void>((resolve) => pulumi.all([r.urn, r.id]).apply(() => resolve()))));
  await new Promise((r) => setTimeout(r, 200));
  return out;
}

/**
 * A JavaScript project: the repository's packages, and `cleanimg` itself (its compiled lib/), are
 * linked into its node_modules, so that both programs load the same @pulumi/pulumi.
 */
function project(dir: string, name: string, program: string): string {
  const p = join(dir, name);
  mkdirSync(join(p, 'node_modules'), { recursive: true });
  for (const entry of readdirSync(join(REPO, 'node_modules'))) {
    if (!entry.startsWith('.')) symlinkSync(join(REPO, 'node_modules', entry), join(p, 'node_modules', entry));
  }
  symlinkSync(REPO, join(p, 'node_modules', 'cleanimg'));
  writeFileSync(join(p, 'Pulumi.yaml'), `name: ${name}\nruntime: nodejs\nmain: index.js\n`);
  writeFileSync(join(p, 'package.json'), JSON.stringify({ name, private: true }));
  writeFileSync(join(p, 'index.js'), program);
  return p;
}

/** A program registering each recorded resource with its typed class (e.g. kubernetes:apps/v1:Deployment -> k8s.apps.v1.Deployment). */
function rawProgram(resources: Registered[]): string {
  return `const k8s = require('@pulumi/kubernetes');
const resources = ${JSON.stringify(resources)};
for (const r of resources) {
  const [, path, kind] = r.type.split(':');
  const [group, version] = path.split('/');
  const mod = k8s[group.split('.')[0]][version];
  const { apiVersion, kind: _k, ...args } = r.inputs;
  new mod[kind](r.name, args);
}
`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const resources = await recordFaceResources();
  const dir = mkdtempSync(join(tmpdir(), 'cleanimg-bench-preview-'));
  const cluster = await startCluster();
  const ws = pulumiWorkspace(cluster.kubeconfig);
  try {
    // The example program (TypeScript) bundled to one JavaScript file; cleanimg and Pulumi stay packages.
    const bundled = buildSync({
      entryPoints: [join(REPO, 'examples', 'pulumi', 'program.ts')], bundle: true, platform: 'node', format: 'cjs', write: false,
      external: ['cleanimg', 'cleanimg/*', '@pulumi/*'], logLevel: 'error',
    }).outputFiles[0]!.text;
    const face = project(dir, 'face', `${bundled}\nmodule.exports.deployExamples();\n`);
    const raw = project(dir, 'raw', rawProgram(resources));
    const times: Record<'face' | 'raw', number[]> = { face: [], raw: [] };
    const previewOnce = async (which: 'face' | 'raw', k: number) => {
      const p = which === 'face' ? face : raw;
      const stack = `run${k}`;
      const init = await ws.pulumi(['stack', 'init', stack], p);
      if (init.code !== 0) throw new Error(`stack init: ${init.stderr}`);
      const t0 = process.hrtime.bigint();
      const r = await ws.pulumi(['preview', '--stack', stack, '--diff=false'], p);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.code !== 0) throw new Error(`${which} preview failed:\n${r.stdout}\n${r.stderr}`);
      const summary = /(\d+) to create/.exec(r.stdout)?.[1];
      return { s, summary };
    };
    // warm-up (plugin start, module cache), then interleaved runs in alternating order
    const wf = await previewOnce('face', 0);
    const wr = await previewOnce('raw', 0);
    for (let k = 1; k <= RUNS; k++) {
      const order: ('face' | 'raw')[] = k % 2 ? ['face', 'raw'] : ['raw', 'face'];
      for (const which of order) times[which].push((await previewOnce(which, k)).s);
    }
    const [mf, mr] = [median(times.face), median(times.raw)];
    const kinds = [...new Set(resources.map((r) => r.type.split(':')[2]))].join(', ');
    console.log(`pulumi-preview: the example stack, ${RUNS} interleaved runs after a warm-up (wall s; node ${process.version}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
    console.log(`  face: cleanimg components (${wf.summary} resources to create, Kubernetes ones included): median ${mf.toFixed(2)} s [${times.face.map((x) => x.toFixed(2)).join(' ')}]`);
    console.log(`  raw:  the same ${resources.length} Kubernetes resources written raw (${wr.summary} to create; ${kinds}): median ${mr.toFixed(2)} s [${times.raw.map((x) => x.toFixed(2)).join(' ')}]`);
    console.log(`  ratio face/raw: ${(mf / mr).toFixed(2)}`);
  } finally {
    ws.dispose();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
