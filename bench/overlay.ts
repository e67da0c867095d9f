/**
 * Overlay benchmark: `cleanimg-customize build --push` (the real CLI, a child process) against
 * `skopeo copy` pushing the same image from an OCI layout, on a real registry (Debian's docker-registry
 * on 127.0.0.1). Runs are interleaved (ours, skopeo, ours, ...) and medians printed with ratios.
 *
 *   npm run build && npx tsx bench/overlay.ts [runs=5] [--big-mib=2048] [--skip-big]
 *
 * Cases: 50 MiB of added files (10 x 5 MiB), random (incompressible) or compressible (text- and
 * binary-like), on a 5 MiB and a 500 MiB base.
 * - cold: a fresh repository that already holds the base layers (mounted into it, untimed) and an empty
 *   layer cache, so the layer is built and its bytes uploaded. Anchor: `skopeo copy --dest-tls-verify=false
 *   oci:LAYOUT:TAG docker://...` of our own --output-layout result into such a repository (only the new
 *   layer and the config go up). After each run the new layer is unlinked from every repository
 *   (DELETE), so no tool can mount it from an earlier run.
 * - repeat: the same command again (warm cache for us; skopeo's own re-push).
 * - `node lib/cli/main.js --version` against `node -e 0`: start-up cost.
 * - big: one file of --big-mib MiB (random), build --push; peak RSS of the CLI child (/usr/bin/time).
 * Wall time, bytes uploaded (the CLI's --json `bytesUploaded`) and peak RSS (/usr/bin/time %M) per run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushBaseImage, type PushedImage } from '../test/support/base-image';
import { startRegistry, type TestRegistry } from '../test/support/registry';

const args = process.argv.slice(2);
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 5);
const bigMiB = Number(args.find((a) => a.startsWith('--big-mib='))?.split('=')[1] ?? 2048);
const skipBig = args.includes('--skip-big');
const largeBaseMiB = Number(args.find((a) => a.startsWith('--large-base-mib='))?.split('=')[1] ?? 500);
const cli = join(__dirname, '..', 'lib', 'cli', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'cleanimg-bench-overlay-'));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

interface Sample {
  s: number;
  rssMiB: number;
  out: string;
}

/** Runs a command under /usr/bin/time; wall time measured here, peak RSS from time's %M. */
function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Sample {
  const rssFile = join(work, 'rss');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', rssFile, cmd, ...argv], { encoding: 'utf8', env, maxBuffer: 1 << 28 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  const rss = Number(execFileSync('cat', [rssFile], { encoding: 'utf8' }).trim().split('\n').at(-1)) / 1024;
  return { s, rssMiB: rss, out: r.stdout };
}

/** A deterministic pseudo-random generator (xorshift32), for compressible content with some variety. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const WORDS = 'the of and to in is for on that with as by at from this be are or an it not config server request value error table index user data time file log debug info warn cache layer image push build digest registry manifest'.split(' ');

/** Text like logs or source code: words, numbers, punctuation, newlines (compresses ~3-4x). */
function textLike(bytes: number, seed: number): Buffer {
  const r = rng(seed);
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const words = 4 + (r() % 10);
    let line = `${(r() % 100000).toString().padStart(5, '0')} ${['INFO', 'DEBUG', 'WARN'][r() % 3]}`;
    for (let i = 0; i < words; i++) line += ' ' + WORDS[r() % WORDS.length] + (r() % 5 === 0 ? `=${r() % 10000}` : '');
    line += '\n';
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

/** Machine-code-like bytes: short opcodes from a small alphabet, zero runs, some random operands (~2x). */
function binaryLike(bytes: number, seed: number): Buffer {
  const r = rng(seed);
  const b = Buffer.alloc(bytes);
  const ops = Array.from({ length: 48 }, () => randomBytes(1 + (r() % 6)));
  let i = 0;
  while (i < bytes) {
    const k = r() % 10;
    if (k < 6) {
      const op = ops[r() % ops.length]!;
      op.copy(b, i);
      i += op.length;
    } else if (k < 8) {
      b.writeUInt32LE(r() & 0xffff, Math.min(i, bytes - 4));
      i += 4;
    } else {
      i += r() % 24; // zeros
    }
  }
  return b;
}

async function writeRandom(file: string, mib: number): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < mib; i++) if (!out.write(randomBytes(1 << 20))) await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

function spec(dir: string, name: string, base: PushedImage, files: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, [`base_image: "${base.ref}"`, 'arch: amd64', 'variant: prod', 'copy_files:', ...files.flatMap((f) => [`  - source: ${f}`, `    destination: /opt/payload/${f}`])].join('\n') + '\n');
  return p;
}

