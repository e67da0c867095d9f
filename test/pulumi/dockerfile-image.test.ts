/**
 * DockerfileImage (Pulumi) under mocks: the Dockerfile rules run at construction (a violation
 * throws with lines and fixes and registers nothing), the docker-build Image's inputs, and the
 * pushed digest flowing into HardenedDeployment. The real docker-build provider needs BuildKit
 * (a Docker engine or buildkitd), which this machine does not have (TESTBED.md).
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { afterAll, describe, expect, it } from 'vitest';
import { generateDockerfile } from '../../src/dockerfile';
import { DockerfileImage, DOCKERFILE_IMAGE_TYPE, HardenedDeployment } from '../../src/pulumi';
import { BASE, BUILDER, fakePrivateKey, tree } from '../dockerfile/helpers';
import { installMocks, secretValue, settle, valueOf } from './harness';
import { thrown } from '../support/expect-error';

const IMAGE_TYPE = 'docker-build:index:Image';
/** The digest the mocked build reports: derived from its inputs, so no constant can pass. */
const digestOf = (inputs: Record<string, unknown>) => `sha256:${createHash('sha256').update(JSON.stringify(inputs.tags)).digest('hex')}`;
const recorder = installMocks('cleanimg-test', 'test', (r) => (r.type === IMAGE_TYPE ? { digest: digestOf(r.inputs), ref: `${(r.inputs.tags as string[])[0]}@${digestOf(r.inputs)}` } : undefined));

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function project(files: Record<string, string> = {}, dockerfile?: string): string {
  const gen = generateDockerfile({ lang: 'go', builderImage: BUILDER, prodBase: BASE });
  const d = tree({ Dockerfile: dockerfile ?? gen.dockerfile, '.dockerignore': gen.dockerignore, 'go.mod': 'module x\n', 'main.go': 'package main\n', ...files }, 'cleanimg-df-pulumi-');
  dirs.push(d);
  return d;
}


