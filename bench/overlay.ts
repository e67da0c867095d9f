/**
 * Overlay benchmark: `cleanimg-customize build --push` (the real CLI, a child process) against three
 * anchors, on a real registry (Debian's docker-registry on 127.0.0.1, plain HTTP). Runs are
 * interleaved (the order of the tools rotates every run); medians and ratios are printed.
 *
 *   npm run build && npx tsx bench/overlay.ts [runs=3] [--gib] [--big-mib=2048] [--skip-big] [--large-base-mib=500] [--only=1k,50r,50c] [--no-extra-ca]
 *
 * --no-extra-ca runs every tool without NODE_EXTRA_CA_CERTS: when it is set (this machine sets it for
 * every process), Node parses that file before any JavaScript runs, about 0.09 s here, which a Go
 * binary does not pay. The report prints `node -e 0` with and without it either way.
 *
 * Payloads: 1 KiB (one text file), 50 MiB random (10 x 5 MiB, incompressible: stored), 50 MiB
 * compressible (text- and machine-code-like), and with --gib 1 GiB random (one run, it is slow); each
 * onto a 5 MiB and a --large-base-mib (500) MiB base, added under /opt/payload.
 *
 * Tools, each into a fresh repository that already holds the base layers (mounted in, untimed), so
 * that every tool only has to send the new layer, its config and manifest:
 * - ours: `build --push --json` with an empty layer cache (cold: inputs checked and hashed, layer built,
 *   uploaded while built), then the same command again (repeat: warm cache, one manifest HEAD).
 * - skopeo copy: `skopeo copy oci:LAYOUT:1 docker://…` of our own --output-layout result: it only
 *   uploads an already-built layer (no tar, no compression): the "skopeo pushing the same new
 *   layer". Repeat: the same copy again.
 * - crane append: `crane append -b BASE@digest -f payload.tar -t …` (go-containerregistry v0.22.1; it
 *   gzips the tar at level 1, computing the digest before the upload). The tar is made beforehand
 *   (untimed: `tar --sort=name --mtime=@0 --owner=0 --group=0`). Repeat: the same command again.
 * - skopeo + umoci: the daemonless pipeline without our tool: `skopeo copy docker://BASE@digest
 *   oci:DIR:base` (downloads the base's layers), `umoci insert --rootless` of the payload folder (umoci
 *   builds and gzips the layer), `skopeo copy oci:DIR:base docker://…`; the sum is timed. umoci insert
 *   rather than unpack + repack: repack needs the whole base unpacked first, which only adds base-size
 *   dependent time to the anchor. Repeat: the last skopeo copy again.
 * After each run the new blobs are unlinked from every repository (DELETE), so nothing can be mounted
 * from an earlier run. Before ours runs, the inputs are left unchanged for the layer cache's racy
 * window (umoci insert --rootless touches their ctime; see settleInputs), untimed.
 *
 * Measured: wall time (spawn to exit); CPU time (user + system of the process tree, /usr/bin/time):
 * on a shared machine it is inflated much less than wall time by other jobs; bytes sent = the size of the blobs the run added to its
 * repository (read from the registry's storage; base layers were there before), plus for skopeo + umoci
 * the base bytes it downloaded; peak RSS (/usr/bin/time %M; the largest step of a pipeline).
 * Also: start-up (`--version`, `build --help`) and a big file (--big-mib, default 2048) for memory.
 *
 * Printed from the same runs: ours / crane append as the median of the per-run ratios (each run's two
 * cold times come from the same interleaved slot, so a burst of other load hits both less unevenly than
 * a ratio of medians); and the fixed cost of a run, i.e. everything but the payload: the 1 KiB cold
 * build --push minus `node -e 0` timed right before it, with the compile cache as it is after any
 * earlier run (src/cli/compile-cache.ts) and, into a fresh repository, with CLEANIMG_NO_COMPILE_CACHE=1
 * (a machine's first run).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RACY_MS } from '../src/customize/cache';
import { pushBaseImage, type PushedImage } from '../test/support/base-image';
import { startRegistry, type TestRegistry } from '../test/support/registry';

const args = process.argv.slice(2);
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 3);
const withGiB = args.includes('--gib');
const bigMiB = Number(args.find((a) => a.startsWith('--big-mib='))?.split('=')[1] ?? 2048);
const skipBig = args.includes('--skip-big');
const largeBaseMiB = Number(args.find((a) => a.startsWith('--large-base-mib='))?.split('=')[1] ?? 500);
const only = args.find((a) => a.startsWith('--only='))?.split('=')[1]?.split(',');
if (args.includes('--no-extra-ca')) delete process.env['NODE_EXTRA_CA_CERTS'];
const crane = process.env['CRANE'] ?? '/root/.cache/cleanimg-tools/crane-v0.22.1/crane';
const cli = join(__dirname, '..', 'lib', 'cli', 'bin.js');
const work = mkdtempSync(join(tmpdir(), 'cleanimg-bench-overlay-'));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

interface Sample {
  s: number;
  /** CPU seconds (user + system) of the command and its children: less sensitive to other load than wall time. */
  cpu: number;
  rssMiB: number;
  out: string;
}

