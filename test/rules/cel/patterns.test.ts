import { describe, expect, it } from 'vitest';
import { isDigestPinned } from '../../../src/core';
import { parseReference } from '../../../src/oci/reference';
import { looksLikeSecretName, secretValueReason } from '../../../src/rules';
import { celPatterns, celString } from '../../../src/rules/cel';
import { evalCel } from './vap';

const { DIGEST_PINNED, ENV_PROGRAM, ENV_SPLIT_FLAG, FLOCK_COMMAND_FLAG, FLOCK_PROGRAM, PRIVATE_KEY, REFERENCE_SUFFIX, SECRET_NAME, SECRET_NAME_PART, SHELL_STARTER, SHELL_WORD, URL_WITH_PASSWORD, toJsRegExp } = celPatterns;
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

  it('SHELL_WORD finds a shell anywhere in an argv element, by name, path or word, in RE2 and JS alike', () => {
    const cases: [string, boolean][] = [
      ['sh', true], ['/bin/bash', true], ['/bin/../bin/sh', true], ['//bin//sh', true], ['./sh', true], ['/usr/bin/busybox', true], ['toybox', true],
      ['fish', true], ['mksh', true], ['yash', true], ['ksh93', true], ['bash5.2', true], ['zsh-5.9', true], ['busybox.static', true], ['dash-static', true],
      ['pwsh', true], ['PowerShell.EXE', true], ['C:\\Program Files\\PowerShell\\7\\pwsh.exe', true], ['C:\\Windows\\System32\\cmd.exe', true],
      ['hush', true], ['/bin/oksh', true], ['elvish', true], ['nu', true], ['xonsh.exe', true], ['menu', false], ['nux', false], ['shush', false],
      ['SH', true], ['sh -c "exec /app"', true], ["'sh' -c x", true], ['"sh"', true], ['--shell=/bin/bash', true], ['SHELL=/bin/sh', true],
      ['x;sh', true], ['$(sh)', true], ['`bash`', true], ['nice -n 5 bash', true], ['sh\t-c', true],
      ['shx', false], ['ssh', false], ['bashful', false], ['/app/server', false], ['bin/sh/', false], ['sha256', false], ['-c', false], ['', false],
      ['/usr/share/app', false], ['push', false], ['sh.txt', false], ['cmd', false], ['crash', false], ['fishing', false], ['--flash', false],
    ];
    for (const [s, shell] of cases) expect({ s, shell: matches(SHELL_WORD, s) }).toEqual({ s, shell });
  });

  it('SHELL_STARTER matches su, sudo and the like as whole elements only', () => {
    for (const [s, starter] of [['su', true], ['/bin/su', true], ['SUDO', true], ['/usr/sbin/runuser', true], ['doas', true], ['chroot', true], ['unshare', true],
      ['nsenter', true], ['newgrp', true], ['capsh', true], ['/sbin/capsh', true], ['capshx', false], ['suid', false], ['sudoers', false], ['su -c x', false], ['/app/su/server', false], ['', false]] as const)
      expect({ s, starter: matches(SHELL_STARTER, s) }).toEqual({ s, starter });
  });

  it('env -S and flock -c are recognised in every spelling getopt accepts', () => {
    for (const [s, ok] of [['env', true], ['/usr/bin/env', true], ['/bin/../usr/bin/env', true], ['envsubst', false], ['ENV', false]] as const) expect(matches(ENV_PROGRAM, s)).toBe(ok);
    for (const [s, ok] of [['-S', true], ['-Ssh -c x', true], ['-iS', true], ['-S"sh"', true], ['--split-string', true], ['--split-string=sh -c x', true], ['--split=sh', true],
      ['--s', true], ['-s', false], ['--silent', false], ['--split-strings', false], ['-i', false], ['S', false]] as const)
      expect({ s, ok: matches(ENV_SPLIT_FLAG, s) }).toEqual({ s, ok });
    for (const [s, ok] of [['flock', true], ['/usr/bin/flock', true], ['flocker', false]] as const) expect(matches(FLOCK_PROGRAM, s)).toBe(ok);
    for (const [s, ok] of [['-c', true], ['-nc', true], ['--command', true], ['--com=x', true], ['--co', false], ['--close', false], ['-w', false]] as const)
      expect({ s, ok: matches(FLOCK_COMMAND_FLAG, s) }).toEqual({ s, ok });
  });

  it('the shell patterns agree between RE2 and JS on random strings built from their own pieces', () => {
    const pieces = ['sh', 'bash', '/', '\\', ' ', '\t', '-', '.', 'exe', '5', '.static', "'", '"', '=', ';', 'x', 'S', 'c', 'env', 'su', 'PWSH', '\u00a0', '\u2028', 'é'];
    let seed = 11;
    const rand = (n: number) => Math.floor((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 * n);
    for (let i = 0; i < 2000; i++) {
      const s = Array.from({ length: 1 + rand(6) }, () => pieces[rand(pieces.length)]).join('');
      for (const p of [SHELL_WORD, SHELL_STARTER, ENV_PROGRAM, ENV_SPLIT_FLAG, FLOCK_PROGRAM, FLOCK_COMMAND_FLAG]) matches(p, s);
    }
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
