/**
 * trust_ca against real parts: a three-layer base (a big bottom layer, Debian's real trust store in the
 * middle layer, a small top layer) in Debian's docker-registry; a test CA made with openssl; the
 * overlay pushed, copied with skopeo and unpacked with umoci; then real `openssl verify` (-CAfile and
 * -CApath) and a real TLS handshake prove the image trusts the CA, and that the base did not.
 * The base is read through a counting proxy: only the top and middle layers are fetched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { buildOverlay, type BuildOverlayResult } from '../../../src/customize/build';
import { pushOverlay } from '../../../src/customize/push';
import { parseReference } from '../../../src/oci/reference';
import { RegistryClient, RegistryImageSource } from '../../../src/oci/registry';
import { pushLayout } from '../../support/base-image';
import { runCli } from '../../support/cli';
import { startRegistry, type TestRegistry } from '../../support/registry';
import { buildLayeredBase, countingProxy, debianStore, layoutLayers, makePki, opensslVerify, run, type CountingProxy, type Pki } from './support';

let root: string;
let reg: TestRegistry;
let proxy: CountingProxy;
let pki: Pki;
let baseDigest: string;
let layers: { digest: string; size: number }[];
let debianBundle: Buffer;

function writeSpec(dir: string, body: string): string {
  mkdirSync(dir, { recursive: true });
  const p = path.join(dir, 'spec.yaml');
  writeFileSync(p, body);
  return p;
}

/** skopeo copy + umoci unpack of a pushed image; returns its rootfs. */
function unpack(ref: string, name: string): string {
  const layout = path.join(root, `unpack-${name}`);
  run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:t`]);
  const bundle = path.join(root, `bundle-${name}`);
  run('umoci', ['unpack', '--rootless', '--image', `${layout}:t`, bundle]);
  return path.join(bundle, 'rootfs');
}

function handshake(port: number, ca: Buffer): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: undefined }, () => {
      resolve({ ok: s.authorized });
      s.end();
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, error: e.code ?? e.message }));
  });
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'cleanimg-trust-'));
  reg = await startRegistry();
  proxy = await countingProxy(reg.host);
  pki = makePki(path.join(root, 'pki'));
  const store = debianStore();
  debianBundle = store.bundle;
  const layout = path.join(root, 'base-layout');
  buildLayeredBase(root, layout, 'base', [
    {
      files: {
        '/etc/os-release': 'ID=cleanimg-test\n',
        '/etc/passwd': 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n',
        '/usr/bin/app': 'app\n',
        '/opt/big.bin': randomBytes(3 << 20),
      },
    },
    { files: { '/etc/ssl/certs/ca-certificates.crt': store.bundle, ...Object.fromEntries(store.crts) }, symlinks: Object.fromEntries(store.links) },
    { files: { '/etc/app/app.conf': 'a = 1\n' } },
  ]);
  layers = layoutLayers(layout, 'base');
  baseDigest = await pushLayout(layout, 'base', reg, 'base/debian', '1');
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('trust_ca on a Debian base in a real registry', () => {
  let built: BuildOverlayResult;
  let rootfs: string;
  let baseRootfs: string;
  const target = () => `${reg.host}/app/trusted:1`;

  beforeAll(async () => {
    const dir = path.join(root, 'spec');
    mkdirSync(path.join(dir, 'certs'), { recursive: true });
    copyFileSync(pki.ca.certFile, path.join(dir, 'certs/corp-ca.crt'));
    const specPath = writeSpec(dir, `base_image: "${proxy.host}/base/debian:1@${baseDigest}"\narch: amd64\ntrust_ca: [certs/corp-ca.crt]\ntrust_env: true\n`);
    const client = new RegistryClient(proxy.host);
    try {
      built = await buildOverlay({ specPath, source: new RegistryImageSource(client, 'base/debian') });
    } finally {
      await client.close();
    }
    const pushClient = new RegistryClient(reg.host);
    try {
      await pushOverlay(built, { target: pushClient, ref: parseReference(target()), baseRef: parseReference(`${reg.host}/base/debian:1`) });
    } finally {
      await pushClient.close();
      await built.dispose();
    }
    rootfs = unpack(target(), 'after');
    baseRootfs = unpack(`${reg.host}/base/debian:1`, 'before');
  }, 120_000);

  it('reads only the layers from the top down to the bundle\'s: the bottom layer is never fetched', () => {
    expect(layers).toHaveLength(3);
    const t = built.trust!;
    expect(t.layout).toBe('debian');
    expect(t.bundle).toMatchObject({ path: '/etc/ssl/certs/ca-certificates.crt', created: false, layer: 2, baseCertificates: debianBundle.toString().split('BEGIN CERTIFICATE').length - 1 });
    expect(t.layersRead).toEqual([3, 2]);
    expect(t.bytesFetched).toBe(layers[2]!.size + layers[1]!.size);
    // What the registry actually sent, counted by the proxy.
    expect([...proxy.blobGets.keys()].filter((d) => layers.some((l) => l.digest === d)).sort()).toEqual([layers[1]!.digest, layers[2]!.digest].sort());
    expect(proxy.blobGets.get(layers[1]!.digest)).toBe(layers[1]!.size);
    expect(proxy.blobGets.get(layers[2]!.digest)).toBe(layers[2]!.size);
    expect(proxy.blobGets.has(layers[0]!.digest)).toBe(false);
    expect(layers[0]!.size).toBeGreaterThan(3_000_000);
  });

  it('names the hashed link the way openssl does', () => {
    const hash = run('openssl', ['x509', '-noout', '-subject_hash', '-in', pki.ca.certFile]).trim();
    expect(built.trust!.added.map((a) => a.hashPath)).toEqual([`/etc/ssl/certs/${hash}.0`]);
    expect(readFileSync(path.join(rootfs, 'etc/ssl/certs', `${hash}.0`)).equals(readFileSync(path.join(rootfs, 'usr/local/share/ca-certificates/corp-ca.crt')))).toBe(true);
    expect(new X509Certificate(readFileSync(path.join(rootfs, 'etc/ssl/certs', `${hash}.0`))).fingerprint256).toBe(new X509Certificate(readFileSync(pki.ca.certFile)).fingerprint256);
  });

  it('appends the CA to the base\'s bundle, keeping the base\'s bytes', () => {
    const after = readFileSync(path.join(rootfs, 'etc/ssl/certs/ca-certificates.crt'));
    expect(after.subarray(0, debianBundle.length).equals(debianBundle)).toBe(true);
    expect(after.subarray(debianBundle.length).toString()).toContain('-----BEGIN CERTIFICATE-----');
    expect(new X509Certificate(after.subarray(debianBundle.length)).fingerprint256).toBe(new X509Certificate(readFileSync(pki.ca.certFile)).fingerprint256);
  });

  it('real openssl verify: -CAfile and -CApath succeed after the overlay and failed before', () => {
    const server = pki.server.certFile;
    const after = path.join(rootfs, 'etc/ssl/certs');
    const before = path.join(baseRootfs, 'etc/ssl/certs');
    expect(opensslVerify(['-no-CApath', '-no-CAstore', '-CAfile', path.join(after, 'ca-certificates.crt'), server])).toMatchObject({ ok: true });
    expect(opensslVerify(['-no-CAfile', '-no-CAstore', '-CApath', after, server])).toMatchObject({ ok: true });
    const b1 = opensslVerify(['-no-CApath', '-no-CAstore', '-CAfile', path.join(before, 'ca-certificates.crt'), server]);
    const b2 = opensslVerify(['-no-CAfile', '-no-CAstore', '-CApath', before, server]);
    expect(b1.ok).toBe(false);
    expect(b2.ok).toBe(false);
    expect(b1.out).toMatch(/unable to get local issuer certificate/);
    // The base's own CAs still verify through the new bundle (nothing was lost).
    expect(opensslVerify(['-no-CApath', '-no-CAstore', '-CAfile', path.join(after, 'ca-certificates.crt'), '/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt'])).toMatchObject({ ok: true });
  });

  it('a real TLS handshake on 127.0.0.1 succeeds with only the image\'s bundle, and failed with the base\'s', async () => {
    const server = tls.createServer({ cert: readFileSync(pki.server.certFile), key: readFileSync(pki.server.keyFile) }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as { port: number }).port;
      expect(await handshake(port, readFileSync(path.join(rootfs, 'etc/ssl/certs/ca-certificates.crt')))).toEqual({ ok: true });
      const before = await handshake(port, readFileSync(path.join(baseRootfs, 'etc/ssl/certs/ca-certificates.crt')));
      expect(before.ok).toBe(false);
      expect(before.error).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE'); // what Node reports when no CA it has signed the leaf
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('sets the env defaults trust_env asks for', () => {
    const cfg = JSON.parse(run('skopeo', ['inspect', '--config', '--tls-verify=false', `docker://${target()}`])) as { config: { Env: string[] } };
    expect(cfg.config.Env).toEqual(['PATH=/usr/bin', 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt', 'REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt']);
  });

  it('gives the same digest for the same inputs', async () => {
    const dir = path.join(root, 'spec-again');
    mkdirSync(path.join(dir, 'certs'), { recursive: true });
    copyFileSync(pki.ca.certFile, path.join(dir, 'certs/corp-ca.crt'));
    const specPath = writeSpec(dir, `# moved and reformatted\nbase_image: "${proxy.host}/base/debian:1@${baseDigest}"\narch: amd64\ntrust_env: true\ntrust_ca:\n  - certs/corp-ca.crt\n`);
    const client = new RegistryClient(proxy.host);
    try {
      const again = await buildOverlay({ specPath, source: new RegistryImageSource(client, 'base/debian') });
      await again.dispose();
      expect(again.manifestDigest).toBe(built.manifestDigest);
      expect(again.layer.digest).toBe(built.layer.digest);
    } finally {
      await client.close();
    }
  });

  it('a build that fails after the trust step (here: its upload refuses the layer) leaves none of the generated files', async () => {
    const dir = path.join(root, 'spec-fails');
    const tmpDir = path.join(root, 'tmp-fails');
    mkdirSync(path.join(dir, 'certs'), { recursive: true });
    mkdirSync(tmpDir, { recursive: true });
    copyFileSync(pki.ca.certFile, path.join(dir, 'certs/corp-ca.crt'));
    const specPath = writeSpec(dir, `base_image: "${proxy.host}/base/debian:1@${baseDigest}"\narch: amd64\ntrust_ca: [certs/corp-ca.crt]\n`);
    const client = new RegistryClient(proxy.host);
    let seenTrustDir = false;
    try {
      const failing = buildOverlay({
        specPath, tmpDir, source: new RegistryImageSource(client, 'base/debian'),
        onLayerData: () => {
          seenTrustDir = readdirSync(tmpDir).some((n) => n.startsWith('cleanimg-trust-'));
          throw new Error('upload refused');
        },
      });
      await expect(failing).rejects.toThrow('upload refused');
    } finally {
      await client.close();
    }
    expect(seenTrustDir).toBe(true); // the step's files existed while the layer was built
    expect(readdirSync(tmpDir)).toEqual([]); // and are gone when the build fails, not only at exit
  });

  it('verify --trusts: exit 0 for the overlay (bundle and CApath), 1 for the base, 2 for a bad certificate', async () => {
    const ok = await runCli(['verify', '--trusts', pki.server.certFile, target(), '--json']);
    expect(ok.code).toBe(0);
    const j = JSON.parse(ok.out);
    expect(j.trust.trusted).toBe(true);
    expect(j.trust.stores.map((s: { kind: string; path: string; trusted: boolean }) => [s.kind, s.path, s.trusted])).toEqual([
      ['bundle', '/etc/ssl/certs/ca-certificates.crt', true],
      ['hashdir', '/etc/ssl/certs', true],
    ]);
    const before = await runCli(['verify', '--trusts', pki.server.certFile, `${reg.host}/base/debian:1`]);
    expect(before.code).toBe(1);
    expect(before.out).toMatch(/FAIL bundle \/etc\/ssl\/certs\/ca-certificates.crt does not trust CN=127.0.0.1/);
    expect(before.out).toMatch(/FAIL hashed folder \/etc\/ssl\/certs does not trust/);
    const bad = await runCli(['verify', '--trusts', pki.notPem, target()]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/holds no certificate/);
  });

  it('verify --layout reads an OCI layout the same way', async () => {
    const layout = path.join(root, 'unpack-after');
    expect((await runCli(['verify', '--layout', `${layout}:t`, '--trusts', pki.server.certFile])).code).toBe(0);
    expect((await runCli(['verify', '--layout', `${path.join(root, 'unpack-before')}:t`, '--trusts', pki.server.certFile])).code).toBe(1);
  });
});

