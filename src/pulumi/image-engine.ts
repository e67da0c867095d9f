/**
 * The work behind the Pulumi CustomizedImage: what its dynamic provider runs (diff, create, update)
 * and the content hash the component computes in the program.
 *
 * The dynamic provider's functions are serialized into the stack and run in a separate Node process
 * (`pulumi-resource-pulumi-nodejs`); they capture nothing but this module's absolute path and
 * `require` it there (see image-provider.ts). So this module is self-contained: it imports the same
 * engine as `cleanimg-customize build --push` (buildOverlay, pushOverlay, the cosign signer) and
 * nothing from Pulumi.
 *
 * Inputs the engine stores in the state (and compares in `diff`): the spec's digest, a content hash
 * of every source file (`sourceHash`), the spec's file name (it is in the image history, so it is
 * part of the digest), SOURCE_DATE_EPOCH, the manifest format, the repository and the tag. Secrets (registry password,
 * signing key and its password) are inputs marked secret by the component: the engine never echoes
 * them into the outputs; it outputs the signer's public key instead.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as path from 'node:path';
import { CleanimgError, type Problem } from '../errors';
import { defaultBaseLayout, DEFAULT_BASE_DIGEST, DEFAULT_BASE_REF, namesDefaultBase } from '../customize/base-image';
import { buildOverlay, type BuildOverlayResult } from '../customize/build';
import { defaultCacheDir as layerCacheDir, LayerCache } from '../customize/cache';
import { resolveInputs, type InputOptions } from '../customize/inputs';
import { pushOverlay } from '../customize/push';
import { loadSpec, parseSpecObject, specDigest, type CustomizeSpec } from '../customize/spec';
import { LayoutImageSource } from '../oci/layout';
import { parseReference, refName, type Reference } from '../oci/reference';
import { RegistryClient, RegistryImageSource, type RegistryClientOptions } from '../oci/registry';
import { loadPrivateKey, type SigningKey } from '../oci/signing';
import type { SignatureFormat } from '../oci/signing/format';
import type { ImageSource } from '../oci/types';
import { VERSION } from '../version';

/** The value Pulumi passes for an input that is not known yet (during preview). */
export const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';

/** The dynamic resource's inputs (all plain: the component resolves Outputs before they get here). */
export interface ImageBuildInputs {
  /** sha256 of the validated spec (its meaning, not its formatting). */
  readonly specDigest: string;
  /** sha256 over every layer entry: path, kind, mode, owner and, for files, the sha256 of the contents. */
  readonly sourceHash: string;
  /** Absolute path of the spec file; or `spec` (raw fields) with `specDir`. */
  readonly specPath?: string;
  readonly spec?: Record<string, unknown>;
  /** Absolute folder sources resolve against. */
  readonly specDir: string;
  /** The spec's file name (`inline` for an inline spec): it is in the image history. */
  readonly specName: string;
  /** `registry/repository`, no tag, no digest. */
  readonly repository: string;
  readonly tag: string;
  readonly sourceDateEpoch: number;
  /** Manifest format of the result: `oci` (the cdk8s face's choice) or `base` (the base's family, the CLI's default). */
  readonly manifestFormat: 'oci' | 'base';
  readonly allowPrivateKeys?: boolean;
  /** An OCI layout holding the base (absolute). */
  readonly baseLayout?: string;
  /** Root of the base-image cache (`<cacheDir>/images`) and of the layer cache (`<cacheDir>/layers`). */
  readonly cacheDir?: string;
  /** false: build the layer without the local layer cache. */
  readonly layerCache?: boolean;
  readonly insecure?: boolean;
  readonly caFiles?: readonly string[];
  readonly username?: string;
  /** Secret. */
  readonly password?: string;
  /** Secret: a cosign private key (PEM). */
  readonly signingKey?: string;
  /** Secret. */
  readonly signingKeyPassword?: string;
  /** Absent: legacy. */
  readonly signatureFormat?: SignatureFormat;
  readonly attest?: boolean;
  readonly timeoutSeconds?: number;
}

