/**
 * `cleanimg-customize build --push`, `verify` and `generate-key-pair` against a real registry
 * (Debian's docker-registry on 127.0.0.1), checked with skopeo and umoci, not only with our client.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BASE_REF, writeDefaultBase } from '../../src/customize/base-image';
import { pushBaseImage, type PushedImage } from '../support/base-image';
import { runCli } from '../support/cli';
import { startRegistry, type TestRegistry } from '../support/registry';

let reg: TestRegistry;
let base: PushedImage;
let shellBase: PushedImage;
const work = mkdtempSync(join(tmpdir(), 'cleanimg-build-'));

function caCert(dir: string): string {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'corporate-ca.crt'), '-days', '30', '-subj', '/CN=Corporate Test CA', '-addext', 'basicConstraints=critical,CA:TRUE'], { stdio: 'ignore' });
  rmSync(join(dir, 'ca.key'));
  return join(dir, 'corporate-ca.crt');
}

/** A spec folder in the guide's format: a CA certificate and a config file. */
function specDir(baseRef: string, extra = ''): string {
  const dir = mkdtempSync(join(work, 'spec-'));
  mkdirSync(join(dir, 'certs'));
  mkdirSync(join(dir, 'config'));
  caCert(join(dir, 'certs'));
  writeFileSync(join(dir, 'config/custom.conf'), 'max_connections = 200\nshared_buffers = 512MB\n');
  writeFileSync(join(dir, 'spec.yaml'), [
    `base_image: "${baseRef}"`,
    'arch: amd64',
    'variant: prod',
    'copy_files:',
    '  - source: certs/corporate-ca.crt',
    '    destination: /etc/ssl/certs/corporate-ca.crt',
    '  - source: config/custom.conf',
    '    destination: /etc/postgresql/custom.conf',
    '    mode: "0640"',
    '    owner: "0:65532"',
    extra,
  ].join('\n'));
  return dir;
}

const skopeoRaw = (ref: string, config = false) =>
  JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', '--raw', ...(config ? ['--config'] : []), `docker://${ref}`], { encoding: 'utf8' }));

