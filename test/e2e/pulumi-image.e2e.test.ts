// CustomizedImage under the real Pulumi engine: `pulumi up` of a small program builds an overlay
// on a base pushed to a local registry, pushes and signs it (the key from `pulumi config set
// --secret`), and a HardenedDeployment on the tier's API server names its digest. Then: a second
// preview shows no change; a changed source file shows an update and `up` moves tag and Deployment
// to the new digest; the real cosign v3 verifies the signature with the public key; the state
// (`pulumi stack export`) holds the key and its password only encrypted; destroy leaves the image.
// The dynamic provider runs in its own process (pulumi-resource-pulumi-nodejs, from @pulumi/pulumi).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_TOOLS } from './support/global-setup';
import { pushSmallImage, type PushedImage } from './support/image';
import { PULUMI_TOOLS, REPO, projectUsesPulumi, pulumiPackagesInstalled, pulumiWorkspace, type PulumiWorkspace } from './support/pulumi';
import { startRegistry, type Registry } from './support/registry';
import { sharedCluster, sharedClusterError, type SharedCluster } from './support/shared-cluster';
import { inCI, recordSkip, run, runOk, skipWithout, tool } from './support/tools';

const TOOLS = ['docker-registry', 'skopeo', 'umoci', 'cosign-v3'] as const;

function skipSuite(): boolean {
  if (!projectUsesPulumi()) return true;
  if (!pulumiPackagesInstalled() && !inCI()) {
    process.stderr.write('[e2e] skipping the CustomizedImage engine suite: run npm ci\n');
    recordSkip('npm ci (the Pulumi packages)');
    return true;
  }
  return skipWithout([...CLUSTER_TOOLS, ...PULUMI_TOOLS, ...TOOLS]);
}

/** The program: plain JS, using the compiled package (lib/), as an installed cleanimg would. */
function program(specPath: string, repository: string): string {
  return `const pulumi = require('@pulumi/pulumi');
const { CustomizedImage, HardenedDeployment } = require(${JSON.stringify(join(REPO, 'lib', 'pulumi'))});
const cfg = new pulumi.Config();
const img = new CustomizedImage('app-image', {
  spec: ${JSON.stringify(specPath)},
  repository: ${JSON.stringify(repository)},
  tag: 'v1',
  signingKey: cfg.requireSecret('signingKey'),
  signingKeyPassword: cfg.requireSecret('signingKeyPassword'),
});
// No controllers in this cluster: do not wait for a rollout.
const skipAwait = (a) => {
  if (!a.type.startsWith('kubernetes:')) return undefined;
  const metadata = pulumi.output(a.props.metadata).apply((m) => ({ ...m, annotations: { ...((m && m.annotations) || {}), 'pulumi.com/skipAwait': 'true' } }));
  return { props: { ...a.props, metadata }, opts: a.opts };
};
new HardenedDeployment('app', { name: 'image-app', namespace: 'default', containers: [{ name: 'app', image: img, ports: [{ containerPort: 8080 }] }] }, { transformations: [skipAwait] });
exports.ref = img.ref;
exports.digest = img.digest;
exports.platform = img.platform;
exports.baseDigest = img.baseDigest;
`;
}