describe('trust_ca through the CLI', () => {
  it('build --push reports the layout, the layers read and the CAs added (JSON and stderr)', async () => {
    const dir = path.join(root, 'cli');
    mkdirSync(dir, { recursive: true });
    copyFileSync(pki.ca.certFile, path.join(dir, 'corp-ca.crt'));
    const specPath = writeSpec(dir, `base_image: "${reg.host}/base/debian:1@${baseDigest}"\narch: amd64\ntrust_ca: [corp-ca.crt]\n`);
    const j = await runCli(['build', '--spec', specPath, '--tag', `${reg.host}/app/cli:1`, '--push', '--json', '--no-cache']);
    expect(j.code).toBe(0);
    const r = JSON.parse(j.out);
    expect(r.trust).toMatchObject({ layout: 'debian', layersRead: [3, 2], layersTotal: 3, bundle: { path: '/etc/ssl/certs/ca-certificates.crt', layer: 2 }, env: [] });
    expect(r.trust.added).toEqual([expect.objectContaining({ source: 'corp-ca.crt', anchorPath: '/usr/local/share/ca-certificates/corp-ca.crt' })]);
    expect(r.trust.added[0].pem).toBeUndefined();
    const t = await runCli(['build', '--spec', specPath, '--tag', `${reg.host}/app/cli:1`, '--push', '--no-cache']);
    expect(t.code).toBe(0);
    expect(t.err).toMatch(/trust_ca: debian layout, bundle \/etc\/ssl\/certs\/ca-certificates.crt from base layer 2 with \d+ certificates; read 2 of 3 base layers \(\d+ bytes\)/);
    expect(t.err).toMatch(/trust_ca: added CN=cleanimg test corp-ca \(corp-ca.crt\)/);
    expect((await runCli(['verify', '--trusts', pki.server.certFile, `${reg.host}/app/cli:1`])).code).toBe(0);
  });
});

