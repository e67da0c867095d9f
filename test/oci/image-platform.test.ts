import { describe, expect, it } from 'vitest';
import { CleanimgError, type Problem } from '../../src/errors';
import { selectPlatform } from '../../src/oci/platform';
import { MediaType, type Descriptor, type ImageIndex } from '../../src/oci/types';

const desc = (n: number, architecture: string, variant?: string, extra: Partial<Descriptor> = {}): Descriptor => ({
  mediaType: MediaType.OciManifest,
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  size: 500 + n,
  platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) },
  ...extra,
});

const index: ImageIndex = {
  schemaVersion: 2,
  mediaType: MediaType.OciIndex,
  manifests: [
    desc(1, 'amd64'),
    desc(2, 'arm64', 'v8'),
    desc(3, 'arm', 'v6'),
    desc(4, 'arm', 'v7'),
    // BuildKit attestation: must never be picked.
    { mediaType: MediaType.OciManifest, digest: `sha256:${'5'.repeat(64)}`, size: 1, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
    { ...desc(6, 'amd64'), platform: { os: 'windows', architecture: 'amd64' } },
  ],
};

function problem(fn: () => unknown): Problem {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CleanimgError);
    return (e as CleanimgError).problems[0]!;
  }
  throw new Error('expected an error');
}

describe('selectPlatform', () => {
  it('picks linux/amd64 and reports what was there', () => {
    const c = selectPlatform(index, { architecture: 'amd64' });
    expect(c.descriptor.digest).toBe(index.manifests[0]!.digest);
    expect(c.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(c.available).toEqual(['linux/amd64', 'linux/arm64/v8', 'linux/arm/v6', 'linux/arm/v7', 'windows/amd64']);
  });

  it('picks by variant, and arm64 defaults to v8', () => {
    expect(selectPlatform(index, { architecture: 'arm', variant: 'v7' }).descriptor.digest).toBe(index.manifests[3]!.digest);
    expect(selectPlatform(index, { architecture: 'arm64' }).descriptor.digest).toBe(index.manifests[1]!.digest);
    const noVariant: ImageIndex = { schemaVersion: 2, manifests: [desc(7, 'arm64')] };
    expect(selectPlatform(noVariant, { architecture: 'arm64', variant: 'v8' }).descriptor.digest).toBe(noVariant.manifests[0]!.digest);
  });

  it('refuses an ambiguous choice and lists the variants', () => {
    const p = problem(() => selectPlatform(index, { architecture: 'arm' }));
    expect(p).toMatchObject({ code: 'PLATFORM002', path: 'variant' });
    expect(p.fix).toContain('v6, v7');
  });

  it('refuses a missing platform and lists the available ones', () => {
    const p = problem(() => selectPlatform(index, { architecture: 's390x' }, 'base index cleanstart/x'));
    expect(p).toMatchObject({ code: 'PLATFORM001', path: 'arch' });
    expect(p.message).toBe('no linux/s390x image; available: linux/amd64, linux/arm64/v8, linux/arm/v6, linux/arm/v7, windows/amd64');
    expect(problem(() => selectPlatform(index, { architecture: 'arm', variant: 'v5' })).code).toBe('PLATFORM001');
  });

  it('never picks attestations or nested indexes', () => {
    const only: ImageIndex = { schemaVersion: 2, manifests: [index.manifests[4]!, { ...desc(8, 'amd64'), mediaType: MediaType.OciIndex }] };
    expect(problem(() => selectPlatform(only, { architecture: 'amd64' })).code).toBe('PLATFORM001');
  });
});