/** What the dynamic resource outputs (and what `diff` later receives as `olds`). */
export interface ImageBuildOutputs {
  readonly specDigest: string;
  readonly sourceHash: string;
  readonly specName: string;
  readonly sourceDateEpoch: number;
  readonly manifestFormat: 'oci' | 'base';
  readonly repository: string;
  readonly tag: string;
  /** The manifest digest pushed. */
  readonly digest: string;
  /** `repository@sha256:…` */
  readonly ref: string;
  /** The base as the spec pins it, and the platform manifest chosen from it. */
  readonly baseReference: string;
  readonly baseDigest: string;
  readonly baseManifestDigest: string;
  /** `os/architecture[/variant]` of the platform chosen from the base. */
  readonly platform: string;
  readonly layerDigest: string;
  readonly signed: boolean;
  /** PEM of the signer's public key (for `cosign verify --key`), when signed. */
  readonly publicKey?: string;
  /** The cosign signature tag (`sha256-<hex>.sig`), when signed in that format. */
  readonly signatureTag?: string;
  /** The signature format, when signed and not legacy. */
  readonly signatureFormat?: SignatureFormat;
  /** True when the SBOM and provenance were attached. */
  readonly attested?: boolean;
  readonly warnings: readonly string[];
  /** How the registry was reached (not the credentials): what `read` (pulumi refresh) needs to reach it again. */
  readonly insecure?: boolean;
  readonly caFiles?: readonly string[];
  readonly timeoutSeconds?: number;
  /**
   * Set by `read` (pulumi refresh) when the tag names another digest than `digest` (moved by hand or
   * by another pipeline): the next diff is then an update that pushes again and moves the tag back.
   */
  readonly tagDigest?: string;
}

function fail(summary: string, problem: Problem): never {
  throw new CleanimgError(summary, [problem]);
}

async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * The content hash of what the spec puts into the layer: every entry (path, kind, mode, uid, gid)
 * and the sha256 of every file's contents, in the layer's order. It runs the same input checks as a
 * build (private keys, certificates, shell paths...), so a bad source fails here, in the program.
 * Where the folder lives does not matter; a changed byte, mode or owner does.
 */
export async function sourceHashOf(spec: CustomizeSpec, specDir: string, opts: InputOptions = {}): Promise<string> {
  const inputs = await resolveInputs(spec, specDir, opts);
  const h = createHash('sha256');
  h.update('cleanimg-sources/1\n');
  for (const e of inputs.entries) {
    const content = e.kind === 'file' && e.source ? ` ${await hashFile(e.source)}` : '';
    h.update(`${e.kind} ${JSON.stringify(e.path)} ${e.mode.toString(8)} ${e.uid}:${e.gid}${content}\n`);
  }
  if (spec.trust_ca?.length) {
    // The CA files (checked as a build checks them: a leaf, an expired CA or a key fails here, at preview).
    const { readTrustCas } = await import('../customize/trust/prepare.js');
    const { cas } = await readTrustCas(spec, specDir);
    for (const ca of cas) h.update(`trust_ca ${JSON.stringify(ca.source)} ${ca.fingerprint}\n`);
  }
  return `sha256:${h.digest('hex')}`;
}

interface LoadedInputs {
  readonly spec: CustomizeSpec;
  readonly specPath: string;
  readonly specDir: string;
}

/** Reads the spec again and checks it and the sources are what the program hashed. */
async function loadChecked(inputs: ImageBuildInputs): Promise<LoadedInputs> {
  let loaded: LoadedInputs & { digest: string };
  if (inputs.specPath !== undefined) {
    const l = await loadSpec(inputs.specPath);
    loaded = { spec: l.spec, specPath: l.specPath, specDir: l.specDir, digest: l.specDigest };
  } else {
    const spec = parseSpecObject(inputs.spec, 'the inline spec');
    loaded = { spec, specPath: inputs.specName, specDir: inputs.specDir, digest: specDigest(spec) };
  }
  const changed = 'run `pulumi up` again: the program hashes the spec and its files, and the build must use exactly what was hashed';
  if (loaded.digest !== inputs.specDigest) {
    fail('the spec changed while Pulumi was running', { code: 'PIMG002', path: inputs.specPath ?? 'spec', message: `the program read spec ${inputs.specDigest}, the build found ${loaded.digest}`, fix: changed });
  }
  const hash = await sourceHashOf(loaded.spec, loaded.specDir, inputs.allowPrivateKeys ? { allowPrivateKeys: true } : {});
  if (hash !== inputs.sourceHash) {
    fail('the spec\'s source files changed while Pulumi was running', { code: 'PIMG002', path: 'copy_files', message: `the program hashed the sources as ${inputs.sourceHash}, the build found ${hash}`, fix: changed });
  }
  return loaded;
}

/** Loads the signing key (before anything is built or pushed, so a wrong password changes nothing). */
export async function signingKeyOf(inputs: Pick<ImageBuildInputs, 'signingKey' | 'signingKeyPassword'>): Promise<SigningKey | undefined> {
  if (inputs.signingKey === undefined) return undefined;
  return loadPrivateKey(inputs.signingKey, inputs.signingKeyPassword ?? process.env.COSIGN_PASSWORD, 'signingKey');
}