beforeAll(async () => {
  // The CLI's layer cache goes to a temp folder, never the user's ~/.cache.
  process.env.CLEANIMG_CACHE_DIR = join(work, 'layer-cache');
  reg = await startRegistry();
  base = await pushBaseImage(reg, 'cleanstart/postgresql', '15-prod');
  shellBase = await pushBaseImage(reg, 'legacy/with-shell', '1', { files: { '/bin/busybox': { content: 'not really busybox', mode: 0o755 }, '/etc/os-release': 'ID=x\n' }, user: '' });
});
afterAll(async () => {
  delete process.env.CLEANIMG_CACHE_DIR;
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('cleanimg-customize build --push', () => {
  it('pushes the overlay as the guide writes it; skopeo and umoci see the files, modes and base config', async () => {
    const dir = specDir(base.ref);
    const tag = `${reg.host}/myregistry/postgres:15-custom`;
    const r = await runCli(['build', '--spec', join(dir, 'spec.yaml'), '--tag', tag, '--push', '--json']);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.image).toMatch(new RegExp(`^${reg.host}/myregistry/postgres@sha256:[0-9a-f]{64}$`));
    // Base layers were mounted from the base repository, never uploaded.
    expect(out.blobs.filter((b: any) => b.what.startsWith('base layer')).map((b: any) => b.outcome)).toEqual(['mounted']);
    expect(out.blobs.find((b: any) => b.what === 'overlay layer').outcome).toBe('uploaded');

    const manifest = skopeoRaw(tag);
    expect(manifest.layers).toHaveLength(2);
    expect(manifest.annotations['org.opencontainers.image.base.digest']).toBe(base.digest);
    const config = skopeoRaw(tag, true);
    expect(config.config.User).toBe('65532:65532');
    expect(config.config.Entrypoint).toEqual(['/usr/bin/app']);
    expect(config.history.at(-1).created_by).toBe('cleanimg-customize build');

    const layout = join(work, 'pulled');
    execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${tag}`, `oci:${layout}:t`], { stdio: 'ignore' });
    const bundle = join(work, 'bundle');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:t`, bundle], { stdio: 'ignore' });
    expect(readFileSync(join(bundle, 'rootfs/etc/postgresql/custom.conf'), 'utf8')).toContain('max_connections = 200');
    expect(readFileSync(join(bundle, 'rootfs/etc/ssl/certs/corporate-ca.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(readFileSync(join(bundle, 'rootfs/usr/bin/app')).length).toBeGreaterThan(0);
    const overlayBlob = readFileSync(join(layout, 'blobs/sha256', manifest.layers[1].digest.slice(7)));
    const listing = execFileSync('tar', ['-tvzf', '-'], { input: overlayBlob, encoding: 'utf8' });
    expect(listing).toMatch(/-rw-r----- 0\/65532 .* etc\/postgresql\/custom\.conf/);
  });

  it('gives the same digest on a second build, after touching sources, and pushes nothing new', async () => {
    const dir = specDir(base.ref);
    const tag = `${reg.host}/repro/app:1`;
    const first = JSON.parse((await runCli(['build', '--spec', join(dir, 'spec.yaml'), '--tag', tag, '--push', '--json'])).out);
    execFileSync('touch', [join(dir, 'config/custom.conf'), join(dir, 'certs/corporate-ca.crt')]);
    const second = JSON.parse((await runCli(['build', '--spec', join(dir, 'spec.yaml'), '--tag', tag, '--push', '--json'])).out);
    expect(second.digest).toBe(first.digest);
    expect(second.bytesUploaded).toBe(0);
    expect(second.blobs.every((b: any) => b.outcome === 'exists')).toBe(true);
    expect(first.cache).toBe('stored');
    expect(second.cache).toBe('hit');
    // The tag already named the digest: one manifest HEAD, no blob HEADs, no manifest PUT.
    expect(first.upToDate).toBe(false);
    expect(second.upToDate).toBe(true);
  });

  it('moves a tag back to an image whose blobs are all there: not up to date, nothing uploaded, tag moved', async () => {
    const dir = specDir(base.ref);
    const tag = `${reg.host}/retag/app:1`;
    const build = async () => {
      const r = await runCli(['build', '--spec', join(dir, 'spec.yaml'), '--tag', tag, '--push', '--json']);
      expect(r.code).toBe(0);
      return JSON.parse(r.out);
    };
    const original = readFileSync(join(dir, 'config/custom.conf'));
    const a = await build();
    writeFileSync(join(dir, 'config/custom.conf'), 'max_connections = 7\n');
    const b = await build();
    expect(b.digest).not.toBe(a.digest);
    expect(b.upToDate).toBe(false);
    writeFileSync(join(dir, 'config/custom.conf'), original);
    const again = await build();
    expect(again.digest).toBe(a.digest);
    expect(again.upToDate).toBe(false);
    expect(again.bytesUploaded).toBe(0);
    expect(JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${tag}`], { encoding: 'utf8' })).Digest).toBe(a.digest);
  });

  it('gives the same digest with --no-cache, from the layer cache, and a new one after a content change', async () => {
    const dir = specDir(base.ref);
    const tag = `${reg.host}/cached/app:1`;
    const build = async (...extra: string[]) => {
      const r = await runCli(['build', '--spec', join(dir, 'spec.yaml'), '--tag', tag, '--push', '--json', ...extra]);
      expect(r.code).toBe(0);
      return JSON.parse(r.out);
    };
    const uncached = await build('--no-cache');
    expect(uncached.cache).toBe('off');
    const cacheDir = join(work, 'own-cache');
    const cold = await build('--cache-dir', cacheDir);
    const warm = await build('--cache-dir', cacheDir);
    expect([cold.cache, warm.cache]).toEqual(['stored', 'hit']);
    expect(cold.digest).toBe(uncached.digest);
    expect(warm.digest).toBe(uncached.digest);
    expect(warm.layer).toEqual(uncached.layer);
    expect(readFileSync(join(cacheDir, 'layers/blobs/sha256', uncached.layer.digest.slice(7))).length).toBe(uncached.layer.size);

    writeFileSync(join(dir, 'config/custom.conf'), 'max_connections = 300\n');
    const changed = await build('--cache-dir', cacheDir);
    const changedFresh = await build('--no-cache');
    expect(changed.cache).toBe('stored');
    expect(changed.digest).not.toBe(uncached.digest);
    expect(changed.digest).toBe(changedFresh.digest);
    expect(changed.bytesUploaded).toBeGreaterThan(0);
    // skopeo sees the image the tag now names: the changed one.
    expect(JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${tag}`], { encoding: 'utf8' })).Digest).toBe(changed.digest);
  });

  it('builds without pushing (a dry run prints the digest a push would give)', async () => {
    const dir = specDir(base.ref);
    const dry = await runCli(['build', '--spec', join(dir, 'spec.yaml'), '--tag', `${reg.host}/dry/app:1`, '--json']);
    const pushed = await runCli(['build', '--spec', join(dir, 'spec.yaml'), '--tag', `${reg.host}/dry/app:1`, '--push', '--json']);
    expect(JSON.parse(dry.out).pushed).toBe(false);
    expect(JSON.parse(dry.out).digest).toBe(JSON.parse(pushed.out).digest);
  });

  it('refuses bad input with the field and the fix, pushing nothing and moving no tag', async () => {
    const tag = `${reg.host}/refused/app:1`;
    // unpinned base
    const d1 = specDir(base.ref.replace(/@sha256:.*/, ''));
    let r = await runCli(['build', '--spec', join(d1, 'spec.yaml'), '--tag', tag, '--push']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/base_image/);
    expect(r.err).not.toMatch(/\n\s+at /);
    // a digest the registry does not have
    const d2 = specDir(base.ref.replace(/@sha256:.*/, `@sha256:${'0'.repeat(64)}`));
    r = await runCli(['build', '--spec', join(d2, 'spec.yaml'), '--tag', tag, '--push']);
    expect(r.code).toBe(2);
    // a private key
    const d3 = specDir(base.ref, '  - source: config/server.key\n    destination: /etc/ssl/private/server.key\n');
    writeFileSync(join(d3, 'config/server.key'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    r = await runCli(['build', '--spec', join(d3, 'spec.yaml'), '--tag', tag, '--push']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/private key/i);
    // a source outside the spec folder
    const d4 = specDir(base.ref, '  - source: ../../etc/passwd\n    destination: /etc/passwd2\n');
    r = await runCli(['build', '--spec', join(d4, 'spec.yaml'), '--tag', tag, '--push']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/copy_files\[2\]\.source/);
    // nothing reached the repository
    expect(() => execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${tag}`], { stdio: 'pipe' })).toThrow();
  });
});

describe('signing and verify', () => {
  const password = 'test-password-generated-in-test';

  it('generate-key-pair writes a cosign-format key; build signs; verify checks signature, shells and user', async () => {
    const keys = mkdtempSync(join(work, 'keys-'));
    process.env.COSIGN_PASSWORD = password;
    try {
      expect((await runCli(['generate-key-pair', '--dir', keys])).code).toBe(0);
      expect(readFileSync(join(keys, 'cosign.key'), 'utf8')).toMatch(/BEGIN ENCRYPTED SIGSTORE PRIVATE KEY/);
      const tag = `${reg.host}/signed/postgres:15-custom`;
      const built = await runCli(['build', '--spec', join(specDir(base.ref), 'spec.yaml'), '--tag', tag, '--push', '--sign-key', join(keys, 'cosign.key'), '--json']);
      expect(built.code).toBe(0);
      const out = JSON.parse(built.out);
      expect(out.signature.tag).toBe(`sha256-${out.digest.slice(7)}.sig`);
      const sig = skopeoRaw(`${reg.host}/signed/postgres:${out.signature.tag}`);
      expect(sig.layers[0].mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
      expect(sig.layers[0].annotations['dev.cosignproject.cosign/signature']).toMatch(/^[A-Za-z0-9+/=]+$/);

      const v = await runCli(['verify', tag, '--key', join(keys, 'cosign.pub'), '--json']);
      const report = JSON.parse(v.out);
      expect(report).toMatchObject({ ok: true, shellFree: true, user: { user: '65532:65532', isRoot: false }, signature: { verified: true } });
      expect(v.code).toBe(0);

      // another key does not verify
      const other = mkdtempSync(join(work, 'other-'));
      await runCli(['generate-key-pair', '--dir', other]);
      const bad = await runCli(['verify', tag, '--key', join(other, 'cosign.pub')]);
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(/NOT verified/);
    } finally {
      delete process.env.COSIGN_PASSWORD;
    }
  });

  it('a wrong key password is refused before anything is pushed', async () => {
    const keys = mkdtempSync(join(work, 'keys-'));
    process.env.COSIGN_PASSWORD = password;
    await runCli(['generate-key-pair', '--dir', keys]);
    process.env.COSIGN_PASSWORD = 'wrong';
    try {
      const tag = `${reg.host}/wrongpass/app:1`;
      const r = await runCli(['build', '--spec', join(specDir(base.ref), 'spec.yaml'), '--tag', tag, '--push', '--sign-key', join(keys, 'cosign.key')]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/SIG002/);
      expect(() => execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${tag}`], { stdio: 'pipe' })).toThrow();
    } finally {
      delete process.env.COSIGN_PASSWORD;
    }
  });

  it('verify reports a shell (busybox) and a root user in an image built on a bad base', async () => {
    const v = await runCli(['verify', shellBase.ref, '--json']);
    const report = JSON.parse(v.out);
    expect(v.code).toBe(1);
    expect(report.shellFree).toBe(false);
    expect(report.shells.map((s: any) => s.path)).toContain('/bin/busybox');
    expect(report.user.isRoot).toBe(true);
  });

  it('accepts a plain PEM EC P-256 key for signing', async () => {
    const dir = mkdtempSync(join(work, 'pem-'));
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'key.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const tag = `${reg.host}/pem/app:1`;
    expect((await runCli(['build', '--spec', join(specDir(base.ref), 'spec.yaml'), '--tag', tag, '--push', '--sign-key', join(dir, 'key.pem')])).code).toBe(0);
    expect((await runCli(['verify', tag, '--key', join(dir, 'key.pub')])).code).toBe(0);
  });
});

describe('build --push from a local base layout', () => {
  it('uploads the base layers from the layout when the target registry lacks them (the embedded base)', async () => {
    const layout = join(work, 'embedded-base');
    await writeDefaultBase(layout);
    const dir = specDir(DEFAULT_BASE_REF);
    const tag = `${reg.host}/from-layout/app:1`;
    const r = await runCli(['build', '--spec', join(dir, 'spec.yaml'), '--tag', tag, '--push', '--base-layout', layout, '--json']);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.blobs.filter((b: any) => b.what.startsWith('base layer')).map((b: any) => b.outcome)).toEqual(['uploaded']);
    expect(skopeoRaw(tag).layers).toHaveLength(2);
    expect(out.layer.entries).toBeGreaterThan(3);
  });
});
