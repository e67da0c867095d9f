import { describe, expect, it } from 'vitest';
import { isQuantity, parseQuantity } from '../../../src/core';
import { celString } from '../../../src/rules/cel';
import { FILE_REFERENCE_NAME } from '../../../src/rules/pod-rules';
import { DOT_DOT, QUANTITY, ROOT_MOUNT, TOKEN_PATH, ZERO_QUANTITY } from '../../../src/rules/shape-rules';
import { toJsRegExp } from '../../../src/rules/cel/patterns';
import { evalCel } from './vap';

/** `s.matches(pattern)` in CEL, and the same pattern as a JS RegExp: both must agree. */
function matches(pattern: string, s: string): boolean {
  const cel = evalCel(`s.matches(${celString(pattern)})`, { s }) as boolean;
  expect({ s, js: toJsRegExp(pattern).test(s) }).toEqual({ s, js: cel });
  return cel;
}

describe('the patterns of HD018, HD032, HD035 and HD036, in CEL and in JavaScript', () => {
  it('QUANTITY accepts exactly what the core parser accepts, and ZERO_QUANTITY exactly its zeros', () => {
    const samples = ['0', '1', '+1', '-1', '1.', '.5', '1.5', '250m', '64Mi', '1Gi', '1Ki', '1ki', '1KI', '2E', '2Ei', '1e3', '1E3', '1e-3', '1e+3', '1e', '1.5e2',
      '-0', '+0.0', '0Mi', '0e5', '.0', '0.', '00', '1 Gi', ' 1', '1Gi ', 'Gi', '', '-', '+', '.', '1..2', '1.2.3', '0x10', '1u', '1n', '12Mb', '5 MB', 'lots', '∞'];
    for (const s of samples) {
      expect({ s, q: matches(QUANTITY, s) }).toEqual({ s, q: isQuantity(s) });
      if (isQuantity(s)) expect({ s, zero: matches(ZERO_QUANTITY, s) }).toEqual({ s, zero: parseQuantity(s) === 0 });
    }
  });

  it('TOKEN_PATH matches the token directory in the spellings the kernel resolves to it, and nothing beside it', () => {
    const at = ['/var/run/secrets/kubernetes.io', '/var/run/secrets/kubernetes.io/serviceaccount', '/run/secrets/kubernetes.io/serviceaccount/token',
      '//var//run/secrets/kubernetes.io/', '/var/./run/./secrets/./kubernetes.io', 'var/run/secrets/kubernetes.io', './run/secrets/kubernetes.io/x', '/run/secrets/kubernetes.io/.'];
    const beside = ['/var/run/secrets', '/var/run/secrets/kubernetes.iox', '/var/run/secrets/kubernetes.io.bak', '/srv/run/secrets/kubernetes.io', '/var/run/secrets/db',
      '/var/run/secret/kubernetes.io', '/varrun/secrets/kubernetes.io', '/run/secrets/kubernetes_io', ''];
    for (const s of at) expect({ s, token: matches(TOKEN_PATH, s) }).toEqual({ s, token: true });
    for (const s of beside) expect({ s, token: matches(TOKEN_PATH, s) }).toEqual({ s, token: false });
  });

  it('ROOT_MOUNT is the root only; DOT_DOT is a ".." segment only; FILE_REFERENCE_NAME ends in _FILE', () => {
    for (const [s, root] of [['/', true], ['//', true], ['/.', true], ['/./', true], ['/./.', true], ['/..', false], ['/a', false], ['.', false], ['', false]] as const)
      expect({ s, root: matches(ROOT_MOUNT, s) }).toEqual({ s, root });
    for (const [s, dd] of [['..', true], ['../a', true], ['a/..', true], ['a/../b', true], ['a..b', false], ['...', false], ['a/.../b', false], ['/a/b', false]] as const)
      expect({ s, dd: matches(DOT_DOT, s) }).toEqual({ s, dd });
    for (const [s, file] of [['DB_PASSWORD_FILE', true], ['db_password_file', true], ['FILE', false], ['PROFILE', false], ['_FILE_PATH', false]] as const)
      expect({ s, file: matches(FILE_REFERENCE_NAME, s) }).toEqual({ s, file });
  });
});
