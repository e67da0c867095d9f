import { Testing } from 'cdk8s';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerfileImage, HardenedDeployment } from '../../src/cdk8s';
import { CleanimgError } from '../../src/errors';
import { generateDockerfile, readBuiltImage, repositoryOf } from '../../src/dockerfile';
import { checkObjects } from '../../src/rules';
import { BASE, BUILDER, D1, D2, fakePrivateKey, tree } from './helpers';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A project folder with a generated Dockerfile, a context and (optionally) a lock file. */
function project(files: Record<string, string> = {}): string {
  const { dockerfile, dockerignore } = generateDockerfile({ lang: 'go', builderImage: BUILDER, prodBase: BASE });
  const d = tree({ Dockerfile: dockerfile, '.dockerignore': dockerignore, 'go.mod': 'module x\n', 'main.go': 'package main\n', ...files }, 'cleanimg-df-cdk8s-');
  dirs.push(d);
  return d;
}

/** What `docker buildx build --push --metadata-file` writes. */
function buildxMetadata(digest: string, name = 'registry.example.com/team/app:1.0'): string {
  return JSON.stringify({
    'buildx.build.ref': 'builder/builder0/abc',
    'containerimage.config.digest': `sha256:${'cc'.repeat(32)}`,
    'containerimage.descriptor': { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1234 },
    'containerimage.digest': digest,
    'image.name': name,
  }, null, 2);
}

function error(f: () => unknown): CleanimgError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CleanimgError);
    return e as CleanimgError;
  }
  throw new Error('expected an error');
}

describe('readBuiltImage (the lock file the build step writes)', () => {
  it('reads buildx --metadata-file, bake metadata, and digest files', () => {
    const d = project({
      'meta.json': buildxMetadata(D1, 'reg.example.com:5000/team/app:1.0,reg.example.com:5000/team/app:latest'),
      'bake.json': JSON.stringify({ api: JSON.parse(buildxMetadata(D1, 'r/api:1')), web: JSON.parse(buildxMetadata(D2, 'r/web:1')) }),
      'digest.txt': `${D2}\n`,
      'ref.txt': `reg.example.com/x/y:2@${D1}`,
    });
    expect(readBuiltImage(join(d, 'meta.json'))).toEqual({ digest: D1, repository: 'reg.example.com:5000/team/app' });
    expect(readBuiltImage(join(d, 'bake.json'), 'web')).toEqual({ digest: D2, repository: 'r/web' });
    expect(readBuiltImage(join(d, 'digest.txt'))).toEqual({ digest: D2 });
    expect(readBuiltImage(join(d, 'ref.txt'))).toEqual({ digest: D1, repository: 'reg.example.com/x/y' });
    expect(repositoryOf('localhost:5000/app')).toBe('localhost:5000/app');
  });

  it('refuses a missing, empty, malformed or ambiguous file with a clear error', () => {
    const d = project({
      'empty.json': '',
      'bad.json': '{"containerimage.digest": "sha256:abc123..."}',
      'broken.json': '{"containerimage.digest": ',
      'bake.json': JSON.stringify({ a: JSON.parse(buildxMetadata(D1)), b: JSON.parse(buildxMetadata(D2)) }),
      'two.txt': `${D1}\n${D2}\n`,
      'tag.txt': 'registry.example.com/app:latest',
    });
    const cases: Array<[string, string, RegExp]> = [
      ['missing.json', 'DIG001', /the lock file does not exist — run the build step first, e.g. docker buildx build --push .* --metadata-file/],
      ['empty.json', 'DIG002', /empty/],
      ['bad.json', 'DIG003', /containerimage.digest "sha256:abc123..." is not sha256:<64 hex>/],
      ['broken.json', 'DIG002', /not valid JSON/],
      ['bake.json', 'DIG002', /several targets \(a, b\)/],
      ['two.txt', 'DIG003', /more than one line/],
      ['tag.txt', 'DIG003', /"registry.example.com\/app:latest" is not sha256/],
    ];
    for (const [file, code, msg] of cases) {
      const e = error(() => readBuiltImage(join(d, file)));
      expect(e.problems[0]!.code, file).toBe(code);
      expect(e.message, file).toMatch(msg);
    }
  });
});

