/**
 * The CustomizedImage dynamic provider against a real registry (Debian's docker-registry on
 * 127.0.0.1): the inputs are exactly those the component registers (read through mocks), and the
 * provider object's diff/create/update are called as the engine would call them. What was pushed is
 * read back with skopeo.
 *
 * The provider's functions `require` the engine by absolute path (what Pulumi serializes); from the
 * sources that is image-engine.ts, so tsx's require hook is registered here, as a TypeScript program
 * would need in its provider process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { register as registerCjs } from 'tsx/cjs/api';
import { register as registerEsm } from 'tsx/esm/api';
import { Testing } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomizedImage as Cdk8sCustomizedImage } from '../../src/cdk8s';
import { buildOverlay } from '../../src/customize/build';
import { RegistryClient, RegistryImageSource } from '../../src/oci/registry';
import { generateKeyPair } from '../../src/oci/signing';
import { CustomizedImage, customizedImageProvider, IMAGE_BUILD_TYPE, type ImageBuildInputs, type ImageBuildOutputs } from '../../src/pulumi';
import { pushBaseImage, type PushedImage } from '../support/base-image';
import { startRegistry, type TestRegistry } from '../support/registry';
import { installMocks, secretValue, settle } from './harness';

const run = promisify(execFile);
const recorder = installMocks();
/** The provider object's functions, as the engine calls them (outs are always returned). */
const p = customizedImageProvider as Required<typeof customizedImageProvider>;
const provider = {
  create: async (i: ImageBuildInputs) => { const r = await p.create(i); return { id: r.id, outs: r.outs! }; },
  update: async (id: string, olds: ImageBuildOutputs, news: ImageBuildInputs) => ({ outs: (await p.update(id, olds, news)).outs! }),
  diff: (id: string, olds: ImageBuildOutputs, news: ImageBuildInputs) => p.diff(id, olds, news),
  delete: (id: string, props: ImageBuildOutputs) => p.delete(id, props),
  read: (id: string, props: ImageBuildOutputs) => p.read(id, props),
};

let reg: TestRegistry;
let base: PushedImage;
let root: string;
let n = 0;

