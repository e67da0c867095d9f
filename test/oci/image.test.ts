import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { CleanimgError } from '../../src/errors';
import { appendLayer, canonicalJson, CREATED_BY, manifestFamily, type AppendInput } from '../../src/oci/image';
import { MediaType, type ImageConfig, type ImageManifest } from '../../src/oci/types';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function base(family: 'oci' | 'docker'): { manifest: ImageManifest; config: ImageConfig; mediaType: string } {
  const oci = family === 'oci';
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: oci ? MediaType.OciManifest : MediaType.DockerManifest,
    config: { mediaType: oci ? MediaType.OciConfig : MediaType.DockerConfig, digest: d('c'), size: 100 },
    layers: [
      { mediaType: oci ? MediaType.OciLayerGzip : MediaType.DockerLayerGzip, digest: d('1'), size: 1000 },
      { mediaType: oci ? MediaType.OciLayerGzip : MediaType.DockerLayerGzip, digest: d('2'), size: 2000, annotations: { 'x.y': 'z' } },
    ],
    ...(oci ? { annotations: { 'org.opencontainers.image.base.digest': d('9'), 'org.example.vendor': 'cleanstart' } } : {}),
  };
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    created: '2026-01-02T03:04:05.123456Z',
    config: { User: '65532:65532', Env: ['PATH=/usr/bin', 'LANG=C.UTF-8'], Entrypoint: ['/usr/bin/postgres'], Cmd: ['-D', '/data'], WorkingDir: '/var/lib/postgresql', Labels: { 'org.example.base': 'yes', keep: 'base' } },
    rootfs: { type: 'layers', diff_ids: [d('a'), d('b')] },
    history: [{ created: '2026-01-02T03:04:05Z', created_by: 'base layer 1' }, { created: '2026-01-02T03:04:05Z', created_by: 'base layer 2' }],
    ...(oci ? {} : { container_config: { Hostname: '' }, docker_version: '24.0.0' }),
  };
  return { manifest, config, mediaType: manifest.mediaType! };
}

function input(family: 'oci' | 'docker', over: Partial<AppendInput> = {}): AppendInput {
  const b = base(family);
  return {
    baseManifest: b.manifest,
    baseManifestMediaType: b.mediaType,
    baseConfig: b.config,
    baseName: 'cleanstart/postgresql:15-prod',
    baseDigest: d('e'),
    layer: { digest: d('f'), diffId: d('0'), size: 4242 },
    sourceDateEpoch: 0,
    comment: 'spec postgres-spec.yaml sha256:…',
    labels: { 'org.example.team': 'db', keep: 'spec' },
    annotations: { 'org.example.ticket': 'OPS-1' },
    ...over,
  };
}

describe('appendLayer on an OCI base', () => {
  const r = appendLayer(input('oci'));

  it('keeps the runtime config and appends diff_id and history with fixed times', () => {
    const c = JSON.parse(r.configBytes.toString());
    expect(c.config.User).toBe('65532:65532');
    expect(c.config.Env).toEqual(['PATH=/usr/bin', 'LANG=C.UTF-8']);
    expect(c.config.Entrypoint).toEqual(['/usr/bin/postgres']);
    expect(c.config.Cmd).toEqual(['-D', '/data']);
    expect(c.config.WorkingDir).toBe('/var/lib/postgresql');
    expect(c.config.Labels).toEqual({ 'org.example.base': 'yes', keep: 'spec', 'org.example.team': 'db' });
    expect(c.rootfs.diff_ids).toEqual([d('a'), d('b'), d('0')]);
    expect(c.created).toBe('1970-01-01T00:00:00Z');
    expect(c.history).toHaveLength(3);
    expect(c.history[2]).toEqual({ created: '1970-01-01T00:00:00Z', created_by: CREATED_BY, comment: 'spec postgres-spec.yaml sha256:…' });
  });

  it('references base layers unchanged and adds the new layer, with OCI media types', () => {
    const m = JSON.parse(r.manifestBytes.toString());
    expect(m.mediaType).toBe(MediaType.OciManifest);
    expect(m.config).toEqual({ mediaType: MediaType.OciConfig, digest: sha(r.configBytes), size: r.configBytes.length });
    expect(m.layers.slice(0, 2)).toEqual(base('oci').manifest.layers);
    expect(m.layers[2]).toEqual({ mediaType: MediaType.OciLayerGzip, digest: d('f'), size: 4242 });
    expect(r.manifestDigest).toBe(sha(r.manifestBytes));
  });

  it('annotates the base (replacing the base\'s own base pointers) and adds spec annotations', () => {
    const m = JSON.parse(r.manifestBytes.toString());
    expect(m.annotations).toEqual({
      'org.opencontainers.image.base.digest': d('e'),
      'org.opencontainers.image.base.name': 'cleanstart/postgresql:15-prod',
      'org.example.vendor': 'cleanstart',
      'org.example.ticket': 'OPS-1',
    });
    expect(r.warnings).toEqual([]);
  });

  it('serialises canonically: sorted keys, no spaces, same bytes every time', () => {
    const again = appendLayer(input('oci'));
    expect(again.manifestBytes.equals(r.manifestBytes)).toBe(true);
    expect(again.configBytes.equals(r.configBytes)).toBe(true);
    expect(canonicalJson(JSON.parse(r.configBytes.toString()))).toBe(r.configBytes.toString());
    expect(r.manifestBytes.toString().startsWith('{"annotations":')).toBe(true);
    // Input key order does not matter.
    const shuffled = input('oci');
    const cfg = shuffled.baseConfig as ImageConfig & Record<string, unknown>;
    const reordered = Object.fromEntries(Object.entries(cfg).reverse()) as ImageConfig;
    expect(appendLayer({ ...shuffled, baseConfig: reordered }).manifestDigest).toBe(r.manifestDigest);
  });

  it('changes with SOURCE_DATE_EPOCH and with the layer', () => {
    const later = appendLayer(input('oci', { sourceDateEpoch: 1_700_000_000 }));
    expect(JSON.parse(later.configBytes.toString()).created).toBe('2023-11-14T22:13:20Z');
    expect(later.manifestDigest).not.toBe(r.manifestDigest);
    expect(appendLayer(input('oci', { layer: { digest: d('7'), diffId: d('0'), size: 4242 } })).manifestDigest).not.toBe(r.manifestDigest);
  });

  it('does not modify its inputs', () => {
    const i = input('oci');
    const before = JSON.stringify(i);
    appendLayer(i);
    expect(JSON.stringify(i)).toBe(before);
  });
});

