import { failureProblems } from '../support/expect-error';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Problem } from '../../src/errors';
import { buildOverlay, layoutTag, type BuildOverlayOptions } from '../../src/customize/build';
import { parseSpec } from '../../src/customize/spec';
import { LayoutImageSource, REF_NAME_ANNOTATION } from '../../src/oci/layout';
import { MediaType, type FetchedManifest, type ImageSource } from '../../src/oci/types';
import { addDockerManifest, cleanupTmp, makeBaseLayout, makeCert, run, sha256, specYaml, tmp, write, writeSpec, type BaseImage } from './fixtures';

afterAll(cleanupTmp);

const problemsOf = failureProblems;

/** Write an OCI index over existing manifests into a layout and tag it. Returns its digest. */
function addIndex(layout: string, entries: { digest: string; size: number; platform: Record<string, string> }[], tag: string): string {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: entries.map((e) => ({ mediaType: MediaType.OciManifest, ...e })) }));
  const digest = sha256(bytes);
  writeFileSync(path.join(layout, 'blobs/sha256', digest.slice(7)), bytes);
  const idxPath = path.join(layout, 'index.json');
  const idx = JSON.parse(readFileSync(idxPath, 'utf8'));
  idx.manifests.push({ mediaType: MediaType.OciIndex, digest, size: bytes.length, annotations: { [REF_NAME_ANNOTATION]: tag } });
  writeFileSync(idxPath, JSON.stringify(idx));
  return digest;
}

function manifestSize(layout: string, digest: string): number {
  return statSync(path.join(layout, 'blobs/sha256', digest.slice(7))).size;
}

