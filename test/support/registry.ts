/**
 * Test harness: a real OCI registry (Debian's `docker-registry`, distribution 2.8) on 127.0.0.1 and a free port.
 *
 *     const reg = await startRegistry();                        // plain HTTP, anonymous
 *     const sec = await startRegistry({ tls: true, htpasswd: true }); // TLS with a fresh test CA + basic auth
 *     ... reg.host ('127.0.0.1:PORT'), reg.url, sec.caFile, sec.username, sec.password ...
 *     await reg.stop();                                         // kills the process by PID, removes its temp dir
 *
 * Certificates, keys and passwords are generated per registry in its temp dir; nothing is committed.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  certFile: string;
  keyFile: string;
}

export interface TokenAuthConfig {
  /** URL of the token service (the `realm` the registry sends in its challenge). */
  realm: string;
  service: string;
  issuer: string;
  /** PEM bundle of the certificates that sign tokens (tokens carry the signing cert in `x5c`). */
  rootCertBundle: string;
}

export interface StartRegistryOptions {
  /** Serve HTTPS with a certificate for IP 127.0.0.1 from a fresh test CA (`caFile`). */
  tls?: boolean;
  /** Require basic auth (htpasswd, bcrypt) with a generated user and password. */
  htpasswd?: boolean;
  /** Require bearer tokens from a token service instead (see test/oci/registry/token.test.ts). */
  token?: TokenAuthConfig;
  username?: string;
  password?: string;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`: the registry part of image references. */
  host: string;
  /** `http://127.0.0.1:PORT` or `https://…` */
  url: string;
  /** PEM file of the CA that signed the server certificate (TLS only). */
  caFile?: string;
  username?: string;
  password?: string;
  /** The registry's temp dir (config, data, certificates). */
  dir: string;
  pid: number;
  /** Stops the registry (SIGTERM, then SIGKILL) and removes its temp dir. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A fresh self-signed test CA (EC P-256) in `dir`. */
export function generateCa(dir: string, name = 'ca'): TestCa {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile], dir);
  openssl(
    ['req', '-x509', '-new', '-key', keyFile, '-sha256', '-days', '2', '-subj', `/CN=cleanimg test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', certFile],
    dir,
  );
  return { certFile, keyFile };
}

/** A server certificate for `subjectAltName` (default IP:127.0.0.1) signed by `ca`. */
export function issueServerCert(ca: TestCa, dir: string, name = 'server', san = 'IP:127.0.0.1'): { certFile: string; keyFile: string } {
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile], dir);
  openssl(['req', '-new', '-key', keyFile, '-subj', '/CN=127.0.0.1', '-out', csr], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', ext, '-out', certFile], dir);
  return { certFile, keyFile };
}

function probe(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https') ? httpsRequest : httpRequest)(`${url}/v2/`, { method: 'GET', rejectUnauthorized: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Starts `docker-registry serve` in a temp dir; resolves when it answers on /v2/. */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  // Another process may take the free port between our probe and the registry's bind: try a few ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      if (attempt >= 3 || !/address already in use/i.test((e as Error).message)) throw e;
    }
  }
}

async function startOnce(opts: StartRegistryOptions): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'cleanimg-registry-'));
  try {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const lines = [
      'version: 0.1',
      'log: {level: error, accesslog: {disabled: true}}',
      `storage: {filesystem: {rootdirectory: ${JSON.stringify(join(dir, 'data'))}}, delete: {enabled: true}}`,
      'http:',
      `  addr: ${host}`,
      `  secret: ${randomBytes(16).toString('hex')}`,
    ];
    let caFile: string | undefined;
    if (opts.tls) {
      const ca = generateCa(dir);
      const server = issueServerCert(ca, dir);
      caFile = ca.certFile;
      lines.push(`  tls: {certificate: ${JSON.stringify(server.certFile)}, key: ${JSON.stringify(server.keyFile)}}`);
    }
    let username: string | undefined;
    let password: string | undefined;
    if (opts.htpasswd) {
      username = opts.username ?? 'tester';
      password = opts.password ?? randomBytes(12).toString('hex');
      const file = join(dir, 'htpasswd');
      execFileSync('htpasswd', ['-Bbc', file, username, password], { stdio: 'ignore' });
      lines.push(`auth: {htpasswd: {realm: cleanimg-test, path: ${JSON.stringify(file)}}}`);
    } else if (opts.token) {
      const t = opts.token;
      lines.push(
        `auth: {token: {realm: ${JSON.stringify(t.realm)}, service: ${JSON.stringify(t.service)}, issuer: ${JSON.stringify(t.issuer)}, rootcertbundle: ${JSON.stringify(t.rootCertBundle)}}}`,
      );
    }
    const config = join(dir, 'config.yml');
    writeFileSync(config, `${lines.join('\n')}\n`);

    const child = spawn('docker-registry', ['serve', config], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], detached: false });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 20_000) stderr += d.toString();
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error('docker-registry did not start (is it installed? apt-get install docker-registry)');
    const url = `${opts.tls ? 'https' : 'http'}://${host}`;
    const deadline = Date.now() + 15_000;
    while (!(await probe(url))) {
      if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr}`);
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        throw new Error(`docker-registry did not answer on ${url} within 15 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    let stopped = false;
    return {
      host,
      url,
      ...(caFile ? { caFile } : {}),
      ...(username ? { username, password } : {}),
      dir,
      pid,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
        if (!(await waitExit(child, 5000))) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
          await waitExit(child, 2000);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
