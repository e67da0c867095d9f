/**
 * Test helpers for trust_ca: a PKI made with openssl in a temp folder (a CA, a server certificate it
 * signs, an expired CA, a leaf, a key), a multi-layer base image made with umoci whose trust store is
 * copied from this machine's Debian ca-certificates files (the real bundle, the real symlinks), and a
 * counting HTTP proxy in front of the registry that records which blobs were fetched.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import * as path from 'node:path';
import { generateCa, issueServerCert, type TestCa } from '../../support/registry';

export function run(cmd: string, args: string[], opts: { cwd?: string; input?: string | Buffer } = {}): string {
  return execFileSync(cmd, args, { cwd: opts.cwd, input: opts.input, encoding: 'utf8', stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** `openssl verify ...`: exit status and output (never throws). */
export function opensslVerify(args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('openssl', ['verify', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

export interface Pki {
  ca: TestCa;
  server: { certFile: string; keyFile: string };
  expiredCa: string;
  leaf: string;
  keyFile: string;
  notPem: string;
  derCa: string;
}

/** A CA and a server certificate for IP:127.0.0.1, plus the bad inputs. */
export function makePki(dir: string, name = 'corp-ca'): Pki {
  mkdirSync(dir, { recursive: true });
  const ca = generateCa(dir, name);
  const server = issueServerCert(ca, dir, 'server');
  // An expired CA: `openssl ca` can set dates in the past.
  const ex = path.join(dir, 'expired');
  mkdirSync(ex, { recursive: true });
  writeFileSync(path.join(ex, 'index.txt'), '');
  writeFileSync(path.join(ex, 'serial'), '01\n');
  writeFileSync(path.join(ex, 'ca.cnf'), '[ca]\ndefault_ca = t\n[t]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n');
  writeFileSync(path.join(ex, 'ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'k.pem'], { cwd: ex });
  run('openssl', ['req', '-new', '-key', 'k.pem', '-subj', '/CN=cleanimg expired test CA', '-out', 'r.csr'], { cwd: ex });
  run('openssl', ['ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'k.pem', '-in', 'r.csr', '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-extfile', 'ext', '-notext', '-out', 'expired-ca.crt'], { cwd: ex });
  const derCa = path.join(dir, 'ca.der');
  run('openssl', ['x509', '-in', ca.certFile, '-outform', 'der', '-out', derCa]);
  const notPem = path.join(dir, 'notes.txt');
  writeFileSync(notPem, 'this is the CA, honest\n');
  return { ca, server, expiredCa: path.join(ex, 'expired-ca.crt'), leaf: server.certFile, keyFile: server.keyFile, notPem, derCa };
}

/** Debian's trust store from this machine: the bundle, mozilla/*.crt, and /etc/ssl/certs links. */
export function debianStore(): { bundle: Buffer; crts: Map<string, Buffer>; links: Map<string, string> } {
  const bundle = readFileSync('/etc/ssl/certs/ca-certificates.crt');
  const crts = new Map<string, Buffer>();
  for (const n of readdirSync('/usr/share/ca-certificates/mozilla')) crts.set(`/usr/share/ca-certificates/mozilla/${n}`, readFileSync(`/usr/share/ca-certificates/mozilla/${n}`));
  const links = new Map<string, string>();
  for (const n of readdirSync('/etc/ssl/certs')) {
    const p = `/etc/ssl/certs/${n}`;
    if (lstatSync(p).isSymbolicLink() && (/\.pem$/.test(n) || /^[0-9a-f]{8}\.[0-9]+$/.test(n))) links.set(p, readlinkSync(p));
  }
  return { bundle, crts, links };
}

export type LayerSpec = {
  files?: Record<string, string | Buffer>;
  symlinks?: Record<string, string>;
  /** Paths removed in this layer (umoci writes whiteouts). */
  remove?: string[];
};

/**
 * A base image with one layer per LayerSpec (bottom first), made with umoci in `layout:tag`:
 * each layer is an unpack, the changes, and a repack. Shell-less; user 65532.
 */
export function buildLayeredBase(work: string, layout: string, tag: string, layers: LayerSpec[]): void {
  if (!existsSync(path.join(layout, 'oci-layout'))) run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:${tag}`]);
  for (const [i, l] of layers.entries()) {
    const bundle = path.join(work, `bundle-${tag}-${i}`);
    run('umoci', ['unpack', '--rootless', '--image', `${layout}:${tag}`, bundle]);
    const rootfs = path.join(bundle, 'rootfs');
    for (const [p, c] of Object.entries(l.files ?? {})) {
      const t = path.join(rootfs, p);
      mkdirSync(path.dirname(t), { recursive: true });
      if (existsSync(t) || isLink(t)) unlinkSync(t);
      writeFileSync(t, c);
      chmodSync(t, 0o644);
    }
    for (const [p, target] of Object.entries(l.symlinks ?? {})) {
      const t = path.join(rootfs, p);
      mkdirSync(path.dirname(t), { recursive: true });
      if (existsSync(t) || isLink(t)) unlinkSync(t);
      symlinkSync(target, t);
    }
    for (const p of l.remove ?? []) rmSync(path.join(rootfs, p), { recursive: true, force: true });
    run('umoci', ['repack', '--image', `${layout}:${tag}`, bundle]);
    rmSync(bundle, { recursive: true, force: true });
  }
  run('umoci', ['config', '--image', `${layout}:${tag}`, '--config.user', '65532:65532', '--architecture', 'amd64', '--os', 'linux', '--config.env', 'PATH=/usr/bin', '--config.entrypoint', '/usr/bin/app']);
  run('umoci', ['gc', '--layout', layout]);
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The layer descriptors of `layout:tag` (bottom first). */
export function layoutLayers(layout: string, tag: string): { digest: string; size: number }[] {
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)!;
  const m = JSON.parse(readFileSync(path.join(layout, 'blobs', 'sha256', d.digest.slice(7)), 'utf8')) as { layers: { digest: string; size: number }[] };
  return m.layers;
}

export interface CountingProxy {
  host: string;
  /** Blob digests fetched with GET, and the bytes sent for each. */
  blobGets: Map<string, number>;
  stop(): Promise<void>;
}

/** An HTTP proxy on 127.0.0.1 in front of `target` (host:port) that counts blob bytes sent back. */
export async function countingProxy(target: string): Promise<CountingProxy> {
  const [thost, tport] = target.split(':');
  const blobGets = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const up = request({ host: thost, port: Number(tport), method: req.method, path: req.url, headers: { ...req.headers, host: target } }, (ur) => {
      const m = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? '');
      const counting = req.method === 'GET' && m;
      if (counting) blobGets.set(m[1]!, blobGets.get(m[1]!) ?? 0);
      // Redirects and locations name the registry; rewrite them to the proxy.
      const headers = { ...ur.headers };
      if (typeof headers.location === 'string') headers.location = headers.location.replace(`//${target}`, `//${proxyHost}`);
      res.writeHead(ur.statusCode ?? 502, headers);
      ur.on('data', (c: Buffer) => {
        if (counting) blobGets.set(m[1]!, blobGets.get(m[1]!)! + c.length);
        res.write(c);
      });
      ur.on('end', () => res.end());
    });
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const proxyHost = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    host: proxyHost,
    blobGets,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