describe('trust_ca refusals: nothing is pushed', () => {
  const cases: [string, (p: Pki) => string, string, RegExp][] = [
    ['a leaf certificate (CA:FALSE)', (p) => p.leaf, 'TC004', /not a CA certificate/],
    ['an expired CA', (p) => p.expiredCa, 'TC005', /expired on 2020-02-01/],
    ['a private key', (p) => p.keyFile, 'TC003', /PRIVATE KEY/],
    ['a file that is not PEM', (p) => p.notPem, 'TC002', /no PEM "CERTIFICATE" block/],
    ['a DER certificate', (p) => p.derCa, 'TC002', /DER certificate, not PEM/],
  ];
  for (const [what, file, code, msg] of cases) {
    it(`refuses ${what} with ${code}`, async () => {
      const dir = path.join(root, `bad-${code}-${what.length}`);
      mkdirSync(dir, { recursive: true });
      copyFileSync(file(pki), path.join(dir, 'ca.crt'));
      const specPath = writeSpec(dir, `base_image: "${reg.host}/base/debian:1@${baseDigest}"\narch: amd64\ntrust_ca: [ca.crt]\n`);
      const repo = `app/bad-${code.toLowerCase()}`;
      const r = await runCli(['build', '--spec', specPath, '--tag', `${reg.host}/${repo}:1`, '--push', '--json', '--no-cache']);
      expect(r.code).toBe(2);
      const j = JSON.parse(r.out);
      expect(j.problems[0]).toMatchObject({ code, path: 'trust_ca[0]' });
      expect(j.problems[0].message).toMatch(msg);
      expect(j.problems[0].fix.length).toBeGreaterThan(10);
      const tags = await fetch(`http://${reg.host}/v2/${repo}/tags/list`);
      expect(tags.status).toBe(404);
    });
  }
});
