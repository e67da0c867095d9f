/**
 * CustomizedImage's wiring under mocks: the child dynamic resource (type, parent, inputs), the
 * outputs, HardenedDeployment taking the component as its image, and bad input failing at
 * construction with nothing registered. The mocked build reports a digest computed here from its
 * inputs, so a test cannot pass with a constant.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSpec, specDigest } from '../../src/customize/spec';
import { CustomizedImage, CUSTOMIZED_IMAGE_TYPE, DEFAULT_BASE_REF, HardenedDeployment, IMAGE_BUILD_TYPE, sourceHashOf } from '../../src/pulumi';
import { CUSTOM_IMAGE_NAMESPACE, deployCustomizedPostgres } from '../../examples/pulumi/customized-image';
import { installMocks, secretValue, settle, valueOf } from './harness';
import { generateCa } from '../support/registry';
import { thrown } from '../support/expect-error';

const fakeDigest = (inputs: Record<string, unknown>) => `sha256:${createHash('sha256').update(`${inputs.specDigest} ${secretValue(inputs.sourceHash).value}`).digest('hex')}`;
const recorder = installMocks('cleanimg-test', 'test', (r) => {
  // A registry repository created in the same stack (as an ECR or Artifact Registry repository would be).
  if (r.type === 'test:index:Repository') return { repositoryUrl: `registry.example.com/${r.inputs.name}` };
  if (r.type !== IMAGE_BUILD_TYPE) return undefined;
  const digest = fakeDigest(r.inputs);
  return { digest, ref: `${r.inputs.repository}@${digest}`, baseDigest: DEFAULT_BASE_REF.split('@')[1], platform: 'linux/amd64', signed: r.inputs.signingKey !== undefined };
});

/** A registry repository resource, as a cloud provider's would be; the mocks give it a URL. */
class TestRepository extends pulumi.CustomResource {
  declare readonly repositoryUrl: pulumi.Output<string>;
  constructor(name: string, repoName: string) {
    super('test:index:Repository', name, { name: repoName, repositoryUrl: undefined });
  }
}