describe('DockerfileImage (cdk8s)', () => {
  it('checks the Dockerfile, takes the digest from the lock file, and feeds HardenedDeployment', () => {
    const d = project({ 'meta.json': buildxMetadata(D1) });
    const chart = Testing.chart();
    const image = new DockerfileImage(chart, 'img', { dockerfile: join(d, 'Dockerfile'), lockFile: join(d, 'meta.json'), allowedBases: ['cleanstart/'] });
    expect(image.imageRef).toBe(`registry.example.com/team/app@${D1}`);
    new HardenedDeployment(chart, 'web', { name: 'web', containers: [{ name: 'app', image, ports: [{ containerPort: 8080, name: 'http' }] }] });
    const out = Testing.synth(chart);
    expect(out.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0].image).toBe(`registry.example.com/team/app@${D1}`);
    expect(checkObjects(out)).toEqual([]);
  });

  it('takes a digest passed in by the pipeline, with a repository', () => {
    const d = project();
    const image = new DockerfileImage(Testing.chart(), 'img', { dockerfile: join(d, 'Dockerfile'), digest: D2, repository: 'registry.example.com/app:1.0' });
    expect(image.imageRef).toBe(`registry.example.com/app@${D2}`);
  });

  it('fails synth when the lock file is missing or its digest malformed, or digest and lockFile are both/neither set', () => {
    const d = project({ 'bad.json': buildxMetadata('sha256:abc123...') });
    const chart = Testing.chart();
    expect(error(() => new DockerfileImage(chart, 'a', { dockerfile: join(d, 'Dockerfile'), lockFile: join(d, 'nope.json') })).problems[0]!.code).toBe('DIG001');
    expect(error(() => new DockerfileImage(chart, 'b', { dockerfile: join(d, 'Dockerfile'), lockFile: join(d, 'bad.json') })).problems[0]!.code).toBe('DIG003');
    expect(error(() => new DockerfileImage(chart, 'c', { dockerfile: join(d, 'Dockerfile'), digest: 'sha256:xyz789...', repository: 'r/app' })).problems[0]!.code).toBe('DIG003');
    expect(error(() => new DockerfileImage(chart, 'd', { dockerfile: join(d, 'Dockerfile'), digest: D1 })).problems[0]!.code).toBe('DIG004');
    expect(error(() => new DockerfileImage(chart, 'e', { dockerfile: join(d, 'Dockerfile') })).problems[0]!.code).toBe('DIG005');
    expect(error(() => new DockerfileImage(chart, 'f', { dockerfile: join(d, 'Dockerfile'), digest: D1, lockFile: join(d, 'bad.json') })).problems[0]!.code).toBe('DIG005');
  });

  it('fails synth with every Dockerfile violation, line and fix, before looking at the digest', () => {
    const d = project({ 'meta.json': buildxMetadata(D1), 'tls/bundle.crt': fakePrivateKey() });
    writeFileSync(join(d, 'Dockerfile'), ['FROM node:20 AS builder', 'RUN npm ci', `FROM cleanstart/node:20-prod@${D1}`, 'RUN npm ci --omit=dev', 'COPY tls/bundle.crt /etc/ssl/certs/', 'CMD node server.js'].join('\n'));
    const e = error(() => new DockerfileImage(Testing.chart(), 'img', { dockerfile: join(d, 'Dockerfile'), lockFile: join(d, 'meta.json') }));
    expect(e.problems.map((p) => `${p.code} ${p.path.replace(d, '<dir>')}`)).toEqual(['DF002 <dir>/Dockerfile:1', 'DF003 <dir>/Dockerfile:4', 'DF008 <dir>/Dockerfile:5', 'DF005 <dir>/Dockerfile:6']);
    expect(e.message).toMatch(/breaks 4 Dockerfile rules/);
    expect(e.message).toMatch(/DF008 .*Dockerfile:5: context file "tls\/bundle.crt" contains a private key/);
  });
});
