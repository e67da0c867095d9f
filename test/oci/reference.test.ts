import { describe, expect, test } from 'vitest';
import { CleanimgError } from '../../src/errors';
import {
  familiarString,
  isDigestPinned,
  isLocalRegistry,
  parseReference,
  refString,
  refTarget,
  registryApiHost,
  withDigest,
  withTag,
} from '../../src/oci/reference';

const D = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('parseReference: valid references', () => {
  test.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['nginx:1.25', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' }],
    ['bitnami/nginx:latest', { registry: 'docker.io', repository: 'bitnami/nginx', tag: 'latest' }],
    ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['index.docker.io/library/nginx:1', { registry: 'docker.io', repository: 'library/nginx', tag: '1' }],
    ['registry-1.docker.io/team/app', { registry: 'docker.io', repository: 'team/app' }],
    [`nginx@${D}`, { registry: 'docker.io', repository: 'library/nginx', digest: D }],
    [`cleanstart/postgresql:15-prod@${D2}`, { registry: 'docker.io', repository: 'cleanstart/postgresql', tag: '15-prod', digest: D2 }],
    ['ghcr.io/org/team/app:v1.2.3', { registry: 'ghcr.io', repository: 'org/team/app', tag: 'v1.2.3' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/app:dev', { registry: 'localhost:5000', repository: 'app', tag: 'dev' }],
    [`127.0.0.1:5000/base/img@${D}`, { registry: '127.0.0.1:5000', repository: 'base/img', digest: D }],
    ['[::1]:5000/app:x', { registry: '[::1]:5000', repository: 'app', tag: 'x' }],
    ['[::1]/app', { registry: '[::1]', repository: 'app' }],
    ['my-registry.example.com:443/a_b/c__d/e-f--g/h.i:T_1.x-y', { registry: 'my-registry.example.com:443', repository: 'a_b/c__d/e-f--g/h.i', tag: 'T_1.x-y' }],
    ['Example.COM/app', { registry: 'Example.COM', repository: 'app' }],
    ['localhost:5000', { registry: 'docker.io', repository: 'library/localhost', tag: '5000' }],
    [`${'a'.repeat(127)}:${'b'.repeat(128)}`, { registry: 'docker.io', repository: `library/${'a'.repeat(127)}`, tag: 'b'.repeat(128) }],
  ])('%s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });
});

function codeOf(input: string): string {
  try {
    parseReference(input);
  } catch (e) {
    expect(e).toBeInstanceOf(CleanimgError);
    const err = e as CleanimgError;
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.fix.length).toBeGreaterThan(10);
    expect(err.message).toContain(err.problems[0]!.code);
    return err.problems[0]!.code;
  }
  throw new Error(`parseReference accepted ${JSON.stringify(input)}`);
}

describe('parseReference: malformed references', () => {
  test.each([
    ['', 'REF001'],
    ['   ', 'REF001'],
    ['nginx :1', 'REF001'],
    ['https://ghcr.io/app:1', 'REF001'],
    ['ghcr.io:99999/app', 'REF002'],
    ['ghcr.io:x/app', 'REF002'],
    ['[::1/app', 'REF002'],
    ['ex_ample.com:5000/app', 'REF002'],
    ['ghcr.io/', 'REF003'],
    ['ghcr.io/Team/App:1', 'REF003'],
    ['docker.io/library/Nginx', 'REF003'],
    ['ghcr.io/team//app', 'REF003'],
    ['ghcr.io/-app', 'REF003'],
    ['ghcr.io/app-', 'REF003'],
    ['ghcr.io/a___b', 'REF003'],
    ['[::1]:5000', 'REF003'],
    ['nginx@sha256:abc', 'REF004'],
    [`nginx@sha256:${'A'.repeat(64)}`, 'REF004'],
    [`nginx@sha256:${'g'.repeat(64)}`, 'REF004'],
    [`nginx@sha512:${'a'.repeat(128)}`, 'REF004'],
    [`nginx@${'a'.repeat(64)}`, 'REF004'],
    [`nginx@sha256:${'a'.repeat(65)}`, 'REF004'],
    ['nginx:', 'REF005'],
    ['nginx:-bad', 'REF005'],
    ['nginx:.bad', 'REF005'],
    [`nginx:${'t'.repeat(129)}`, 'REF005'],
    ['nginx:a/b', 'REF002'],
    [`ghcr.io/${'a'.repeat(250)}`, 'REF006'],
  ])('%s -> %s', (input, code) => {
    expect(codeOf(input)).toBe(code);
  });

  test('messages name the problem and the fix', () => {
    expect(() => parseReference('ghcr.io/Team/app')).toThrow(/upper-case.*use "team\/app"/s);
    expect(() => parseReference('nginx@sha256:abcd')).toThrow(/4 hex digits, expected 64/);
  });
});

describe('helpers', () => {
  test('isDigestPinned', () => {
    expect(isDigestPinned('nginx:1.25')).toBe(false);
    expect(isDigestPinned(`nginx:1.25@${D}`)).toBe(true);
    expect(isDigestPinned(parseReference(`ghcr.io/a@${D}`))).toBe(true);
  });
  test('withDigest keeps the tag, withTag drops the digest', () => {
    const r = parseReference('ghcr.io/a/b:1');
    expect(refString(withDigest(r, D))).toBe(`ghcr.io/a/b:1@${D}`);
    expect(() => withDigest(r, 'sha256:1')).toThrow(CleanimgError);
    expect(refString(withTag(parseReference(`ghcr.io/a@${D}`), 'v2'))).toBe('ghcr.io/a:v2');
  });
  test('refString is fully qualified and parses back to the same reference', () => {
    for (const s of ['nginx', 'nginx:1', `team/app:1@${D}`, '127.0.0.1:5000/x/y:z', '[::1]:5000/app', `ghcr.io/o/r@${D2}`]) {
      const r = parseReference(s);
      expect(parseReference(refString(r))).toEqual(r);
    }
    expect(refString(parseReference('nginx:1'))).toBe('docker.io/library/nginx:1');
  });
  test('familiarString is the short docker form', () => {
    expect(familiarString(parseReference('docker.io/library/nginx:1'))).toBe('nginx:1');
    expect(familiarString(parseReference('docker.io/team/app'))).toBe('team/app');
    expect(familiarString(parseReference('ghcr.io/library/x:1'))).toBe('ghcr.io/library/x:1');
  });
  test('refTarget: digest, else tag, else latest', () => {
    expect(refTarget(parseReference('a'))).toBe('latest');
    expect(refTarget(parseReference('a:1'))).toBe('1');
    expect(refTarget(parseReference(`a:1@${D}`))).toBe(D);
  });
  test('local registries and the Docker Hub API host', () => {
    for (const h of ['localhost', 'localhost:5000', '127.0.0.1', '127.0.0.1:5000', '127.1.2.3:80', '[::1]', '[::1]:5000', 'reg.localhost:1'])
      expect(isLocalRegistry(h), h).toBe(true);
    for (const h of ['docker.io', 'ghcr.io', '10.0.0.1:5000', 'localhost.example.com', '128.0.0.1', '[::2]:5000']) expect(isLocalRegistry(h), h).toBe(false);
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('ghcr.io')).toBe('ghcr.io');
  });
});
