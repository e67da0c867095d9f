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
import { appendLayer, manifestFamily, sha256Digest, type ManifestFamily } from '../oci/image';
import { buildLayer, normalizeEntries, preloadLayerModules, resolveSourceDateEpoch, type BuiltLayer, type LayerEntry } from '../oci/layer';
import { isValidRefName, LayoutWriter } from '../oci/layout';
import { formatPlatform, isIndexMediaType, selectPlatform } from '../oci/platform';
import { MediaType, type Descriptor, type FetchedManifest, type ImageConfig, type ImageIndex, type ImageManifest, type ImageSource, type Platform } from '../oci/types';
import type { Inspected, LayerCache } from './cache';
import { resolveInputs, type ResolvedInputs } from './inputs';
import { writeOutputLayout } from './write-layout';
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

type BaseImage = Awaited<ReturnType<typeof readBase>>;

/**
 * Build the overlay image for a spec; write an OCI layout when asked. The steps, each below: the
 * options, the spec, the inputs (while the base's manifest and config arrive), the trust_ca step, the
 * result's manifest family, the layer (from the cache or built), the image, the output layout.
 */
export async function buildOverlay(opts: BuildOverlayOptions): Promise<BuildOverlayResult> {
  await checkOutputOptions(opts);
  const loaded = await specOf(opts);
  const { spec } = loaded;
  const epoch = resolveSourceDateEpoch(opts.sourceDateEpoch);
  const { inputs, base, inspected } = await inputsAndBase(opts, loaded);
  const trust = await trustStep(opts, loaded, inputs, base);
  let layer: OverlayLayer;
  let family: ManifestFamily;
  try {
    family = resultFamily(opts, spec, base);
    layer = await overlayLayer(normalizeEntries(entriesWithTrust(inputs, trust)), epoch, opts, inspected);
  } finally {
    await trust?.dispose(); // the layer holds the generated trust files now (or the build failed)
  }
  const baseName = spec.base_image.tag !== undefined ? `${spec.base_image.name}:${spec.base_image.tag}` : spec.base_image.name;
  const warnings = [...inputs.warnings, ...(trust?.warnings ?? []), ...flavourWarnings(spec)];
  if (spec.allow_private_keys || opts.allowPrivateKeys) warnings.push('private keys are allowed by override (allow_private_keys): anyone who can pull this image can read them');
  /** Where the layer's blob is, and whether this build may delete it (not when it lives in the cache or moved into the layout). */
  const file = { path: layer.built.path, owned: layer.cache !== 'hit' };
  const dispose = async () => {
    if (file.owned) await unlink(file.path).catch(() => undefined);
  };
  try {
    const img = appendLayer({
      baseManifest: base.manifest,
      baseManifestMediaType: base.manifestMediaType,
      baseConfig: trust?.config ?? base.config,
      baseName,
      baseDigest: base.manifestDigest,
      layer: layer.built,
      sourceDateEpoch: epoch,
      comment: `spec ${path.basename(loaded.specPath)} ${loaded.specDigest}${spec.variant && !isCpuVariant(spec.variant) ? ` variant ${spec.variant}` : ''}`,
      labels: spec.labels,
      annotations: spec.annotations,
      outputFamily: family,
    });
    warnings.push(...img.warnings);
    const outputLayout = opts.outputLayout !== undefined ? await writeOutputLayout(opts.outputLayout, layoutTag(opts.tag!), opts.source, base, img, file) : undefined;
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
      layer: { ...layer.built, path: file.path, mediaType: img.layerDescriptor.mediaType, descriptor: img.layerDescriptor },
      baseLayers: base.manifest.layers,
      warnings,
      implicitDirectories: inputs.implicitDirectories,
      sourceDateEpoch: epoch,
      ...(outputLayout ? { outputLayout } : {}),
      cache: layer.cache,
      ...(trust ? { trust: trust.report } : {}),
      dispose,
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** An output layout needs a tag that is a valid ref name, and a folder that is a layout or can become one. */
async function checkOutputOptions(opts: BuildOverlayOptions): Promise<void> {
  if (opts.outputLayout === undefined) return;
  if (!opts.tag) {
    throw new CleanimgError('--output-layout needs a tag', [
      { code: 'BUILD001', path: 'tag', message: 'an OCI layout names images by tag', fix: 'pass --tag (its tag part names the image in the layout)' },
    ]);
  }
  const t = layoutTag(opts.tag);
  if (!isValidRefName(t)) {
    throw new CleanimgError(`"${t}" cannot name an image in an OCI layout`, [
      { code: 'BUILD001', path: 'tag', message: `"${t}" is not a valid ref name`, fix: 'use a tag of letters, digits and . _ - between them, e.g. 15-custom' },
    ]);
  }
  await LayoutWriter.check(opts.outputLayout);
}

/** The spec: given as an object with its folder, or read from its file. */
async function specOf(opts: BuildOverlayOptions): Promise<LoadedSpec> {
  if (!opts.spec) return (await import('./spec.js')).loadSpec(opts.specPath); // loaded here only: YAML and zod cost start-up
  if (!opts.specDir) {
    throw new CleanimgError('a spec given as an object needs its folder', [
      { code: 'BUILD001', path: 'specDir', message: 'sources resolve against a folder, and none was given', fix: 'pass specDir with spec' },
    ]);
  }
  return { spec: opts.spec, specPath: path.resolve(opts.specDir, opts.specPath), specDir: path.resolve(opts.specDir), specDigest: specDigest(opts.spec) };
}

/**
 * The checked inputs and the base. The base's manifest and config are fetched while the inputs are
 * checked (round trips overlap reading and hashing); an input problem is still reported first. With a
 * cache, the private-key scan shares one read per file with the cache key's content hash, and a file
 * with a trusted stat record is not read at all; what was learned is passed on to the cache key.
 */
async function inputsAndBase(opts: BuildOverlayOptions, loaded: LoadedSpec): Promise<{ inputs: ResolvedInputs; base: BaseImage; inspected: Map<string, Inspected> }> {
  const cache = opts.cache;
  const inspected = new Map<string, Inspected>();
  let baseArrived = false;
  const basePromise = readBase(opts.source, loaded.spec).finally(() => (baseArrived = true));
  basePromise.catch(() => undefined); // awaited below; this only marks an early failure as handled
  const inputs = await resolveInputs(loaded.spec, loaded.specDir, {
    ...(opts.allowPrivateKeys !== undefined ? { allowPrivateKeys: opts.allowPrivateKeys } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(cache ? { inspectSource: async (f: string, fh) => { const r = await cache.inspect(f, fh); inspected.set(f, r); return { sha256: r.state.sha256, privateKey: r.privateKey, shell: r.shell }; } } : {}),
  });
  // Still waiting for the base: load the layer builder's modules meanwhile (a cache hit does not need them, but the wait is there either way).
  if (!baseArrived) preloadLayerModules();
  return { inputs, base: await basePromise, inspected };
}

/**
 * The trust_ca step (src/customize/trust): checks the CA files, reads the base's CA bundle from the one
 * layer holding it, and gives the CA files, the extended bundle and the hashed links for the layer, and
 * the config with the trust_env defaults. Without trust_ca: nothing.
 */
async function trustStep(opts: BuildOverlayOptions, loaded: LoadedSpec, inputs: ResolvedInputs, base: BaseImage): Promise<TrustStep | undefined> {
  if (!loaded.spec.trust_ca?.length) return undefined;
  const { prepareTrust } = await import('./trust/prepare.js');
  return prepareTrust({
    spec: loaded.spec, specDir: loaded.specDir, baseLayers: base.manifest.layers, baseConfig: base.config, source: opts.source, inputEntries: inputs.entries,
    ...(opts.now ? { now: opts.now } : {}), ...(opts.tmpDir ? { tmpDir: opts.tmpDir } : {}),
  });
}

/** The copy_files entries and the trust step's files; folders the step adds with the base's metadata win over the default parents. */
function entriesWithTrust(inputs: ResolvedInputs, trust: TrustStep | undefined): readonly LayerEntry[] {
  if (!trust) return inputs.entries;
  const trustPaths = new Set(trust.entries.map((e) => e.path));
  return [...inputs.entries.filter((e) => !trustPaths.has(e.path)), ...trust.entries];
}

/** The result's manifest family: the base's unless asked; an OCI layout cannot hold a Docker v2 image. */
function resultFamily(opts: BuildOverlayOptions, spec: CustomizeSpec, base: BaseImage): ManifestFamily {
  const family: ManifestFamily = !opts.manifestFormat || opts.manifestFormat === 'base' ? manifestFamily(base.manifestMediaType) : opts.manifestFormat;
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
  return family;
}

interface OverlayLayer {
  readonly built: BuiltLayer;
  readonly cache: BuildOverlayResult['cache'];
}

/**
 * The layer: from the cache when its key (entries, content hashes, timestamp) is known there (for an
 * output layout only after its blob hashes right), else built, and then stored in the cache.
 */
async function overlayLayer(entries: LayerEntry[], epoch: number, opts: BuildOverlayOptions, inspected: ReadonlyMap<string, Inspected>): Promise<OverlayLayer> {
  const cache = opts.cache;
  const id = cache ? await cache.identify(entries, epoch, inspected) : undefined;
  if (cache && id) {
    const hit = await cache.lookup(id.key);
    if (hit && (opts.outputLayout === undefined || (await cache.verify(id.key, hit)))) {
      return { built: { ...hit, mediaType: MediaType.OciLayerGzip, entries }, cache: 'hit' };
    }
  }
  const built = await buildLayer(entries, {
    sourceDateEpoch: epoch,
    tmpDir: opts.tmpDir ?? cache?.tmpDir ?? os.tmpdir(),
    ...(opts.onLayerData ? { onData: opts.onLayerData } : {}),
    ...(opts.onLayerBuilt ? { onBuilt: opts.onLayerBuilt } : {}),
  });
  if (!cache || !id) return { built, cache: 'off' };
  const stored = await cache.store(id, built).catch(async (e: unknown) => {
    await unlink(built.path).catch(() => undefined);
    throw e;
  });
  return { built, cache: stored ? 'stored' : 'miss' };
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
