// Our overlay images read by crane (go-containerregistry), a client nobody here wrote: an image
// built and pushed by the real `cleanimg-customize build --push` (the compiled CLI, as a user runs
// it) onto a base that umoci made and skopeo pushed, on a local registry (both implementations).
// crane digest equals the digest we print; crane manifest and config show the base untouched
// plus one layer; crane pull --format oci writes a layout holding our manifest; crane export (the flattened filesystem) has the spec's files with the spec's
// modes and owners, beside the base's file.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../pulumi/policy-pack-client';
import { pushSmallImage, type PushedImage } from './support/image';
import { REPO } from './support/pulumi';
import { startRegistry, type Registry, type RegistryImpl } from './support/registry';
import { run, runOk, skipWithout, tool } from './support/tools';

const CLI = join(REPO, 'lib', 'cli', 'bin.js');

interface Entry { name: string; mode: number; uid: number; gid: number; type: string; content: string }

/** The entries of a tar stream (crane export writes one to stdout). */
function tarEntries(tar: Buffer): Promise<Map<string, Entry>> {
  return new Promise((resolve, reject) => {
    const out = new Map<string, Entry>();
    const x = extract();
    x.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        const name = h.name.replace(/^\.?\//, '');
        out.set(name, { name, mode: h.mode ?? 0, uid: h.uid ?? -1, gid: h.gid ?? -1, type: h.type ?? 'file', content: Buffer.concat(chunks).toString('utf8') });
        next();
      });
      stream.resume();
    });
    x.on('finish', () => resolve(out));
    x.on('error', reject);
    x.end(tar);
  });
}

/** crane with stdout as bytes (export writes a tar). */
async function craneBytes(args: string[]): Promise<Buffer> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const p = spawn(tool('crane'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`crane ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

for (const impl of ['docker-registry', 'distribution-registry'] as RegistryImpl[]) {
  describe.skipIf(skipWithout([impl, 'crane', 'skopeo', 'umoci']))(`crane reads our overlay (${impl})`, () => {
    let reg: Registry;
    let base: PushedImage;
    let dir: string;
    let built: { digest: string; image: string };
    let tag: string;

    beforeAll(async () => {
      ensureBuilt(); // the compiled CLI
      reg = await startRegistry(impl);
      base = await pushSmallImage(reg.host, 'base/small', '1', `base of ${impl}\n`);
      dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-images-'));
      mkdirSync(join(dir, 'files'));
      writeFileSync(join(dir, 'files', 'app.conf'), 'listen = 8080\nlog_level = info\n');
      writeFileSync(join(dir, 'files', 'healthcheck'), '#!/ko-app/healthcheck\n');
      writeFileSync(join(dir, 'files', 'motd'), 'hello\n');
      writeFileSync(join(dir, 'spec.yaml'), [
        `base_image: "${base.digestRef}"`,
        'arch: amd64',
        'copy_files:',
        '  - source: files/app.conf',
        '    destination: /etc/app/app.conf',
        '    mode: "0640"',
        '    owner: "0:65532"',
        '  - source: files/healthcheck',
        '    destination: /usr/local/bin/healthcheck',
        '    mode: "0755"',
        '    owner: "65532:65532"',
        '  - source: files/motd',
        '    destination: /etc/motd',
        '',
      ].join('\n'));
      tag = `${reg.host}/app/overlay:1`;
      const r = await run(process.execPath, [CLI, 'build', '--spec', join(dir, 'spec.yaml'), '--tag', tag, '--push', '--json'], {
        env: { ...process.env, CLEANIMG_CACHE_DIR: join(dir, 'cache') },
      });
      expect(r.code, r.stderr).toBe(0);
      built = JSON.parse(r.stdout) as { digest: string; image: string };
    });

    afterAll(async () => {
      await reg?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('crane digest of the tag equals the digest the CLI printed', async () => {
      expect(built.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(built.image).toBe(`${reg.host}/app/overlay@${built.digest}`);
      const d = (await runOk(tool('crane'), ['digest', '--insecure', tag])).stdout.trim();
      expect(d).toBe(built.digest);
    });

    it('crane manifest and config: the base untouched, one layer added', async () => {
      const crane = tool('crane');
      const baseManifest = JSON.parse((await runOk(crane, ['manifest', '--insecure', base.digestRef])).stdout);
      const manifest = JSON.parse((await runOk(crane, ['manifest', '--insecure', built.image])).stdout);
      expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(manifest.layers.slice(0, -1)).toEqual(baseManifest.layers);
      expect(manifest.layers).toHaveLength(baseManifest.layers.length + 1);
      const config = JSON.parse((await runOk(crane, ['config', '--insecure', built.image])).stdout);
      const baseConfig = JSON.parse((await runOk(crane, ['config', '--insecure', base.digestRef])).stdout);
      expect(config.rootfs.diff_ids.slice(0, -1)).toEqual(baseConfig.rootfs.diff_ids);
      expect(config.rootfs.diff_ids).toHaveLength(manifest.layers.length);
      expect(config.config.User).toBe(baseConfig.config.User);
      // crane validates what it reads: the config blob's digest is the manifest's.
      const rawConfig = await craneBytes(['blob', '--insecure', `${reg.host}/app/overlay@${manifest.config.digest}`]);
      expect(rawConfig.length).toBe(manifest.config.size);
    });

    it('crane pull --format oci: an OCI layout whose manifest is ours, blobs verified on the way', async () => {
      const layout = join(dir, `pulled-${Date.now()}`);
      await runOk(tool('crane'), ['pull', '--insecure', '--format', 'oci', built.image, layout]);
      const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; mediaType: string }[] };
      expect(index.manifests.map((m) => m.digest)).toEqual([built.digest]);
      const manifest = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', built.digest.slice(7)), 'utf8')) as { layers: { digest: string; size: number }[] };
      const overlay = manifest.layers[manifest.layers.length - 1]!;
      expect(statSync(join(layout, 'blobs', 'sha256', overlay.digest.slice(7))).size).toBe(overlay.size);
    });

    it('crane export: the spec files with their modes and owners, beside the base file', async () => {
      const files = await tarEntries(await craneBytes(['export', '--insecure', built.image, '-']));
      expect(files.get('hello.txt')?.content).toBe(`base of ${impl}\n`);
      const conf = files.get('etc/app/app.conf')!;
      expect([conf.mode & 0o7777, conf.uid, conf.gid, conf.content]).toEqual([0o640, 0, 65532, 'listen = 8080\nlog_level = info\n']);
      const hc = files.get('usr/local/bin/healthcheck')!;
      expect([hc.mode & 0o7777, hc.uid, hc.gid]).toEqual([0o755, 65532, 65532]);
      const motd = files.get('etc/motd')!;
      expect([motd.type, motd.content]).toEqual(['file', 'hello\n']);
      expect(motd.mode & 0o7777).toBe(0o644);
      // Directories the spec implies are in the layer too, owned by root.
      expect(files.get('etc/app/')?.type ?? files.get('etc/app')?.type).toBe('directory');
    });
  });
}