describe.skipIf(skipSuite())('CustomizedImage under the real Pulumi engine', () => {
  let k: SharedCluster;
  let ws: PulumiWorkspace;
  let reg: Registry;
  let base: PushedImage;
  let dir: string;
  let proj: string;
  let specDir: string;
  let keyPem: string;
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const cosignFlags = ['--insecure-ignore-tlog', '--allow-insecure-registry', '--allow-http-registry'];
  const cosignEnv = () => ({ PATH: process.env.PATH, HOME: dir, COSIGN_PASSWORD: password, COSIGN_EXPERIMENTAL: '0', TUF_ROOT: join(dir, '.sigstore', 'root') });

  const pulumi = async (args: string[]) => {
    const r = await ws.pulumi(args, proj);
    return { ...r, all: r.stdout + r.stderr };
  };
  const outputs = async () => JSON.parse((await runOk(tool('pulumi'), ['stack', 'output', '--json', '--show-secrets', '--non-interactive'], { cwd: proj, env: ws.env })).stdout) as Record<string, string>;
  const registryDigest = async (ref: string) => (await runOk(tool('skopeo'), ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${ref}`])).stdout.trim();
  const deployedImage = async () => {
    const got = await k.kubectl(['get', 'deployment', 'image-app', '-n', 'default', '-o', 'json']);
    expect(got.code, got.stderr).toBe(0);
    return (JSON.parse(got.stdout) as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image;
  };

  beforeAll(async () => {
    const c = sharedCluster();
    if (!c) throw new Error(sharedClusterError() ?? 'no cluster');
    k = c;
    // The program loads the compiled package: build it from the current sources.
    execFileSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.json')], { cwd: REPO, stdio: 'inherit' });
    ws = pulumiWorkspace(k.kubeconfig);
    // The dynamic provider plugin ships with @pulumi/pulumi (a shell script): found on PATH.
    ws.env.PATH = `${join(REPO, 'node_modules', '@pulumi', 'pulumi')}:${ws.env.PATH}`;
    dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-pulumi-image-'));
    reg = await startRegistry('docker-registry');
    base = await pushSmallImage(reg.host, 'e2e/base', 'v1', 'the base\n');

    specDir = join(dir, 'image');
    mkdirSync(specDir);
    writeFileSync(join(specDir, 'app.conf'), 'greeting = hello\n');
    writeFileSync(join(specDir, 'spec.yaml'), `base_image: "${reg.host}/e2e/base:v1@${base.digest}"\narch: amd64\ncopy_files:\n  - {source: app.conf, destination: /etc/app/app.conf, mode: "0644", owner: "0:65532"}\n`);

    await runOk(tool('cosign-v3'), ['generate-key-pair'], { cwd: dir, env: cosignEnv() });
    keyPem = readFileSync(join(dir, 'cosign.key'), 'utf8');

    proj = join(dir, 'project');
    mkdirSync(proj);
    symlinkSync(join(REPO, 'node_modules'), join(proj, 'node_modules'));
    writeFileSync(join(proj, 'Pulumi.yaml'), 'name: image\nruntime: nodejs\nmain: index.js\n');
    writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'image', private: true, main: 'index.js' }));
    writeFileSync(join(proj, 'index.js'), program(join(specDir, 'spec.yaml'), `${reg.host}/e2e/app`));
    expect((await pulumi(['stack', 'init', 'e2e'])).code).toBe(0);
    // A multi-line value through standard input, as `pulumi config set --secret signingKey < cosign.key`.
    const setKey = await run(tool('pulumi'), ['config', 'set', '--secret', 'signingKey', '--non-interactive'], { cwd: proj, env: ws.env, input: keyPem });
    setKey.stdout += setKey.stderr;
    expect(setKey.code, setKey.stdout).toBe(0);
    const setPw = await pulumi(['config', 'set', '--secret', 'signingKeyPassword', password]);
    expect(setPw.code, setPw.all).toBe(0);
  }, 600_000);

  afterAll(async () => {
    ws?.dispose();
    await reg?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pulumi up builds, pushes and signs the image; the registry holds the digest and the Deployment names it', async () => {
    const up = await pulumi(['up', '--yes']);
    expect(up.code, up.all).toBe(0);
    const out = await outputs();
    expect(out.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(out.ref).toBe(`${reg.host}/e2e/app@${out.digest}`);
    expect(out.platform).toBe('linux/amd64');
    expect(out.baseDigest).toBe(base.digest);
    expect(await registryDigest(`${reg.host}/e2e/app:v1`)).toBe(out.digest);
    expect(await deployedImage()).toBe(out.ref);
  });

  it('a second preview shows no change', async () => {
    const preview = await pulumi(['preview', '--diff']);
    expect(preview.code, preview.all).toBe(0);
    expect(preview.stdout).not.toMatch(/to update|to create|to replace|to delete/);
    expect(preview.stdout).toMatch(/\d+ unchanged/);
  });

  it('the real cosign v3 verifies the signature with the public key, and refuses another key', async () => {
    const { ref } = await outputs();
    const ok = await run(tool('cosign-v3'), ['verify', '--key', join(dir, 'cosign.pub'), ...cosignFlags, '--output', 'json', ref!], { env: cosignEnv(), cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    const payloads = JSON.parse(ok.stdout) as { critical: { image: { 'docker-manifest-digest': string } } }[];
    expect(payloads[0]!.critical.image['docker-manifest-digest']).toBe(ref!.split('@')[1]);
    const other = join(dir, 'other');
    mkdirSync(other);
    await runOk(tool('cosign-v3'), ['generate-key-pair'], { cwd: other, env: cosignEnv() });
    const bad = await run(tool('cosign-v3'), ['verify', '--key', join(other, 'cosign.pub'), ...cosignFlags, ref!], { env: cosignEnv(), cwd: dir });
    expect(bad.code).not.toBe(0);
  });

  it('the state holds the signing key and its password only encrypted', async () => {
    const exported = await runOk(tool('pulumi'), ['stack', 'export', '--non-interactive'], { cwd: proj, env: ws.env });
    const state = exported.stdout;
    const keyBody = keyPem.split('\n').filter((l) => l && !l.startsWith('-----'));
    expect(keyBody.length).toBeGreaterThan(2);
    for (const line of keyBody) expect(state).not.toContain(line);
    expect(state).not.toContain(password);
    expect(state).not.toContain('PRIVATE KEY');
    const build = (JSON.parse(state) as { deployment: { resources: { type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[] } }).deployment.resources.find((r) => r.type === 'pulumi-nodejs:dynamic/cleanimg:CustomizedImageBuild');
    expect(build).toBeDefined();
    expect(JSON.stringify(build!.inputs!.signingKey)).toContain('ciphertext');
    expect(JSON.stringify(build!.inputs!.signingKeyPassword)).toContain('ciphertext');
    expect(build!.outputs!.publicKey).toBe(readFileSync(join(dir, 'cosign.pub'), 'utf8'));
  });

  it('a changed source file: preview shows an update of the build; up moves the tag and the Deployment to the new digest', async () => {
    const before = await outputs();
    writeFileSync(join(specDir, 'app.conf'), 'greeting = hello again\n');
    const preview = await pulumi(['preview', '--diff']);
    expect(preview.code, preview.all).toBe(0);
    expect(preview.stdout).toMatch(/~ .*CustomizedImageBuild.*app-image-build|~ pulumi-nodejs:dynamic\/cleanimg:CustomizedImageBuild/);
    expect(preview.stdout).toMatch(/sourceHash/);
    expect(preview.stdout).toMatch(/\d+ to update/);
    expect(preview.stdout).not.toMatch(/to replace/);
    const up = await pulumi(['up', '--yes']);
    expect(up.code, up.all).toBe(0);
    const after = await outputs();
    expect(after.digest).not.toBe(before.digest);
    expect(await registryDigest(`${reg.host}/e2e/app:v1`)).toBe(after.digest);
    expect(await deployedImage()).toBe(after.ref);
    // The old digest is still in the registry (nothing is deleted).
    expect(await registryDigest(before.ref!)).toBe(before.digest);
  });

  it('refresh notices a tag moved by someone else; the next preview shows an update and up moves the tag back', async () => {
    const { ref, digest } = await outputs();
    const quiet = await pulumi(['refresh', '--yes', '--skip-preview']);
    expect(quiet.code, quiet.all).toBe(0);
    expect((await pulumi(['preview', '--diff'])).stdout).not.toMatch(/CustomizedImageBuild/);
    // Another pipeline pushes something else under the tag.
    await runOk(tool('skopeo'), ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${reg.host}/e2e/base@${base.digest}`, `docker://${reg.host}/e2e/app:v1`]);
    expect(await registryDigest(`${reg.host}/e2e/app:v1`)).toBe(base.digest);
    const refresh = await pulumi(['refresh', '--yes', '--skip-preview', '--diff']);
    expect(refresh.code, refresh.all).toBe(0);
    expect(refresh.stdout).toContain(base.digest); // the tagDigest it recorded
    const preview = await pulumi(['preview', '--diff']);
    expect(preview.code, preview.all).toBe(0);
    expect(preview.stdout).toMatch(/~ pulumi-nodejs:dynamic\/cleanimg:CustomizedImageBuild/);
    expect(preview.stdout).not.toMatch(/to replace/);
    const up = await pulumi(['up', '--yes']);
    expect(up.code, up.all).toBe(0);
    expect(await registryDigest(`${reg.host}/e2e/app:v1`)).toBe(digest);
    expect((await outputs()).ref).toBe(ref);
  });

  it('destroy deletes the build resource and leaves the pushed image and its tag in the registry', async () => {
    const { ref, digest } = await outputs();
    // This cluster has no controllers: a deleted ServiceAccount, Deployment or PodDisruptionBudget
    // keeps its foregroundDeletion finalizer forever, and the Kubernetes provider waits for them
    // to go even with pulumi.com/skipAwait. So the component's Kubernetes objects leave the state
    // first; the destroy then runs the dynamic provider's delete under the real engine.
    const prefix = 'urn:pulumi:e2e::image::cleanimg:index:HardenedDeployment$kubernetes:';
    const exported = JSON.parse((await runOk(tool('pulumi'), ['stack', 'export', '--non-interactive'], { cwd: proj, env: ws.env })).stdout) as { deployment: { resources?: { urn: string }[] } };
    const children = (exported.deployment.resources ?? []).map((r) => r.urn).filter((u) => u.startsWith(prefix));
    expect(children.length).toBeGreaterThanOrEqual(2);
    for (const urn of children) {
      const del = await pulumi(['state', 'delete', urn, '--yes']);
      expect(del.code, del.all).toBe(0);
    }
    const destroy = await run(tool('pulumi'), ['destroy', '--yes', '--non-interactive'], { cwd: proj, env: ws.env, timeoutMs: 150_000 });
    expect(destroy.code, destroy.stdout + destroy.stderr).toBe(0);
    expect(destroy.stdout).toMatch(/CustomizedImageBuild app-image-build deleted/);
    const state = JSON.parse((await runOk(tool('pulumi'), ['stack', 'export', '--non-interactive'], { cwd: proj, env: ws.env })).stdout) as { deployment: { resources?: unknown[] } };
    expect(state.deployment.resources ?? []).toEqual([]);
    expect(await registryDigest(ref!)).toBe(digest);
    expect(await registryDigest(`${reg.host}/e2e/app:v1`)).toBe(digest);
    expect(await registryDigest(`${reg.host}/e2e/app:sha256-${digest!.slice(7)}.sig`)).toMatch(/^sha256:/);
  });
});
