import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CleanimgError } from '../../src/errors';
import { appendLayer } from '../../src/oci/image';
import { buildLayer } from '../../src/oci/layer';
import { LayoutImageSource, LayoutWriter, REF_NAME_ANNOTATION } from '../../src/oci/layout';
import { MediaType, type ImageConfig, type ImageManifest } from '../../src/oci/types';
import { cleanupTmp, makeBaseLayout, run, sha256, tmp, write, type BaseImage } from '../customize/fixtures';
import { failureCode } from '../support/expect-error';

afterAll(cleanupTmp);

describe('LayoutImageSource', () => {
  let root: string;
  let base: BaseImage;
  beforeAll(() => {
    root = tmp();
    base = makeBaseLayout(root);
  });

  it('reads an umoci layout by tag and by digest, verifying bytes', async () => {
    const src = await LayoutImageSource.open(base.layout);
    expect(src.name).toBe(`oci:${base.layout}`);
    const byTag = await src.getManifest('base');
    expect(byTag.digest).toBe(base.digest);
    expect(byTag.mediaType).toBe(MediaType.OciManifest);
    expect(sha256(byTag.bytes)).toBe(base.digest);
    const byDigest = await src.getManifest(base.digest);
    expect(byDigest.bytes.equals(byTag.bytes)).toBe(true);
    const cfg = JSON.parse((await src.getBlob(base.manifest.config.digest)).toString()) as ImageConfig;
    expect(cfg.config?.User).toBe('65532:65532');
    expect([...(await src.tags()).keys()]).toEqual(['base']);
    const chunks: Buffer[] = [];
    for await (const c of await src.openBlob(base.manifest.layers[0]!.digest)) chunks.push(c as Buffer);
    expect(sha256(Buffer.concat(chunks))).toBe(base.manifest.layers[0]!.digest);
  });

  it('refuses a folder that is not a layout, an unknown tag or digest, and a corrupt blob', async () => {
    expect(await failureCode(LayoutImageSource.open(root))).toBe('LAYOUT001');
    const src = await LayoutImageSource.open(base.layout);
    try {
      await src.getManifest('nope');
      throw new Error('no error');
    } catch (e) {
      expect((e as CleanimgError).problems[0]).toMatchObject({ code: 'LAYOUT003', fix: 'use one of: base' });
    }
    expect(await failureCode(src.getManifest(`sha256:${'0'.repeat(64)}`))).toBe('LAYOUT003');
    const copy = path.join(root, 'corrupt');
    cpSync(base.layout, copy, { recursive: true });
    const blob = path.join(copy, 'blobs/sha256', base.manifest.config.digest.slice(7));
    writeFileSync(blob, '{"tampered":true}');
    expect(await failureCode((await LayoutImageSource.open(copy)).getBlob(base.manifest.config.digest))).toBe('LAYOUT005');
  });
});

