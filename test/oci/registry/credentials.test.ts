/**
 * Credentials from options, env and the docker config (auths, credHelpers, credsStore), with a fake
 * credential helper script written to a temp dir on PATH.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CleanimgError } from '../../../src/errors';
import { dockerConfigPath, resolveCredentials } from '../../../src/oci/registry';
import { failureCode } from '../../support/expect-error';

const tmp = mkdtempSync(join(tmpdir(), 'cleanimg-creds-test-'));
const bin = join(tmp, 'bin');
const log = join(tmp, 'helper.log');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// A credential helper: logs the server URL it was asked about, answers for two servers.
mkdirSync(bin);
const helper = join(bin, 'docker-credential-fake');
writeFileSync(
  helper,
  `#!/bin/sh
[ "$1" = get ] || exit 2
read server
echo "$server" >> ${JSON.stringify(log)}
case "$server" in
  reg.example.com) echo '{"ServerURL":"reg.example.com","Username":"helper-user","Secret":"helper-secret"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"hub-user","Secret":"hub-secret"}' ;;
  token.example.com) echo '{"ServerURL":"token.example.com","Username":"<token>","Secret":"refresh-me"}' ;;
  broken.example.com) echo 'boom' >&2; exit 3 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`,
);
chmodSync(helper, 0o755);

let n = 0;
function configDir(cfg: unknown): string {
  const dir = join(tmp, `cfg${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), typeof cfg === 'string' ? cfg : JSON.stringify(cfg));
  return dir;
}
const baseEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ PATH: `${bin}:${process.env.PATH}`, HOME: join(tmp, 'nohome'), ...extra });
const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('docker config', () => {
  test('DOCKER_CONFIG is honoured, else ~/.docker', () => {
    expect(dockerConfigPath({ env: { DOCKER_CONFIG: '/x/y', HOME: '/h' } })).toBe('/x/y/config.json');
    expect(dockerConfigPath({ env: { HOME: '/h' } })).toBe('/h/.docker/config.json');
  });

  test('auths: base64 auth, username/password, URL-style keys, Docker Hub key', async () => {
    const dir = configDir({
      auths: {
        'a.example.com': { auth: b64('alice:pa:ss') },
        'https://b.example.com:5000/v1/': { username: 'bob', password: 'pw' },
        'https://index.docker.io/v1/': { auth: b64('hub:hubpw') },
      },
    });
    const env = baseEnv({ DOCKER_CONFIG: dir });
    expect(await resolveCredentials('a.example.com', { env })).toMatchObject({ username: 'alice', password: 'pa:ss' });
    expect(await resolveCredentials('b.example.com:5000', { env })).toMatchObject({ username: 'bob', password: 'pw' });
    expect(await resolveCredentials('docker.io', { env })).toMatchObject({ username: 'hub', password: 'hubpw' });
    expect(await resolveCredentials('c.example.com', { env })).toBeUndefined();
  });

  test('~/.docker/config.json is read when DOCKER_CONFIG is unset', async () => {
    const home = join(tmp, 'home');
    mkdirSync(join(home, '.docker'), { recursive: true });
    writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { 'h.example.com': { auth: b64('u:p') } } }));
    expect(await resolveCredentials('h.example.com', { env: { PATH: process.env.PATH, HOME: home } })).toMatchObject({ username: 'u', password: 'p' });
  });

  test('credHelpers run docker-credential-<name> get with the server URL on stdin', async () => {
    const dir = configDir({ credHelpers: { 'reg.example.com': 'fake', 'docker.io': 'fake', 'token.example.com': 'fake', 'broken.example.com': 'fake', 'none.example.com': 'fake' } });
    const env = baseEnv({ DOCKER_CONFIG: dir });
    writeFileSync(log, '');
    expect(await resolveCredentials('reg.example.com', { env })).toMatchObject({ username: 'helper-user', password: 'helper-secret' });
    expect(await resolveCredentials('docker.io', { env })).toMatchObject({ username: 'hub-user', password: 'hub-secret' });
    expect(await resolveCredentials('token.example.com', { env })).toMatchObject({ identityToken: true, password: 'refresh-me' });
    expect(await resolveCredentials('none.example.com', { env })).toBeUndefined();
    expect(await failureCode(resolveCredentials('broken.example.com', { env }))).toBe('REG013');
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual([
      'reg.example.com',
      'https://index.docker.io/v1/',
      'token.example.com',
      'none.example.com',
      'broken.example.com',
    ]);
  });

  test('credsStore is used when auths has no usable entry', async () => {
    const dir = configDir({ credsStore: 'fake', auths: { 'reg.example.com': {} } });
    expect(await resolveCredentials('reg.example.com', { env: baseEnv({ DOCKER_CONFIG: dir }) })).toMatchObject({ username: 'helper-user' });
  });

  test('a missing helper is REG013 naming the program', async () => {
    const dir = configDir({ credHelpers: { 'reg.example.com': 'absent' } });
    try {
      await resolveCredentials('reg.example.com', { env: baseEnv({ DOCKER_CONFIG: dir }) });
      throw new Error('no error');
    } catch (e) {
      expect((e as CleanimgError).problems[0]!.code).toBe('REG013');
      expect((e as CleanimgError).message).toContain('docker-credential-absent');
    }
  });

  test('malformed config files are REG014', async () => {
    expect(await failureCode(resolveCredentials('x.io', { env: baseEnv({ DOCKER_CONFIG: configDir('{not json') }) }))).toBe('REG014');
    expect(await failureCode(resolveCredentials('x.io', { env: baseEnv({ DOCKER_CONFIG: configDir([]) }) }))).toBe('REG014');
    expect(await failureCode(resolveCredentials('x.io', { env: baseEnv({ DOCKER_CONFIG: configDir({ auths: [] }) }) }))).toBe('REG014');
    expect(await failureCode(resolveCredentials('x.io', { env: baseEnv({ DOCKER_CONFIG: configDir({ auths: { 'x.io': { auth: b64('nocolon') } } }) }) }))).toBe('REG014');
  });
});

describe('precedence', () => {
  const dir = (): string => configDir({ auths: { 'reg.example.com': { auth: b64('file:filepw') } } });

  test('options beat env, env beats the docker config', async () => {
    const env = baseEnv({ DOCKER_CONFIG: dir(), CLEANIMG_REGISTRY_USERNAME: 'envu', CLEANIMG_REGISTRY_PASSWORD: 'envp' });
    expect(await resolveCredentials('reg.example.com', { env, username: 'optu', password: 'optp' })).toMatchObject({ username: 'optu', source: 'options' });
    expect(await resolveCredentials('reg.example.com', { env })).toMatchObject({ username: 'envu', password: 'envp', source: 'environment' });
    expect(await resolveCredentials('reg.example.com', { env: baseEnv({ DOCKER_CONFIG: dir() }) })).toMatchObject({ username: 'file', password: 'filepw' });
  });

  test('half-given credentials are an error, not a silent anonymous pull', async () => {
    expect(await failureCode(resolveCredentials('r.io', { env: baseEnv(), username: 'u' }))).toBe('REG001');
    expect(await failureCode(resolveCredentials('r.io', { env: baseEnv({ CLEANIMG_REGISTRY_USERNAME: 'u' }) }))).toBe('REG001');
  });

  test('nothing configured: anonymous', async () => {
    expect(await resolveCredentials('r.io', { env: baseEnv() })).toBeUndefined();
  });
});
