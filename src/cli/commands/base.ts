/**
 * `cleanimg-customize base [--output-layout DIR] [--json]`: the embedded default base
 * (cleanimg.dev/base/static:1), built deterministically; prints the reference a spec pins.
 * `push --layout DIR:TAG --tag REF`: publish an image from an OCI layout, bytes unchanged.
 * `pull REF@DIGEST`: fill the content-addressed base cache once (the only networked step of offline builds).
 */
import * as path from 'node:path';
import { CleanimgError } from '../../errors';
import { defaultBaseLayout, defaultCacheDir, describeDefaultBase, writeDefaultBase } from '../../customize/base-image';
import { pullToCache } from '../../customize/pull';
import { pushLayoutImage } from '../../customize/push-layout';
import { parseReference } from '../../oci/reference';
import { RegistryClient, RegistryImageSource } from '../../oci/registry';
import { EXIT, type Io } from '../output';
import { registryOptions, type RegistryFlags } from './registry-options';

export interface BaseFlags {
  outputLayout?: string;
  cache?: boolean;
  cacheDir?: string;
  json?: boolean;
}

export async function runBase(f: BaseFlags, io: Io): Promise<number> {
  const base = f.outputLayout ? await writeDefaultBase(f.outputLayout) : f.cache || f.cacheDir ? await defaultBaseLayout(f.cacheDir ? { cacheDir: f.cacheDir } : {}) : await describeDefaultBase();
  if (f.json) io.out(JSON.stringify({ ok: true, ...base, dir: base.dir || null }, null, 2));
  else {
    if (base.dir) io.err(`wrote OCI layout ${base.dir} (tags 1, 1-amd64, 1-arm64)`);
    io.out(base.ref);
  }
  return EXIT.ok;
}

export interface PushLayoutFlags extends RegistryFlags {
  layout: string;
  tag: string;
  expectDigest?: string;
  mountFrom?: string;
  json?: boolean;
}

/** `DIR[:TAG]`: the last colon separates a tag when what follows is a ref name (no slash). */
export function splitLayoutArg(arg: string): { dir: string; ref: string } {
  const i = arg.lastIndexOf(':');
  if (i > 0 && !arg.slice(i + 1).includes('/') && arg.slice(i + 1).length > 0) return { dir: arg.slice(0, i), ref: arg.slice(i + 1) };
  return { dir: arg, ref: 'latest' };
}

export async function runPushLayout(f: PushLayoutFlags, io: Io): Promise<number> {
  const ref = parseReference(f.tag);
  if (ref.digest) {
    throw new CleanimgError('--tag names a digest', [{ code: 'CLI020', path: '--tag', message: `${f.tag} contains a digest; the digest is the layout's`, fix: 'pass registry/repository:tag' }]);
  }
  const { dir, ref: layoutRef } = splitLayoutArg(f.layout);
  const client = new RegistryClient(ref.registry, await registryOptions(f));
  try {
    const r = await pushLayoutImage({
      layout: dir,
      layoutRef,
      target: client,
      ref,
      ...(f.expectDigest ? { expectDigest: f.expectDigest } : {}),
      ...(f.mountFrom ? { mountFrom: f.mountFrom } : {}),
    });
    if (f.json) io.out(JSON.stringify({ ok: true, ...r }, null, 2));
    else {
      const uploaded = r.blobs.filter((b) => b.outcome === 'uploaded').length;
      io.err(`pushed ${uploaded} of ${r.blobs.length} blobs (${r.bytesUploaded} bytes)`);
      io.out(r.pinned);
    }
    return EXIT.ok;
  } finally {
    await client.close();
  }
}

export interface PullFlags extends RegistryFlags {
  cacheDir?: string;
  arch?: string[];
  json?: boolean;
}

export async function runPull(refText: string, f: PullFlags, io: Io): Promise<number> {
  const ref = parseReference(refText);
  const client = new RegistryClient(ref.registry, await registryOptions(f));
  try {
    const r = await pullToCache({
      source: new RegistryImageSource(client, ref.repository),
      ref,
      cacheDir: f.cacheDir ? path.resolve(f.cacheDir) : defaultCacheDir(),
      ...(f.arch?.length ? { arches: f.arch } : {}),
    });
    if (f.json) io.out(JSON.stringify({ ok: true, ...r }, null, 2));
    else {
      io.err(r.fetched ? `cached ${r.manifests} manifest(s), ${r.blobs} blob(s)` : 'already in the cache');
      io.out(r.dir);
    }
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