/** Runs a command under /usr/bin/time; wall time measured here, peak RSS (%M) and CPU time (%U + %S) from time. */
function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Sample {
  const rssFile = join(work, 'rss');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', '-o', rssFile, cmd, ...argv], { encoding: 'utf8', env, maxBuffer: 1 << 28 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [m, u, sys] = execFileSync('cat', [rssFile], { encoding: 'utf8' }).trim().split('\n').at(-1)!.split(' ').map(Number);
  return { s, cpu: u! + sys!, rssMiB: m! / 1024, out: r.stdout };
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

async function writeRandomFile(file: string, mib: number): Promise<void> {
  await writeRandom(file, mib);
}

interface Payload {
  key: string;
  label: string;
  dir: string;
  files: string[];
  /** A tar of the files under opt/payload/ for crane. */
  tar: string;
  runs: number;
}

function stage(p: Omit<Payload, 'tar'>): Payload {
  // crane appends a tarball: the same files under opt/payload/, made with GNU tar's reproducible flags.
  // Copies, not hard links: a source with two links is refused by our input checks (INPUT014).
  const st = join(work, 'stage', p.key, 'opt', 'payload');
  mkdirSync(st, { recursive: true });
  for (const f of p.files) copyFileSync(join(p.dir, f), join(st, f));
  const tar = join(work, `${p.key}.tar`);
  execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', join(work, 'stage', p.key), '-cf', tar, 'opt']);
  rmSync(join(work, 'stage', p.key), { recursive: true, force: true });
  return { ...p, tar };
}

/**
 * `umoci insert --rootless` chmods its source files for a moment, which moves their ctime. Our layer
 * cache trusts a file's stat record only when the file had not changed for RACY_MS when it was hashed
 * (src/customize/cache.ts), so a cold run right after umoci's would make the repeat hash the files
 * again: a measurement of umoci's side effect, not of an unchanged image. Wait (untimed) until the
 * inputs are older than that.
 */
async function settleInputs(p: Payload): Promise<void> {
  const newest = Math.max(...p.files.map((f) => statSync(join(p.dir, f)).ctimeMs));
  const wait = newest + RACY_MS + 200 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

function specFile(p: Payload, base: PushedImage, bname: string): string {
  const f = join(p.dir, `spec-${bname}.yaml`);
  writeFileSync(f, [`base_image: "${base.ref}"`, 'arch: amd64', 'variant: prod', 'copy_files:', ...p.files.flatMap((x) => [`  - source: ${x}`, `    destination: /opt/payload/${x}`])].join('\n') + '\n');
  return f;
}

async function registryFetch(reg: TestRegistry, method: string, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${reg.url}${path}`, { method });
  return { status: res.status, text: await res.text() };
}

/** Mount the base's layers into `repo` (untimed set-up). */
async function seedBase(reg: TestRegistry, base: PushedImage, layers: string[], repo: string): Promise<void> {
  for (const d of layers) {
    const res = await registryFetch(reg, 'POST', `/v2/${repo}/blobs/uploads/?mount=${d}&from=${base.repository}`);
    if (res.status !== 201) throw new Error(`mount of ${d} from ${base.repository} into ${repo}: ${res.status} ${res.text}`);
  }
}

function baseLayers(reg: TestRegistry, base: PushedImage): string[] {
  const m = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/${base.repository}@${base.digest}`], { encoding: 'utf8' }));
  return m.layers.map((l: { digest: string }) => l.digest);
}