describe('appendLayer on a Docker v2 base', () => {
  const r = appendLayer(input('docker'));
  const m = JSON.parse(r.manifestBytes.toString());
  const c = JSON.parse(r.configBytes.toString());

  it('keeps the Docker family for manifest, config and the new layer', () => {
    expect(r.family).toBe('docker');
    expect(r.manifestMediaType).toBe(MediaType.DockerManifest);
    expect(m.mediaType).toBe(MediaType.DockerManifest);
    expect(m.config.mediaType).toBe(MediaType.DockerConfig);
    expect(m.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([MediaType.DockerLayerGzip, MediaType.DockerLayerGzip, MediaType.DockerLayerGzip]);
    expect(c.docker_version).toBe('24.0.0');
  });

  it('has no manifest annotations; base pointers and spec annotations become labels, with a warning', () => {
    expect(m.annotations).toBeUndefined();
    expect(c.config.Labels['org.opencontainers.image.base.digest']).toBe(d('e'));
    expect(c.config.Labels['org.opencontainers.image.base.name']).toBe('cleanstart/postgresql:15-prod');
    expect(c.config.Labels['org.example.ticket']).toBe('OPS-1');
    expect(r.warnings.join()).toMatch(/Docker v2.*org\.example\.ticket/);
  });
});

describe('appendLayer converting a Docker v2 base to OCI', () => {
  const r = appendLayer(input('docker', { outputFamily: 'oci' }));
  it('retypes base layer descriptors, keeps their digests, and writes OCI annotations', () => {
    expect(r.manifestMediaType).toBe(MediaType.OciManifest);
    expect(r.configDescriptor.mediaType).toBe(MediaType.OciConfig);
    expect(r.manifest.layers.map((l) => [l.mediaType, l.digest])).toEqual([
      [MediaType.OciLayerGzip, d('1')],
      [MediaType.OciLayerGzip, d('2')],
      [MediaType.OciLayerGzip, d('f')],
    ]);
    expect(r.manifest.annotations).toMatchObject({ 'org.opencontainers.image.base.name': 'cleanstart/postgresql:15-prod', 'org.example.ticket': 'OPS-1' });
    expect(r.warnings).toEqual([]);
  });
  it('refuses layer types without an equivalent', () => {
    const i = input('oci', { outputFamily: 'docker' });
    const m = { ...i.baseManifest, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: d('1'), size: 1 }, i.baseManifest.layers[1]!] };
    expect(() => appendLayer({ ...i, baseManifest: m })).toThrow(/IMAGE003|no Docker v2 equivalent/);
  });
});

describe('appendLayer refusals', () => {
  it('an index or unknown media type', () => {
    expect(() => manifestFamily(MediaType.OciIndex)).toThrow(CleanimgError);
    expect(() => appendLayer(input('oci', { baseManifestMediaType: 'application/vnd.docker.distribution.manifest.v1+json' }))).toThrow(/IMAGE001|media type/);
  });

  it('a base whose layers and diff_ids disagree', () => {
    const i = input('oci');
    const cfg = { ...i.baseConfig, rootfs: { type: 'layers' as const, diff_ids: [d('a')] } };
    try {
      appendLayer({ ...i, baseConfig: cfg });
      throw new Error('no error');
    } catch (e) {
      expect((e as CleanimgError).problems[0]).toMatchObject({ code: 'IMAGE002', path: 'base_image' });
    }
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level, keeps array order, drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, 'é': 'x' })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1,"é":"x"}');
  });
});
