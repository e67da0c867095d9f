/**
 * The trust_ca step on bases made of tar layers built here (tar-stream + gzip), served from memory by
 * a source that records every layer it opens: which layer holds the bundle under whiteouts, opaque
 * folders and symlinks; the layouts (Debian, Alpine, RHEL, none); duplicates, names, hash suffixes,
 * env defaults; refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { parseSpecObject } from '../../../src/customize/spec';
import { prepareTrust, type TrustStep } from '../../../src/customize/trust/prepare';
import { subjectHash, pemCertificates } from '../../../src/customize/trust/x509';
import { MediaType, type Descriptor, type FetchedManifest, type ImageConfig, type ImageSource } from '../../../src/oci/types';
import { failure } from '../../support/expect-error';
import { makePki, type Pki } from './support';

type E = { name: string; type?: 'file' | 'symlink' | 'directory' | 'link'; content?: string | Buffer; linkname?: string; mode?: number };

async function tarGz(entries: E[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    if (type === 'file') pack.entry({ name: e.name, mode: e.mode ?? 0o644, mtime: new Date(0) }, Buffer.from(e.content ?? ''));
    else pack.entry({ name: e.name, type, linkname: e.linkname, mode: e.mode ?? 0o755, mtime: new Date(0) });
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

class MemSource implements ImageSource {
  readonly name = 'memory';
  readonly opened: string[] = [];
  constructor(readonly blobs: Map<string, Buffer>) {}
  async getManifest(): Promise<FetchedManifest> {
    throw new Error('not used');
  }
  async getBlob(d: string): Promise<Buffer> {
    return this.blobs.get(d)!;
  }
  async openBlob(d: string): Promise<NodeJS.ReadableStream> {
    this.opened.push(d);
    return Readable.from([this.blobs.get(d)!]);
  }
}

async function base(layerEntries: E[][]): Promise<{ layers: Descriptor[]; source: MemSource }> {
  const blobs = new Map<string, Buffer>();
  const layers: Descriptor[] = [];
  for (const es of layerEntries) {
    const b = await tarGz(es);
    const digest = `sha256:${createHash('sha256').update(b).digest('hex')}`;
    blobs.set(digest, b);
    layers.push({ mediaType: MediaType.OciLayerGzip, digest, size: b.length });
  }
  return { layers, source: new MemSource(blobs) };
}

const CONFIG: ImageConfig = { architecture: 'amd64', os: 'linux', config: { User: '65532', Env: ['PATH=/usr/bin'] }, rootfs: { type: 'layers', diff_ids: [] } };
const DIGEST = `sha256:${'a'.repeat(64)}`;

let root: string;
let pki: Pki;
let pki2: Pki;
let debian: string;
const steps: TrustStep[] = [];

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'cleanimg-trust-unit-'));
  pki = makePki(path.join(root, 'pki'));
  pki2 = makePki(path.join(root, 'pki2'), 'second-ca');
  debian = readFileSync('/etc/ssl/certs/ca-certificates.crt', 'latin1');
});
afterAll(async () => {
  for (const s of steps) await s.dispose();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
/** A spec folder holding the given CA files, and the step run on `layers`. */
async function step(files: Record<string, string>, layers: { layers: Descriptor[]; source: MemSource }, extra: Record<string, unknown> = {}, config = CONFIG) {
  const dir = path.join(root, `spec-${n++}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, from] of Object.entries(files)) copyFileSync(from, path.join(dir, name));
  const spec = parseSpecObject({ base_image: `example.com/base@${DIGEST}`, arch: 'amd64', trust_ca: Object.keys(files), ...extra });
  const s = (await prepareTrust({ spec, specDir: dir, baseLayers: layers.layers, baseConfig: config, source: layers.source, inputEntries: [] }))!;
  steps.push(s);
  return s;
}

const entry = (s: TrustStep, p: string) => s.entries.find((e) => e.path === p);
const contentOf = (s: TrustStep, p: string) => readFileSync(entry(s, p)!.source!, 'latin1');

describe('finding the base bundle', () => {
  it('Debian: reads the top layer and the one holding the bundle, never the layers below', async () => {
    const b = await base([
      [{ name: 'etc/ssl/certs/ca-certificates.crt', content: 'old bundle, replaced above' }, { name: 'usr/bin/app', content: 'x' }],
      [{ name: 'etc/ssl/certs/', type: 'directory', mode: 0o755 }, { name: 'etc/ssl/certs/ca-certificates.crt', content: debian }, { name: 'etc/ssl/certs/00000000.0', content: 'x' }],
      [{ name: 'etc/app.conf', content: 'a' }],
    ]);
    const s = await step({ 'corp.crt': pki.ca.certFile }, b);
    expect(s.report.layout).toBe('debian');
    expect(s.report.bundle).toMatchObject({ path: '/etc/ssl/certs/ca-certificates.crt', layer: 2, created: false });
    expect(s.report.layersRead).toEqual([3, 2]);
    expect(b.source.opened).toEqual([b.layers[2]!.digest, b.layers[1]!.digest]);
    expect(s.report.bytesFetched).toBe(b.layers[2]!.size + b.layers[1]!.size);
    const bundle = contentOf(s, '/etc/ssl/certs/ca-certificates.crt');
    expect(bundle.startsWith(debian)).toBe(true);
    expect(pemCertificates(bundle)).toHaveLength(pemCertificates(debian).length + 1);
    const hash = subjectHash(new X509Certificate(readFileSync(pki.ca.certFile)));
    expect(entry(s, `/etc/ssl/certs/${hash}.0`)).toBeDefined();
    expect(entry(s, '/usr/local/share/ca-certificates/corp.crt')).toMatchObject({ mode: 0o644, uid: 0, gid: 0 });
  });

  it('a whiteout of the bundle in a higher layer means it is gone: a new bundle is created, with a note', async () => {
    const b = await base([
      [{ name: 'etc/ssl/certs/ca-certificates.crt', content: debian }],
      [{ name: 'etc/ssl/certs/.wh.ca-certificates.crt', content: '' }],
    ]);
    const s = await step({ 'corp.crt': pki.ca.certFile }, b);
    expect(s.report.layout).toBe('none');
    expect(s.report.bundle.created).toBe(true);
    // The other layouts' bundles could still be below: with no bundle found, every layer is read.
    expect(b.source.opened).toEqual([b.layers[1]!.digest, b.layers[0]!.digest]);
    expect(pemCertificates(contentOf(s, '/etc/ssl/certs/ca-certificates.crt'))).toHaveLength(1);
    expect(s.report.notes.join('\n')).toMatch(/deletes \/etc\/ssl\/certs\/ca-certificates.crt/);
    expect(s.report.notes.join('\n')).toMatch(/no CA bundle .* created \/etc\/ssl\/certs\/ca-certificates.crt holding only the 1 new CA/);
  });

  it('an opaque folder hides the lower bundle; a whiteout of a parent folder too', async () => {
    const opaque = await base([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: debian }], [{ name: 'etc/ssl/certs/.wh..wh..opq', content: '' }]]);
    expect((await step({ 'c.crt': pki.ca.certFile }, opaque)).report.layout).toBe('none');
    const parent = await base([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: debian }], [{ name: 'etc/.wh.ssl', content: '' }]]);
    expect((await step({ 'c.crt': pki.ca.certFile }, parent)).report.layout).toBe('none');
  });

  it('Alpine: /etc/ssl/cert.pem is a symlink to the bundle in a lower layer: it is followed and the real file written', async () => {
    const b = await base([
      [{ name: 'etc/ssl/certs/ca-certificates.crt', content: debian }],
      [{ name: 'usr/bin/app', content: 'big' }],
      [{ name: 'etc/ssl/cert.pem', type: 'symlink', linkname: 'certs/ca-certificates.crt' }],
    ]);
    const s = await step({ 'corp.crt': pki.ca.certFile }, b);
    expect(s.report.layout).toBe('alpine');
    expect(s.report.bundle).toMatchObject({ path: '/etc/ssl/certs/ca-certificates.crt', layer: 1 });
    expect(entry(s, '/etc/ssl/cert.pem')).toBeUndefined();
    expect(s.report.layersRead).toEqual([3, 2, 1]);
  });

  it('a symlinked parent folder in a higher layer redirects the search (Fedora-style /etc/ssl/certs -> ../pki/tls/certs)', async () => {
    const b = await base([
      [{ name: 'etc/pki/tls/certs/ca-certificates.crt', content: debian }, { name: 'etc/ssl/certs/ca-certificates.crt', content: 'stale' }],
      [{ name: 'etc/ssl/certs', type: 'symlink', linkname: '../pki/tls/certs' }],
    ]);
    const s = await step({ 'corp.crt': pki.ca.certFile }, b);
    expect(s.report.bundle.path).toBe('/etc/pki/tls/certs/ca-certificates.crt');
    expect(contentOf(s, '/etc/pki/tls/certs/ca-certificates.crt').startsWith(debian)).toBe(true);
    // The hashed link goes into the real folder, not over the symlink.
    expect(s.entries.some((e) => e.path.startsWith('/etc/ssl/certs/'))).toBe(false);
  });

  it('RHEL: the extracted bundle (through the ca-bundle.crt symlink) and the RHEL anchors and CApath folders', async () => {
    const b = await base([
      [
        { name: 'etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', content: debian },
        { name: 'etc/pki/tls/certs/ca-bundle.crt', type: 'symlink', linkname: '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem' },
      ],
    ]);
    const s = await step({ 'corp.crt': pki.ca.certFile }, b);
    expect(s.report.layout).toBe('rhel');
    expect(s.report.bundle.path).toBe('/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem');
    expect(entry(s, '/etc/pki/ca-trust/source/anchors/corp.pem')).toBeDefined();
    expect(s.report.added[0]!.hashPath).toMatch(/^\/etc\/pki\/tls\/certs\/[0-9a-f]{8}\.0$/);
  });
});

describe('what the step adds', () => {
  it('skips duplicates within the list and against the base bundle; a taken hash name gets the next suffix', async () => {
    const hash = subjectHash(new X509Certificate(readFileSync(pki2.ca.certFile)));
    const withFirst = debian + readFileSync(pki.ca.certFile, 'latin1');
    const b = await base([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: withFirst }, { name: `etc/ssl/certs/${hash}.0`, content: 'another CA with the same hash' }]]);
    const s = await step({ 'a.crt': pki.ca.certFile, 'b.crt': pki2.ca.certFile, 'b-again.crt': pki2.ca.certFile }, b);
    expect(s.report.skipped.map((x) => [x.source, x.reason])).toEqual([
      ['b-again.crt', 'the same certificate as trust_ca[1] (b.crt)'],
      ['a.crt', 'the base already trusts it (/etc/ssl/certs/ca-certificates.crt)'],
    ]);
    expect(s.report.added.map((a) => a.hashPath)).toEqual([`/etc/ssl/certs/${hash}.1`]);
  });

  it('a base bundle without a final newline gets one before the new CA; its mode and owner are kept', async () => {
    const trimmed = debian.trimEnd();
    const b = await base([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: trimmed, mode: 0o444 }]]);
    const s = await step({ 'c.crt': pki.ca.certFile }, b);
    const bundle = contentOf(s, '/etc/ssl/certs/ca-certificates.crt');
    expect(bundle.startsWith(`${trimmed}\n-----BEGIN CERTIFICATE-----\n`)).toBe(true);
    expect(pemCertificates(bundle)).toHaveLength(pemCertificates(debian).length + 1);
    expect(entry(s, '/etc/ssl/certs/ca-certificates.crt')!.mode).toBe(0o444);
  });

  it('every CA of a multi-certificate file is checked and gets its own file', async () => {
    const both = path.join(root, 'both.pem');
    writeFileSync(both, readFileSync(pki.ca.certFile, 'latin1') + readFileSync(pki2.ca.certFile, 'latin1'));
    const s = await step({ 'chain.pem': both }, await base([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: debian }]]));
    expect(s.report.added.map((a) => a.anchorPath)).toEqual(['/usr/local/share/ca-certificates/chain-1.crt', '/usr/local/share/ca-certificates/chain-2.crt']);
  });

  it('trust_env: a list sets those variables (SSL_CERT_DIR to the CApath); a base SSL_CERT_FILE elsewhere is replaced with a note', async () => {
    const cfg: ImageConfig = { ...CONFIG, config: { Env: ['PATH=/usr/bin', 'SSL_CERT_FILE=/opt/old.pem'] } };
    const s = await step({ 'c.crt': pki.ca.certFile }, await base([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: debian }]]), { trust_env: ['SSL_CERT_DIR', 'SSL_CERT_FILE'] }, cfg);
    expect(s.config.config!.Env).toEqual(['PATH=/usr/bin', 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt', 'SSL_CERT_DIR=/etc/ssl/certs']);
    expect(s.report.notes.join('\n')).toMatch(/replaced the base's SSL_CERT_FILE=\/opt\/old.pem/);
  });

  it('without trust_env, a base SSL_CERT_FILE pointing elsewhere is a warning, and the config is unchanged', async () => {
    const cfg: ImageConfig = { ...CONFIG, config: { Env: ['SSL_CERT_FILE=/opt/old.pem'] } };
    const s = await step({ 'c.crt': pki.ca.certFile }, await base([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: debian }]]), {}, cfg);
    expect(s.config).toBe(cfg);
    expect(s.warnings.join('\n')).toMatch(/the base sets SSL_CERT_FILE=\/opt\/old.pem.*add SSL_CERT_FILE to trust_env/);
  });

  it('the same inputs give the same entries and bytes', async () => {
    const b = await base([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: debian }]]);
    const one = await step({ 'c.crt': pki.ca.certFile }, b);
    const two = await step({ 'c.crt': pki.ca.certFile }, b);
    const view = (s: TrustStep) => s.entries.map((e) => [e.path, e.mode, e.kind, e.source ? readFileSync(e.source).toString('base64') : '']);
    expect(view(one)).toEqual(view(two));
  });
});

describe('refusals', () => {
  it('two files with the same name stem: TC006; a path copy_files also writes: TC006', async () => {
    const b = await base([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: debian }]]);
    const dir = path.join(root, 'stems');
    mkdirSync(path.join(dir, 'x'), { recursive: true });
    copyFileSync(pki.ca.certFile, path.join(dir, 'corp.crt'));
    copyFileSync(pki2.ca.certFile, path.join(dir, 'x/corp.pem'));
    const spec = parseSpecObject({ base_image: `example.com/base@${DIGEST}`, arch: 'amd64', trust_ca: ['corp.crt', 'x/corp.pem'] });
    const e = await failure(prepareTrust({ spec, specDir: dir, baseLayers: b.layers, baseConfig: CONFIG, source: b.source, inputEntries: [] }));
    expect(e.problems[0]).toMatchObject({ code: 'TC006', path: 'trust_ca[1]' });
    const spec2 = parseSpecObject({ base_image: `example.com/base@${DIGEST}`, arch: 'amd64', trust_ca: ['corp.crt'] });
    const e2 = await failure(prepareTrust({ spec: spec2, specDir: dir, baseLayers: b.layers, baseConfig: CONFIG, source: b.source, inputEntries: [{ path: '/etc/ssl/certs/ca-certificates.crt', kind: 'file', source: '/dev/null', mode: 0o644, uid: 0, gid: 0 }] }));
    expect(e2.problems[0]).toMatchObject({ code: 'TC006' });
    expect(e2.problems[0]!.message).toMatch(/also written by copy_files/);
  });

  it('path rules of copy_files sources: absolute, "..", missing, a symlink out of the folder (TC001); nothing is read from the base', async () => {
    const b = await base([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: debian }]]);
    const dir = path.join(root, 'paths');
    mkdirSync(dir, { recursive: true });
    const { symlinkSync } = await import('node:fs');
    symlinkSync(pki.ca.certFile, path.join(dir, 'outside.crt'));
    const spec = parseSpecObject({ base_image: `example.com/base@${DIGEST}`, arch: 'amd64', trust_ca: ['/etc/ca.crt', '../ca.crt', 'missing.crt', 'outside.crt'] });
    const e = await failure(prepareTrust({ spec, specDir: dir, baseLayers: b.layers, baseConfig: CONFIG, source: b.source, inputEntries: [] }));
    expect(e.problems.map((p) => [p.code, p.path])).toEqual([
      ['TC001', 'trust_ca[0]'],
      ['TC001', 'trust_ca[1]'],
      ['TC001', 'trust_ca[2]'],
      ['TC001', 'trust_ca[3]'],
    ]);
    expect(b.source.opened).toEqual([]);
  });

  it('a certificate checked against a later "now" has expired (TC005): the check is against the time of the build', async () => {
    const b = await base([[{ name: 'etc/ssl/certs/ca-certificates.crt', content: debian }]]);
    const dir = path.join(root, 'later');
    mkdirSync(dir, { recursive: true });
    copyFileSync(pki.ca.certFile, path.join(dir, 'c.crt'));
    const spec = parseSpecObject({ base_image: `example.com/base@${DIGEST}`, arch: 'amd64', trust_ca: ['c.crt'] });
    const later = new Date(Date.now() + 10 * 86400_000);
    const e = await failure(prepareTrust({ spec, specDir: dir, baseLayers: b.layers, baseConfig: CONFIG, source: b.source, inputEntries: [], now: later }));
    expect(e.problems[0]).toMatchObject({ code: 'TC005', path: 'trust_ca[0]' });
  });
});
