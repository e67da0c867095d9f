/**
 * Where registry credentials come from, first match wins:
 *   1. explicit options (`--username/--password`);
 *   2. env `CLEANIMG_REGISTRY_USERNAME` / `CLEANIMG_REGISTRY_PASSWORD`;
 *   3. the docker config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
 *      `credHelpers[<registry>]`, then `credsStore`, then `auths` (`auth` = base64 "user:pass",
 *      or `username`/`password`; `identitytoken` is used as a password-like refresh token).
 * Credential helpers are run as `docker-credential-<name> get` with the server URL on stdin.
 * No credentials means anonymous access.
 */
import type * as childProcess from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { registryError } from './errors';

export interface Credentials {
  username: string;
  password: string;
  /** Where they came from, for messages (never the secret itself). */
  source: string;
  /** An OAuth2 refresh token from `identitytoken` or a helper answering Username `<token>`. */
  identityToken?: boolean;
}

export interface CredentialOptions {
  username?: string;
  password?: string;
  /** Directory holding config.json (default: $DOCKER_CONFIG or ~/.docker). */
  dockerConfigDir?: string;
  /** Environment to read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds a credential helper may take (default 30 s). */
  helperTimeoutMs?: number;
}

interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface DockerConfig {
  auths?: Record<string, DockerAuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

const HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1', 'https://registry-1.docker.io'];

function isHub(registry: string): boolean {
  return registry === 'docker.io' || registry === 'index.docker.io' || registry === 'registry-1.docker.io';
}

/** The server URL docker uses as a key for a registry (`https://index.docker.io/v1/` for Docker Hub). */
export function dockerServerKey(registry: string): string {
  return isHub(registry) ? 'https://index.docker.io/v1/' : registry;
}

/** Normalises an `auths` key like `https://host:5000/v1/` to `host:5000`. */
function keyHost(key: string): string {
  return key
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
}

export function dockerConfigPath(opts: Pick<CredentialOptions, 'dockerConfigDir' | 'env'> = {}): string {
  const env = opts.env ?? process.env;
  const dir = opts.dockerConfigDir ?? (env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'));
  return join(dir, 'config.json');
}

export function readDockerConfig(path: string): DockerConfig | undefined {
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw registryError('REG014', path, `the docker config is not valid JSON (${(e as Error).message})`, 'fix or remove the file, or run `docker login` again', 'docker config unreadable');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw registryError('REG014', path, 'the docker config is not a JSON object', 'fix or remove the file, or run `docker login` again', 'docker config unreadable');
  const cfg = raw as Record<string, unknown>;
  const check = (field: string, ok: boolean): void => {
    if (!ok) throw registryError('REG014', `${path}#/${field}`, `"${field}" has the wrong type`, 'fix the field or run `docker login` again', 'docker config unreadable');
  };
  check('auths', cfg.auths === undefined || (typeof cfg.auths === 'object' && cfg.auths !== null && !Array.isArray(cfg.auths)));
  check('credHelpers', cfg.credHelpers === undefined || (typeof cfg.credHelpers === 'object' && cfg.credHelpers !== null && !Array.isArray(cfg.credHelpers)));
  check('credsStore', cfg.credsStore === undefined || typeof cfg.credsStore === 'string');
  return cfg as DockerConfig;
}

function fromAuthEntry(entry: DockerAuthEntry, path: string, key: string): Credentials | undefined {
  const where = `${path}#/auths/${key}`;
  if (entry.identitytoken) return { username: entry.username ?? '<token>', password: entry.identitytoken, source: where, identityToken: true };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) throw registryError('REG014', `${where}/auth`, '"auth" is not base64 of "username:password"', 'run `docker login` again, or write auth as base64("user:password")', 'docker config unreadable');
    return { username: decoded.slice(0, i), password: decoded.slice(i + 1), source: where };
  }
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password, source: where };
  return undefined;
}

