/**
 * `build`: spec -> overlay image. Reads only the base's manifest (and index) and config, never its
 * layers; builds one deterministic layer from the spec's files; writes the new config and manifest;
 * optionally writes an OCI image layout. Returns everything a push needs.
 *
 * Order: spec, inputs, base manifest/config, layer, image. Every check runs before anything is written
 * to the output layout, so bad input leaves no layout (or an existing one unchanged).
 *
 * Base layers and --output-layout (decision): an OCI layout must be complete for skopeo and umoci, so
 * writing one needs the base's layer blobs too.
 * - Base from a layout on disk: its blobs are hard-linked (or copied across filesystems) into the output.
 * - Base from a streaming source (a registry client implementing `openBlob`): the layers are downloaded,
 *   verified against their digests, into the output layout. This happens only for --output-layout;
 *   a push never downloads base layers (the registry already has them, or mounts them across
 *   repositories), which is why `baseLayers` is returned for the pusher.
 * - Any other ImageSource: `getBlob` (whole blob in memory), verified.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { unlink } from 'node:fs/promises';
import { CleanimgError } from '../errors';
import { appendLayer, manifestFamily, sha256Digest, type AppendResult, type ManifestFamily } from '../oci/image';
import { buildLayer, normalizeEntries, preloadLayerModules, resolveSourceDateEpoch, type BuiltLayer } from '../oci/layer';
import { isStreamingSource, isValidRefName, LayoutImageSource, LayoutWriter } from '../oci/layout';
import { formatPlatform, isIndexMediaType, selectPlatform } from '../oci/platform';
import { MediaType, type Descriptor, type FetchedManifest, type ImageConfig, type ImageIndex, type ImageManifest, type ImageSource, type Platform } from '../oci/types';
import type { Inspected, LayerCache } from './cache';
import { resolveInputs } from './inputs';
import type { CustomizeSpec, LoadedSpec } from './spec';
import { isCpuVariant, specDigest } from './spec-core';
import type { TrustReport, TrustStep } from './trust/prepare';

export interface BuildOverlayOptions {
  /**
   * The spec file; sources resolve against its folder. Alternatively pass `spec` (validated with
   * parseSpec/parseSpecObject, e.g. by a construct) with `specDir`; then `specPath` only names it.
   */
  readonly specPath: string;
  readonly spec?: CustomizeSpec;
  /** With `spec`: the folder sources resolve against. */
  readonly specDir?: string;
  /** Where the base image is read from (a registry repository or an OCI layout). */
  readonly source: ImageSource;
  /** Write an OCI image layout here (created, or an existing layout updated). Needs `tag`. */
  readonly outputLayout?: string;
  /** The ref name (tag) for the layout's index.json. */
  readonly tag?: string;
  /** Seconds since the epoch for every timestamp; default SOURCE_DATE_EPOCH, else 0. */
  readonly sourceDateEpoch?: number;
  /** The loud override for private keys (same as `allow_private_keys: true` in the spec). */
  readonly allowPrivateKeys?: boolean;
  /** Time certificates are checked against; default now. */
  readonly now?: Date;
  /** Folder for the layer's temp file; default os.tmpdir(). */
  readonly tmpDir?: string;
  /**
   * Manifest format of the result: `base` (default) keeps the base's family (OCI or Docker v2); `oci`
   * writes OCI even for a Docker v2 base (base layer bytes and digests unchanged, descriptors retyped).
   * An OCI layout needs OCI: skopeo and umoci ignore Docker manifests inside one, so --output-layout
   * with a Docker v2 base is refused unless `oci` is chosen (the choice changes the digest, so it is
   * never made silently).
   */
  readonly manifestFormat?: 'base' | 'oci' | 'docker';
  /**
   * A local layer cache (see cache.ts): an unchanged layer is taken from it instead of being built
   * again, and a fresh one is stored in it. Default: none (the CLI uses one unless --no-cache).
   * The digest is the same with or without it.
   */
  readonly cache?: LayerCache;
  /**
   * Called with each piece of the compressed layer, in order, while it is built (not when it comes from
   * the cache): lets a pusher upload it during the build (see streamLayerUpload in push.ts). Awaited.
   */
  readonly onLayerData?: (chunk: Uint8Array) => Promise<void> | void;
  /** With onLayerData: called when the streamed layer is complete, with its digest and size (LayerOptions.onBuilt). */
  readonly onLayerBuilt?: (blob: { readonly digest: string; readonly size: number }) => void;
}