const root = mkdtempSync(path.join(tmpdir(), 'cleanimg-pulumi-ci-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function specFolder(content = 'listen 8080;\n', extra = ''): { dir: string; spec: string } {
  const dir = mkdtempSync(path.join(root, 'spec-'));
  writeFileSync(path.join(dir, 'app.conf'), content);
  const spec = path.join(dir, 'spec.yaml');
  writeFileSync(spec, `base_image: "${DEFAULT_BASE_REF}"\narch: amd64\ncopy_files:\n  - {source: app.conf, destination: /etc/app/app.conf, mode: "0644"}\n${extra}`);
  return { dir, spec };
}


describe('CustomizedImage (Pulumi) under mocks', () => {
  it('registers one dynamic build resource parented to the component, with the spec digest and the sources hash as inputs', async () => {
    const { dir, spec } = specFolder();
    const img = new CustomizedImage('web-image', { spec, repository: 'registry.example.com/team/web', tag: '1.0' });
    const [compUrn, buildUrn] = await settle(img, img.build);
    expect(compUrn).toMatch(/::cleanimg:index:CustomizedImage::web-image$/);
    expect(buildUrn).toMatch(/::cleanimg:index:CustomizedImage\$pulumi-nodejs:dynamic\/cleanimg:CustomizedImageBuild::web-image-build$/);
    expect(CUSTOMIZED_IMAGE_TYPE).toBe('cleanimg:index:CustomizedImage');
    const inputs = recorder.inputsOf(IMAGE_BUILD_TYPE, 'web-image-build');
    const parsed = parseSpec(await import('node:fs').then((fs) => fs.readFileSync(spec, 'utf8')), 'spec.yaml');
    expect(inputs).toMatchObject({
      specDigest: specDigest(parsed),
      sourceHash: await sourceHashOf(parsed, dir),
      specPath: spec,
      specDir: dir,
      specName: 'spec.yaml',
      repository: 'registry.example.com/team/web',
      tag: '1.0',
      sourceDateEpoch: 0,
      manifestFormat: 'oci',
    });
    expect(typeof inputs.__provider).toBe('string');
    expect(inputs.__provider).toContain('image-engine');
    expect(img.specDigest).toBe(specDigest(parsed));

    // Outputs: ref/imageRef/digest come from the build resource.
    const digest = fakeDigest(inputs);
    expect(await valueOf(img.digest)).toBe(digest);
    expect(await valueOf(img.ref)).toBe(`registry.example.com/team/web@${digest}`);
    expect(await valueOf(img.imageRef)).toBe(`registry.example.com/team/web@${digest}`);
    expect(await valueOf(img.platform)).toBe('linux/amd64');
    expect(await valueOf(img.baseDigest)).toBe(DEFAULT_BASE_REF.split('@')[1]);
  });

  it('takes the repository as an Output (a repository created in the same stack): checked when known, used for the push and the ref', async () => {
    const { spec } = specFolder('listen 9090;\n');
    const repo = new TestRepository('stack-repo', 'team/from-stack');
    const img = new CustomizedImage('late-repo', { spec, repository: repo.repositoryUrl, tag: '2.0' });
    await settle(img, img.build);
    const inputs = recorder.inputsOf(IMAGE_BUILD_TYPE, 'late-repo-build');
    expect(inputs).toMatchObject({ repository: 'registry.example.com/team/from-stack', tag: '2.0' });
    expect(await valueOf(img.repository)).toBe('registry.example.com/team/from-stack');
    expect(await valueOf(img.ref)).toBe(`registry.example.com/team/from-stack@${fakeDigest(inputs)}`);
    // Normalized like a plain string: Docker Hub's short names get their registry and library/.
    const hub = new CustomizedImage('hub-repo', { spec, repository: pulumi.output('nginx') });
    expect(await valueOf(hub.repository)).toBe('docker.io/library/nginx');
  });

  it('HardenedDeployment takes the image object and pins its digest; the Deployment depends on the build', async () => {
    const { spec } = specFolder('server { listen 8080; }\n');
    const img = new CustomizedImage('nginx-image', { spec, repository: 'registry.example.com/web/nginx' });
    const d = new HardenedDeployment('nginx', { containers: [{ name: 'nginx', image: img, ports: [{ containerPort: 8080 }] }] });
    await settle(d.deployment);
    const inputs = recorder.inputsOf(IMAGE_BUILD_TYPE, 'nginx-image-build');
    expect(inputs.tag).toBe('custom');
    const dep = recorder.inputsOf('kubernetes:apps/v1:Deployment', 'nginx');
    expect(dep.spec.template.spec.containers[0].image).toBe(`registry.example.com/web/nginx@${fakeDigest(inputs)}`);
    // Its ref (an Output) works the same way.
    const d2 = new HardenedDeployment('nginx-ref', { containers: [{ name: 'nginx', image: img.ref, ports: [{ containerPort: 8080 }] }] });
    await settle(d2.deployment);
    expect(recorder.inputsOf('kubernetes:apps/v1:Deployment', 'nginx-ref').spec.template.spec.containers[0].image).toBe(`registry.example.com/web/nginx@${fakeDigest(inputs)}`);
  });

  it('while the image digest is unknown (preview of a new build), only the Deployment\'s image is unknown, the rest stays known', async () => {
    // An unknown Output, as the engine gives for the build's outputs before it runs.
    const unknown = new (pulumi.Output as unknown as new (...a: unknown[]) => pulumi.Output<string>)(new Set(), Promise.resolve(undefined), Promise.resolve(false), Promise.resolve(false), Promise.resolve(new Set()));
    const d = new HardenedDeployment('late', { containers: [{ name: 'app', image: { imageRef: unknown }, ports: [{ containerPort: 8080 }] }] });
    await settle(d.deployment, d.serviceAccount);
    const dep = recorder.inputsOf('kubernetes:apps/v1:Deployment', 'late');
    expect(dep.metadata).toEqual({ name: 'late', labels: { 'app.kubernetes.io/managed-by': 'cleanimg', 'app.kubernetes.io/name': 'late' } });
    const c = dep.spec.template.spec.containers[0];
    expect(c.name).toBe('app');
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    expect(c.image).toBeUndefined(); // unknown: dropped by the mock runtime, shown as [unknown] by preview
    expect(recorder.inputsOf('kubernetes:core/v1:ServiceAccount', 'late').metadata.name).toBe('late');
    expect(d.resultValue).toBeUndefined();
  });

  it('the sources hash follows contents, modes and owners, not where the folder is', async () => {
    const a = specFolder('x = 1\n');
    const parsed = parseSpec(await import('node:fs').then((fs) => fs.readFileSync(a.spec, 'utf8')), 'spec.yaml');
    const h1 = await sourceHashOf(parsed, a.dir);
    const moved = path.join(root, `moved-${++n}`);
    renameSync(a.dir, moved);
    expect(await sourceHashOf(parsed, moved)).toBe(h1);
    writeFileSync(path.join(moved, 'app.conf'), 'x = 2\n');
    expect(await sourceHashOf(parsed, moved)).not.toBe(h1);
    writeFileSync(path.join(moved, 'app.conf'), 'x = 1\n');
    expect(await sourceHashOf(parsed, moved)).toBe(h1);
    const mode = parseSpec(`base_image: "${DEFAULT_BASE_REF}"\narch: amd64\ncopy_files: [{source: app.conf, destination: /etc/app/app.conf, mode: "0600"}]\n`);
    expect(await sourceHashOf(mode, moved)).not.toBe(h1);
    const owner = parseSpec(`base_image: "${DEFAULT_BASE_REF}"\narch: amd64\ncopy_files: [{source: app.conf, destination: /etc/app/app.conf, mode: "0644", owner: "0:65532"}]\n`);
    expect(await sourceHashOf(owner, moved)).not.toBe(h1);
  });

  it('the sources hash follows the trust_ca files\' contents, and refuses a CA a build would refuse', async () => {
    const a = specFolder('x = 1\n');
    const caDir = mkdtempSync(path.join(root, 'ca-'));
    const trusting = parseSpec(`base_image: "${DEFAULT_BASE_REF}"\narch: amd64\ntrust_ca: [corp.crt]\n`);
    copyFileSync(generateCa(caDir, 'one').certFile, path.join(a.dir, 'corp.crt'));
    const h1 = await sourceHashOf(trusting, a.dir);
    expect(await sourceHashOf(trusting, a.dir)).toBe(h1);
    copyFileSync(generateCa(caDir, 'two').certFile, path.join(a.dir, 'corp.crt'));
    expect(await sourceHashOf(trusting, a.dir)).not.toBe(h1);
    writeFileSync(path.join(a.dir, 'corp.crt'), 'not a certificate\n');
    await expect(sourceHashOf(trusting, a.dir)).rejects.toThrow(/TC002/);
  });

  it('marks the registry password and the signing key and its password secret; they never become outputs', async () => {
    const { spec } = specFolder();
    const img = new CustomizedImage('signed-image', {
      spec,
      repository: 'registry.example.com/team/signed',
      username: 'robot',
      password: 'plain-password-given',
      signingKey: '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nabc\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n',
      signingKeyPassword: 'key-password',
      caFile: 'certs/ca.pem',
    });
    await settle(img.build);
    const inputs = recorder.inputsOf(IMAGE_BUILD_TYPE, 'signed-image-build');
    for (const k of ['password', 'signingKey', 'signingKeyPassword']) expect(secretValue(inputs[k]).secret, k).toBe(true);
    expect(secretValue(inputs.username).secret).toBe(false);
    expect(inputs.caFiles).toEqual([path.resolve('certs/ca.pem')]);
    expect(inputs.__provider).not.toContain('key-password');
  });

  it('an inline spec is passed as fields with its folder and named "inline"', async () => {
    const { dir } = specFolder();
    const fields = { base_image: DEFAULT_BASE_REF, arch: 'amd64', copy_files: [{ source: 'app.conf', destination: '/etc/app/app.conf', mode: 0o644 }] };
    const img = new CustomizedImage('inline-image', { spec: { fields, dir }, repository: 'registry.example.com/team/inline' });
    await settle(img.build);
    const inputs = recorder.inputsOf(IMAGE_BUILD_TYPE, 'inline-image-build');
    expect(inputs).toMatchObject({ spec: fields, specDir: dir, specName: 'inline' });
    expect(inputs.specPath).toBeUndefined();
  });

  it('the example program (examples/pulumi/customized-image.ts) pins the pushed digest in the postgres Deployment', async () => {
    const { image, deployment } = deployCustomizedPostgres();
    await settle(image.build, deployment.deployment);
    const inputs = recorder.inputsOf(IMAGE_BUILD_TYPE, 'postgres-custom-image-build');
    expect(inputs).toMatchObject({ repository: 'registry.example.com/db/postgres', tag: '15-custom', specName: 'spec.yaml' });
    expect(inputs.signingKey).toBeUndefined();
    const dep = recorder.inputsOf('kubernetes:apps/v1:Deployment', 'postgres-custom');
    expect(dep.metadata.namespace).toBe(CUSTOM_IMAGE_NAMESPACE);
    expect(dep.spec.template.spec.containers[0].image).toBe(`registry.example.com/db/postgres@${fakeDigest(inputs)}`);
  });

  it('bad input fails at construction with the CLI codes, and registers nothing', async () => {
    const before = recorder.resources.length;
    const { spec, dir } = specFolder();
    expect(thrown(() => new CustomizedImage('bad-repo', { spec, repository: 'registry.example.com/team/app:1.0' })).problems[0]).toMatchObject({ code: 'CI002', path: 'CustomizedImage bad-repo/repository' });
    expect(thrown(() => new CustomizedImage('bad-tag', { spec, repository: 'registry.example.com/team/app', tag: '-x' })).problems[0]).toMatchObject({ code: 'CI002' });
    expect(thrown(() => new CustomizedImage('no-spec', { spec: path.join(dir, 'missing.yaml'), repository: 'r.example.com/a' })).problems[0]).toMatchObject({ code: 'SPEC001' });
    const typo = thrown(() => new CustomizedImage('typo', { spec: { fields: { base_image: DEFAULT_BASE_REF, arch: 'amd64', copy_files: [{ source: 'app.conf', destinaton: '/etc/x' }] }, dir }, repository: 'r.example.com/a' }));
    expect(typo.message).toMatch(/^CustomizedImage typo: /);
    expect(typo.problems.map((p) => p.code)).toContain('SPEC003');
    expect(typo.problems.find((p) => p.code === 'SPEC003')!.fix).toContain('did you mean "destination"');
    const unpinned = thrown(() => new CustomizedImage('unpinned', { spec: { fields: { base_image: 'nginx:1.25', arch: 'amd64', copy_files: [{ source: 'app.conf', destination: '/etc/x' }] }, dir }, repository: 'r.example.com/a' }));
    expect(unpinned.problems[0]).toMatchObject({ code: 'SPEC004', path: 'base_image' });
    await new Promise((r) => setTimeout(r, 50));
    expect(recorder.resources.length).toBe(before);
  });

  it('a bad source (a private key) fails the program when it hashes the sources, with the input check\'s code and fix', () => {
    const dir = mkdtempSync(path.join(root, 'leak-'));
    const fixture = path.join(__dirname, 'fixtures', 'image-error.ts');
    const runIt = (which: string) => spawnSync(process.execPath, ['--import', 'tsx', fixture, which, dir], { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8', timeout: 120_000 });
    const bad = runIt('private-key');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('CustomizedImage leaky: the spec\'s inputs have 1 problem');
    expect(bad.stderr).toMatch(/INPUT007 copy_files\[0\]\.source: app\.conf .*PRIVATE KEY.* — keep secrets out of images/);
    // A repository that is an Output is checked once known: a tag in it fails the program the same way.
    const badRepo = runIt('output-repository-with-tag');
    expect(badRepo.status).not.toBe(0);
    expect(badRepo.stderr).toMatch(/CI002 CustomizedImage leaky\/repository: "registry\.example\.com\/team\/app:1\.0" has a tag or digest.*pass registry\.example\.com\/team\/app and set tag separately/);
    const good = runIt('good');
    expect(good.stderr).toBe('');
    expect(good.status).toBe(0);
  }, 300_000);
});