/** Blobs linked into a repository, from the registry's storage: digest -> size. */
function linked(reg: TestRegistry, repo: string): Map<string, number> {
  const root = join(reg.dir, 'data', 'docker', 'registry', 'v2');
  const dir = join(root, 'repositories', repo, '_layers', 'sha256');
  const out = new Map<string, number>();
  if (!existsSync(dir)) return out;
  for (const hex of readdirSync(dir)) {
    const data = join(root, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    out.set(`sha256:${hex}`, existsSync(data) ? statSync(data).size : 0);
  }
  return out;
}

interface Tool {
  name: string;
  /** Set up (untimed), then return the timed cold and repeat steps. */
  cold: (c: Ctx) => Sample;
  repeat: (c: Ctx) => Sample;
}

interface Ctx {
  reg: TestRegistry;
  payload: Payload;
  base: PushedImage;
  bname: string;
  repo: string;
  run: number;
  scratch: string;
  layout: string;
}

/** Several timed steps as one sample: times add up, RSS is the largest. */
function chain(steps: (() => Sample)[]): Sample {
  let s = 0;
  let cpu = 0;
  let rss = 0;
  let out = '';
  for (const step of steps) {
    const r = step();
    s += r.s;
    cpu += r.cpu;
    rss = Math.max(rss, r.rssMiB);
    out = r.out;
  }
  return { s, cpu, rssMiB: rss, out };
}

const node = process.execPath;
const TOOLS: Tool[] = [
  {
    name: 'ours',
    cold: (c) => timed(node, [cli, 'build', '--spec', specFile(c.payload, c.base, c.bname), '--tag', `${c.reg.host}/${c.repo}:1`, '--push', '--json', '--cache-dir', join(c.scratch, 'cache')]),
    repeat: (c) => timed(node, [cli, 'build', '--spec', specFile(c.payload, c.base, c.bname), '--tag', `${c.reg.host}/${c.repo}:1`, '--push', '--json', '--cache-dir', join(c.scratch, 'cache')]),
  },
  {
    name: 'skopeo copy',
    cold: (c) => timed('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${c.layout}:1`, `docker://${c.reg.host}/${c.repo}:1`]),
    repeat: (c) => timed('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${c.layout}:1`, `docker://${c.reg.host}/${c.repo}:1`]),
  },
  {
    name: 'crane append',
    cold: (c) => timed(crane, ['append', '--insecure', '-b', `${c.reg.host}/${c.base.repository}@${c.base.digest}`, '-f', c.payload.tar, '-t', `${c.reg.host}/${c.repo}:1`]),
    repeat: (c) => timed(crane, ['append', '--insecure', '-b', `${c.reg.host}/${c.base.repository}@${c.base.digest}`, '-f', c.payload.tar, '-t', `${c.reg.host}/${c.repo}:1`]),
  },
  {
    name: 'skopeo+umoci',
    cold: (c) => {
      const l = join(c.scratch, 'umoci-layout');
      return chain([
        () => timed('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${c.reg.host}/${c.base.repository}@${c.base.digest}`, `oci:${l}:base`]),
        () => timed('umoci', ['insert', '--rootless', '--image', `${l}:base`, c.payload.dir, '/opt/payload']),
        () => timed('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${l}:base`, `docker://${c.reg.host}/${c.repo}:1`]),
      ]);
    },
    repeat: (c) => timed('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${join(c.scratch, 'umoci-layout')}:base`, `docker://${c.reg.host}/${c.repo}:1`]),
  },
];

interface Cell {
  cold: number[];
  repeat: number[];
  coldCpu: number[];
  repeatCpu: number[];
  bytes: number[];
  rss: number[];
  notes: Set<string>;
}

async function main(): Promise<void> {
  const loadStart = loadavg().map((x) => x.toFixed(1)).join(' ');
  const reg = await startRegistry();
  const out: string[] = [];
  const log = (s: string) => {
    console.log(s);
    out.push(s);
  };
  try {
    console.error(`set-up: bases of 5 and ${largeBaseMiB} MiB (umoci + skopeo), payloads ...`);
    const bases: Record<string, PushedImage> = {
      '5MiB': await pushBaseImage(reg, 'bench/base5', '1', { largeFileMiB: 5 }),
      [`${largeBaseMiB}MiB`]: await pushBaseImage(reg, `bench/base${largeBaseMiB}`, '1', { largeFileMiB: largeBaseMiB }),
    };
    const layersOf = Object.fromEntries(Object.entries(bases).map(([k, b]) => [k, baseLayers(reg, b)]));
    const baseBytes = Object.fromEntries(Object.entries(bases).map(([k, b]) => [k, [...linked(reg, b.repository).values()].reduce((a, x) => a + x, 0)]));

    const payloads: Payload[] = [];
    const want = (k: string) => !only || only.includes(k);
    if (want('1k')) {
      const dir = join(work, 'p1k');
      mkdirSync(dir);
      writeFileSync(join(dir, 'app.conf'), textLike(1024, 7));
      payloads.push(stage({ key: '1k', label: '1 KiB', dir, files: ['app.conf'], runs }));
    }
    for (const kind of ['random', 'compressible'] as const) {
      const key = kind === 'random' ? '50r' : '50c';
      if (!want(key)) continue;
      const dir = join(work, `p${key}`);
      mkdirSync(dir);
      const files: string[] = [];
      for (let i = 0; i < 10; i++) {
        const f = `f${i}.bin`;
        writeFileSync(join(dir, f), kind === 'random' ? randomBytes(5 << 20) : i % 2 ? binaryLike(5 << 20, i + 1) : textLike(5 << 20, i + 1));
        files.push(f);
      }
      payloads.push(stage({ key, label: `50 MiB ${kind}`, dir, files, runs }));
    }
    if (withGiB) {
      const dir = join(work, 'p1g');
      mkdirSync(dir);
      await writeRandomFile(join(dir, 'big.bin'), 1024);
      await new Promise((r) => setTimeout(r, 2500)); // past the cache's racy window, see below
      payloads.push(stage({ key: '1g', label: '1 GiB random', dir, files: ['big.bin'], runs: 1 }));
    }

    // Layouts for the skopeo-copy anchor: our own --output-layout result (untimed).
    const layouts: Record<string, string> = {};
    for (const p of payloads) {
      for (const [bname, base] of Object.entries(bases)) {
        const l = join(work, 'layouts', p.key, bname);
        execFileSync(node, [cli, 'build', '--spec', specFile(p, base, bname), '--tag', `${reg.host}/bench/layout:1`, '--output-layout', l, '--no-cache', '--json'], { encoding: 'utf8' });
        layouts[`${p.key}/${bname}`] = l;
      }
    }

    const cells = new Map<string, Cell>();
    const cell = (k: string): Cell => {
      let c = cells.get(k);
      if (!c) cells.set(k, (c = { cold: [], repeat: [], coldCpu: [], repeatCpu: [], bytes: [], rss: [], notes: new Set() }));
      return c;
    };
    const startup: { version: number[]; help: number[]; node: number[]; versionCpu: number[]; nodeCpu: number[]; nodeNoExtraCa: number[] } = { version: [], help: [], node: [], versionCpu: [], nodeCpu: [], nodeNoExtraCa: [] };
    /** Per run and base: ours cold / crane append cold, from the same interleaved run. */
    const ratios = new Map<string, number[]>();
    /** The fixed cost: ours cold on the 1 KiB payload minus `node -e 0` timed right before it (same slot), with and without the compile cache. */
    const fixed: { warm: number[]; cold: number[]; warmCpu: number[]; coldCpu: number[]; node: number[] } = { warm: [], cold: [], warmCpu: [], coldCpu: [], node: [] };
    let seq = 0;
    for (let r = 0; r < runs; r++) {
      for (const p of payloads) {
        if (r >= p.runs) continue;
        for (const [bname, base] of Object.entries(bases)) {
          const order = TOOLS.map((_, i) => TOOLS[(i + r + seq) % TOOLS.length]!);
          seq++;
          const repos: string[] = [];
          const added = new Set<string>();
          for (const tool of order) {
            const slug = tool.name.replace(/[^a-z]+/g, '-');
            const repo = `bench/${p.key}-${bname.toLowerCase()}-${r}-${slug}`;
            repos.push(repo);
            await seedBase(reg, base, layersOf[bname]!, repo);
            const scratch = join(work, 'scratch', `${p.key}-${bname}-${r}-${slug}`);
            mkdirSync(scratch, { recursive: true });
            const ctx: Ctx = { reg, payload: p, base, bname, repo, run: r, scratch, layout: layouts[`${p.key}/${bname}`]! };
            const before = linked(reg, repo);
            if (tool.name === 'ours') await settleInputs(p);
            console.error(`run ${r + 1}/${runs} ${p.label} on ${bname}: ${tool.name} ...`);
            const n0 = tool.name === 'ours' && p.key === '1k' ? timed(node, ['-e', '0']) : undefined;
            const cold = tool.cold(ctx);
            if (n0) {
              // The same build into a fresh repository without the compile cache (src/cli/compile-cache.ts):
              // what a first run on a machine costs. Untimed in the table; reported with the fixed cost.
              const repoNoCache = `${repo}-nocc`;
              await seedBase(reg, base, layersOf[bname]!, repoNoCache);
              const nocc = timed(node, [cli, 'build', '--spec', specFile(p, base, bname), '--tag', `${reg.host}/${repoNoCache}:1`, '--push', '--json', '--cache-dir', join(scratch, 'cache-nocc')], { ...process.env, CLEANIMG_NO_COMPILE_CACHE: '1' });
              repos.push(repoNoCache);
              fixed.node.push(n0.s);
              fixed.warm.push(cold.s - n0.s);
              fixed.warmCpu.push(cold.cpu - n0.cpu);
              fixed.cold.push(nocc.s - n0.s);
              fixed.coldCpu.push(nocc.cpu - n0.cpu);
              for (const [d] of linked(reg, repoNoCache)) added.add(d);
            }
            const after = linked(reg, repo);
            let bytes = 0;
            for (const [d, size] of after) {
              if (!before.has(d)) {
                bytes += size;
                added.add(d);
              }
            }
            if (tool.name === 'skopeo+umoci') bytes += baseBytes[bname]!; // it downloads the base first
            const repeat = tool.repeat(ctx);
            const c = cell(`${p.key}/${bname}/${tool.name}`);
            c.cold.push(cold.s);
            c.repeat.push(repeat.s);
            c.coldCpu.push(cold.cpu);
            c.repeatCpu.push(repeat.cpu);
            c.bytes.push(bytes);
            c.rss.push(cold.rssMiB);
            if (tool.name === 'ours' || tool.name === 'crane append') {
              const k = `${p.key}/${bname}/${r}`;
              const pair = ratios.get(k) ?? [];
              pair[tool.name === 'ours' ? 0 : 1] = cold.s;
              ratios.set(k, pair);
            }
            if (tool.name === 'ours') {
              const j = JSON.parse(cold.out);
              if (j.bytesUploaded !== bytes - 0 && Math.abs(j.bytesUploaded - bytes) > 4096) c.notes.add(`bytesUploaded ${j.bytesUploaded} vs registry ${bytes}`);
              const jr = JSON.parse(repeat.out);
              if (jr.cache !== 'hit' || !jr.upToDate) c.notes.add(`repeat: cache ${jr.cache}, upToDate ${jr.upToDate}`);
            }
            rmSync(scratch, { recursive: true, force: true });
          }
          // Unlink this run's new blobs everywhere, so no later run can mount them.
          for (const d of added) for (const repo of repos) await registryFetch(reg, 'DELETE', `/v2/${repo}/blobs/${d}`);
        }
      }
      const n0 = timed(node, ['-e', '0']);
      const v0 = timed(node, [cli, '--version']);
      startup.node.push(n0.s);
      startup.nodeCpu.push(n0.cpu);
      startup.version.push(v0.s);
      startup.versionCpu.push(v0.cpu);
      startup.help.push(timed(node, [cli, 'build', '--help']).s);
      if (process.env['NODE_EXTRA_CA_CERTS']) {
        const { NODE_EXTRA_CA_CERTS: _extra, ...env } = process.env;
        startup.nodeNoExtraCa.push(timed(node, ['-e', '0'], env).s);
      }
    }

    const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
    const mib = (b: number) => (b / 2 ** 20 < 0.1 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);
    log(`Machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}; load average at start ${loadStart}, at end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    log(`Node ${process.version}; ${execFileSync('skopeo', ['--version'], { encoding: 'utf8' }).trim()}; crane ${execFileSync(crane, ['version'], { encoding: 'utf8' }).trim()}; ${execFileSync('umoci', ['--version'], { encoding: 'utf8' }).trim()}`);
    log(`Medians of ${runs} interleaved runs (1 GiB: 1 run). Times in seconds; ratio = ours / anchor (below 1: we are faster).`);
    log('');
    log('| payload | base | ours cold | skopeo copy | crane append | skopeo+umoci | ours/skopeo | ours/crane | ours/umoci | ours repeat | skopeo repeat | crane repeat |');
    log('|---|---|---|---|---|---|---|---|---|---|---|---|');
    const med = (k: string, what: keyof Pick<Cell, 'cold' | 'repeat' | 'coldCpu' | 'repeatCpu' | 'bytes' | 'rss'>) => median(cells.get(k)![what]);
    for (const p of payloads) {
      for (const bname of Object.keys(bases)) {
        const k = (t: string) => `${p.key}/${bname}/${t}`;
        if (!cells.has(k('ours'))) continue;
        const o = med(k('ours'), 'cold');
        log(`| ${p.label} | ${bname.replace('MiB', ' MiB')} | ${f(o)} | ${f(med(k('skopeo copy'), 'cold'))} | ${f(med(k('crane append'), 'cold'))} | ${f(med(k('skopeo+umoci'), 'cold'))} | ${f(o / med(k('skopeo copy'), 'cold'))} | ${f(o / med(k('crane append'), 'cold'))} | ${f(o / med(k('skopeo+umoci'), 'cold'))} | ${f(med(k('ours'), 'repeat'))} | ${f(med(k('skopeo copy'), 'repeat'))} | ${f(med(k('crane append'), 'repeat'))} |`);
      }
    }
    log('');
    log('CPU time (user + system, seconds; the same runs): less inflated by other load than wall time.');
    log('');
    log('| payload | base | ours cold | skopeo copy | crane append | skopeo+umoci | ours/skopeo | ours/crane | ours/umoci | ours repeat | skopeo repeat | crane repeat |');
    log('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const p of payloads) {
      for (const bname of Object.keys(bases)) {
        const k = (t: string) => `${p.key}/${bname}/${t}`;
        if (!cells.has(k('ours'))) continue;
        const o = med(k('ours'), 'coldCpu');
        log(`| ${p.label} | ${bname.replace('MiB', ' MiB')} | ${f(o)} | ${f(med(k('skopeo copy'), 'coldCpu'))} | ${f(med(k('crane append'), 'coldCpu'))} | ${f(med(k('skopeo+umoci'), 'coldCpu'))} | ${f(o / med(k('skopeo copy'), 'coldCpu'))} | ${f(o / med(k('crane append'), 'coldCpu'))} | ${f(o / med(k('skopeo+umoci'), 'coldCpu'))} | ${f(med(k('ours'), 'repeatCpu'))} | ${f(med(k('skopeo copy'), 'repeatCpu'))} | ${f(med(k('crane append'), 'repeatCpu'))} |`);
      }
    }
    log('');
    log('| payload | base | bytes sent: ours / skopeo copy / crane / skopeo+umoci (incl. base download) | peak RSS MiB: ours / skopeo copy / crane / skopeo+umoci |');
    log('|---|---|---|---|');
    for (const p of payloads) {
      for (const bname of Object.keys(bases)) {
        const k = (t: string) => `${p.key}/${bname}/${t}`;
        if (!cells.has(k('ours'))) continue;
        log(`| ${p.label} | ${bname.replace('MiB', ' MiB')} | ${TOOLS.map((t) => mib(med(k(t.name), 'bytes'))).join(' / ')} | ${TOOLS.map((t) => med(k(t.name), 'rss').toFixed(0)).join(' / ')} |`);
      }
    }
    for (const [k, c] of cells) if (c.notes.size) log(`  note ${k}: ${[...c.notes].join('; ')}`);
    log('');
    log('ours / crane append, cold, wall time: the median of the per-run ratios (each ratio from one interleaved run; runs in brackets).');
    for (const p of payloads) {
      for (const bname of Object.keys(bases)) {
        const rs = [...ratios.entries()].filter(([k]) => k.startsWith(`${p.key}/${bname}/`)).map(([, v]) => v[0]! / v[1]!).filter(Number.isFinite);
        if (rs.length) log(`  ${p.label} on ${bname.replace('MiB', ' MiB')}: ${f(median(rs))} [${rs.map(f).join(' ')}]`);
      }
    }
    if (fixed.warm.length) {
      log('');
      log(`Fixed cost (1 KiB build --push, cold layer cache, minus \`node -e 0\` timed just before it; medians of ${fixed.warm.length}): ${f(median(fixed.warm))} s wall, ${f(median(fixed.warmCpu))} s CPU above \`node -e 0\` (${f(median(fixed.node))} s); without the compile cache (a first run): ${f(median(fixed.cold))} s wall, ${f(median(fixed.coldCpu))} s CPU.`);
    }
    log('');
    log(`Start-up: \`node lib/cli/bin.js --version\` ${f(median(startup.version))} s (CPU ${f(median(startup.versionCpu))} s); \`build --help\` ${f(median(startup.help))} s; \`node -e 0\` ${f(median(startup.node))} s (CPU ${f(median(startup.nodeCpu))} s) (medians).`);
    if (startup.nodeNoExtraCa.length) {
      // Node reads and parses the file named by NODE_EXTRA_CA_CERTS before any JavaScript runs, in every
      // process: every run of ours pays it, crane does not, and nothing in our code can avoid it.
      log(`NODE_EXTRA_CA_CERTS is set (${process.env['NODE_EXTRA_CA_CERTS']}): \`node -e 0\` takes ${f(median(startup.node))} s with it, ${f(median(startup.nodeNoExtraCa))} s without; each of our runs above includes the difference.`);
    }

    if (!skipBig) {
      const dir = join(work, 'big');
      mkdirSync(dir);
      console.error(`set-up: a ${bigMiB} MiB random file ...`);
      await writeRandom(join(dir, 'big.bin'), bigMiB);
      // Let the file age past the layer cache's racy window (2 s), as inputs usually have: a file
      // hashed within 2 s of its last change is hashed again on the next build (cache.ts).
      await new Promise((r) => setTimeout(r, 2500));
      const p: Payload = { key: 'big', label: `${bigMiB} MiB`, dir, files: ['big.bin'], tar: '', runs: 1 };
      const sp = specFile(p, bases['5MiB']!, '5MiB');
      const a = [cli, 'build', '--spec', sp, '--tag', `${reg.host}/bench/big:1`, '--push', '--json', '--cache-dir', join(work, 'cache-big')];
      const s = timed(node, a);
      const j = JSON.parse(s.out);
      const again = timed(node, a);
      log('');
      log(`Big file: ${bigMiB} MiB random, build --push: ${f(s.s)} s (CPU ${f(s.cpu)} s), peak RSS ${s.rssMiB.toFixed(0)} MiB, uploaded ${(j.bytesUploaded / 2 ** 20).toFixed(0)} MiB; repeat (cache ${JSON.parse(again.out).cache}): ${f(again.s)} s, peak RSS ${again.rssMiB.toFixed(0)} MiB.`);
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
