/**
 * trust_ca benchmark: what finding the base's CA bundle costs. A three-layer base on a real registry
 * (Debian's docker-registry on 127.0.0.1): a big bottom layer (random data), Debian's trust store in the
 * middle layer, a small top layer. Measured, interleaved, medians of `runs`:
 *
 * - `build --push` of a spec with `trust_ca: [ca.crt]` (the real CLI, a child process, --no-cache):
 *   wall time, base bytes read (the CLI's --json `trust.bytesFetched`) against the base's size;
 * - the same build with the CA only copied (`copy_files`, which the guide does and which trusts nothing):
 *   the floor, since it reads no base layer;
 * - `skopeo copy` of the whole base to an OCI layout: what a tool that pulls the base to edit its
 *   bundle pays at least.
 *
 *   npm run build && npx tsx bench/trust-ca.ts [runs=3] [--bottom-mib=100]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushLayout } from '../test/support/base-image';
import { generateCa, startRegistry } from '../test/support/registry';
import { buildLayeredBase, debianStore, layoutLayers } from '../test/customize/trust/support';

const runs = Number(process.argv.find((a) => /^[0-9]+$/.test(a)) ?? 3);
const bottomMib = Number(process.argv.find((a) => a.startsWith('--bottom-mib='))?.split('=')[1] ?? 100);
const CLI = join(__dirname, '..', 'lib', 'cli', 'bin.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timed(cmd: string, args: string[]): { ms: number; out: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return { ms, out: r.stdout };
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'cleanimg-bench-trust-'));
  const reg = await startRegistry();
  try {
    const store = debianStore();
    const layout = join(root, 'base');
    buildLayeredBase(root, layout, 'base', [
      { files: { '/usr/bin/app': 'app\n', '/opt/big.bin': randomBytes(bottomMib << 20) } },
      { files: { '/etc/ssl/certs/ca-certificates.crt': store.bundle, ...Object.fromEntries(store.crts) }, symlinks: Object.fromEntries(store.links) },
      { files: { '/etc/app/app.conf': 'a = 1\n' } },
    ]);
    const layers = layoutLayers(layout, 'base');
    const baseSize = layers.reduce((n, l) => n + l.size, 0);
    const digest = await pushLayout(layout, 'base', reg, 'base/debian', '1');
    const ref = `${reg.host}/base/debian:1@${digest}`;
    const ca = generateCa(root, 'bench-ca');
    const dir = (name: string, body: string) => {
      const d = join(root, name);
      mkdirSync(d, { recursive: true });
      copyFileSync(ca.certFile, join(d, 'ca.crt'));
      writeFileSync(join(d, 'spec.yaml'), `base_image: "${ref}"\narch: amd64\n${body}`);
      return join(d, 'spec.yaml');
    };
    const trustSpec = dir('trust', 'trust_ca: [ca.crt]\n');
    const copySpec = dir('copy', 'copy_files: [{source: ca.crt, destination: /etc/ssl/certs/corp-ca.crt}]\n');

    const t: number[] = [];
    const c: number[] = [];
    const s: number[] = [];
    let fetched = 0;
    let layersRead: number[] = [];
    for (let i = 0; i < runs; i++) {
      const a = timed(process.execPath, [CLI, 'build', '--spec', trustSpec, '--tag', `${reg.host}/app/trust:${i}`, '--push', '--json', '--no-cache']);
      t.push(a.ms);
      const j = JSON.parse(a.out) as { trust: { bytesFetched: number; layersRead: number[] } };
      fetched = j.trust.bytesFetched;
      layersRead = j.trust.layersRead;
      c.push(timed(process.execPath, [CLI, 'build', '--spec', copySpec, '--tag', `${reg.host}/app/copy:${i}`, '--push', '--json', '--no-cache']).ms);
      const out = join(root, `pull-${i}`);
      s.push(timed('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/base/debian@${digest}`, `oci:${out}:t`]).ms);
      rmSync(out, { recursive: true, force: true });
    }
    const mt = median(t);
    const mc = median(c);
    const ms = median(s);
    console.log(`machine: ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}; ${runs} runs, medians`);
    console.log(`base: 3 layers, ${(baseSize / 2 ** 20).toFixed(1)} MiB (bottom ${(layers[0]!.size / 2 ** 20).toFixed(1)} MiB, trust store ${(layers[1]!.size / 2 ** 10).toFixed(0)} KiB, top ${layers[2]!.size} B)`);
    console.log(`trust_ca read base layers ${layersRead.join(', ')} (top first): ${fetched} bytes = ${((100 * fetched) / baseSize).toFixed(2)}% of the base; the bottom layer was not fetched: ${fetched === layers[2]!.size + layers[1]!.size}`);
    console.log(`build --push with trust_ca        ${mt.toFixed(0)} ms`);
    console.log(`build --push, CA only copied      ${mc.toFixed(0)} ms  (trust_ca / copy = ${(mt / mc).toFixed(2)}x)`);
    console.log(`skopeo copy of the whole base     ${ms.toFixed(0)} ms  (trust_ca / full pull = ${(mt / ms).toFixed(2)}x)`);
  } finally {
    await reg.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