/** How to reach the registry: from the inputs (a build), or from the stored outputs (read: no credentials there). */
function registryOptions(inputs: Pick<Partial<ImageBuildInputs>, 'caFiles' | 'insecure' | 'username' | 'password' | 'timeoutSeconds'>): RegistryClientOptions {
  return {
    ...(inputs.caFiles?.length ? { caFile: inputs.caFiles } : {}),
    ...(inputs.insecure ? { insecure: true } : {}),
    ...(inputs.username !== undefined ? { username: inputs.username } : {}),
    ...(inputs.password !== undefined ? { password: inputs.password } : {}),
    ...(inputs.timeoutSeconds !== undefined ? { timeoutMs: Math.max(1, inputs.timeoutSeconds) * 1000 } : {}),
  };
}

function platformText(p: { os: string; architecture: string; variant?: string }): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/**
 * Build the overlay and push it (signature before the tag; the tag last), exactly as
 * `cleanimg-customize build --push [--sign-key]` does. Any refusal throws the CLI's CleanimgError
 * (code, field, fix) and leaves the tag where it was.
 */
export async function buildAndPush(inputs: ImageBuildInputs): Promise<ImageBuildOutputs> {
  const key = await signingKeyOf(inputs);
  const loaded = await loadChecked(inputs);
  const target: Reference = parseReference(`${inputs.repository}:${inputs.tag}`);
  const baseRef = parseReference(loaded.spec.base_image.text);

  const opts = registryOptions(inputs);
  const clients = new Map<string, RegistryClient>();
  const client = (registry: string): RegistryClient => {
    let c = clients.get(registry);
    if (!c) clients.set(registry, (c = new RegistryClient(registry, opts)));
    return c;
  };
  let source: ImageSource;
  if (inputs.baseLayout !== undefined) source = await LayoutImageSource.open(inputs.baseLayout);
  else if (namesDefaultBase(loaded.spec.base_image.name)) {
    if (loaded.spec.base_image.digest !== DEFAULT_BASE_DIGEST) {
      fail(`the spec pins ${loaded.spec.base_image.text}, which this version of cleanimg does not embed`, { code: 'BASE011', path: 'base_image', message: `the embedded default base is ${DEFAULT_BASE_REF}`, fix: `set base_image: "${DEFAULT_BASE_REF}", or pass baseLayout with the base you pinned` });
    }
    source = await LayoutImageSource.open((await defaultBaseLayout(inputs.cacheDir !== undefined ? { cacheDir: inputs.cacheDir } : {})).dir);
  } else source = new RegistryImageSource(client(baseRef.registry), baseRef.repository);

  let built: BuildOverlayResult | undefined;
  try {
    built = await buildOverlay({
      specPath: loaded.specPath,
      spec: loaded.spec,
      specDir: loaded.specDir,
      source,
      tag: `${inputs.repository}:${inputs.tag}`,
      sourceDateEpoch: inputs.sourceDateEpoch,
      manifestFormat: inputs.manifestFormat,
      ...(inputs.allowPrivateKeys ? { allowPrivateKeys: true } : {}),
      ...(inputs.layerCache === false ? {} : { cache: new LayerCache(inputs.cacheDir !== undefined ? path.join(inputs.cacheDir, 'layers') : layerCacheDir()) }),
    });
    const pushed = await pushOverlay(built, {
      target: client(target.registry),
      ref: target,
      baseRef,
      ...(source instanceof LayoutImageSource ? { openBaseLayer: (d) => (source as LayoutImageSource).openBlob(d.digest) } : { baseClient: client(baseRef.registry) }),
      ...(key ? { signingKey: key, ...(inputs.signatureFormat ? { signatureFormat: inputs.signatureFormat } : {}) } : {}),
      ...(key && inputs.attest ? { attest: { builderVersion: VERSION, specDir: loaded.specDir } } : {}),
    });
    return {
      specDigest: inputs.specDigest,
      sourceHash: inputs.sourceHash,
      specName: inputs.specName,
      sourceDateEpoch: inputs.sourceDateEpoch,
      manifestFormat: inputs.manifestFormat,
      repository: inputs.repository,
      tag: inputs.tag,
      digest: pushed.digest,
      ref: pushed.pinned,
      baseReference: built.base.reference,
      baseDigest: built.base.digest,
      baseManifestDigest: built.base.manifestDigest,
      platform: platformText(built.platformChosen.platform),
      layerDigest: built.layer.descriptor.digest,
      signed: !!key,
      ...(key ? { publicKey: key.publicKeyPem } : {}),
      ...(pushed.signature ? { signatureTag: pushed.signature.tag } : {}),
      ...(key && inputs.signatureFormat ? { signatureFormat: inputs.signatureFormat } : {}),
      ...(pushed.attestations ? { attested: true } : {}),
      warnings: [...built.warnings],
      ...(inputs.insecure ? { insecure: true } : {}),
      ...(inputs.caFiles?.length ? { caFiles: [...inputs.caFiles] } : {}),
      ...(inputs.timeoutSeconds !== undefined ? { timeoutSeconds: inputs.timeoutSeconds } : {}),
    };
  } finally {
    await built?.dispose();
    for (const c of clients.values()) await c.close();
  }
}