export interface PlatformChosen {
  /** True when the base was an index and one entry was picked from it. */
  readonly fromIndex: boolean;
  readonly platform: Platform;
  /** The descriptor of the chosen platform manifest (from the index, or built for a single manifest). */
  readonly descriptor: Descriptor;
  /** Platforms the index offered. */
  readonly available: readonly string[];
}

export interface BuildOverlayResult {
  readonly spec: CustomizeSpec;
  readonly specDigest: string;
  /** The base as pinned in the spec, its platform manifest digest, and the index digest when it was one. */
  readonly base: { readonly name: string; readonly reference: string; readonly digest: string; readonly manifestDigest: string; readonly indexDigest?: string };
  readonly platformChosen: PlatformChosen;
  readonly manifestDigest: string;
  readonly manifestMediaType: string;
  readonly manifestBytes: Buffer;
  readonly manifest: ImageManifest;
  readonly configBytes: Buffer;
  readonly configDescriptor: Descriptor;
  readonly config: ImageConfig;
  /** The new layer: its blob file (to upload), descriptor (media type in the base's family) and diffID. */
  readonly layer: BuiltLayer & { readonly descriptor: Descriptor };
  /** The base's layers, referenced unchanged: HEAD them or mount them from the base repository. */
  readonly baseLayers: readonly Descriptor[];
  readonly warnings: readonly string[];
  /** Parent folders the layer writes with default modes (they override the base's metadata). */
  readonly implicitDirectories: readonly string[];
  readonly sourceDateEpoch: number;
  readonly outputLayout?: { readonly dir: string; readonly tag: string };
  /** Whether the layer came from the cache (`hit`), was built and stored (`stored`), or no cache was used. */
  readonly cache: 'hit' | 'stored' | 'miss' | 'off';
  /** The trust_ca step: store layout found, bundle, CAs added or skipped, base bytes read (absent without trust_ca). */
  readonly trust?: TrustReport;
  /** Remove the layer's temp file (a no-op when it was moved into the output layout). */
  dispose(): Promise<void>;
}

function baseError(source: ImageSource, message: string, fix: string, code: string): CleanimgError {
  return new CleanimgError(`base image problem in ${source.name}`, [{ code, path: 'base_image', message, fix }]);
}

async function fetchVerified(source: ImageSource, digest: string, what: string): Promise<FetchedManifest> {
  let m: FetchedManifest;
  try {
    m = await source.getManifest(digest);
  } catch (e) {
    if (e instanceof CleanimgError) throw e;
    throw baseError(source, `${what} ${digest} could not be read: ${(e as Error).message}`, 'check that the base exists in the source with this digest', 'BASE001');
  }
  const got = sha256Digest(m.bytes);
  if (got !== digest) {
    throw baseError(source, `${what} ${digest} was served with content ${got}`, 'the source returned bytes that do not match the pinned digest; do not trust it and check the registry or mirror', 'BASE002');
  }
  return m;
}

function parseJson<T>(bytes: Buffer, source: ImageSource, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw baseError(source, `${what} is not valid JSON`, 'use a valid OCI or Docker v2 image as base', 'BASE005');
  }
}