describe('LayoutWriter', () => {
  let root: string;
  let base: BaseImage;
  let image: { manifestBytes: Buffer; manifestDigest: string; configBytes: Buffer; layerPath: string; layerDigest: string; manifestMediaType: string };

  beforeAll(async () => {
    root = tmp();
    base = makeBaseLayout(root);
    const files = path.join(root, 'files');
    write(path.join(files, 'hello.txt'), 'hello\n');
    const layer = await buildLayer([{ path: '/etc/app/hello.txt', kind: 'file', source: path.join(files, 'hello.txt'), mode: 0o640, uid: 0, gid: 0 }], { tmpDir: root });
    const src = await LayoutImageSource.open(base.layout);
    const m = JSON.parse((await src.getManifest('base')).bytes.toString()) as ImageManifest;
    const c = JSON.parse((await src.getBlob(m.config.digest)).toString()) as ImageConfig;
    const r = appendLayer({ baseManifest: m, baseManifestMediaType: MediaType.OciManifest, baseConfig: c, baseName: 'test/base:base', baseDigest: base.digest, layer, sourceDateEpoch: 0 });
    image = { manifestBytes: r.manifestBytes, manifestDigest: r.manifestDigest, configBytes: r.configBytes, layerPath: layer.path, layerDigest: layer.digest, manifestMediaType: r.manifestMediaType };
  });

  async function writeImage(dir: string, tag: string): Promise<void> {
    const src = await LayoutImageSource.open(base.layout);
    const w = await LayoutWriter.open(dir);
    for (const l of base.manifest.layers) await w.linkFrom(src, l.digest);
    await w.putBytes(image.configBytes);
    await w.putFile(image.layerPath, image.layerDigest);
    await w.putBytes(image.manifestBytes, image.manifestDigest);
    // A new layout is invisible until commit.
    if (w.workDir !== dir) expect(existsSync(path.join(dir, 'index.json'))).toBe(false);
    await w.commit({ mediaType: image.manifestMediaType, digest: image.manifestDigest, size: image.manifestBytes.length }, tag);
  }

  it('creates a new layout only at commit, which skopeo and umoci accept', async () => {
    const out = path.join(root, 'new', 'layout');
    await writeImage(out, 'v1');
    const inspected = JSON.parse(run('skopeo', ['inspect', `oci:${out}:v1`]));
    expect(inspected.Digest).toBe(image.manifestDigest);
    expect(inspected.Layers).toHaveLength(base.manifest.layers.length + 1);
    expect(JSON.parse(run('skopeo', ['inspect', '--raw', `oci:${out}:v1`]))).toEqual(JSON.parse(image.manifestBytes.toString()));
    const bundle = path.join(root, 'bundle-new');
    run('umoci', ['unpack', '--rootless', '--image', `${out}:v1`, bundle]);
    expect(readFileSync(path.join(bundle, 'rootfs/etc/app/hello.txt'), 'utf8')).toBe('hello\n');
    expect(statSync(path.join(bundle, 'rootfs/etc/app/hello.txt')).mode & 0o777).toBe(0o640);
    expect(readFileSync(path.join(bundle, 'rootfs/usr/bin/app'), 'utf8')).toBe('app binary base\n');
    expect(readdirSync(path.dirname(out)).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('moves a tag in an existing layout and keeps the other tags', async () => {
    const out = path.join(root, 'existing');
    cpSync(base.layout, out, { recursive: true });
    await writeImage(out, 'custom');
    await writeImage(out, 'base');
    const idx = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(idx.manifests.map((m) => [m.annotations[REF_NAME_ANNOTATION], m.digest])).toEqual([
      ['custom', image.manifestDigest],
      ['base', image.manifestDigest],
    ]);
    expect(JSON.parse(run('skopeo', ['inspect', `oci:${out}:base`])).Digest).toBe(image.manifestDigest);
  });

  it('refuses a non-empty folder that is not a layout, and a file, without touching them', async () => {
    const busy = path.join(root, 'busy');
    write(path.join(busy, 'notes.txt'), 'mine\n');
    expect(await failureCode(LayoutWriter.open(busy))).toBe('LAYOUT001');
    expect(readdirSync(busy)).toEqual(['notes.txt']);
    expect(await failureCode(LayoutWriter.open(path.join(busy, 'notes.txt')))).toBe('LAYOUT001');
    expect(readdirSync(root).filter((f) => f.startsWith('busy'))).toEqual(['busy']);
  });

  it('abort leaves no trace of a new layout; an empty folder is filled at commit', async () => {
    const out = path.join(root, 'aborted');
    const w = await LayoutWriter.open(out);
    await w.putBytes(Buffer.from('x'));
    await w.abort();
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(root).filter((f) => f.startsWith('aborted'))).toEqual([]);
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    await writeImage(empty, 'v1');
    expect(JSON.parse(run('skopeo', ['inspect', `oci:${empty}:v1`])).Digest).toBe(image.manifestDigest);
  });

  it('refuses a bad tag and a blob whose bytes do not match', async () => {
    const w = await LayoutWriter.open(path.join(root, 'bad'));
    expect(await failureCode(w.putBytes(Buffer.from('x'), `sha256:${'1'.repeat(64)}`))).toBe('LAYOUT005');
    const m = await w.putBytes(Buffer.from('{}'));
    expect(await failureCode(w.commit({ mediaType: MediaType.OciManifest, ...m }, 'bad tag!'))).toBe('LAYOUT001');
    await w.abort();
  });
});
