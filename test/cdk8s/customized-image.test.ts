/**
 * CustomizedImage builds the overlay at synth, offline, into an OCI layout: the same digest twice and
 * from another folder, a layout skopeo and umoci read (files present, no shell), a HardenedDeployment
 * that names that digest, and failures that name the field and write nothing. `push --layout` then
 * publishes exactly that digest to a real registry.
 */
import { App, Chart, Testing } from 'cdk8s';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { CustomizedImage, HardenedDeployment } from '../../src/cdk8s';
import { DEFAULT_BASE_DIGEST, DEFAULT_BASE_REF } from '../../src/customize/base-image';
import { runCli } from '../support/cli';
import { pushBaseImage, pushMultiArchBase } from '../support/base-image';
import { startRegistry, type TestRegistry } from '../support/registry';

const EXAMPLE = resolve(__dirname, '../../examples/postgres/image');
const tmp = mkdtempSync(join(tmpdir(), 'cleanimg-ci-test-'));
const cache = join(tmp, 'cache');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function chartIn(outdir: string): Chart {
  return new Chart(new App({ outdir }), 'db');
}

/** A spec folder with a config file and a CA certificate made now by openssl (the key is thrown away). */
function specFolder(name: string, extra: Record<string, unknown> = {}): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'certs'), { recursive: true });
  const key = join(tmp, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', join(dir, 'certs/ca.crt'),
    '-days', '30', '-subj', `/CN=${name} test CA`, '-addext', 'basicConstraints=critical,CA:TRUE'], { stdio: 'ignore' });
  rmSync(key);
  writeFileSync(join(dir, 'app.yaml'), `name: ${name}\n`);
  const spec = {
    base_image: DEFAULT_BASE_REF,
    arch: 'amd64',
    copy_files: [
      { source: 'certs/ca.crt', destination: '/etc/ssl/certs/corporate-ca.crt' },
      { source: 'app.yaml', destination: '/etc/app/app.yaml', mode: '0640', owner: '0:65532' },
    ],
    ...extra,
  };
  writeFileSync(join(dir, 'spec.yaml'), JSON.stringify(spec, null, 2));
  return dir;
}

function walk(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(root, rel))) {
    const r = `${rel}/${n}`;
    out.push(r);
    if (statSync(join(root, r)).isDirectory()) out.push(...walk(root, r));
  }
  return out;
}