/** Read the base: resolve an index by platform, verify every digest, parse manifest and config. */
export async function readBase(source: ImageSource, spec: CustomizeSpec) {
  const pinned = spec.base_image.digest;
  const top = await fetchVerified(source, pinned, 'base manifest');
  const topJson = parseJson<{ mediaType?: string; manifests?: unknown }>(top.bytes, source, 'the base manifest');
  const topType = topJson.mediaType ?? top.mediaType;
  let manifest = top;
  let chosen: PlatformChosen;
  let indexDigest: string | undefined;
  if (isIndexMediaType(topType) || (Array.isArray(topJson.manifests) && !('config' in topJson))) {
    const index = topJson as ImageIndex;
    const choice = selectPlatform(index, { architecture: spec.arch, ...(isCpuVariant(spec.variant) ? { variant: spec.variant } : {}) }, `base index ${spec.base_image.text}`);
    indexDigest = top.digest;
    manifest = await fetchVerified(source, choice.descriptor.digest, `platform manifest ${formatPlatform(choice.platform)}`);
    chosen = { fromIndex: true, platform: choice.platform, descriptor: choice.descriptor, available: choice.available };
  } else {
    chosen = { fromIndex: false, platform: { architecture: spec.arch, os: 'linux' }, descriptor: { mediaType: topType, digest: top.digest, size: top.bytes.length }, available: [] };
  }
  const mj = parseJson<ImageManifest>(manifest.bytes, source, 'the base manifest');
  const mediaType = mj.mediaType ?? manifest.mediaType;
  if (!mj.config || typeof mj.config.digest !== 'string') {
    throw baseError(source, `${manifest.digest} is not an image manifest (media type ${mediaType})`, 'pin base_image to an image or an image index', 'BASE005');
  }
  let configBytes: Buffer;
  try {
    configBytes = await source.getBlob(mj.config.digest);
  } catch (e) {
    if (e instanceof CleanimgError) throw e;
    throw baseError(source, `config ${mj.config.digest} could not be read: ${(e as Error).message}`, 'check the source has the whole base image', 'BASE001');
  }
  if (sha256Digest(configBytes) !== mj.config.digest) {
    throw baseError(source, `config ${mj.config.digest} was served with other content`, 'the source returned bytes that do not match; check the registry or mirror', 'BASE002');
  }
  const config = parseJson<ImageConfig>(configBytes, source, 'the base config');
  const problems = [];
  if (config.architecture !== spec.arch) {
    problems.push({ code: 'BASE004', path: 'arch', message: `the base is ${config.os}/${config.architecture}${config.variant ? '/' + config.variant : ''}, not ${spec.arch}`, fix: `set arch: ${config.architecture}, or pin a base built for ${spec.arch}` });
  }
  if (config.os !== 'linux') {
    problems.push({ code: 'BASE004', path: 'base_image', message: `the base is a ${config.os} image`, fix: 'use a linux base image' });
  }
  if (isCpuVariant(spec.variant) && config.variant && config.variant !== spec.variant) {
    problems.push({ code: 'BASE004', path: 'variant', message: `the base is variant ${config.variant}, not ${spec.variant}`, fix: `set variant: ${config.variant}` });
  }
  if (problems.length) throw new CleanimgError(`the base ${spec.base_image.text} does not match the spec`, problems);
  if (!chosen.fromIndex) {
    const p: Platform = { architecture: config.architecture, os: config.os };
    if (config.variant) p.variant = config.variant;
    chosen = { ...chosen, platform: p };
  }
  return { manifest: mj, manifestMediaType: mediaType, manifestDigest: manifest.digest, config, indexDigest, chosen };
}

