/**
 * CustomizedImage for Pulumi: the spec's files added to a digest-pinned base as one reproducible
 * layer, built and pushed during `pulumi up` by a dynamic provider (image-provider.ts) running the
 * same engine as `cleanimg-customize build --push`. Its `ref` / `imageRef` (`repo@sha256:…`) goes
 * straight into HardenedDeployment.
 *
 * At construction, in the program: the repository and the spec are validated (a bad field throws
 * the CLI's CleanimgError and nothing is registered), and the spec's digest and a content hash of
 * every source file are computed. They are the build resource's inputs, so `pulumi preview` shows
 * no change when nothing changed and an update when a byte, mode or owner did. The source checks
 * (private keys, certificates, shell paths) run then too: a bad source fails the preview.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { parseSignatureFormat, type SignatureFormat } from '../oci/signing/format';
import { CleanimgError } from '../errors';
import { checkRepositoryInput } from './repository';
import { resolveSourceDateEpoch } from '../oci/layer';
import { parseSpec, parseSpecObject, specDigest, type CustomizeSpec } from '../customize/spec';
import { sourceHashOf, type ImageBuildInputs } from './image-engine';
import { CustomizedImageBuild } from './image-provider';

/** The type token of the CustomizedImage component. */
export const CUSTOMIZED_IMAGE_TYPE = 'cleanimg:index:CustomizedImage';

/** A spec given in code: the spec file's fields, with sources relative to `dir` (as in the cdk8s face). */
export interface InlineCustomizeSpec {
  /** The fields of a spec file (base_image, arch, copy_files, ...), validated like a file. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** The folder `copy_files[].source` paths resolve against. */
  readonly dir: string;
}

export interface CustomizedImageArgs {
  /**
   * A spec file (a relative path is taken from the folder the program runs in; sources are relative
   * to the spec's folder), or the spec inline. The file's name is part of the image history, so
   * renaming the spec file changes the digest; moving its folder does not.
   */
  readonly spec: string | InlineCustomizeSpec;
  /**
   * Where to push, e.g. `registry.example.com/team/postgres` (no tag, no digest), or an Output such as
   * the URL of a registry repository created in the same stack. A plain string is checked at
   * construction; an Output once it is known.
   */
  readonly repository: pulumi.Input<string>;
  /** The tag moved to the new digest after the push (and after the signature). @default 'custom' */
  readonly tag?: string;
  /** An OCI layout holding the base the spec pins (then the base's layers are uploaded from it when the registry lacks them). @default the embedded default base when the spec names `cleanimg.dev/base/static`, else the base's registry */
  readonly baseLayout?: string;
  /** Cache root: the embedded default base under `<cacheDir>/images`, built layers under `<cacheDir>/layers`. @default $CLEANIMG_CACHE_DIR (else `.cache/cleanimg` for the base, `~/.cache/cleanimg/layers` for layers, as the CLI) */
  readonly cacheDir?: string;
  /** Use the local layer cache (the digest is the same either way). @default true */
  readonly layerCache?: boolean;
  /** Seconds since the epoch for every timestamp in the layer and config. @default SOURCE_DATE_EPOCH of the program, else 0 */
  readonly sourceDateEpoch?: number;
  /**
   * Manifest format: `oci` gives the same digest as the cdk8s CustomizedImage for the same spec (an
   * OCI layout needs OCI); `base` keeps a Docker v2 base's format, as `cleanimg-customize build
   * --push` does by default. Both are the same for an OCI base. @default 'oci'
   */
  readonly manifestFormat?: 'oci' | 'base';
  /** The loud override for private keys in the image (as `allow_private_keys: true` in the spec). @default false */
  readonly allowPrivateKeys?: boolean;
  /** Skip TLS verification and allow plain HTTP for any registry. Plain HTTP is always allowed for localhost/127.0.0.1, as in the CLI. @default false */
  readonly insecure?: boolean;
  /** PEM file(s) of CAs to trust besides the system roots (a corporate registry). @default the system roots only */
  readonly caFile?: string | readonly string[];
  /** Registry user. @default CLEANIMG_REGISTRY_USERNAME/PASSWORD of the provider process, else ~/.docker/config.json (helpers included), else anonymous */
  readonly username?: pulumi.Input<string>;
  /** Registry password or token; stored as a secret. @default as `username`: the provider process's variables, else ~/.docker/config.json, else anonymous */
  readonly password?: pulumi.Input<string>;
  /**
   * A cosign private key (PEM, e.g. `config.requireSecret('signingKey')`): the pushed digest is
   * signed (cosign's `.sig` tag layout) before the tag moves. Stored only as a secret.
   * @default not signed
   */
  readonly signingKey?: pulumi.Input<string>;
  /** The key's password; stored as a secret. @default COSIGN_PASSWORD of the provider process */
  readonly signingKeyPassword?: pulumi.Input<string>;
  /**
   * With `signingKey`: `legacy` (cosign's `.sig` tag), `bundle` (a Sigstore bundle referrer, cosign
   * v3's default) or `both`, as `--signature-format` (README, "Signatures"). @default 'legacy'
   */
  readonly signatureFormat?: SignatureFormat;
  /** With `signingKey`: also attach the signed SBOM and SLSA provenance, as `build --attest`. @default false */
  readonly attest?: boolean;
  /** Per-request registry timeout in seconds. @default 60 */
  readonly timeoutSeconds?: number;
}