function thrown(fn: () => unknown): Error & { problems?: { code: string; path: string; fix: string }[] } {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('CustomizedImage (cdk8s), offline', () => {
  let first: CustomizedImage;

  it('synthesizes the example spec on the embedded base, with no registry', () => {
    first = new CustomizedImage(chartIn(join(tmp, 'out1')), 'postgres-image', { spec: join(EXAMPLE, 'spec.yaml'), repository: 'registry.example.com/db/postgres', cacheDir: cache });
    expect(first.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(first.imageRef).toBe(`registry.example.com/db/postgres@${first.digest}`);
    expect(first.layoutDir).toBe(join(tmp, 'out1', 'images', 'db-postgres-image'));
    expect(first.layoutTag).toBe('custom');
    expect(first.base.digest).toBe(DEFAULT_BASE_DIGEST);
    expect(existsSync(join(first.layoutDir, 'index.json'))).toBe(true);
  });

  it('gives the same digest again, and from a copy of the spec folder elsewhere', () => {
    const again = new CustomizedImage(chartIn(join(tmp, 'out2')), 'postgres-image', { spec: join(EXAMPLE, 'spec.yaml'), repository: 'registry.example.com/db/postgres', cacheDir: join(tmp, 'cache2') });
    expect(again.digest).toBe(first.digest);
    const copy = join(tmp, 'elsewhere', 'deep', 'image');
    cpSync(EXAMPLE, copy, { recursive: true });
    const moved = new CustomizedImage(chartIn(join(tmp, 'out3')), 'other-id', { spec: join(copy, 'spec.yaml'), repository: 'other.example.com/pg', cacheDir: cache, outputDir: join(tmp, 'layout-x') });
    expect(moved.digest).toBe(first.digest);
    expect(moved.layoutDir).toBe(join(tmp, 'layout-x'));
  });

  it('gives the same digest when synth runs in another working folder (a separate process)', () => {
    const script = `
      const { App, Chart } = require('cdk8s');
      const { CustomizedImage } = require(${JSON.stringify(resolve(__dirname, '../../src/cdk8s'))});
      const c = new Chart(new App({ outdir: 'dist' }), 'db');
      const img = new CustomizedImage(c, 'postgres-image', { spec: ${JSON.stringify(join(EXAMPLE, 'spec.yaml'))}, repository: 'registry.example.com/db/postgres' });
      process.stdout.write(JSON.stringify({ digest: img.digest, layoutDir: img.layoutDir }));`;
    const cwd = join(tmp, 'other-cwd');
    mkdirSync(cwd);
    const tsx = require.resolve('tsx');
    const out = execFileSync(process.execPath, ['--import', `file://${tsx}`, '-e', script], { cwd, encoding: 'utf8', env: { ...process.env, NODE_PATH: resolve(__dirname, '../../node_modules'), CLEANIMG_CACHE_DIR: '' } });
    const r = JSON.parse(out);
    expect(r.digest).toBe(first.digest);
    expect(r.layoutDir).toBe(join(cwd, 'dist', 'images', 'db-postgres-image'));
    // The default cache is under the working folder.
    expect(readdirSync(join(cwd, '.cache', 'cleanimg', 'images'))).toEqual([DEFAULT_BASE_DIGEST.replace(':', '-')]);
  });

  it('writes a layout skopeo reads with that digest and umoci unpacks: files present, no shell, user 65532', () => {
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${first.layoutDir}:custom`], { encoding: 'utf8' }));
    expect(inspect.Digest).toBe(first.digest);
    const cfg = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${first.layoutDir}:custom`], { encoding: 'utf8' }));
    expect(cfg.config.User).toBe('65532:65532');
    const bundle = join(tmp, 'bundle');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${first.layoutDir}:custom`, bundle]);
    const root = join(bundle, 'rootfs');
    expect(readFileSync(join(root, 'etc/postgresql/custom.conf'), 'utf8')).toBe(readFileSync(join(EXAMPLE, 'config/custom.conf'), 'utf8'));
    // The example trusts its CA with trust_ca: the CA file, and a new bundle (the embedded base has none).
    expect(readFileSync(join(root, 'usr/local/share/ca-certificates/corporate-ca.crt'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(readFileSync(join(root, 'etc/ssl/certs/ca-certificates.crt'), 'utf8')).toBe(readFileSync(join(root, 'usr/local/share/ca-certificates/corporate-ca.crt'), 'utf8'));
    expect((statSync(join(root, 'etc/postgresql/custom.conf')).mode & 0o777).toString(8)).toBe('640');
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(/^nonroot:x:65532:/m);
    expect(walk(root).filter((f) => /\/(sh|bash|ash|dash|busybox)$/.test(f))).toEqual([]);
    expect(readdirSync(join(root, 'etc/postgresql'))).toEqual(['custom.conf']);
  });

  it('is an ImageLike: HardenedDeployment names exactly that digest', () => {
    const chart = Testing.chart();
    const img = new CustomizedImage(chart, 'img', { spec: join(EXAMPLE, 'spec.yaml'), repository: 'registry.example.com/db/postgres', cacheDir: cache, outputDir: join(tmp, 'hd-layout') });
    new HardenedDeployment(chart, 'postgres', { name: 'postgres', containers: [{ name: 'postgres', image: img, ports: [{ containerPort: 5432, name: 'postgres' }] }] });
    const d = Testing.synth(chart).find((o) => o.kind === 'Deployment');
    expect(d.spec.template.spec.containers[0].image).toBe(`registry.example.com/db/postgres@${first.digest}`);
  });

  it('takes the spec inline, with sources relative to a folder, and a freshly generated CA', () => {
    const dir = specFolder('inline');
    const fields = JSON.parse(readFileSync(join(dir, 'spec.yaml'), 'utf8'));
    const img = new CustomizedImage(chartIn(join(tmp, 'out-inline')), 'app', { spec: { fields, dir }, repository: 'registry.example.com/app', cacheDir: cache, tag: 'v1' });
    expect(img.layoutTag).toBe('v1');
    const again = new CustomizedImage(chartIn(join(tmp, 'out-inline2')), 'app', { spec: { fields, dir }, repository: 'registry.example.com/app', cacheDir: cache });
    expect(again.digest).toBe(img.digest);
    expect(img.digest).not.toBe(first.digest);
    const bundle = join(tmp, 'bundle-inline');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${img.layoutDir}:v1`, bundle]);
    expect(readFileSync(join(bundle, 'rootfs/etc/app/app.yaml'), 'utf8')).toBe('name: inline\n');
  });

  it('a changed file changes the digest', () => {
    const dir = specFolder('changing');
    const a = new CustomizedImage(chartIn(join(tmp, 'out-ch1')), 'app', { spec: join(dir, 'spec.yaml'), repository: 'registry.example.com/app', cacheDir: cache });
    writeFileSync(join(dir, 'app.yaml'), 'name: changed\n');
    const b = new CustomizedImage(chartIn(join(tmp, 'out-ch2')), 'app', { spec: join(dir, 'spec.yaml'), repository: 'registry.example.com/app', cacheDir: cache });
    expect(b.digest).not.toBe(a.digest);
  });

  describe('failures name the field and write nothing', () => {
    it('a misspelt field', () => {
      const dir = specFolder('typo');
      const fields = JSON.parse(readFileSync(join(dir, 'spec.yaml'), 'utf8'));
      fields.copy_files[0] = { source: 'app.yaml', destinaton: '/etc/app.yaml' };
      const out = join(tmp, 'out-typo');
      const e = thrown(() => new CustomizedImage(chartIn(out), 'bad', { spec: { fields, dir }, repository: 'r.example.com/x', cacheDir: cache }));
      expect(e.message).toMatch(/^db\/bad: /);
      expect(e.problems?.map((p) => [p.code, p.path])).toEqual(expect.arrayContaining([['SPEC003', 'copy_files[0].destinaton']]));
      expect(e.problems?.find((p) => p.code === 'SPEC003')?.fix).toMatch(/did you mean "destination"/);
      expect(existsSync(out)).toBe(false);
    });

    it('a private key among the files: INPUT007, fails in the build child process with the CLI text, no layout', () => {
      const dir = specFolder('key');
      execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(dir, 'server.key')], { stdio: 'ignore' });
      const fields = JSON.parse(readFileSync(join(dir, 'spec.yaml'), 'utf8'));
      fields.copy_files.push({ source: 'server.key', destination: '/etc/ssl/private/server.key' });
      const out = join(tmp, 'key-layout');
      const e = thrown(() => new CustomizedImage(chartIn(join(tmp, 'out-key')), 'bad', { spec: { fields, dir }, repository: 'r.example.com/x', cacheDir: cache, outputDir: out }));
      expect(e.problems?.map((p) => [p.code, p.path])).toEqual([['INPUT007', 'copy_files[2].source']]);
      expect(e.message).toMatch(/INPUT007 copy_files\[2\]\.source: .*PRIVATE KEY.*— keep secrets out of images/);
      expect(e.message).not.toMatch(/\n\s+at /);
      expect(existsSync(out)).toBe(false);
    });

    it('a base that is not available offline: BASE012 with the fix (no registry is asked)', () => {
      const dir = specFolder('nobase', { base_image: `registry.example.com/base/app:1@sha256:${'ab'.repeat(32)}` });
      const out = join(tmp, 'nobase-layout');
      const e = thrown(() => new CustomizedImage(chartIn(join(tmp, 'out-nobase')), 'bad', { spec: join(dir, 'spec.yaml'), repository: 'r.example.com/x', cacheDir: cache, outputDir: out }));
      expect(e.problems?.map((p) => [p.code, p.path])).toEqual([['BASE012', 'base_image']]);
      expect(e.problems?.[0]?.fix).toMatch(/cleanimg-customize pull registry\.example\.com\/base\/app:1@sha256:abab.* or pass baseLayout/);
      expect(existsSync(out)).toBe(false);
    });

    it('a missing baseLayout folder', () => {
      const dir = specFolder('missinglayout');
      const e = thrown(() => new CustomizedImage(chartIn(join(tmp, 'out-ml')), 'bad', { spec: join(dir, 'spec.yaml'), repository: 'r.example.com/x', baseLayout: join(tmp, 'no-such-layout'), outputDir: join(tmp, 'ml-layout') }));
      expect(e.problems?.[0]?.code).toBe('LAYOUT001');
      expect(e.message).toMatch(/no-such-layout/);
      expect(existsSync(join(tmp, 'ml-layout'))).toBe(false);
    });

    it('an embedded-base reference with a digest this version does not embed: BASE011', () => {
      const dir = specFolder('olddigest', { base_image: `cleanimg.dev/base/static:1@sha256:${'cd'.repeat(32)}` });
      const e = thrown(() => new CustomizedImage(chartIn(join(tmp, 'out-old')), 'bad', { spec: join(dir, 'spec.yaml'), repository: 'r.example.com/x', cacheDir: cache }));
      expect(e.problems?.[0]).toMatchObject({ code: 'BASE011', path: 'base_image' });
      expect(e.problems?.[0]?.fix).toContain(DEFAULT_BASE_REF);
    });

    it('a repository with a tag, and a spec file that does not exist', () => {
      const e1 = thrown(() => new CustomizedImage(chartIn(join(tmp, 'out-r')), 'bad', { spec: join(EXAMPLE, 'spec.yaml'), repository: 'r.example.com/x:1' }));
      expect(e1.problems?.[0]).toMatchObject({ code: 'CI002', path: 'db/bad/repository' });
      const e2 = thrown(() => new CustomizedImage(chartIn(join(tmp, 'out-r')), 'bad2', { spec: join(tmp, 'nope.yaml'), repository: 'r.example.com/x' }));
      expect(e2.problems?.[0]).toMatchObject({ code: 'SPEC001', path: 'spec' });
      expect(existsSync(join(tmp, 'out-r'))).toBe(false);
    });
  });
});

