import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkDockerfile, dockerignoreMatcher, generateDockerfile } from '../../src/dockerfile';
import { BASE, BUILDER, fakePrivateKey, tree } from './helpers';

const dirs: string[] = [];
const ctx = (files: Record<string, string>) => {
  const d = tree(files, 'cleanimg-df-ctx-');
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('.dockerignore matching', () => {
  it('follows BuildKit: anchored patterns, *, **, ?, parent directories, ! re-includes, later lines win', () => {
    const m = dockerignoreMatcher(['# comment', '.git', '*.log', '**/*.key', 'secrets/', '!secrets/public.txt', 'docs/?.md', '/build'].join('\n'));
    const cases: Array<[string, boolean]> = [
      ['.git/config', true], ['a.log', true], ['sub/a.log', false], ['a/b/c.key', true], ['c.key', true],
      ['secrets/x', true], ['secrets/public.txt', false], ['docs/a.md', true], ['docs/ab.md', false],
      ['build/out', true], ['src/build', false], ['main.go', false],
    ];
    for (const [p, want] of cases) expect(m(p), p).toBe(want);
  });
});

describe('DF008 with the build context', () => {
  it('finds private keys by content in copied files and directories (any name), and honours .dockerignore', () => {
    const dir = ctx({
      'tls/server.crt': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      'tls/server.pem': fakePrivateKey('RSA'),
      'conf/app.conf': 'listen 8080\n',
      'conf/deploy-key': fakePrivateKey('OPENSSH'),
      'conf/db.txt': 'url = postgres://app:hunter2@db:5432/app\n',
    });
    const text = [`FROM ${BASE}`, 'COPY tls/server.crt /etc/ssl/certs/', 'COPY tls/*.pem /etc/ssl/certs/', 'COPY conf /etc/app', 'USER 65532'].join('\n');
    const vs = checkDockerfile(text, { context: dir }).filter((v) => v.code === 'DF008');
    expect(vs.map((v) => [v.line, v.message])).toEqual([
      [3, expect.stringMatching(/context file "tls\/server.pem" contains a private key/)],
      [4, expect.stringMatching(/context file "conf\/db.txt" contains a URL with a password/)],
      [4, expect.stringMatching(/context file "conf\/deploy-key" contains a private key/)],
    ]);
    // Without the context only names can be judged: server.pem is a certificate name, so nothing.
    expect(checkDockerfile(text).filter((v) => v.code === 'DF008')).toEqual([]);
    // Excluded from the context, the files never reach the builder.
    const ignored = ctx({ ...Object.fromEntries([['tls/server.pem', fakePrivateKey()], ['conf/deploy-key', fakePrivateKey()], ['conf/db.txt', 'x']]), '.dockerignore': 'tls/*.pem\nconf/deploy-key\nconf/db.txt\n' });
    expect(checkDockerfile(text, { context: ignored }).filter((v) => v.code === 'DF008')).toEqual([]);
  });

  it('follows context files through a builder stage: COPY . . there, COPY --from=builder /src here', () => {
    const guide = readFileSync(join(__dirname, '..', 'fixtures', 'dockerfiles', 'guide-5-python-venv.Dockerfile'), 'utf8');
    const dir = ctx({ 'requirements.txt': 'flask\n', 'app.py': 'print(1)\n', '.env': 'SECRET_KEY=x\n', 'certs/corporate-ca.crt': 'cert' });
    const vs = checkDockerfile(guide, { context: dir, name: 'Dockerfile' }).filter((v) => v.code === 'DF008');
    expect(vs.map((v) => [v.line, v.message])).toEqual([[23, expect.stringMatching(/context file ".env" is a .env file.*reaches the final image through stage 0 \(builder\) \(line 14 copies it to \/src\)/)]]);
    // The builder's venv copy (/opt/venv) does not overlap /src, so only line 23 is reported; a .dockerignore fixes it.
    const fixed = ctx({ 'requirements.txt': 'flask\n', '.env': 'SECRET_KEY=x\n', '.dockerignore': '.env\n' });
    expect(checkDockerfile(guide, { context: fixed }).filter((v) => v.code === 'DF008')).toEqual([]);
  });

  it('the generated .dockerignore keeps keys and .env out of a COPY . . context', () => {
    const text = [`FROM ${BUILDER} AS builder`, 'WORKDIR /app', 'COPY . .', `FROM ${BASE}`, 'COPY --from=builder /app /app', 'USER 65532'].join('\n');
    const files = { 'main.go': 'package main', '.env.local': 'A=1', 'deploy/id_ed25519': fakePrivateKey('OPENSSH'), 'x/tls.key': fakePrivateKey() };
    const without = checkDockerfile(text, { context: ctx(files) }).filter((v) => v.code === 'DF008');
    expect(without.map((v) => v.message.match(/"([^"]+)"/)![1])).toEqual(['.env.local', 'deploy/id_ed25519', 'x/tls.key']);
    const { dockerignore } = generateDockerfile({ lang: 'go', builderImage: BUILDER, prodBase: BASE });
    expect(checkDockerfile(text, { context: ctx({ ...files, '.dockerignore': dockerignore }) }).filter((v) => v.code === 'DF008')).toEqual([]);
  });
});