async function registryFetch(reg: TestRegistry, method: string, path: string): Promise<Response> {
  const res = await fetch(`${reg.url}${path}`, { method });
  (res as Response & { text_?: string }).text_ = await res.text();
  return res;
}

/** Mount the base's layers into `repo` (untimed set-up: "a repository that already holds the base layers"). */
async function seedBase(reg: TestRegistry, base: PushedImage, layers: string[], repo: string): Promise<void> {
  for (const d of layers) {
    const res = await registryFetch(reg, 'POST', `/v2/${repo}/blobs/uploads/?mount=${d}&from=${base.repository}`);
    if (res.status !== 201) throw new Error(`mount of ${d} from ${base.repository} into ${repo}: ${res.status} ${(res as Response & { text_?: string }).text_}`);
  }
}

async function unlink(reg: TestRegistry, repos: string[], digest: string): Promise<void> {
  for (const repo of repos) await registryFetch(reg, 'DELETE', `/v2/${repo}/blobs/${digest}`);
}

function baseLayers(reg: TestRegistry, base: PushedImage): string[] {
  const m = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/${base.repository}@${base.digest}`], { encoding: 'utf8' }));
  return m.layers.map((l: { digest: string }) => l.digest);
}

async function main(): Promise<void> {
  const node = process.execPath;
  const loadStart = loadavg().map((x) => x.toFixed(1)).join(' ');
  const reg = await startRegistry();
  const out: string[] = [];
  const log = (s: string) => {
    console.log(s);
    out.push(s);
  };
  try {
    console.error(`set-up: bases of 5 and ${largeBaseMiB} MiB (umoci + skopeo), payloads ...`);
    const bases = { '5 MiB': await pushBaseImage(reg, 'bench/base5', '1', { largeFileMiB: 5 }), [`${largeBaseMiB} MiB`]: await pushBaseImage(reg, `bench/base${largeBaseMiB}`, '1', { largeFileMiB: largeBaseMiB }) } as Record<string, PushedImage>;
    const layersOf = Object.fromEntries(Object.entries(bases).map(([k, b]) => [k, baseLayers(reg, b)]));

    const payloads: Record<string, string> = {};
    for (const kind of ['random', 'compressible'] as const) {
      const dir = join(work, kind);
      mkdirSync(dir);
      const files: string[] = [];
      for (let i = 0; i < 10; i++) {
        const f = `f${i}.bin`;
        const content = kind === 'random' ? randomBytes(5 << 20) : i % 2 ? binaryLike(5 << 20, i + 1) : textLike(5 << 20, i + 1);
        writeFileSync(join(dir, f), content);
        files.push(f);
      }
      payloads[kind] = dir;
      for (const [bname, b] of Object.entries(bases)) spec(dir, `spec-${bname.replace(' ', '')}.yaml`, b, files);
    }

    // Layouts for the skopeo anchor: our own --output-layout result (base layers included).
    const layouts: Record<string, string> = {};
    for (const kind of Object.keys(payloads)) {
      for (const bname of Object.keys(bases)) {
        const key = `${kind}/${bname}`;
        const l = join(work, 'layouts', kind, bname.replace(' ', ''));
        execFileSync(node, [cli, 'build', '--spec', join(payloads[kind]!, `spec-${bname.replace(' ', '')}.yaml`), '--tag', `${reg.host}/bench/layout:1`, '--output-layout', l, '--no-cache', '--json'], { encoding: 'utf8' });
        layouts[key] = l;
      }
    }

    type Row = { ours: Sample[]; oursRepeat: Sample[]; skopeo: Sample[]; skopeoRepeat: Sample[]; bytes: number[]; cacheStates: string[] };
    const rows: Record<string, Row> = {};
    const startup: { ours: number[]; node: number[] } = { ours: [], node: [] };
    for (let r = 0; r < runs; r++) {
      for (const kind of Object.keys(payloads)) {
        for (const [bname, base] of Object.entries(bases)) {
          const key = `${kind}/${bname}`;
          const row = (rows[key] ??= { ours: [], oursRepeat: [], skopeo: [], skopeoRepeat: [], bytes: [], cacheStates: [] });
          const tagBase = `bench/${kind}-${bname.replace(' ', '').toLowerCase()}-${r}`;
          const oursRepo = `${tagBase}-ours`;
          const skRepo = `${tagBase}-skopeo`;
          await seedBase(reg, base, layersOf[bname]!, oursRepo);
          await seedBase(reg, base, layersOf[bname]!, skRepo);
          const cacheDir = join(work, `cache-${r}-${kind}-${bname.replace(' ', '')}`);
          const ourArgs = [cli, 'build', '--spec', join(payloads[kind]!, `spec-${bname.replace(' ', '')}.yaml`), '--tag', `${reg.host}/${oursRepo}:1`, '--push', '--json', '--cache-dir', cacheDir];
          const skArgs = ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layouts[key]}:1`, `docker://${reg.host}/${skRepo}:1`];
          // Alternate who goes first, so neither always runs on a warmer page cache.
          const pair = (first: () => void, second: () => void) => (r % 2 ? (second(), first()) : (first(), second()));
          let layerDigest = '';
          pair(
            () => {
              const s = timed(node, ourArgs);
              const j = JSON.parse(s.out);
              row.ours.push(s);
              row.bytes.push(j.bytesUploaded);
              layerDigest = j.layer.digest;
            },
            () => row.skopeo.push(timed('skopeo', skArgs)),
          );
          pair(
            () => {
              const s = timed(node, ourArgs);
              row.oursRepeat.push(s);
              row.cacheStates.push(JSON.parse(s.out).cache);
            },
            () => row.skopeoRepeat.push(timed('skopeo', skArgs)),
          );
          await unlink(reg, [oursRepo, skRepo], layerDigest);
          rmSync(cacheDir, { recursive: true, force: true });
        }
      }
      startup.node.push(timed(node, ['-e', '0']).s);
      startup.ours.push(timed(node, [cli, '--version']).s);
    }

    const f = (x: number) => x.toFixed(2);
    log(`Machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}; load average at start ${loadStart}, at end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    log(`Overlay push: 50 MiB of added files (10 x 5 MiB), median of ${runs} interleaved runs; node ${process.version}; ${execFileSync('skopeo', ['--version'], { encoding: 'utf8' }).trim()}`);
    log('');
    log('| content | base | ours cold (s) | skopeo cold (s) | ratio | ours repeat (s) | skopeo repeat (s) | layer size (MiB) | bytes uploaded (MiB) | peak RSS ours / skopeo (MiB) |');
    log('|---|---|---|---|---|---|---|---|---|---|');
    for (const [key, row] of Object.entries(rows)) {
      const [kind, bname] = key.split('/');
      const oc = median(row.ours.map((x) => x.s));
      const sc = median(row.skopeo.map((x) => x.s));
      const layerMiB = JSON.parse(row.ours[0]!.out).layer.size / 2 ** 20;
      log(`| ${kind} | ${bname} | ${f(oc)} | ${f(sc)} | ${f(oc / sc)} | ${f(median(row.oursRepeat.map((x) => x.s)))} | ${f(median(row.skopeoRepeat.map((x) => x.s)))} | ${layerMiB.toFixed(1)} | ${(median(row.bytes) / 2 ** 20).toFixed(1)} | ${median(row.ours.map((x) => x.rssMiB)).toFixed(0)} / ${median(row.skopeo.map((x) => x.rssMiB)).toFixed(0)} |`);
      if (row.cacheStates.some((c) => c !== 'hit')) log(`  (warning: repeat runs of ${key} were not cache hits: ${row.cacheStates.join(',')})`);
    }
    log('');
    log(`Start-up: \`node lib/cli/main.js --version\` ${f(median(startup.ours))} s; \`node -e 0\` ${f(median(startup.node))} s (medians).`);

    if (!skipBig) {
      const dir = join(work, 'big');
      mkdirSync(dir);
      console.error(`set-up: a ${bigMiB} MiB random file ...`);
      await writeRandom(join(dir, 'big.bin'), bigMiB);
      const sp = spec(dir, 'spec.yaml', bases['5 MiB']!, ['big.bin']);
      const s = timed(node, [cli, 'build', '--spec', sp, '--tag', `${reg.host}/bench/big:1`, '--push', '--json', '--cache-dir', join(work, 'cache-big')]);
      const j = JSON.parse(s.out);
      const again = timed(node, [cli, 'build', '--spec', sp, '--tag', `${reg.host}/bench/big:1`, '--push', '--json', '--cache-dir', join(work, 'cache-big')]);
      log('');
      log(`Big file: ${bigMiB} MiB random, build --push: ${f(s.s)} s, peak RSS ${s.rssMiB.toFixed(0)} MiB, uploaded ${(j.bytesUploaded / 2 ** 20).toFixed(0)} MiB; repeat (cache ${JSON.parse(again.out).cache}): ${f(again.s)} s, peak RSS ${again.rssMiB.toFixed(0)} MiB.`);
    }
  } finally {
    await reg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