/** Build the overlay image for a spec; write an OCI layout when asked. */
export async function buildOverlay(opts: BuildOverlayOptions): Promise<BuildOverlayResult> {
  if (opts.outputLayout !== undefined && !opts.tag) {
    throw new CleanimgError('--output-layout needs a tag', [
      { code: 'BUILD001', path: 'tag', message: 'an OCI layout names images by tag', fix: 'pass --tag (its tag part names the image in the layout)' },
    ]);
  }
  if (opts.outputLayout !== undefined) {
    const t = layoutTag(opts.tag!);
    if (!isValidRefName(t)) {
      throw new CleanimgError(`"${t}" cannot name an image in an OCI layout`, [
        { code: 'BUILD001', path: 'tag', message: `"${t}" is not a valid ref name`, fix: 'use a tag of letters, digits and . _ - between them, e.g. 15-custom' },
      ]);
    }
    await LayoutWriter.check(opts.outputLayout);
  }
  let loaded: LoadedSpec;
  if (opts.spec) {
    if (!opts.specDir) {
      throw new CleanimgError('a spec given as an object needs its folder', [
        { code: 'BUILD001', path: 'specDir', message: 'sources resolve against a folder, and none was given', fix: 'pass specDir with spec' },
      ]);
    }
    loaded = { spec: opts.spec, specPath: path.resolve(opts.specDir, opts.specPath), specDir: path.resolve(opts.specDir), specDigest: specDigest(opts.spec) };
  } else {
    loaded = await (await import('./spec.js')).loadSpec(opts.specPath); // loaded here only: YAML and zod cost start-up
  }
  const { spec } = loaded;
  const epoch = resolveSourceDateEpoch(opts.sourceDateEpoch);
  // With a cache, the private-key scan shares one read per file with the content hash of the cache
  // key, and an unchanged file (trusted stat record) is not read at all.
  const cache = opts.cache;
  const inspected = new Map<string, Inspected>();
  // The base's manifest and config are fetched while the inputs are checked (round trips overlap the
  // reading and hashing); an input problem is still reported first, as before.
  let baseArrived = false;
  const basePromise = readBase(opts.source, spec).finally(() => (baseArrived = true));
  basePromise.catch(() => undefined); // awaited below; this only marks an early failure as handled
  const inputs = await resolveInputs(spec, loaded.specDir, {
    ...(opts.allowPrivateKeys !== undefined ? { allowPrivateKeys: opts.allowPrivateKeys } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(cache ? { scanPrivateKey: async (f: string, fh) => { const r = await cache.inspect(f, fh); inspected.set(f, r); return r.privateKey; } } : {}),
  });
  // Still waiting for the base: load the layer builder's modules meanwhile (a cache hit does not need them, but the wait is there either way).
  if (!baseArrived) preloadLayerModules();
  const base = await basePromise;

  // ── trust_ca step (src/customize/trust): check the CA files, read the base's CA bundle from the one
  // layer holding it, and add the CA files, the extended bundle and the hashed links to the layer's
  // entries; trust_env defaults go into the config. Without trust_ca nothing changes.
  let trust: TrustStep | undefined;
  if (spec.trust_ca?.length) {
    const { prepareTrust } = await import('./trust/prepare.js');
    trust = await prepareTrust({ spec, specDir: loaded.specDir, baseLayers: base.manifest.layers, baseConfig: base.config, source: opts.source, inputEntries: inputs.entries, ...(opts.now ? { now: opts.now } : {}), ...(opts.tmpDir ? { tmpDir: opts.tmpDir } : {}) });
  }
  if (trust) {
    base.config = trust.config;
    // The trust files join the copy_files entries (folders the step adds with the base's metadata win
    // over the default parents). Kept inside this step so the code around it needs no change.
    const trustPaths = new Set(trust.entries.map((e) => e.path));
    Object.assign(inputs, { entries: [...inputs.entries.filter((e) => !trustPaths.has(e.path)), ...trust.entries] });
  }
  // ── end of the trust_ca step
  const baseFamily = manifestFamily(base.manifestMediaType);
  const family: ManifestFamily = !opts.manifestFormat || opts.manifestFormat === 'base' ? baseFamily : opts.manifestFormat;
  if (opts.outputLayout !== undefined && family === 'docker') {
    throw new CleanimgError('an OCI layout cannot hold this Docker v2 image', [
      {
        code: 'BUILD002',
        path: 'base_image',
        message: `${spec.base_image.text} is a Docker v2 image, and skopeo and umoci ignore Docker manifests inside an OCI layout`,
        fix: 'choose the OCI manifest format for the result (--format oci; the digest differs from a Docker-format build), or push without --output-layout',
      },
    ]);
  }
  const warnings = [...inputs.warnings, ...(trust?.warnings ?? [])];
  warnings.push(...flavourWarnings(spec));
  if (spec.allow_private_keys || opts.allowPrivateKeys) warnings.push('private keys are allowed by override (allow_private_keys): anyone who can pull this image can read them');

  // The layer: from the cache when its key (entries, content hashes, timestamp) is known, else built.
  const entries = normalizeEntries(inputs.entries);
  let cacheState: BuildOverlayResult['cache'] = cache ? 'miss' : 'off';
  let layer: BuiltLayer | undefined;
  /** False when the blob lives in the cache: it must then be neither moved nor deleted. */
  let owned = true;
  const id = cache ? await cache.identify(entries, epoch, inspected) : undefined;
  if (cache && id) {
    const hit = await cache.lookup(id.key);
    if (hit && (opts.outputLayout === undefined || (await cache.verify(id.key, hit)))) {
      layer = { ...hit, mediaType: MediaType.OciLayerGzip, entries };
      owned = false;
      cacheState = 'hit';
    }
  }
  if (!layer) {
    layer = await buildLayer(entries, { sourceDateEpoch: epoch, tmpDir: opts.tmpDir ?? cache?.tmpDir ?? os.tmpdir(), ...(opts.onLayerData ? { onData: opts.onLayerData } : {}), ...(opts.onLayerBuilt ? { onBuilt: opts.onLayerBuilt } : {}) });
    if (cache && id) {
      const built = layer;
      if (await cache.store(id, built).catch(async (e: unknown) => {
        await unlink(built.path).catch(() => undefined);
        throw e;
      })) cacheState = 'stored';
    }
  }
  let layerPath = layer.path;
  let moved = !owned;
  await trust?.dispose(); // the layer holds the generated trust files now
  const dispose = async () => {
    if (!moved) await unlink(layerPath).catch(() => undefined);
  };
  try {
    const baseName = spec.base_image.tag !== undefined ? `${spec.base_image.name}:${spec.base_image.tag}` : spec.base_image.name;
    const flavour = spec.variant && !isCpuVariant(spec.variant) ? ` variant ${spec.variant}` : '';
    const img: AppendResult = appendLayer({
      baseManifest: base.manifest,
      baseManifestMediaType: base.manifestMediaType,
      baseConfig: base.config,
      baseName,
      baseDigest: base.manifestDigest,
      layer,
      sourceDateEpoch: epoch,
      comment: `spec ${path.basename(loaded.specPath)} ${loaded.specDigest}${flavour}`,
      labels: spec.labels,
      annotations: spec.annotations,
      outputFamily: family,
    });
    warnings.push(...img.warnings);

    let outputLayout: { dir: string; tag: string } | undefined;
    if (opts.outputLayout !== undefined) {
      const tag = layoutTag(opts.tag!);
      const writer = await LayoutWriter.open(opts.outputLayout);
      try {
        for (const d of base.manifest.layers) {
          if (await writer.hasBlob(d.digest)) continue;
          if (opts.source instanceof LayoutImageSource) await writer.linkFrom(opts.source, d.digest);
          else if (isStreamingSource(opts.source)) await writer.putStream(await opts.source.openBlob(d.digest), d.digest);
          else await writer.putBytes(await opts.source.getBlob(d.digest), d.digest);
        }
        await writer.putBytes(img.configBytes, img.configDescriptor.digest);
        layerPath = await writer.putFile(layer.path, layer.digest, { move: owned });
        moved = true;
        await writer.putBytes(img.manifestBytes, img.manifestDigest);
        const platform: Platform = { ...base.chosen.platform };
        await writer.commit({ mediaType: img.manifestMediaType, digest: img.manifestDigest, size: img.manifestBytes.length, platform }, tag);
        // The blob now lives in the output layout: in a fresh layout it moved with the folder rename.
        layerPath = path.join(path.resolve(opts.outputLayout), 'blobs', 'sha256', layer.digest.slice('sha256:'.length));
      } catch (e) {
        await writer.abort();
        throw e;
      }
      outputLayout = { dir: path.resolve(opts.outputLayout), tag };
    }

    return {
      spec,
      specDigest: loaded.specDigest,
      base: {
        name: baseName,
        reference: spec.base_image.text,
        digest: spec.base_image.digest,
        manifestDigest: base.manifestDigest,
        ...(base.indexDigest ? { indexDigest: base.indexDigest } : {}),
      },
      platformChosen: base.chosen,
      manifestDigest: img.manifestDigest,
      manifestMediaType: img.manifestMediaType,
      manifestBytes: img.manifestBytes,
      manifest: img.manifest,
      configBytes: img.configBytes,
      configDescriptor: img.configDescriptor,
      config: img.config,
      layer: { ...layer, path: layerPath, mediaType: img.layerDescriptor.mediaType, descriptor: img.layerDescriptor },
      baseLayers: base.manifest.layers,
      warnings,
      implicitDirectories: inputs.implicitDirectories,
      sourceDateEpoch: epoch,
      ...(outputLayout ? { outputLayout } : {}),
      cache: cacheState,
      ...(trust ? { trust: trust.report } : {}),
      dispose,
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** The guide's images come as -prod (shell-less) and -dev (with a shell and tools) flavours. */
function flavourWarnings(spec: CustomizeSpec): string[] {
  const out: string[] = [];
  const tag = spec.base_image.tag ?? '';
  if (spec.variant === 'dev' || /(^|-)dev$/.test(tag)) {
    out.push(`base ${spec.base_image.text} is a dev variant, which usually includes a shell and build tools; production images should build on a -prod base`);
  }
  const tagFlavour = /(?:^|-)(prod|dev)$/.exec(tag)?.[1];
  if (spec.variant && !isCpuVariant(spec.variant) && tagFlavour && tagFlavour !== spec.variant) {
    out.push(`variant: ${spec.variant} does not match the base tag ${tag}; check that the pinned digest is the image you mean`);
  }
  return out;
}

/**
 * The ref name used in the layout for a `--tag` value: the tag part of a reference
 * (`myregistry/postgres:15-custom` -> `15-custom`), or the value itself when it has no repository part.
 */
export function layoutTag(tag: string): string {
  const noDigest = tag.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  if (colon > slash) return noDigest.slice(colon + 1);
  if (slash < 0) return noDigest;
  return 'latest';
}
