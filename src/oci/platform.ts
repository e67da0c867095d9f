/**
 * Picking one image out of a multi-arch index by architecture (and CPU variant), os linux.
 *
 * Attestation and other non-image entries (BuildKit's `unknown/unknown` platform, entries whose media
 * type is not an image manifest) are skipped. When a variant is not asked for and several entries of the
 * architecture differ only by variant, the choice is refused and the variants are listed, except for
 * arm64 where `v8` (or no variant) is the default, as in containerd's platform matcher.
 */
import { CleanimgError } from '../errors';
import { MediaType, type Descriptor, type ImageIndex, type Platform } from './types';

export interface PlatformWanted {
  readonly architecture: string;
  /** A CPU variant such as v7/v8; undefined matches any, subject to the ambiguity rule. */
  readonly variant?: string;
  readonly os?: string;
}

export interface PlatformChoice {
  readonly descriptor: Descriptor;
  readonly platform: Platform;
  /** What was available, as `os/arch[/variant]` strings, for messages and reports. */
  readonly available: readonly string[];
}

const IMAGE_TYPES = new Set<string>([MediaType.OciManifest, MediaType.DockerManifest]);

export function formatPlatform(p: Platform | undefined): string {
  if (!p) return '(no platform)';
  return [p.os, p.architecture, p.variant].filter((s) => s).join('/');
}

export function isIndexMediaType(mt: string | undefined): boolean {
  return mt === MediaType.OciIndex || mt === MediaType.DockerManifestList;
}

function isImageEntry(d: Descriptor): boolean {
  if (!IMAGE_TYPES.has(d.mediaType)) return false;
  if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return false;
  if (d.platform && (d.platform.os === 'unknown' || d.platform.architecture === 'unknown')) return false;
  return true;
}

/** Choose the index entry for a platform, or throw a CleanimgError listing what there is. */
export function selectPlatform(index: ImageIndex, want: PlatformWanted, indexName = 'the base image index'): PlatformChoice {
  const os = want.os ?? 'linux';
  const images = (index.manifests ?? []).filter(isImageEntry);
  const available = images.map((d) => formatPlatform(d.platform));
  const wanted = formatPlatform({ os, architecture: want.architecture, ...(want.variant ? { variant: want.variant } : {}) });
  const sameArch = images.filter((d) => d.platform && d.platform.os === os && d.platform.architecture === want.architecture);
  let matches: Descriptor[];
  if (want.variant) {
    matches = sameArch.filter((d) => d.platform!.variant === want.variant);
    if (matches.length === 0 && want.architecture === 'arm64' && want.variant === 'v8') {
      matches = sameArch.filter((d) => !d.platform!.variant);
    }
  } else {
    const variants = new Set(sameArch.map((d) => d.platform!.variant ?? ''));
    if (variants.size > 1 && want.architecture === 'arm64') {
      const v8 = sameArch.filter((d) => !d.platform!.variant || d.platform!.variant === 'v8');
      matches = v8.length ? v8 : sameArch;
    } else {
      matches = sameArch;
    }
    if (new Set(matches.map((d) => d.platform!.variant ?? '')).size > 1) {
      throw new CleanimgError(`${indexName} has several variants of ${os}/${want.architecture}`, [
        {
          code: 'PLATFORM002',
          path: 'variant',
          message: `${wanted} matches ${matches.map((d) => formatPlatform(d.platform)).join(', ')}`,
          fix: `set variant: to one of ${[...new Set(matches.map((d) => d.platform!.variant).filter((v) => v))].join(', ')}`,
        },
      ]);
    }
  }
  if (matches.length === 0) {
    throw new CleanimgError(`${indexName} has no image for ${wanted}`, [
      {
        code: 'PLATFORM001',
        path: 'arch',
        message: `no ${wanted} image; available: ${available.length ? available.join(', ') : 'none'}`,
        fix: 'set arch: (and variant: for arm) to one of the available platforms, or pick a base that has your platform',
      },
    ]);
  }
  // Several entries with the same platform (e.g. os.version differences): take the first, as containerd does.
  const descriptor = matches[0]!;
  return { descriptor, platform: descriptor.platform!, available };
}
