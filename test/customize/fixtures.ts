/**
 * Test fixtures made by the tests themselves: temp folders, shell-less base images built with umoci,
 * certificates and keys made with openssl / ssh-keygen / node:crypto. Nothing here is committed key material.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const made: string[] = [];

/** A fresh temp folder, removed by `cleanupTmp()`. */
export function tmp(prefix = 'cleanimg-test-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

export function cleanupTmp(): void {
  while (made.length) rmSync(made.pop()!, { recursive: true, force: true });
}

export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

export function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

export function write(file: string, content: string | Buffer, mode?: number): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  if (mode !== undefined) chmodSync(file, mode);
  return file;
}

export interface BaseImage {
  readonly layout: string;
  readonly tag: string;
  readonly digest: string;
  readonly manifest: { config: { digest: string }; layers: { digest: string; size: number; mediaType: string }[] };
}

/**
 * A small shell-less base image made with umoci: /etc/os-release, /usr/bin/app (0755), /etc/ssl/certs/,
 * user 65532, env, entrypoint, workdir, a label. No /bin/sh.
 */
export function makeBaseLayout(root: string, opts: { tag?: string; arch?: string; extraFile?: string } = {}): BaseImage {
  const layout = path.join(root, 'base-layout');
  const tag = opts.tag ?? 'base';
  const bundle = path.join(root, `bundle-${tag}`);
  if (!existsSync(layout)) run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:${tag}`]);
  run('umoci', ['unpack', '--rootless', '--image', `${layout}:${tag}`, bundle]);
  const rootfs = path.join(bundle, 'rootfs');
  write(path.join(rootfs, 'etc/os-release'), 'ID=cleanimg-test\n');
  write(path.join(rootfs, 'usr/bin/app'), `app binary ${tag}\n`, 0o755);
  mkdirSync(path.join(rootfs, 'etc/ssl/certs'), { recursive: true });
  if (opts.extraFile) write(path.join(rootfs, opts.extraFile), 'extra\n');
  run('umoci', ['repack', '--image', `${layout}:${tag}`, bundle]);
  const cfg = ['config', '--image', `${layout}:${tag}`, '--config.user', '65532:65532', '--config.entrypoint', '/usr/bin/app', '--config.cmd', '--serve', '--config.env', 'PATH=/usr/bin', '--config.workingdir', '/app', '--config.label', 'org.example.base=yes'];
  if (opts.arch) cfg.push('--architecture', opts.arch);
  run('umoci', cfg);
  rmSync(bundle, { recursive: true, force: true });
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)!;
  const manifest = JSON.parse(readFileSync(path.join(layout, 'blobs/sha256', d.digest.slice(7)), 'utf8'));
  return { layout, tag, digest: d.digest, manifest };
}

/** Write a spec file (YAML text) into `dir`. */
export function writeSpec(dir: string, yaml: string, name = 'spec.yaml'): string {
  return write(path.join(dir, name), yaml);
}

export function specYaml(baseRef: string, files: { source: string; destination: string; mode?: string; owner?: string }[], extra = ''): string {
  const lines = [`base_image: "${baseRef}"`, 'arch: amd64', 'variant: prod', 'copy_files:'];
  for (const f of files) {
    lines.push(`  - source: ${f.source}`, `    destination: ${f.destination}`);
    if (f.mode) lines.push(`    mode: "${f.mode}"`);
    if (f.owner) lines.push(`    owner: "${f.owner}"`);
  }
  return lines.join('\n') + '\n' + extra;
}

const CA_CNF = `[ ca ]
default_ca = x
[ x ]
dir = .
database = db/index.txt
new_certs_dir = db
serial = db/serial
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[ p ]
commonName = supplied
[ ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[ leaf_ext ]
basicConstraints = critical,CA:FALSE
`;

/**
 * A self-signed certificate made with `openssl ca -selfsign`, so validity dates can lie in the past
 * (OpenSSL 3.0 has no -not_after for req/x509). Returns the PEM text.
 */
export function makeCert(dir: string, opts: { cn: string; ca: boolean; start?: string; end?: string }): string {
  const work = mkdtempSync(path.join(dir, 'ca-'));
  mkdirSync(path.join(work, 'db'));
  writeFileSync(path.join(work, 'db/index.txt'), '');
  writeFileSync(path.join(work, 'db/serial'), '01\n');
  writeFileSync(path.join(work, 'ca.cnf'), CA_CNF);
  run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'r.csr', '-subj', `/CN=${opts.cn}`], { cwd: work });
  const now = new Date();
  const fmt = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  const start = opts.start ?? fmt(new Date(now.getTime() - 86400_000));
  const end = opts.end ?? fmt(new Date(now.getTime() + 30 * 86400_000));
  run('openssl', ['ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'k.pem', '-in', 'r.csr', '-out', 'c.pem', '-startdate', start, '-enddate', end, '-extensions', opts.ca ? 'ca_ext' : 'leaf_ext', '-notext'], { cwd: work });
  const pem = readFileSync(path.join(work, 'c.pem'), 'utf8');
  rmSync(work, { recursive: true, force: true });
  return pem;
}

/** Private keys of every kind the inputs check must catch. */
export function makePrivateKeys(dir: string): Record<string, Buffer> {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const keys: Record<string, Buffer> = {
    'pkcs8.pem': Buffer.from(ec.export({ format: 'pem', type: 'pkcs8' }) as string),
    'rsa-pkcs1.pem': Buffer.from(rsa.export({ format: 'pem', type: 'pkcs1' }) as string),
    'ec-sec1.pem': Buffer.from(ec.export({ format: 'pem', type: 'sec1' }) as string),
    'encrypted.pem': Buffer.from(ec.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'test' }) as string),
    'pkcs8.der': ec.export({ format: 'der', type: 'pkcs8' }) as Buffer,
    'encrypted-pkcs8.der': ec.export({ format: 'der', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'test' }) as Buffer,
    'sec1.der': ec.export({ format: 'der', type: 'sec1' }) as Buffer,
    // The binary body of an OpenSSH key (what the base64 in the PEM armour decodes to), synthetic.
    'openssh-raw.bin': Buffer.concat([Buffer.from('openssh-key-v1\0', 'latin1'), Buffer.from([0, 0, 0, 4]), Buffer.from('none')]),
  };
  const kdir = mkdtempSync(path.join(dir, 'ssh-'));
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', path.join(kdir, 'id')]);
  keys['id_ed25519'] = readFileSync(path.join(kdir, 'id'));
  rmSync(kdir, { recursive: true, force: true });
  const openssl = mkdtempSync(path.join(dir, 'ossl-'));
  run('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', path.join(openssl, 'k.pem')]);
  keys['openssl-ed25519.pem'] = readFileSync(path.join(openssl, 'k.pem'));
  rmSync(openssl, { recursive: true, force: true });
  // A key hidden after 3 MiB of text, across read-chunk boundaries.
  keys['config-with-key.conf'] = Buffer.concat([Buffer.alloc(3 * (1 << 20) - 20, 'a'), Buffer.from('\n'), keys['pkcs8.pem']!]);
  // Keys in other clothes: a PKCS#12 keystore, a JWK set, DER after a PEM certificate, base64-wrapped PEM.
  const { certPem, p12WithKey } = pkcs12Files(dir);
  keys['keystore.p12'] = p12WithKey;
  keys['jwks.json'] = Buffer.from(JSON.stringify({ keys: [rsa.export({ format: 'jwk' })] }));
  keys['cert-then-der.pem'] = Buffer.concat([certPem, rsa.export({ format: 'der', type: 'pkcs8' }) as Buffer]);
  keys['app.properties'] = Buffer.from(`tls.enabled=true\ntls.key=${keys['pkcs8.pem']!.toString('base64')}\n`);
  return keys;
}

/** Files that hold no private key though they look close: a certificates-only PKCS#12 truststore, a public JWK set, a PEM certificate. */
export function keylessLookalikes(dir: string): Record<string, Buffer> {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { certPem, p12CertsOnly } = pkcs12Files(dir);
  return {
    'truststore.p12': p12CertsOnly,
    'public-jwks.json': Buffer.from(JSON.stringify({ keys: [rsa.publicKey.export({ format: 'jwk' })] })),
    'cert.pem': certPem,
    'spki.der': rsa.publicKey.export({ format: 'der', type: 'spki' }) as Buffer,
  };
}

/** A self-signed certificate, and PKCS#12 files made from it by openssl: with its key, and certificates only. */
function pkcs12Files(dir: string): { certPem: Buffer; p12WithKey: Buffer; p12CertsOnly: Buffer } {
  const d = mkdtempSync(path.join(dir, 'p12-'));
  const [key, cert] = [path.join(d, 'k.pem'), path.join(d, 'c.pem')];
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=test', '-days', '1']);
  run('openssl', ['pkcs12', '-export', '-inkey', key, '-in', cert, '-out', path.join(d, 'with-key.p12'), '-passout', 'pass:test']);
  run('openssl', ['pkcs12', '-export', '-nokeys', '-in', cert, '-out', path.join(d, 'certs.p12'), '-passout', 'pass:test']);
  const out = { certPem: readFileSync(cert), p12WithKey: readFileSync(path.join(d, 'with-key.p12')), p12CertsOnly: readFileSync(path.join(d, 'certs.p12')) };
  rmSync(d, { recursive: true, force: true });
  return out;
}

export const FAKE_DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

/**
 * Add a Docker v2 (schema 2) manifest for an existing OCI image in the same layout: same config and
 * layer blobs, Docker media types. Returns its digest. (skopeo and umoci do not read it there; our
 * LayoutImageSource does, which stands in for a registry serving a Docker v2 base.)
 */
export function addDockerManifest(layout: string, ociDigest: string, tag: string): string {
  const m = JSON.parse(readFileSync(path.join(layout, 'blobs/sha256', ociDigest.slice(7)), 'utf8'));
  m.mediaType = 'application/vnd.docker.distribution.manifest.v2+json';
  m.config.mediaType = 'application/vnd.docker.container.image.v1+json';
  for (const l of m.layers) l.mediaType = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
  const bytes = Buffer.from(JSON.stringify(m));
  const digest = sha256(bytes);
  writeFileSync(path.join(layout, 'blobs/sha256', digest.slice(7)), bytes);
  const idxPath = path.join(layout, 'index.json');
  const idx = JSON.parse(readFileSync(idxPath, 'utf8'));
  idx.manifests.push({ mediaType: m.mediaType, digest, size: bytes.length, annotations: { 'org.opencontainers.image.ref.name': tag } });
  writeFileSync(idxPath, JSON.stringify(idx));
  return digest;
}