async function skopeoDigest(ref: string): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${ref}`]);
  return stdout.trim();
}

async function exists(ref: string): Promise<boolean> {
  try {
    await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
    return true;
  } catch {
    return false;
  }
}

/** The inputs the engine would receive: the recorded inputs, secrets unwrapped, without __provider. */
function engineInputs(name: string): ImageBuildInputs {
  const raw = recorder.inputsOf(IMAGE_BUILD_TYPE, name);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (k !== '__provider' && v !== undefined) out[k] = secretValue(v).value;
  return out as unknown as ImageBuildInputs;
}

/** Declares a CustomizedImage under mocks and returns the engine inputs it registered. */
async function declare(args: Omit<ConstructorParameters<typeof CustomizedImage>[1], 'repository'> & { repository?: string }): Promise<ImageBuildInputs> {
  const name = `img${++n}`;
  const img = new CustomizedImage(name, { repository: `${reg.host}/team/app`, tag: 'v1', ...args });
  await settle(img, img.build);
  return engineInputs(`${name}-build`);
}

function specDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(root, 'spec-'));
  for (const [f, c] of Object.entries(files)) writeFileSync(path.join(dir, f), c);
  writeFileSync(path.join(dir, 'spec.yaml'), [
    `base_image: "${base.ref}"`,
    'arch: amd64',
    'copy_files:',
    ...Object.keys(files).map((f) => `  - {source: ${f}, destination: /etc/app/${f}, mode: "0640", owner: "0:65532"}`),
    '',
  ].join('\n'));
  return dir;
}

beforeAll(async () => {
  registerCjs();
  registerEsm();
  root = mkdtempSync(path.join(tmpdir(), 'cleanimg-pulumi-image-'));
  mkdirSync(path.join(root, 'cache'));
  reg = await startRegistry();
  base = await pushBaseImage(reg, 'base/app', 'v1');
});

afterAll(async () => {
  await reg?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the CustomizedImage provider against a real registry', () => {
  it('create pushes the overlay: skopeo sees the digest it reports, under the tag; again with the same inputs, the same digest', async () => {
    const dir = specDir({ 'app.conf': 'a = 1\n' });
    const inputs = await declare({ spec: path.join(dir, 'spec.yaml'), cacheDir: path.join(root, 'cache') });
    expect(inputs.specPath).toBe(path.join(dir, 'spec.yaml'));
    const { id, outs } = await provider.create(inputs);
    expect(id).toBe(`${reg.host}/team/app:v1`);
    expect(outs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(outs.ref).toBe(`${reg.host}/team/app@${outs.digest}`);
    expect(await skopeoDigest(`${reg.host}/team/app:v1`)).toBe(outs.digest);
    expect(await skopeoDigest(outs.ref)).toBe(outs.digest);
    expect(outs).toMatchObject({ baseDigest: base.digest, baseManifestDigest: base.digest, platform: 'linux/amd64', signed: false, specDigest: inputs.specDigest, sourceHash: inputs.sourceHash });
    expect(JSON.stringify(outs)).not.toContain('__provider');

    const again = await provider.create(inputs);
    expect(again.outs.digest).toBe(outs.digest);
    // Nothing changed: diff says so (the engine's "no changes" in preview).
    expect(await provider.diff(id, outs, inputs)).toEqual({ changes: false, replaces: [] });
    // The same spec declared again (another resource) hashes the same.
    const same = await declare({ spec: path.join(dir, 'spec.yaml'), cacheDir: path.join(root, 'cache') });
    expect(same.sourceHash).toBe(inputs.sourceHash);
    expect(await provider.diff(id, outs, same)).toEqual({ changes: false, replaces: [] });
  });

  it('a changed file changes the hash; diff says update (not replace); update pushes a new digest and moves the tag', async () => {
    const dir = specDir({ 'app.conf': 'a = 1\n' });
    const before = await declare({ spec: path.join(dir, 'spec.yaml'), tag: 'v2' });
    const first = await provider.create(before);
    writeFileSync(path.join(dir, 'app.conf'), 'a = 2\n');
    const after = await declare({ spec: path.join(dir, 'spec.yaml'), tag: 'v2' });
    expect(after.specDigest).toBe(before.specDigest);
    expect(after.sourceHash).not.toBe(before.sourceHash);
    expect(await provider.diff(first.id, first.outs, after)).toEqual({ changes: true, replaces: [] });
    const { outs } = await provider.update(first.id, first.outs, after);
    expect(outs.digest).not.toBe(first.outs.digest);
    expect(await skopeoDigest(`${reg.host}/team/app:v2`)).toBe(outs.digest);
    // The old image stays (delete and update never remove anything).
    expect(await skopeoDigest(first.outs.ref)).toBe(first.outs.digest);
    // Another tag or repository is a replacement.
    const moved = await declare({ spec: path.join(dir, 'spec.yaml'), tag: 'v3' });
    expect(await provider.diff(first.id, outs, moved)).toEqual({ changes: true, replaces: ['tag'] });
    await provider.delete(first.id, outs);
    expect(await skopeoDigest(`${reg.host}/team/app:v2`)).toBe(outs.digest);
  });

  it('read (pulumi refresh): keeps an image that is there, notices a moved tag (the next diff moves it back), and drops a deleted image', async () => {
    const dir = specDir({ 'app.conf': 'refresh = 1\n' });
    const inputs = await declare({ spec: path.join(dir, 'spec.yaml'), tag: 'refresh' });
    const { id, outs } = await provider.create(inputs);
    // As Pulumi passes it: the state, with the provider's own key.
    const state = { ...outs, __provider: 'serialized provider' } as ImageBuildOutputs;
    expect(await provider.read(id, state)).toEqual({ id, props: state });
    expect(await provider.diff(id, outs, inputs)).toEqual({ changes: false, replaces: [] });

    // Another pipeline moves the tag to another image: refresh records it, the next diff is an update,
    // and the update moves the tag back to this image (the same digest: the build is reproducible).
    const otherDir = specDir({ 'app.conf': 'refresh = 2\n' });
    const other = await provider.create(await declare({ spec: path.join(otherDir, 'spec.yaml'), tag: 'refresh' }));
    expect(await skopeoDigest(`${reg.host}/team/app:refresh`)).toBe(other.outs.digest);
    const moved = await provider.read(id, state);
    expect(moved).toEqual({ id, props: { ...state, tagDigest: other.outs.digest } });
    expect(await provider.diff(id, moved.props as ImageBuildOutputs, inputs)).toEqual({ changes: true, replaces: [] });
    const back = await provider.update(id, moved.props as ImageBuildOutputs, inputs);
    expect(back.outs.digest).toBe(outs.digest);
    expect(back.outs.tagDigest).toBeUndefined();
    expect(await skopeoDigest(`${reg.host}/team/app:refresh`)).toBe(outs.digest);
    expect(await provider.read(id, state)).toEqual({ id, props: state });

    // The image is deleted from the registry: refresh drops the resource (no id), so the next up pushes it again.
    const res = await fetch(`${reg.url}/v2/team/app/manifests/${outs.digest}`, { method: 'DELETE' });
    expect(res.status).toBe(202);
    expect(await exists(outs.ref)).toBe(false);
    expect(await provider.read(id, state)).toEqual({});
    const again = await provider.create(inputs);
    expect(again.outs.digest).toBe(outs.digest);
    expect(await skopeoDigest(outs.ref)).toBe(outs.digest);

    // A registry that cannot be asked fails the refresh with its error; nothing is dropped on a guess.
    await expect(provider.read(id, { ...state, repository: '127.0.0.1:9/team/app', timeoutSeconds: 2 })).rejects.toThrow(/127\.0\.0\.1:9/);
  });

  it('a failing update fails with the CLI error (code, field, fix), pushes nothing and leaves the tag', async () => {
    const dir = specDir({ 'app.conf': 'a = 1\n' });
    const good = await declare({ spec: path.join(dir, 'spec.yaml'), tag: 'v4' });
    const first = await provider.create(good);
    // The file changes after the program hashed it (between preview and up).
    writeFileSync(path.join(dir, 'app.conf'), 'a = 3\n');
    const stale = await provider.update(first.id, first.outs, good).then(() => undefined, (e: Error) => e);
    expect(stale?.message).toMatch(/PIMG002 copy_files: .* — run `pulumi up` again/);
    expect(await skopeoDigest(`${reg.host}/team/app:v4`)).toBe(first.outs.digest);

    // A base the registry does not have: refused while reading the base, before any push.
    const badBase = specDir({ 'app.conf': 'a = 1\n' });
    writeFileSync(path.join(badBase, 'spec.yaml'), `base_image: "${reg.host}/base/none:v1@sha256:${'0'.repeat(64)}"\narch: amd64\ncopy_files: [{source: app.conf, destination: /etc/app/app.conf}]\n`);
    const noBase = await declare({ spec: path.join(badBase, 'spec.yaml'), tag: 'v4' });
    const err = await provider.update(first.id, first.outs, noBase).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/REG003 \/v2\/base\/none\/manifests\/sha256:0{64}: .*manifest unknown.* — check the repository, tag and digest/);
    expect(await skopeoDigest(`${reg.host}/team/app:v4`)).toBe(first.outs.digest);

    // A signing key with the wrong password: refused before anything is built or pushed.
    const { privateKeyPem } = await generateKeyPair('right-password');
    writeFileSync(path.join(dir, 'app.conf'), 'a = 4\n');
    const wrong = await declare({ spec: path.join(dir, 'spec.yaml'), tag: 'v4', signingKey: privateKeyPem, signingKeyPassword: 'wrong-password' });
    const sigErr = await provider.update(first.id, first.outs, wrong).then(() => undefined, (e: Error) => e);
    expect(sigErr?.message).toMatch(/SIG00\d signingKey: /);
    expect(await skopeoDigest(`${reg.host}/team/app:v4`)).toBe(first.outs.digest);
    // The digest it would have pushed is not in the registry (built here without pushing).
    const client = new RegistryClient(reg.host);
    try {
      const built = await buildOverlay({ specPath: path.join(dir, 'spec.yaml'), source: new RegistryImageSource(client, 'base/app'), manifestFormat: 'oci', sourceDateEpoch: wrong.sourceDateEpoch });
      await built.dispose();
      expect(await exists(`${reg.host}/team/app@${built.manifestDigest}`)).toBe(false);
      const tags = JSON.parse((await run('skopeo', ['list-tags', '--tls-verify=false', `docker://${reg.host}/team/app`])).stdout) as { Tags: string[] };
      expect(tags.Tags.filter((t) => t.startsWith('v4'))).toEqual(['v4']);
      // With the right password the same inputs push exactly that digest.
      const { outs } = await provider.update(first.id, first.outs, { ...wrong, signingKeyPassword: 'right-password' });
      expect(outs.digest).toBe(built.manifestDigest);
      expect(await skopeoDigest(`${reg.host}/team/app:v4`)).toBe(built.manifestDigest);
    } finally {
      await client.close();
    }
  });

  it('signs with a key given as a secret: the .sig tag exists, the public key is an output, the key never is', async () => {
    const dir = specDir({ 'app.conf': 'signed = 1\n' });
    const { privateKeyPem, publicKeyPem } = await generateKeyPair('pw-1');
    const inputs = await declare({ spec: path.join(dir, 'spec.yaml'), tag: 'signed', signingKey: privateKeyPem, signingKeyPassword: 'pw-1' });
    const raw = recorder.inputsOf(IMAGE_BUILD_TYPE, `img${n}-build`);
    expect(secretValue(raw.signingKey).secret).toBe(true);
    expect(secretValue(raw.signingKeyPassword).secret).toBe(true);
    const { id, outs } = await provider.create(inputs);
    expect(outs.signed).toBe(true);
    expect(outs.publicKey).toBe(publicKeyPem);
    expect(outs.signatureTag).toBe(`sha256-${outs.digest.slice(7)}.sig`);
    expect(await exists(`${reg.host}/team/app:${outs.signatureTag}`)).toBe(true);
    const text = JSON.stringify(outs);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain('pw-1');
    // The same key: no change. Another key: an update (re-sign).
    expect((await provider.diff(id, outs, inputs)).changes).toBe(false);
    const other = await generateKeyPair('pw-2');
    expect(await provider.diff(id, outs, { ...inputs, signingKey: other.privateKeyPem, signingKeyPassword: 'pw-2' })).toEqual({ changes: true, replaces: [] });
    const { signingKey: _k, signingKeyPassword: _p, ...unsigned } = inputs;
    expect((await provider.diff(id, outs, unsigned as ImageBuildInputs)).changes).toBe(true);
  });

  it('signatureFormat both and attest: the .sig tag and the referrers, outputs say so, a changed format is an update; bad values refused at construction', async () => {
    const dir = specDir({ 'app.conf': 'bundled = 1\n' });
    const { privateKeyPem } = await generateKeyPair('pw-3');
    const inputs = await declare({ spec: path.join(dir, 'spec.yaml'), tag: 'bundled', signingKey: privateKeyPem, signingKeyPassword: 'pw-3', signatureFormat: 'both', attest: true });
    expect(inputs).toMatchObject({ signatureFormat: 'both', attest: true });
    const { id, outs } = await provider.create(inputs);
    expect(outs).toMatchObject({ signed: true, signatureFormat: 'both', attested: true, signatureTag: `sha256-${outs.digest.slice(7)}.sig` });
    expect(await exists(`${reg.host}/team/app:sha256-${outs.digest.slice(7)}`)).toBe(true); // the referrers fallback tag
    expect((await provider.diff(id, outs, inputs)).changes).toBe(false);
    expect(await provider.diff(id, outs, { ...inputs, signatureFormat: 'bundle' })).toEqual({ changes: true, replaces: [] });
    const { attest: _a, ...noAttest } = inputs;
    expect((await provider.diff(id, outs, noAttest as ImageBuildInputs)).changes).toBe(true);
    // Left out (legacy, no attestations), the inputs are what they were before these options existed.
    const plain = await declare({ spec: path.join(dir, 'spec.yaml'), tag: 'plain', signingKey: privateKeyPem, signingKeyPassword: 'pw-3' });
    expect(Object.keys(plain)).not.toContain('signatureFormat');
    expect(Object.keys(plain)).not.toContain('attest');
    expect(() => new CustomizedImage('bad-format', { repository: `${reg.host}/team/app`, tag: 'x', spec: path.join(dir, 'spec.yaml'), signingKey: privateKeyPem, signatureFormat: 'dsse' as never })).toThrow(/SIG014|not a signature format/);
    expect(() => new CustomizedImage('attest-unsigned', { repository: `${reg.host}/team/app`, tag: 'x', spec: path.join(dir, 'spec.yaml'), attest: true })).toThrow(/need signingKey/);
  });

  it('an inline spec builds the same digest as the same spec in a file named "inline"', async () => {
    const dir = specDir({ 'app.conf': 'inline = 1\n' });
    const fields = { base_image: base.ref, arch: 'amd64', copy_files: [{ source: 'app.conf', destination: '/etc/app/app.conf', mode: 0o640, owner: '0:65532' }] };
    const inline = await declare({ spec: { fields, dir }, tag: 'inline' });
    writeFileSync(path.join(dir, 'inline'), JSON.stringify(fields).replace('"mode":416', '"mode":"0640"'));
    const file = await declare({ spec: path.join(dir, 'inline'), tag: 'inline-file' });
    const a: ImageBuildOutputs = (await provider.create(inline)).outs;
    const b: ImageBuildOutputs = (await provider.create(file)).outs;
    expect(a.digest).toBe(b.digest);
    expect(await skopeoDigest(`${reg.host}/team/app:inline`)).toBe(a.digest);
  });

  it('the example spec (embedded base, layers uploaded from its layout) gives the digest the cdk8s CustomizedImage writes', async () => {
    const spec = path.join(__dirname, '..', '..', 'examples', 'postgres', 'image', 'spec.yaml');
    const cacheDir = path.join(root, 'cache');
    const inputs = await declare({ spec, repository: `${reg.host}/db/postgres`, tag: '15-custom', cacheDir });
    const { outs } = await provider.create(inputs);
    expect(await skopeoDigest(`${reg.host}/db/postgres:15-custom`)).toBe(outs.digest);
    const chart = Testing.chart();
    const cdk8s = new Cdk8sCustomizedImage(chart, 'pg', { spec, repository: `${reg.host}/db/postgres`, tag: '15-custom', cacheDir, outputDir: path.join(root, 'cdk8s-layout') });
    expect(outs.digest).toBe(cdk8s.digest);
    expect(outs.ref).toBe(cdk8s.imageRef);
    // The registry holds every blob (the base's layers came from the embedded layout): skopeo copies it whole.
    await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${outs.ref}`, `oci:${path.join(root, 'copied')}:x`]);
  }, 120_000);
});