/** Runs `docker-credential-<helper> get`; undefined when the helper knows no credentials for the server. */
export async function runCredentialHelper(helper: string, serverUrl: string, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  const where = `credential helper ${program}`;
  const { code, stdout, stderr, spawnError } = await new Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: Error }>((resolve) => {
    let out = '';
    let err = '';
    let settled = false;
    // node:child_process loads only when a credential helper runs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const child = (require('node:child_process') as typeof childProcess).spawn(program, ['get'], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        resolve({ code: null, stdout: out, stderr: err, spawnError: e });
      }
    });
    child.on('close', (c) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        resolve({ code: c, stdout: out, stderr: err });
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(serverUrl);
  });
  if (spawnError)
    throw registryError(
      'REG013',
      where,
      `cannot run ${program} (${(spawnError as NodeJS.ErrnoException).code ?? spawnError.message})`,
      `install ${program} on PATH, or remove "${helper}" from credHelpers/credsStore in the docker config`,
      'credential helper failed',
    );
  if (code !== 0) {
    const text = `${stdout}${stderr}`.trim();
    if (/credentials not found/i.test(text)) return undefined;
    throw registryError('REG013', where, `${program} get failed for ${serverUrl} (exit ${code}: ${text.slice(0, 200)})`, `run \`echo ${serverUrl} | ${program} get\` to see the problem, or log in again`, 'credential helper failed');
  }
  let j: { Username?: unknown; Secret?: unknown };
  try {
    j = JSON.parse(stdout) as typeof j;
  } catch {
    throw registryError('REG013', where, `${program} printed something that is not JSON`, `check that ${program} is a docker credential helper`, 'credential helper failed');
  }
  if (typeof j.Username !== 'string' || typeof j.Secret !== 'string')
    throw registryError('REG013', where, `${program} did not print Username and Secret`, `check that ${program} is a docker credential helper`, 'credential helper failed');
  if (j.Username === '<token>') return { username: '<token>', password: j.Secret, source: where, identityToken: true };
  return { username: j.Username, password: j.Secret, source: where };
}

/** Resolves credentials for `registry` (a host[:port], e.g. `127.0.0.1:5000` or `docker.io`). */
export async function resolveCredentials(registry: string, opts: CredentialOptions = {}): Promise<Credentials | undefined> {
  const env = opts.env ?? process.env;
  if (opts.username !== undefined || opts.password !== undefined) {
    if (!opts.username || opts.password === undefined)
      throw registryError('REG001', registry, 'a username was given without a password, or a password without a username', 'pass both --username and --password', 'incomplete credentials');
    return { username: opts.username, password: opts.password, source: 'options' };
  }
  const eu = env.CLEANIMG_REGISTRY_USERNAME;
  const ep = env.CLEANIMG_REGISTRY_PASSWORD;
  if (eu || ep) {
    if (!eu || ep === undefined)
      throw registryError(
        'REG001',
        eu ? 'CLEANIMG_REGISTRY_PASSWORD' : 'CLEANIMG_REGISTRY_USERNAME',
        'only one of CLEANIMG_REGISTRY_USERNAME and CLEANIMG_REGISTRY_PASSWORD is set',
        'set both, or neither',
        'incomplete credentials',
      );
    return { username: eu, password: ep, source: 'environment' };
  }
  const path = dockerConfigPath(opts);
  const cfg = readDockerConfig(path);
  if (!cfg) return undefined;
  const host = registry.toLowerCase();
  const serverUrl = dockerServerKey(registry);
  const helperOpts = { env, ...(opts.helperTimeoutMs !== undefined ? { timeoutMs: opts.helperTimeoutMs } : {}) };

  const helpers = cfg.credHelpers ?? {};
  const helperKey = Object.keys(helpers).find((k) => keyHost(k) === host || (isHub(registry) && HUB_KEYS.includes(k)));
  if (helperKey) return runCredentialHelper(helpers[helperKey]!, serverUrl, helperOpts);

  const auths = cfg.auths ?? {};
  const authKey = Object.keys(auths).find((k) => k === serverUrl) ?? Object.keys(auths).find((k) => keyHost(k) === host || (isHub(registry) && HUB_KEYS.includes(k)));
  const fromFile = authKey ? fromAuthEntry(auths[authKey] ?? {}, path, authKey) : undefined;
  if (fromFile) return fromFile;
  if (cfg.credsStore) return runCredentialHelper(cfg.credsStore, serverUrl, helperOpts);
  return undefined;
}