describe('buildOverlay', () => {
  let root: string;
  let base: BaseImage;
  let specDir: string;
  let specPath: string;
  let source: LayoutImageSource;
  let tmpDir: string;

  beforeAll(async () => {
    root = tmp();
    base = makeBaseLayout(root);
    tmpDir = path.join(root, 'layer-tmp');
    mkdirSync(tmpDir);
    specDir = path.join(root, 'postgres-custom');
    write(path.join(specDir, 'certs/corporate-ca.crt'), makeCert(root, { cn: 'Corporate Root CA', ca: true }));
    write(path.join(specDir, 'config/custom.conf'), 'max_connections = 200\nshared_buffers = 512MB\n');
    write(path.join(specDir, 'initdb/01-schema.sql'), 'create table t (id int);\n');
    write(path.join(specDir, 'initdb/02-data.sql'), 'insert into t values (1);\n');
    specPath = writeSpec(
      specDir,
      specYaml(`cleanstart/postgresql:15-prod@${base.digest}`, [
        { source: 'certs/corporate-ca.crt', destination: '/etc/ssl/certs/corporate-ca.crt' },
        { source: 'config/custom.conf', destination: '/etc/postgresql/custom.conf', mode: '0600', owner: '65532:65532' },
        { source: 'initdb', destination: '/docker-entrypoint-initdb.d', mode: '0444' },
      ], 'labels:\n  org.example.team: db\nannotations:\n  org.example.ticket: OPS-1\n'),
      'postgres-spec.yaml',
    );
    source = await LayoutImageSource.open(base.layout);
  });

  const opts = (o: Partial<BuildOverlayOptions> = {}): BuildOverlayOptions => ({ specPath, source, tmpDir, sourceDateEpoch: 0, ...o });

  it('writes a layout that skopeo and umoci read: base kept, files with modes, still shell-less', async () => {
    const out = path.join(root, 'out1');
    const r = await buildOverlay(opts({ outputLayout: out, tag: 'myregistry/postgres:15-custom' }));
    expect(r.outputLayout).toEqual({ dir: out, tag: '15-custom' });
    expect(r.platformChosen).toMatchObject({ fromIndex: false, platform: { os: 'linux', architecture: 'amd64' } });
    expect(r.base).toMatchObject({ name: 'cleanstart/postgresql:15-prod', digest: base.digest, manifestDigest: base.digest });
    // The guide's copy of its CA into /etc/ssl/certs builds, with the one warning that it trusts nothing.
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^copy_files\[0\]\.source \(\/etc\/ssl\/certs\/corporate-ca\.crt\): a CA copied into a trust store folder .* list it under trust_ca/);

    const raw = run('skopeo', ['inspect', '--raw', `oci:${out}:15-custom`]);
    expect(Buffer.from(raw).equals(r.manifestBytes)).toBe(true);
    const info = JSON.parse(run('skopeo', ['inspect', `oci:${out}:15-custom`]));
    expect(info.Digest).toBe(r.manifestDigest);
    expect(info.Layers).toEqual([...base.manifest.layers.map((l) => l.digest), r.layer.digest]);
    const cfg = JSON.parse(run('skopeo', ['inspect', '--config', `oci:${out}:15-custom`]));
    expect(cfg.config).toMatchObject({ User: '65532:65532', Entrypoint: ['/usr/bin/app'], Cmd: ['--serve'], Env: ['PATH=/usr/bin'], WorkingDir: '/app' });
    expect(cfg.config.Labels).toEqual({ 'org.example.base': 'yes', 'org.example.team': 'db' });
    expect(cfg.history.at(-1)).toMatchObject({ created: '1970-01-01T00:00:00Z', created_by: 'cleanimg-customize build' });
    expect(cfg.history.at(-1).comment).toMatch(/^spec postgres-spec\.yaml sha256:[a-f0-9]{64} variant prod$/);
    expect(r.manifest.annotations).toMatchObject({
      'org.opencontainers.image.base.digest': base.digest,
      'org.opencontainers.image.base.name': 'cleanstart/postgresql:15-prod',
      'org.example.ticket': 'OPS-1',
    });

    const bundle = path.join(root, 'bundle1');
    run('umoci', ['unpack', '--rootless', '--image', `${out}:15-custom`, bundle]);
    const fs = path.join(bundle, 'rootfs');
    const mode = (p: string) => (statSync(path.join(fs, p)).mode & 0o7777).toString(8);
    expect(readFileSync(path.join(fs, 'etc/postgresql/custom.conf'), 'utf8')).toContain('max_connections = 200');
    expect(mode('etc/postgresql/custom.conf')).toBe('600');
    expect(mode('etc/ssl/certs/corporate-ca.crt')).toBe('644');
    expect(mode('docker-entrypoint-initdb.d/01-schema.sql')).toBe('444');
    expect(mode('docker-entrypoint-initdb.d')).toBe('755');
    expect(readFileSync(path.join(fs, 'usr/bin/app'), 'utf8')).toBe('app binary base\n');
    expect(existsSync(path.join(fs, 'bin/sh'))).toBe(false);
    expect(existsSync(path.join(fs, 'usr/bin/sh'))).toBe(false);
    // Ownership as recorded in the layer (rootless unpack cannot chown): read it from the tar itself.
    const listing = run('tar', ['-tvzf', path.join(out, 'blobs/sha256', r.layer.digest.slice(7))]);
    expect(listing).toMatch(/-rw------- 65532\/65532 .* etc\/postgresql\/custom\.conf/);
    // skopeo can copy it on (what --push does later from a layout).
    run('skopeo', ['copy', `oci:${out}:15-custom`, `oci:${path.join(root, 'copied')}:x`]);
    expect(JSON.parse(run('skopeo', ['inspect', `oci:${path.join(root, 'copied')}:x`])).Digest).toBe(r.manifestDigest);
    // The layer temp file moved into the layout.
    expect(r.layer.path).toBe(path.join(out, 'blobs/sha256', r.layer.digest.slice(7)));
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it('gives the same digest on another run, after touch, from another folder, and changes with SOURCE_DATE_EPOCH', async () => {
    const a = await buildOverlay(opts());
    for (const f of ['certs/corporate-ca.crt', 'config/custom.conf', 'initdb/01-schema.sql']) utimesSync(path.join(specDir, f), new Date(), new Date('2031-05-05'));
    const b = await buildOverlay(opts());
    const moved = path.join(root, 'elsewhere', 'checkout', 'postgres-custom');
    cpSync(specDir, moved, { recursive: true });
    const c = await buildOverlay(opts({ specPath: path.join(moved, 'postgres-spec.yaml') }));
    const d = await buildOverlay(opts({ sourceDateEpoch: 1_700_000_000 }));
    const e = await buildOverlay(opts({ sourceDateEpoch: 1_700_000_000 }));
    expect(new Set([a.manifestDigest, b.manifestDigest, c.manifestDigest]).size).toBe(1);
    expect(d.manifestDigest).not.toBe(a.manifestDigest);
    expect(d.manifestDigest).toBe(e.manifestDigest);
    // Without a layout the layer stays in the temp folder for the pusher, until dispose.
    expect(existsSync(a.layer.path)).toBe(true);
    expect(sha256(readFileSync(a.layer.path))).toBe(a.layer.digest);
    for (const r of [a, b, c, d, e]) await r.dispose();
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it('returns what a push needs: new blobs, base layers to mount, descriptors in the base family', async () => {
    const r = await buildOverlay(opts());
    expect(r.baseLayers).toEqual(base.manifest.layers);
    expect(r.layer.descriptor).toEqual({ mediaType: MediaType.OciLayerGzip, digest: r.layer.digest, size: r.layer.size });
    expect(r.configDescriptor.digest).toBe(sha256(r.configBytes));
    expect(r.manifestDigest).toBe(sha256(r.manifestBytes));
    expect(r.manifestMediaType).toBe(MediaType.OciManifest);
    await r.dispose();
    expect(r.implicitDirectories).toEqual(['/etc', '/etc/postgresql', '/etc/ssl', '/etc/ssl/certs']);
  });

  it('resolves a multi-arch base by arch and says which descriptor it chose', async () => {
    const arm = makeBaseLayout(root, { tag: 'arm', arch: 'arm64' });
    const indexDigest = addIndex(
      base.layout,
      [
        { digest: base.digest, size: manifestSize(base.layout, base.digest), platform: { os: 'linux', architecture: 'amd64' } },
        { digest: arm.digest, size: manifestSize(base.layout, arm.digest), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
      'multi',
    );
    const dir = path.join(root, 'multi-spec');
    write(path.join(dir, 'a.conf'), 'a\n');
    const sp = writeSpec(dir, specYaml(`cleanstart/app:1-prod@${indexDigest}`, [{ source: 'a.conf', destination: '/etc/app/a.conf' }]).replace('arch: amd64', 'arch: arm64'));
    const out = path.join(root, 'out-multi');
    const r = await buildOverlay(opts({ specPath: sp, outputLayout: out, tag: 'arm-custom' }));
    expect(r.platformChosen.fromIndex).toBe(true);
    expect(r.platformChosen.descriptor.digest).toBe(arm.digest);
    expect(r.platformChosen.platform).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(r.platformChosen.available).toEqual(['linux/amd64', 'linux/arm64/v8']);
    expect(r.base).toMatchObject({ digest: indexDigest, indexDigest, manifestDigest: arm.digest });
    expect(r.manifest.annotations?.['org.opencontainers.image.base.digest']).toBe(arm.digest);
    expect(JSON.parse(run('skopeo', ['inspect', '--config', `oci:${out}:arm-custom`])).architecture).toBe('arm64');

    const missing = await problemsOf(buildOverlay(opts({ specPath: writeSpec(dir, readFileSync(sp, 'utf8').replace('arch: arm64', 'arch: s390x'), 's390x.yaml') })));
    expect(missing[0]).toMatchObject({ code: 'PLATFORM001', path: 'arch' });
    expect(missing[0]!.message).toContain('available: linux/amd64, linux/arm64/v8');
  });

  it('fetches base layers for a layout from any source, verified: streamed, whole, or refused when wrong', async () => {
    const streaming = { name: 'streaming', getManifest: (r: string) => source.getManifest(r), getBlob: (d: string) => source.getBlob(d), openBlob: (d: string) => source.openBlob(d) };
    const plain: ImageSource = { name: 'plain', getManifest: (r) => source.getManifest(r), getBlob: (d) => source.getBlob(d) };
    const layerDigests = new Set(base.manifest.layers.map((l) => l.digest));
    const { Readable } = await import('node:stream');
    const lying = { ...streaming, name: 'lying', openBlob: async (d: string) => (layerDigests.has(d) ? Readable.from([Buffer.from('not the layer')]) : source.openBlob(d)) };
    const digests: string[] = [];
    for (const [name, src] of [['streamed', streaming], ['whole', plain]] as const) {
      const out = path.join(root, `out-${name}`);
      const r = await buildOverlay(opts({ source: src, outputLayout: out, tag: 'v1' }));
      digests.push(r.manifestDigest);
      expect(JSON.parse(run('skopeo', ['inspect', `oci:${out}:v1`])).Digest).toBe(r.manifestDigest);
      run('umoci', ['unpack', '--rootless', '--image', `${out}:v1`, path.join(root, `bundle-${name}`)]);
      expect(readFileSync(path.join(root, `bundle-${name}`, 'rootfs/usr/bin/app'), 'utf8')).toBe('app binary base\n');
    }
    expect(digests[0]).toBe(digests[1]);
    const out = path.join(root, 'out-lying');
    expect((await problemsOf(buildOverlay(opts({ source: lying, outputLayout: out, tag: 'v1' }))))[0]).toMatchObject({ code: 'LAYOUT005' });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(root).filter((f) => f.startsWith('out-lying'))).toEqual([]);
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it('returns warnings (a certificate that is not a CA) without failing', async () => {
    const dir = path.join(root, 'leaf-spec');
    write(path.join(dir, 'server.crt'), makeCert(root, { cn: 'db.example.com', ca: false }));
    const sp = writeSpec(dir, specYaml(`x/y@${base.digest}`, [{ source: 'server.crt', destination: '/etc/ssl/certs/server.crt' }]));
    const r = await buildOverlay(opts({ specPath: sp }));
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/db\.example\.com.*not a CA/);
    await r.dispose();
  });

  describe('refusals leave no layout, or an existing one unchanged', () => {
    let existing: string;
    let snapshot: () => string;
    beforeAll(async () => {
      existing = path.join(root, 'existing-out');
      const r = await buildOverlay(opts({ outputLayout: existing, tag: 'v1' }));
      expect(r.outputLayout).toBeDefined();
      snapshot = () => readFileSync(path.join(existing, 'index.json'), 'utf8') + readdirSync(path.join(existing, 'blobs/sha256')).sort().join(',');
    });

    async function refuse(specText: string, extra: Partial<BuildOverlayOptions> = {}): Promise<Problem[]> {
      const before = snapshot();
      const sp = writeSpec(specDir, specText, 'refusal.yaml');
      const fresh = path.join(root, `never-${Math.random().toString(16).slice(2)}`);
      const p1 = await problemsOf(buildOverlay(opts({ specPath: sp, outputLayout: fresh, tag: 'x', ...extra })));
      expect(existsSync(fresh)).toBe(false);
      expect(readdirSync(root).filter((f) => f.startsWith(path.basename(fresh)))).toEqual([]);
      const p2 = await problemsOf(buildOverlay(opts({ specPath: sp, outputLayout: existing, tag: 'v1', ...extra })));
      expect(p2.map((p) => p.code)).toEqual(p1.map((p) => p.code));
      expect(snapshot()).toBe(before);
      expect(readdirSync(tmpDir)).toEqual([]);
      return p1;
    }

    it('a base not pinned by digest', async () => {
      const ps = await refuse(specYaml('cleanstart/postgresql:15-prod', [{ source: 'config/custom.conf', destination: '/etc/a.conf' }]));
      expect(ps[0]).toMatchObject({ code: 'SPEC004', path: 'base_image' });
    });

    it('a base digest the source does not have', async () => {
      const ps = await refuse(specYaml(`cleanstart/postgresql:15-prod@sha256:${'ab'.repeat(32)}`, [{ source: 'config/custom.conf', destination: '/etc/a.conf' }]));
      expect(ps[0]!.code).toBe('LAYOUT003');
    });

    it('a base whose bytes do not match its digest', async () => {
      const lying: ImageSource = {
        name: 'lying',
        async getManifest(ref: string): Promise<FetchedManifest> {
          const m = await source.getManifest(ref);
          return { ...m, bytes: Buffer.concat([m.bytes, Buffer.from(' ')]) };
        },
        getBlob: (d) => source.getBlob(d),
      };
      const ps = await refuse(specYaml(`a/b@${base.digest}`, [{ source: 'config/custom.conf', destination: '/etc/a.conf' }]), { source: lying });
      expect(ps[0]).toMatchObject({ code: 'BASE002', path: 'base_image' });
    });

    it('an arch the base is not built for', async () => {
      const ps = await refuse(specYaml(`a/b@${base.digest}`, [{ source: 'config/custom.conf', destination: '/etc/a.conf' }]).replace('arch: amd64', 'arch: arm64'));
      expect(ps[0]).toMatchObject({ code: 'BASE004', path: 'arch' });
      expect(ps[0]!.fix).toContain('arch: amd64');
    });

    it('bad inputs: a shell path, an escape, a missing file, a private key — all at once', async () => {
      write(path.join(specDir, 'keys/tls.key'), (await import('node:crypto')).generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
      const ps = await refuse(
        specYaml(`a/b@${base.digest}`, [
          { source: 'config/custom.conf', destination: '/bin/sh' },
          { source: '../outside.txt', destination: '/etc/x' },
          { source: 'nope.txt', destination: '/etc/y' },
          { source: 'keys/tls.key', destination: '/etc/ssl/private/tls.key' },
        ]),
      );
      expect(ps.map((p) => `${p.code} ${p.path}`).sort()).toEqual(['INPUT001 copy_files[1].source', 'INPUT003 copy_files[2].source', 'INPUT006 copy_files[0].destination', 'INPUT007 copy_files[3].source']);
    });

    it('malformed YAML', async () => {
      const ps = await refuse('base_image: [unclosed\n');
      expect(ps[0]!.code).toBe('SPEC001');
    });
  });

  it('keeps a Docker v2 base in its family, and converts it to OCI only when asked (needed for a layout)', async () => {
    const dockerDigest = addDockerManifest(base.layout, base.digest, 'docker');
    const dir = path.join(root, 'docker-spec');
    write(path.join(dir, 'a.conf'), 'a\n');
    const sp = writeSpec(dir, specYaml(`cleanstart/app:1-prod@${dockerDigest}`, [{ source: 'a.conf', destination: '/etc/app/a.conf' }], 'annotations: {org.example.ticket: "7"}\n'));
    const src = await LayoutImageSource.open(base.layout);
    const docker = await buildOverlay(opts({ specPath: sp, source: src }));
    expect(docker.manifestMediaType).toBe(MediaType.DockerManifest);
    expect(docker.layer.descriptor.mediaType).toBe(MediaType.DockerLayerGzip);
    expect(docker.manifest.annotations).toBeUndefined();
    expect(docker.config.config?.Labels?.['org.opencontainers.image.base.digest']).toBe(dockerDigest);
    expect(docker.warnings.join()).toMatch(/org\.example\.ticket were written as config labels/);
    await docker.dispose();

    const out = path.join(root, 'out-docker');
    const refused = await problemsOf(buildOverlay(opts({ specPath: sp, source: src, outputLayout: out, tag: 'x' })));
    expect(refused[0]).toMatchObject({ code: 'BUILD002' });
    expect(existsSync(out)).toBe(false);

    const oci = await buildOverlay(opts({ specPath: sp, source: src, outputLayout: out, tag: 'x', manifestFormat: 'oci' }));
    expect(oci.manifestMediaType).toBe(MediaType.OciManifest);
    expect(oci.manifest.layers.map((l) => l.mediaType)).toEqual(oci.manifest.layers.map(() => MediaType.OciLayerGzip));
    expect(oci.manifest.layers.slice(0, -1).map((l) => l.digest)).toEqual(base.manifest.layers.map((l) => l.digest));
    expect(oci.manifestDigest).not.toBe(docker.manifestDigest);
    expect(JSON.parse(run('skopeo', ['inspect', `oci:${out}:x`])).Digest).toBe(oci.manifestDigest);
    run('umoci', ['unpack', '--rootless', '--image', `${out}:x`, path.join(root, 'bundle-docker')]);
    expect(readFileSync(path.join(root, 'bundle-docker/rootfs/etc/app/a.conf'), 'utf8')).toBe('a\n');
  });

  it('warns about dev variants and a variant that contradicts the tag', async () => {
    const dir = path.join(root, 'dev-spec');
    write(path.join(dir, 'a.conf'), 'a\n');
    const sp = writeSpec(dir, specYaml(`cleanstart/python:3.11-dev@${base.digest}`, [{ source: 'a.conf', destination: '/etc/app/a.conf' }]));
    const r = await buildOverlay(opts({ specPath: sp }));
    await r.dispose();
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings[0]).toMatch(/dev variant/);
    expect(r.warnings[1]).toMatch(/variant: prod does not match the base tag 3\.11-dev/);
  });

  it('takes a spec object with its folder and gives the same image as the file', async () => {
    const fromFile = await buildOverlay(opts());
    const fromObject = await buildOverlay(opts({ spec: parseSpec(readFileSync(specPath, 'utf8')), specDir, specPath: 'postgres-spec.yaml' }));
    expect(fromObject.manifestDigest).toBe(fromFile.manifestDigest);
    await fromFile.dispose();
    await fromObject.dispose();
    expect((await problemsOf(buildOverlay(opts({ spec: fromFile.spec }))))[0]).toMatchObject({ code: 'BUILD001', path: 'specDir' });
  });

  it('needs a tag for a layout, and derives it from a reference', async () => {
    expect((await problemsOf(buildOverlay(opts({ outputLayout: path.join(root, 'notag') }))))[0]).toMatchObject({ code: 'BUILD001', path: 'tag' });
    expect((await problemsOf(buildOverlay(opts({ outputLayout: path.join(root, 'badtag'), tag: 'reg/app:-bad' }))))[0]).toMatchObject({ code: 'BUILD001', path: 'tag' });
    const busy = path.join(root, 'busy-out');
    write(path.join(busy, 'notes.txt'), 'mine\n');
    expect((await problemsOf(buildOverlay(opts({ outputLayout: busy, tag: 'v1' }))))[0]).toMatchObject({ code: 'LAYOUT001' });
    expect(readdirSync(busy)).toEqual(['notes.txt']);
    expect(existsSync(path.join(root, 'notag'))).toBe(false);
    expect(layoutTag('myregistry/postgres:15-custom')).toBe('15-custom');
    expect(layoutTag('127.0.0.1:5000/app')).toBe('latest');
    expect(layoutTag('v1')).toBe('v1');
    expect(layoutTag('reg:5000/app:v2@sha256:' + 'a'.repeat(64))).toBe('v2');
  });
});