describe('push --layout publishes the digest synth pinned (real registry)', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('pushes the layout, and the registry serves the same digest; a re-push uploads nothing', async () => {
    const img = new CustomizedImage(chartIn(join(tmp, 'out-push')), 'postgres-image', { spec: join(EXAMPLE, 'spec.yaml'), repository: `${reg.host}/db/postgres`, cacheDir: cache });
    const r = await runCli(['push', '--layout', `${img.layoutDir}:${img.layoutTag}`, '--tag', `${reg.host}/db/postgres:15-custom`, '--expect-digest', img.digest, '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.digest).toBe(img.digest);
    expect(report.pinned).toBe(img.imageRef);
    expect(report.blobs.every((b: { outcome: string }) => b.outcome === 'uploaded')).toBe(true);
    const remote = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/db/postgres:15-custom`], { encoding: 'utf8' }));
    expect(remote.Digest).toBe(img.digest);
    const byDigest = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', '--config', `docker://${img.imageRef}`], { encoding: 'utf8' }));
    expect(byDigest.config.User).toBe('65532:65532');
    const again = JSON.parse((await runCli(['push', '--layout', `${img.layoutDir}:${img.layoutTag}`, '--tag', `${reg.host}/db/postgres:15-custom`, '--json'])).out);
    expect(again.bytesUploaded).toBe(0);
    expect(again.digest).toBe(img.digest);
  });

  it('pushes the embedded base index (both platforms) with its documented digest', async () => {
    const dir = join(tmp, 'push-base');
    expect((await runCli(['base', '--output-layout', dir])).code).toBe(0);
    const r = await runCli(['push', '--layout', `${dir}:1`, '--tag', `${reg.host}/base/static:1`, '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(JSON.parse(r.out).digest).toBe(DEFAULT_BASE_DIGEST);
    const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/base/static:1`], { encoding: 'utf8' }));
    expect(raw.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
  });

  it('pull fills the cache once; synth then builds on that base offline', async () => {
    // A registry of its own, stopped before the build: the build can only read the cache.
    const own = await startRegistry();
    onTestFinished(() => own.stop());
    const base = await pushBaseImage(own, 'base/app', '1', { files: { '/etc/os-release': 'ID=pulled\n', '/etc/passwd': 'nonroot:x:65532:65532::/:/sbin/nologin\n' } });
    const pcache = join(tmp, 'pull-cache');
    const r = await runCli(['pull', base.ref, '--cache-dir', pcache, '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    const first = JSON.parse(r.out);
    expect(first).toMatchObject({ fetched: true, digest: base.digest, dir: join(pcache, 'images', base.digest.replace(':', '-')) });
    const again = JSON.parse((await runCli(['pull', base.ref, '--cache-dir', pcache, '--json'])).out);
    expect(again.fetched).toBe(false);
    await own.stop();
    const dir = specFolder('pulled', { base_image: base.ref });
    const img = new CustomizedImage(chartIn(join(tmp, 'out-pulled')), 'app', { spec: join(dir, 'spec.yaml'), repository: `${reg.host}/pulled/app`, cacheDir: pcache });
    expect(img.base.layout).toBe(first.dir);
    expect(img.base.digest).toBe(base.digest);
    const bundle = join(tmp, 'bundle-pulled');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${img.layoutDir}:custom`, bundle]);
    expect(readFileSync(join(bundle, 'rootfs/etc/os-release'), 'utf8')).toBe('ID=pulled\n');
    expect(readFileSync(join(bundle, 'rootfs/etc/app/app.yaml'), 'utf8')).toBe('name: pulled\n');
  });

  it('pull --arch copies one platform of an index, which is enough to build for it', async () => {
    const multi = await pushMultiArchBase(reg, 'base/multi', '1');
    const pcache = join(tmp, 'pull-cache-multi');
    const r = JSON.parse((await runCli(['pull', multi.ref, '--cache-dir', pcache, '--arch', 'arm64', '--json'])).out);
    expect(r.manifests).toBe(1);
    const blobs = readdirSync(join(r.dir, 'blobs', 'sha256'));
    expect(blobs).toContain(multi.platforms.arm64!.slice(7));
    expect(blobs).not.toContain(multi.platforms.amd64!.slice(7));
    const dir = specFolder('pulled-arm', { base_image: multi.ref, arch: 'arm64' });
    const img = new CustomizedImage(chartIn(join(tmp, 'out-pulled-arm')), 'app', { spec: join(dir, 'spec.yaml'), repository: `${reg.host}/pulled/arm`, cacheDir: pcache });
    expect(img.base.digest).toBe(multi.digest);
    const cfg = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${img.layoutDir}:custom`], { encoding: 'utf8' }));
    expect(cfg.architecture).toBe('arm64');
    // `build --push` from the same spec and cached base publishes the digest synth pinned.
    const b = await runCli(['build', '--spec', join(dir, 'spec.yaml'), '--tag', `${reg.host}/pulled/arm:1`, '--push', '--base-layout', r.dir, '--json']);
    expect(b.code, b.out + b.err).toBe(0);
    expect(JSON.parse(b.out).digest).toBe(img.digest);
    const remote = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', '--override-arch', 'arm64', `docker://${reg.host}/pulled/arm:1`], { encoding: 'utf8' }));
    expect(remote.Digest).toBe(img.digest);
  });

  it('refuses a layout whose digest is not the expected one before uploading anything, and moves no tag', async () => {
    const dir = specFolder('pushwrong');
    const img = new CustomizedImage(chartIn(join(tmp, 'out-pw')), 'app', { spec: join(dir, 'spec.yaml'), repository: `${reg.host}/wrong/app`, cacheDir: cache });
    const r = await runCli(['push', '--layout', `${img.layoutDir}:custom`, '--tag', `${reg.host}/wrong/app:1`, '--expect-digest', `sha256:${'0'.repeat(64)}`, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).problems[0].code).toBe('PUSH011');
    const tags = await fetch(`${reg.url}/v2/wrong/app/tags/list`);
    expect(tags.status).toBe(404);
  });

  it('refuses a layout with a missing blob before uploading anything', async () => {
    const dir = specFolder('pushbroken');
    const img = new CustomizedImage(chartIn(join(tmp, 'out-pb')), 'app', { spec: join(dir, 'spec.yaml'), repository: `${reg.host}/broken/app`, cacheDir: cache });
    const idx = JSON.parse(readFileSync(join(img.layoutDir, 'index.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(img.layoutDir, 'blobs/sha256', idx.manifests[0].digest.slice(7)), 'utf8'));
    rmSync(join(img.layoutDir, 'blobs/sha256', manifest.layers.at(-1).digest.slice(7)));
    const r = await runCli(['push', '--layout', `${img.layoutDir}:custom`, '--tag', `${reg.host}/broken/app:1`, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).problems[0].code).toBe('LAYOUT003');
    expect((await fetch(`${reg.url}/v2/broken/app/tags/list`)).status).toBe(404);
  });
});

describe('`cdk8s synth` (the real CLI, compiled lib) with a CustomizedImage', () => {
  const ROOT = resolve(__dirname, '../..');
  const project = (name: string, spec: string) => {
    const dir = join(tmp, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'cdk8s.yaml'), ['language: typescript', 'app: node app.js', 'output: dist', 'validations:', `  - package: ${join(ROOT, 'lib/cdk8s/validation-plugin.js')}`, '    class: HardeningValidation', '    version: 0.1.0', ''].join('\n'));
    writeFileSync(join(dir, 'app.js'), `
      const { Chart } = require(${JSON.stringify(join(ROOT, 'node_modules/cdk8s'))});
      const { CustomizedImage, HardenedDeployment, runApp } = require(${JSON.stringify(join(ROOT, 'lib/cdk8s'))});
      runApp((app) => {
        const chart = new Chart(app, 'db');
        const image = new CustomizedImage(chart, 'postgres-image', { spec: ${JSON.stringify(spec)}, repository: 'registry.example.com/db/postgres' });
        new HardenedDeployment(chart, 'postgres', { name: 'postgres', containers: [{ name: 'postgres', image, ports: [{ containerPort: 5432, name: 'postgres' }] }] });
      });`);
    return dir;
  };
  const synth = (dir: string) => {
    try {
      const out = execFileSync(process.execPath, [join(ROOT, 'node_modules/cdk8s-cli/bin/cdk8s'), 'synth'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false', CLEANIMG_CACHE_DIR: '' } });
      return { status: 0, out };
    } catch (e) {
      const err = e as { status: number; stdout: string; stderr: string };
      return { status: err.status, out: `${err.stdout}${err.stderr}` };
    }
  };

  it('writes the Deployment pinned to the layout digest, offline, on a fresh folder', () => {
    const dir = project('synth-ok', join(EXAMPLE, 'spec.yaml'));
    const r = synth(dir);
    expect(r.status, r.out).toBe(0);
    const yaml = readFileSync(join(dir, 'dist', 'db.k8s.yaml'), 'utf8');
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${join(dir, 'dist/images/db-postgres-image')}:custom`], { encoding: 'utf8' }));
    expect(yaml).toContain(`image: registry.example.com/db/postgres@${inspect.Digest}`);
    expect(existsSync(join(dir, '.cache', 'cleanimg', 'images', DEFAULT_BASE_DIGEST.replace(':', '-')))).toBe(true);
  });

  it('fails synth on a bad spec with the field and fix, no stack trace, no manifest', () => {
    const specDir = specFolder('synth-bad', { copy_files: [{ source: 'app.yaml', destination: '/etc/app.yaml', mode: '4755' }] });
    const dir = project('synth-bad-project', join(specDir, 'spec.yaml'));
    const r = synth(dir);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/SPEC005 copy_files\[0\]\.mode: mode 4755 sets setuid\/setgid — drop the setuid\/setgid bits/);
    // cdk8s-cli prints its own trace for "command returned a non-zero exit code"; none comes from cleanimg.
    expect(r.out).not.toContain(`${join(ROOT, 'lib')}/`);
    expect(r.out).not.toContain(`${join(ROOT, 'src')}/`);
    expect(r.out).not.toMatch(/CleanimgError/);
    expect(existsSync(join(dir, 'dist', 'db.k8s.yaml'))).toBe(false);
    expect(existsSync(join(dir, 'dist', 'images'))).toBe(false);
  });
});
