import { describe, expect, it } from 'vitest';
import { isDigestPinned } from '../../../src/core';
import { parseReference } from '../../../src/oci/reference';
import { looksLikeSecretName, secretValueReason } from '../../../src/rules';
import { celPatterns, celString } from '../../../src/rules/cel';
import { evalCel } from './vap';

const { DIGEST_PINNED, PRIVATE_KEY, REFERENCE_SUFFIX, SECRET_NAME, SECRET_NAME_PART, SHELL_ARGV0, URL_WITH_PASSWORD, toJsRegExp } = celPatterns;
const D = 'ab'.repeat(32);

/** `s.matches(pattern)` in CEL (RE2), and the same pattern as a JS RegExp: both must agree. */
function matches(pattern: string, s: string): boolean {
  const cel = evalCel(`s.matches(${celString(pattern)})`, { s }) as boolean;
  expect({ s, js: toJsRegExp(pattern).test(s) }).toEqual({ s, js: cel });
  return cel;
}

describe('patterns shared by the CEL and the JS rules', () => {
  it('celString round-trips quotes, backslashes and newlines', () => {
    for (const s of ["it's", 'a\\b', 'x\ny', '—']) expect(evalCel(celString(s), {})).toBe(s);
  });

  it('DIGEST_PINNED accepts exactly what isDigestPinned accepts', () => {
    const samples = [
      `nginx@sha256:${D}`, `registry.example.com/app@sha256:${D}`, `registry.example.com:5000/a/b:1.2@sha256:${D}`,
      `localhost:5000/x__y/z-1:v_1.0-rc@sha256:${D}`, 'nginx:1.25', `nginx@sha256:${D.slice(2)}`, `Nginx@sha256:${D}`,
      `nginx@sha256:${D.toUpperCase()}`, `nginx:@sha256:${D}`, `nginx@sha512:${D}${D}`, `/nginx@sha256:${D}`, `a//b@sha256:${D}`,
      `ghcr.io/a/b:${'t'.repeat(128)}@sha256:${D}`, `ghcr.io/a/b:${'t'.repeat(129)}@sha256:${D}`, '',
      `Registry.Example.com/app@sha256:${D}`, `[::1]:5000/app@sha256:${D}`, `[fe80::1%eth0]/app@sha256:${D}`, `my--reg.example.com/a--b/c__d/e.f@sha256:${D}`,
      `localhost/app@sha256:${D}`, `localhost:5000@sha256:${D}`, `a_b.c/app@sha256:${D}`, `Foo/Bar@sha256:${D}`, `foo.bar@sha256:${D}`, `foo.bar:1.0@sha256:${D}`,
      `-reg.io/app@sha256:${D}`, `reg.io/app_@sha256:${D}`, `reg.io/app@sha256:${D}@sha256:${D}`, `https://reg.io/app@sha256:${D}`, `reg.io/app:.tag@sha256:${D}`,
    ];
    // Not compared: white space around the reference (the API server refuses it in a container image),
    // ports outside 1-65535 and names over 255 characters (the CEL pattern is looser there).
    for (const s of samples) expect({ s, pinned: matches(DIGEST_PINNED, s) }).toEqual({ s, pinned: isDigestPinned(s) });
  });

  it('DIGEST_PINNED agrees with the parser on random references', () => {
    const pieces = ['a', 'b', 'Z', '0', '.', '_', '__', '-', '--', '/', '/', ':', ':5000', ':0', 'localhost', '[::1]', 'x.io', 'tag', 'v1.2'];
    let seed = 7;
    const rand = (n: number) => Math.floor((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 * n);
    let compared = 0;
    let pinned = 0;
    for (let i = 0; i < 3000; i++) {
      let s = Array.from({ length: 1 + rand(8) }, () => pieces[rand(pieces.length)]).join('');
      if (rand(10) < 8) s += `@sha256:${D}`;
      let reason = '';
      try { parseReference(s); } catch (e) { reason = (e as Error & { problems: { code: string; message: string }[] }).problems[0]!.message; }
      if (/port|characters, more than/.test(reason)) continue; // the two edges the pattern leaves to the parser
      compared++;
      if (isDigestPinned(s)) pinned++;
      expect({ s, pinned: matches(DIGEST_PINNED, s) }).toEqual({ s, pinned: isDigestPinned(s) });
    }
    expect(compared).toBeGreaterThan(2000);
    expect(pinned).toBeGreaterThan(200); // both answers are well represented
  });

  it('SHELL_ARGV0 matches shells by base name only', () => {
    for (const [s, shell] of [['sh', true], ['/bin/bash', true], ['/usr/bin/busybox', true], ['shx', false], ['/app/server', false], ['bin/sh/', false], ['fish', false]] as const)
      expect(matches(SHELL_ARGV0, s)).toBe(shell);
  });

  it('secret name patterns agree with looksLikeSecretName', () => {
    const names = ['DB_PASSWORD', 'db_password', 'POSTGRES_PASSWORD_FILE', 'api-key', 'API_KEY', 'apikey', 'TOKEN_PATH', 'secret_key', 'database.password',
      'PASSWORD_HASH', 'client_secret', 'SENTRY_DSN', 'LOG_LEVEL', 'PORT', 'TOKENIZER', 'passthrough', 'CREDENTIALS', 'SECRET_NAME', 'my.secret.ref', 'AUTHKEY'];
    for (const n of names) {
      const cel = (matches(SECRET_NAME, n) || matches(SECRET_NAME_PART, n)) && !matches(REFERENCE_SUFFIX, n);
      expect({ n, secret: cel }).toEqual({ n, secret: looksLikeSecretName(n) });
    }
  });

  it('secret value patterns agree with secretValueReason', () => {
    const values = ['-----BEGIN PRIVATE KEY-----', '-----BEGIN RSA PRIVATE KEY-----\nabc', '-----BEGIN OPENSSH PRIVATE KEY-----', '-----BEGIN PUBLIC KEY-----',
      'postgres://app:pw@db/app', 'https://user@host/', 'HTTPS://U:P@H', 'redis://:pw@redis:6379', 'see http://a:b@c and more', 'plain', 'a:b@c'];
    for (const v of values) {
      const cel = matches(PRIVATE_KEY, v) || matches(URL_WITH_PASSWORD, v);
      expect({ v, secret: cel }).toEqual({ v, secret: secretValueReason(v) !== undefined });
    }
  });
});