/**
 * An image customized and pushed by `pulumi up`. Pass it (or its `ref`) as a HardenedDeployment
 * container's `image`:
 *
 * ```ts
 * const pg = new CustomizedImage('postgres-image', {
 *   spec: 'examples/postgres/image/spec.yaml',
 *   repository: 'registry.example.com/db/postgres',
 *   signingKey: config.requireSecret('cosignKey'),
 *   signingKeyPassword: config.requireSecret('cosignPassword'),
 * });
 * new HardenedDeployment('postgres', { containers: [{ name: 'postgres', image: pg, ... }] });
 * ```
 */
export class CustomizedImage extends pulumi.ComponentResource {
  /** `repository@sha256:<digest>` of the pushed image. */
  readonly ref: pulumi.Output<string>;
  /** The same as `ref`, for HardenedDeployment's `image` (an object with `imageRef`). */
  readonly imageRef: pulumi.Output<string>;
  /** The manifest digest pushed. */
  readonly digest: pulumi.Output<string>;
  /** The base's digest as the spec pins it (an index or a manifest). */
  readonly baseDigest: pulumi.Output<string>;
  /** The platform chosen from the base, `os/architecture[/variant]`. */
  readonly platform: pulumi.Output<string>;
  /** The signer's public key (PEM) for `cosign verify --key`, when signed. */
  readonly publicKey: pulumi.Output<string | undefined>;
  /** `registry/repository`, as pushed (normalized). */
  readonly repository: pulumi.Output<string>;
  readonly tag: string;
  /** The validated spec and its digest (known at construction). */
  readonly spec: CustomizeSpec;
  readonly specDigest: string;
  /** The content hash of the sources (known once the files are read). */
  readonly sourceHash: pulumi.Output<string>;
  /** The dynamic resource that builds and pushes. */
  readonly build: CustomizedImageBuild;

  constructor(name: string, args: CustomizedImageArgs, opts?: pulumi.ComponentResourceOptions) {
    const where = `CustomizedImage ${name}`;
    const repository = checkRepositoryInput(args.repository, where, 'CI002', 'computes', 'set tag separately');
    const tag = args.tag ?? 'custom';
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) {
      throw new CleanimgError(`${where}: invalid tag`, [{ code: 'CI002', path: `${where}/tag`, message: `"${tag}" is not a valid tag`, fix: 'use up to 128 letters, digits, "_", "." and "-", not starting with "." or "-", e.g. 15-custom' }]);
    }
    const s = readSpec(args.spec, where);
    const sourceDateEpoch = resolveSourceDateEpoch(args.sourceDateEpoch);
    super(CUSTOMIZED_IMAGE_TYPE, name, {}, opts);
    this.repository = repository;
    this.tag = tag;
    this.spec = s.spec;
    this.specDigest = specDigest(s.spec);