describe('DockerfileImage (Pulumi) under mocks', () => {
  it('registers a docker-build Image (push, tags, context, Dockerfile) parented to the component', async () => {
    const d = project();
    const img = new DockerfileImage('api-image', { context: d, repository: 'registry.example.com/team/api', tags: ['1.4.0', 'stable'], allowedBases: ['cleanstart/'], platforms: ['linux/amd64'], buildArgs: { GOFLAGS: '-trimpath' } });
    const [compUrn, imageUrn] = await settle(img, img.image);
    expect(DOCKERFILE_IMAGE_TYPE).toBe('cleanimg:index:DockerfileImage');
    expect(compUrn).toMatch(/::cleanimg:index:DockerfileImage::api-image$/);
    expect(imageUrn).toMatch(/::cleanimg:index:DockerfileImage\$docker-build:index:Image::api-image$/);
    const inputs = recorder.inputsOf(IMAGE_TYPE, 'api-image');
    expect(inputs).toMatchObject({
      push: true,
      tags: ['registry.example.com/team/api:1.4.0', 'registry.example.com/team/api:stable'],
      context: { location: d },
      dockerfile: { location: join(d, 'Dockerfile') },
      platforms: ['linux/amd64'],
      buildArgs: { GOFLAGS: '-trimpath' },
    });
    expect(inputs.exports).toBeUndefined();
    const digest = digestOf(inputs);
    expect(await valueOf(img.digest)).toBe(digest);
    expect(await valueOf(img.ref)).toBe(`registry.example.com/team/api@${digest}`);
    expect(await valueOf(img.imageRef)).toBe(`registry.example.com/team/api@${digest}`);
  });

  it('the pushed digest flows into HardenedDeployment (the object or its ref)', async () => {
    const d = project();
    const img = new DockerfileImage('web-image', { context: d, repository: 'registry.example.com/team/web' });
    const a = new HardenedDeployment('web', { containers: [{ name: 'web', image: img, ports: [{ containerPort: 8080 }] }] });
    const b = new HardenedDeployment('web-ref', { containers: [{ name: 'web', image: img.ref, ports: [{ containerPort: 8080 }] }] });
    await settle(a.deployment, b.deployment);
    const inputs = recorder.inputsOf(IMAGE_TYPE, 'web-image');
    expect(inputs.tags).toEqual(['registry.example.com/team/web:latest']);
    const want = `registry.example.com/team/web@${digestOf(inputs)}`;
    expect(recorder.inputsOf('kubernetes:apps/v1:Deployment', 'web').spec.template.spec.containers[0].image).toBe(want);
    expect(recorder.inputsOf('kubernetes:apps/v1:Deployment', 'web-ref').spec.template.spec.containers[0].image).toBe(want);
  });

  it('takes the repository as an Output: its tags, the registry address and the ref follow it once known', async () => {
    const d = project();
    const url = pulumi.output(Promise.resolve('registry.example.com/team/late'));
    const img = new DockerfileImage('late-image', { context: d, repository: url, tags: ['1.0'], registry: { username: 'robot', password: 'pw' } });
    await settle(img.image);
    const inputs = recorder.inputsOf(IMAGE_TYPE, 'late-image');
    expect(inputs.tags).toEqual(['registry.example.com/team/late:1.0']);
    expect(secretValue(inputs.registries).value).toEqual([{ address: 'registry.example.com', username: 'robot', password: 'pw' }]);
    expect(await valueOf(img.repository)).toBe('registry.example.com/team/late');
    expect(await valueOf(img.ref)).toBe(`registry.example.com/team/late@${digestOf(inputs)}`);
  });

  it('registry credentials and build secrets are secret; an insecure registry gets its own registry export', async () => {
    const d = project();
    const img = new DockerfileImage('private-image', { context: d, repository: '127.0.0.1:5000/team/p', insecure: true, registry: { username: 'robot', password: 'registry-password' }, secrets: { npmrc: 'token' } });
    await settle(img.image);
    const inputs = recorder.inputsOf(IMAGE_TYPE, 'private-image');
    expect(inputs.push).toBe(false);
    expect(inputs.exports).toEqual([{ registry: { push: true, insecure: true } }]);
    // The password is secret, so the whole list holding it is (Pulumi marks the container).
    expect(secretValue(inputs.registries)).toEqual({ secret: true, value: [{ address: '127.0.0.1:5000', username: 'robot', password: 'registry-password' }] });
    expect(secretValue(inputs.secrets)).toEqual({ secret: true, value: { npmrc: 'token' } });
  });

  it('a Dockerfile that breaks the rules throws every violation with its line and fix, and registers nothing', async () => {
    const before = recorder.resources.length;
    const bad = project({}, [
      'FROM golang:1.22 AS build',
      'COPY . /src',
      'RUN go build -o /app /src',
      'FROM cleanstart/go:1.22-prod',
      'COPY --from=build /app /app',
      'RUN chmod 755 /app',
      'USER root',
      'CMD /app',
      '',
    ].join('\n'));
    const e = thrown(() => new DockerfileImage('bad-image', { context: bad, repository: 'registry.example.com/team/bad' }));
    expect(e.message).toMatch(/^DockerfileImage bad-image: .*Dockerfile breaks \d+ Dockerfile rules:/);
    const lines = e.problems.map((p) => p.path.split(':').pop());
    expect(lines).toEqual(expect.arrayContaining(['4', '6', '7', '8']));
    for (const p of e.problems) expect(p.fix.length).toBeGreaterThan(0);
    // A private key in the context that COPY would put into the image.
    const leaky = project({ 'id_ecdsa': fakePrivateKey() }, `FROM ${BASE}\nCOPY id_ecdsa /home/app/.ssh/id_ecdsa\nUSER 65532\nENTRYPOINT ["/app"]\n`);
    expect(thrown(() => new DockerfileImage('leaky-image', { context: leaky, repository: 'registry.example.com/team/leaky' })).problems.length).toBeGreaterThan(0);
    // Another base family than allowed.
    const other = project({}, `FROM docker.io/library/alpine:3@sha256:${'c'.repeat(64)}\nUSER 65532\nENTRYPOINT ["/app"]\n`);
    expect(thrown(() => new DockerfileImage('other-image', { context: other, repository: 'registry.example.com/team/o', allowedBases: ['cleanstart/'] })).problems.length).toBeGreaterThan(0);
    // Bad repository or tags.
    const d = project();
    expect(thrown(() => new DockerfileImage('r1', { context: d, repository: 'registry.example.com/team/app:1.0' })).problems[0]).toMatchObject({ code: 'DIG004', path: 'DockerfileImage r1/repository' });
    expect(thrown(() => new DockerfileImage('r2', { context: d, repository: 'registry.example.com/team/app', tags: ['registry.example.com/team/app:1'] })).problems[0]).toMatchObject({ code: 'DIG004', path: 'DockerfileImage r2/tags' });
    expect(thrown(() => new DockerfileImage('r3', { context: d, dockerfile: join(d, 'Nope.Dockerfile'), repository: 'registry.example.com/team/app' })).problems[0]).toMatchObject({ code: 'DFP002' });
    await new Promise((r) => setTimeout(r, 50));
    expect(recorder.resources.length).toBe(before);
    expect(recorder.resources.some((r) => r.type === IMAGE_TYPE && /bad|leaky|other|r\d/.test(r.name))).toBe(false);
  });
});