/** The fields whose change means a new image at the same place (an update). */
export const CONTENT_FIELDS = ['specDigest', 'sourceHash', 'specName', 'sourceDateEpoch', 'manifestFormat'] as const;
/** The fields whose change means another place (a replacement: a new id; the old image stays). */
export const PLACE_FIELDS = ['repository', 'tag'] as const;

export interface ImageDiff {
  readonly changes: boolean;
  readonly replaces: string[];
  /** Every changed field (for messages and tests). */
  readonly changed: string[];
}

/**
 * What changed between the stored outputs and the new inputs. A new spec or a changed file is an
 * update (a new digest of the same logical image); another repository or tag is a replacement.
 * Signing: a key added, removed or replaced (its public half differs) is an update.
 */
export async function diffImage(olds: Partial<ImageBuildOutputs>, news: ImageBuildInputs): Promise<ImageDiff> {
  const changed: string[] = [];
  const replaces: string[] = [];
  for (const k of PLACE_FIELDS) if (olds[k] !== news[k]) replaces.push(k);
  for (const k of CONTENT_FIELDS) if (olds[k] !== news[k]) changed.push(k);
  // pulumi refresh found the tag moved to another image: push again, which moves it back.
  if (olds.tagDigest !== undefined && olds.tagDigest !== olds.digest && !replaces.includes('tag')) changed.push('tag');
  const wantsKey = news.signingKey !== undefined;
  if (wantsKey !== !!olds.signed) changed.push('signingKey');
  else if (wantsKey) {
    if (news.signingKey === UNKNOWN || news.signingKeyPassword === UNKNOWN) changed.push('signingKey');
    else if ((await signingKeyOf(news))!.publicKeyPem !== olds.publicKey) changed.push('signingKey');
    if ((news.signatureFormat ?? 'legacy') !== (olds.signatureFormat ?? 'legacy')) changed.push('signatureFormat');
    if (!!news.attest !== !!olds.attested) changed.push('attest');
  }
  changed.push(...replaces);
  return { changes: changed.length > 0, replaces, changed };
}

/** The resource id: where the image is published. */
export function imageId(inputs: Pick<ImageBuildInputs, 'repository' | 'tag'>): string {
  return `${inputs.repository}:${inputs.tag}`;
}

// ---- the provider's entry points (called from the serialized functions in image-provider.ts)

export async function diff(_id: string, olds: Partial<ImageBuildOutputs>, news: ImageBuildInputs): Promise<{ changes: boolean; replaces: string[] }> {
  const d = await diffImage(olds, news);
  return { changes: d.changes, replaces: d.replaces };
}

export async function create(inputs: ImageBuildInputs): Promise<{ id: string; outs: ImageBuildOutputs }> {
  return { id: imageId(inputs), outs: await buildAndPush(inputs) };
}

export async function update(_id: string, _olds: Partial<ImageBuildOutputs>, news: ImageBuildInputs): Promise<{ outs: ImageBuildOutputs }> {
  return { outs: await buildAndPush(news) };
}

/**
 * `pulumi refresh`: is the pushed image still in the registry, and does the tag still name it?
 * - the manifest is gone (deleted, garbage-collected): no id, so Pulumi drops the resource from the
 *   state and the next `pulumi up` builds and pushes it again (the same digest: the build is
 *   reproducible);
 * - the tag is gone or names another digest: `tagDigest` records what it names (empty when gone), and the
 *   next diff is an update that pushes again and moves the tag back;
 * - otherwise the state is kept as it is.
 * The registry is reached as the build reached it (insecure, CA files, timeout) with the provider
 * process's credentials (CLEANIMG_REGISTRY_USERNAME/PASSWORD, ~/.docker/config.json): a password given
 * only as the component's secret input is not kept in the state. A registry that cannot be asked fails
 * the refresh with its error (code, fix): nothing is dropped on a guess.
 */
export async function read(id: string, props: Partial<ImageBuildOutputs> | undefined): Promise<{ id?: string; props?: Partial<ImageBuildOutputs> }> {
  if (!props?.repository || !props.digest || !props.tag) return { id, ...(props ? { props } : {}) }; // nothing to check against
  const ref = parseReference(props.repository);
  const client = new RegistryClient(ref.registry, registryOptions(props));
  try {
    const pinned = await client.headManifest(ref.repository, props.digest);
    if (!pinned) return {};
    const tagged = await client.headManifest(ref.repository, props.tag);
    const { tagDigest: _previous, ...rest } = props;
    return { id, props: tagged?.digest === props.digest ? rest : { ...rest, tagDigest: tagged?.digest ?? '' } };
  } finally {
    await client.close();
  }
}

/** A repository name as the engine stores it (`registry/repository`), checked. */
export function normalizeRepository(repository: string): string {
  return refName(parseReference(repository));
}