    const hash = sourceHashOf(s.spec, s.specDir, args.allowPrivateKeys ? { allowPrivateKeys: true } : {}).catch((e: unknown) => {
      throw e instanceof CleanimgError ? new CleanimgError(`${where}: ${e.message.split('\n')[0]}`, e.problems) : e;
    });
    const caFiles = args.caFile === undefined ? undefined : (typeof args.caFile === 'string' ? [args.caFile] : [...args.caFile]).map((f) => path.resolve(f));
    const secret = (v: pulumi.Input<string> | undefined) => (v === undefined ? undefined : pulumi.secret(v));
    const inputs: { [K in keyof ImageBuildInputs]?: pulumi.Input<ImageBuildInputs[K]> } = {
      specDigest: this.specDigest,
      sourceHash: hash,
      ...(s.specPath !== undefined ? { specPath: s.specPath } : { spec: s.fields as Record<string, unknown> }),
      specDir: s.specDir,
      specName: s.specName,
      repository,
      tag,
      sourceDateEpoch,
      manifestFormat: args.manifestFormat ?? 'oci',
      ...(args.allowPrivateKeys ? { allowPrivateKeys: true } : {}),
      ...(args.baseLayout !== undefined ? { baseLayout: path.resolve(args.baseLayout) } : {}),
      ...(args.cacheDir !== undefined ? { cacheDir: path.resolve(args.cacheDir) } : {}),
      ...(args.layerCache === false ? { layerCache: false } : {}),
      ...(args.insecure ? { insecure: true } : {}),
      ...(caFiles ? { caFiles } : {}),
      ...(args.username !== undefined ? { username: args.username } : {}),
      ...(args.password !== undefined ? { password: secret(args.password) } : {}),
      ...(args.signingKey !== undefined ? { signingKey: secret(args.signingKey) } : {}),
      ...(args.signingKeyPassword !== undefined ? { signingKeyPassword: secret(args.signingKeyPassword) } : {}),
      ...signingOptions(args, where),
      ...(args.timeoutSeconds !== undefined ? { timeoutSeconds: args.timeoutSeconds } : {}),
    };
    this.build = new CustomizedImageBuild(`${name}-build`, inputs, { parent: this });
    this.ref = this.build.ref;
    this.imageRef = this.build.ref;
    this.digest = this.build.digest;
    this.baseDigest = this.build.baseDigest;
    this.platform = this.build.platform;
    this.publicKey = this.build.publicKey;
    this.sourceHash = pulumi.output(hash);
    this.registerOutputs({ ref: this.ref, digest: this.digest, baseDigest: this.baseDigest, platform: this.platform, specDigest: this.specDigest });
  }
}


interface ReadSpec {
  readonly spec: CustomizeSpec;
  readonly specPath?: string;
  readonly fields?: Readonly<Record<string, unknown>>;
  readonly specDir: string;
  readonly specName: string;
}

function readSpec(spec: string | InlineCustomizeSpec, where: string): ReadSpec {
  try {
    if (typeof spec === 'string') {
      const specPath = path.resolve(spec);
      let text: string;
      try {
        text = readFileSync(specPath, 'utf8');
      } catch (e) {
        throw new CleanimgError(`cannot read spec ${spec}`, [
          { code: 'SPEC001', path: 'spec', message: `${spec}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, fix: 'pass the path of a readable spec file (relative to the folder the program runs in)' },
        ]);
      }
      const name = path.basename(specPath);
      return { spec: parseSpec(text, name), specPath, specDir: path.dirname(specPath), specName: name };
    }
    return { spec: parseSpecObject(spec.fields, 'the inline spec'), fields: spec.fields, specDir: path.resolve(spec.dir), specName: 'inline' };
  } catch (e) {
    if (e instanceof CleanimgError) throw new CleanimgError(`${where}: ${e.message.split('\n')[0]}`, e.problems);
    throw e;
  }
}

/** signatureFormat and attest, checked at construction (SIG014, CLI027); absent when default, so older stacks see no change. */
function signingOptions(args: Pick<CustomizedImageArgs, 'signingKey' | 'signatureFormat' | 'attest'>, where: string): Pick<ImageBuildInputs, 'signatureFormat' | 'attest'> {
  const format = parseSignatureFormat(args.signatureFormat, `${where}.signatureFormat`);
  if ((args.signatureFormat !== undefined || args.attest) && args.signingKey === undefined) {
    throw new CleanimgError(`${where}: signatureFormat and attest need signingKey`, [{ code: 'CLI027', path: `${where}.${args.attest ? 'attest' : 'signatureFormat'}`, message: 'there is nothing to sign with', fix: 'set signingKey, or drop signatureFormat and attest' }]);
  }
  return { ...(format !== 'legacy' ? { signatureFormat: format } : {}), ...(args.attest ? { attest: true } : {}) };
}
