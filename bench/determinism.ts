/**
 * Determinism: the same spec and file contents give one digest, whatever the Node version, the folder
 * the inputs sit in, their mtimes, and the run.
 *
 *   npm run bench:determinism          (= npm run build && tsx bench/determinism.ts 10)
 *   npx tsx bench/determinism.ts [builds=10] [--node=22]
 *
 * Inputs (generated here, deterministic): a text config, 3 MiB of pseudo-random bytes (stored
 * segments), 2 MiB of compressible data (worker-compressed segments), a folder source with a nested
 * folder, a non-ASCII and a >100-character name, modes and owners from the spec. Two folders hold the
 * same files, written at different times (the second also `touch`ed to another mtime). Each build is
 * the real CLI (`build --base-layout <embedded base> --no-cache --json`, offline, so every run builds
 * the layer again), `builds` times per folder, under this Node and under Node 22 (`npx -p node@22`).
 * Prints every distinct manifest and layer digest with its count; exits 1 unless there is exactly one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const builds = Number(args.find((a) => /^\d+$/.test(a)) ?? 10);
const otherNode = args.find((a) => a.startsWith('--node='))?.split('=')[1] ?? '22';
const cli = join(__dirname, '..', 'lib', 'cli', 'bin.js');
const work = mkdtempSync(join(tmpdir(), 'cleanimg-bench-determinism-'));

function prng(bytes: number, seed: string): Buffer {
  const out = Buffer.alloc(bytes);
  let h = createHash('sha256').update(seed).digest();
  for (let o = 0; o < bytes; o += 32) {
    h.copy(out, o);
    h = createHash('sha256').update(h).digest();
  }
  return out;
}

function writeInputs(dir: string, baseRef: string): void {
  mkdirSync(join(dir, 'conf'), { recursive: true });
  mkdirSync(join(dir, 'tree', 'nested'), { recursive: true });
  writeFileSync(join(dir, 'conf', 'app.conf'), 'listen = 8080\nworkers = 4\n'.repeat(2000));
  writeFileSync(join(dir, 'blob.bin'), prng(3 << 20, 'cleanimg-determinism'));
  writeFileSync(join(dir, 'tree', 'text.log'), Buffer.from(Array.from({ length: 40_000 }, (_, i) => `${i} INFO request served in ${(i * 7919) % 1000} ms\n`).join('')).subarray(0, 2 << 20));
  writeFileSync(join(dir, 'tree', 'nested', 'données.txt'), 'non-ASCII name\n');
  writeFileSync(join(dir, 'tree', 'nested', `${'long-name-'.repeat(11)}.txt`), 'a name longer than 100 characters\n');
  writeFileSync(
    join(dir, 'spec.yaml'),
    [
      `base_image: "${baseRef}"`,
      'arch: amd64',
      'variant: prod',
      'copy_files:',
      '  - source: conf/app.conf',
      '    destination: /etc/app/app.conf',
      '    mode: "0640"',
      '    owner: "0:65532"',
      '  - source: blob.bin',
      '    destination: /usr/local/lib/app/blob.bin',
      '  - source: tree',
      '    destination: /opt/app/tree',
      '    owner: "65532:65532"',
      'labels:',
      '  org.example.team: platform',
    ].join('\n') + '\n',
  );
}

function main(): void {
  const layout = join(work, 'base');
  const base = JSON.parse(execFileSync(process.execPath, [cli, 'base', '--output-layout', layout, '--json'], { encoding: 'utf8' })) as { ref: string };
  const folders = [join(work, 'a'), join(work, 'elsewhere', 'b')];
  writeInputs(folders[0]!, base.ref);
  cpSync(folders[0]!, folders[1]!, { recursive: true });
  const past = new Date('2001-02-03T04:05:06Z');
  for (const f of ['conf/app.conf', 'blob.bin', 'tree/text.log']) utimesSync(join(folders[1]!, f), past, past);

  const node22 = spawnSync('npx', ['-y', '-p', `node@${otherNode}`, 'node', '--version'], { encoding: 'utf8' });
  if (node22.status !== 0) throw new Error(`npx -p node@${otherNode} failed: ${node22.stderr}`);
  const runners: { name: string; cmd: string; pre: string[] }[] = [
    { name: `node ${process.version}`, cmd: process.execPath, pre: [] },
    { name: `node ${node22.stdout.trim()}`, cmd: 'npx', pre: ['-y', '-p', `node@${otherNode}`, 'node'] },
  ];
  const digests = new Map<string, number>();
  const layers = new Map<string, number>();
  const rows: string[] = [];
  const t0 = Date.now();
  for (const r of runners) {
    for (const [fi, folder] of folders.entries()) {
      const seen = new Set<string>();
      for (let i = 0; i < builds; i++) {
        const out = execFileSync(r.cmd, [...r.pre, cli, 'build', '--spec', join(folder, 'spec.yaml'), '--tag', 'bench.local/determinism:1', '--base-layout', layout, '--no-cache', '--json'], {
          encoding: 'utf8',
          env: { ...process.env, SOURCE_DATE_EPOCH: '' },
        });
        const j = JSON.parse(out) as { digest: string; layer: { digest: string; entries: number } };
        digests.set(j.digest, (digests.get(j.digest) ?? 0) + 1);
        layers.set(j.layer.digest, (layers.get(j.layer.digest) ?? 0) + 1);
        seen.add(j.digest);
      }
      rows.push(`  ${r.name.padEnd(16)} folder ${fi === 0 ? 'a' : 'b (other path, old mtimes)'}: ${builds} builds -> ${[...seen].join(', ')}`);
    }
  }
  console.log(`Determinism: ${builds} builds x ${runners.length} Node versions x ${folders.length} folders (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  for (const row of rows) console.log(row);
  console.log(`distinct manifest digests: ${digests.size} ${JSON.stringify(Object.fromEntries(digests))}`);
  console.log(`distinct layer digests: ${layers.size} ${JSON.stringify(Object.fromEntries(layers))}`);
  if (digests.size !== 1 || layers.size !== 1) process.exitCode = 1;
}

try {
  main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
