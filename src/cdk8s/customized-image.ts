/**
 * CustomizedImage: the spec's files added to a digest-pinned base as one reproducible layer, built at
 * synth time into an OCI layout (default `<app outdir>/images/<name>`), so the Deployment that uses it
 * names the exact digest a pipeline later publishes with
 * `cleanimg-customize push --layout <layoutDir>:<layoutTag> --tag <repository>:<tag>`.
 *
 * Synth stays offline: the base's manifest, config and layers come from `baseLayout`, from the embedded
 * default base (`cleanimg.dev/base/static:1@sha256:…`, see customize/base-image.ts), or from the
 * content-addressed cache `<cacheDir>/images/sha256-<hex>`; never from a registry.
 *
 * cdk8s constructs are synchronous and the build is not: it runs in a child process
 * (customized-image-worker) with execFileSync. A bad spec, a private key, a missing base or any other
 * refusal fails construction with the CLI's error text (code, field, fix), and writes no layout.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'cdk8s';
import { Construct } from 'constructs';
import type { DigestRef, ImageLike } from '../core/image-ref';
import { CleanimgError } from '../errors';
import { parseSpec, parseSpecObject } from '../customize/spec';
import { parseReference, refName } from '../oci/reference';
import { defaultName } from './env-config';
import type { BuildAnswer, BuildFailure, BuildRequest } from './customized-image-worker';
import type { TrustReport } from '../customize/trust/prepare';

/**
 * A spec given in code: the spec file's fields, with sources relative to `dir`. `trust_ca` (CA files
 * the image must trust: appended to the base's bundle, with hashed links) and `trust_env` work as in a
 * spec file.
 */
export interface InlineCustomizeSpec {
  /** The fields of a spec file (base_image, arch, copy_files, trust_ca, trust_env, ...), validated like a file. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** The folder `copy_files[].source` paths resolve against. */
  readonly dir: string;
}

export interface CustomizedImageProps {
  /**
   * A spec file (a relative path is taken from the folder synth runs in; sources are relative to the
   * spec's folder), or the spec inline. The file's name is part of the image's history, so renaming
   * the spec file changes the digest; moving its folder does not.
   */
  readonly spec: string | InlineCustomizeSpec;
  /** Where the pipeline pushes the image, e.g. `registry.example.com/team/postgres` (no tag, no digest). */
  readonly repository: string;
  /** The tag that names the image inside the output layout. @default 'custom' */
  readonly tag?: string;
  /**
   * An OCI layout holding the base the spec pins (offline). @default the embedded default base when the
   * spec names `cleanimg.dev/base/static`, else `<cacheDir>/images/sha256-<hex of the pinned digest>`
   */
  readonly baseLayout?: string;
  /** The content-addressed cache folder. @default $CLEANIMG_CACHE_DIR, else `.cache/cleanimg` */
  readonly cacheDir?: string;
  /** Where the OCI layout is written (created, or an existing layout updated). @default `<app outdir>/images/<name>` */
  readonly outputDir?: string;
  /** Used for the default outputDir. @default derived from the construct path */
  readonly name?: string;
  /** Seconds since the epoch for every timestamp in the layer and config. @default SOURCE_DATE_EPOCH, else 0 */
  readonly sourceDateEpoch?: number;
}

/** The spec reference of the embedded default base, for specs written in code. */
export { DEFAULT_BASE_REF } from '../customize/base-image';

const WORKER = 'customized-image-worker';

/** How to run the worker: compiled JS next to this file, or the TypeScript source through tsx. */
function workerCommand(): string[] {
  const js = path.join(__dirname, `${WORKER}.js`);
  if (existsSync(js)) return [js];
  const ts = path.join(__dirname, `${WORKER}.ts`);
  // Running from sources (tsx, vitest): load the worker through tsx's loader.
  let loader: string;
  try {
    loader = require.resolve('tsx');
  } catch {
    throw new CleanimgError('CustomizedImage cannot start its build step', [
      { code: 'CI001', path: ts, message: `no compiled ${WORKER}.js next to ${__filename}, and tsx is not installed to run the TypeScript source`, fix: 'run `npm run build` and use lib/, or install tsx' },
    ]);
  }
  return ['--import', pathToFileURL(loader).href, ts];
}

function runWorker(req: BuildRequest, where: string): BuildAnswer {
  let stdout: string;
  try {
    stdout = execFileSync(process.execPath, workerCommand(), {
      input: JSON.stringify(req),
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 16 * 2 ** 20,
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    stdout = err.stdout ?? '';
    if (!stdout.trim()) {
      throw new CleanimgError(`${where}: the image build could not run`, [
        { code: 'CI001', path: where, message: (err.stderr || err.message).trim().split('\n').slice(-3).join(' '), fix: 'run `npm run build` (or synthesize through tsx), and check that node can start' },
      ]);
    }
  }
  let answer: BuildAnswer | BuildFailure;
  try {
    answer = JSON.parse(stdout) as BuildAnswer | BuildFailure;
  } catch {
    throw new CleanimgError(`${where}: the image build printed no result`, [{ code: 'CI001', path: where, message: stdout.slice(0, 200), fix: 'report this as a bug' }]);
  }
  if (!answer.ok) {
    const summary = answer.error.split('\n')[0] ?? 'the image build failed';
    throw new CleanimgError(`${where}: ${summary}`, answer.problems);
  }
  return answer;
}

function outdirOf(c: Construct): string {
  try {
    return App.of(c).outdir;
  } catch {
    return 'dist';
  }
}

/**
 * An image customized at synth time. Implements ImageLike: pass it as `image` to HardenedDeployment.
 *
 * ```ts
 * const pg = new CustomizedImage(chart, 'postgres-image', {
 *   spec: 'examples/postgres/image/spec.yaml',
 *   repository: 'registry.example.com/db/postgres',
 * });
 * new HardenedDeployment(chart, 'postgres', { containers: [{ name: 'postgres', image: pg, ... }] });
 * ```
 */
export class CustomizedImage extends Construct implements ImageLike {
  /** `repository@sha256:<digest>`. */
  readonly imageRef: DigestRef;
  /** The manifest digest. */
  readonly digest: string;
  readonly repository: string;
  /** The OCI layout written at synth (absolute path) and the tag naming the image in it. */
  readonly layoutDir: string;
  readonly layoutTag: string;
  /** The base as the spec pins it, and the layout it was read from. */
  readonly base: { readonly reference: string; readonly digest: string; readonly layout: string };
  readonly layerDigest: string;
  readonly specDigest: string;
  readonly warnings: readonly string[];
  /**
   * With `trust_ca` in the spec: which trust store layout the base has (or `none`: a new bundle), the
   * bundle path, the CAs added or skipped, the env defaults set, and the base bytes read to find it.
   */
  readonly trust?: TrustReport;

  constructor(scope: Construct, id: string, props: CustomizedImageProps) {
    super(scope, id);
    const where = this.node.path;
    const tag = props.tag ?? 'custom';
    let repo;
    try {
      repo = parseReference(props.repository);
    } catch (e) {
      throw new CleanimgError(`${where}: invalid repository`, [
        { code: 'CI002', path: `${where}/repository`, message: e instanceof Error ? e.message.split('\n')[0]! : String(e), fix: 'pass a repository such as registry.example.com/team/app' },
      ]);
    }
    if (repo.tag !== undefined || repo.digest !== undefined) {
      throw new CleanimgError(`${where}: repository names a tag or digest`, [
        { code: 'CI002', path: `${where}/repository`, message: `"${props.repository}" has a tag or digest; the digest is what the build computes`, fix: `pass ${refName(repo)} and set tag separately` },
      ]);
    }
    // Validate the spec here, synchronously, so field errors name this construct.
    let req: BuildRequest;
    const name = props.name ?? defaultName(this);
    const outputLayout = path.resolve(props.outputDir ?? path.join(outdirOf(this), 'images', name));
    const common = {
      tag: `${refName(repo)}:${tag}`,
      outputLayout,
      ...(props.baseLayout !== undefined ? { baseLayout: path.resolve(props.baseLayout) } : {}),
      ...(props.cacheDir !== undefined ? { cacheDir: path.resolve(props.cacheDir) } : {}),
      ...(props.sourceDateEpoch !== undefined ? { sourceDateEpoch: props.sourceDateEpoch } : {}),
    };
    try {
      if (typeof props.spec === 'string') {
        const specPath = path.resolve(props.spec);
        let text: string;
        try {
          text = readFileSync(specPath, 'utf8');
        } catch (e) {
          throw new CleanimgError(`cannot read spec ${props.spec}`, [
            { code: 'SPEC001', path: 'spec', message: `${props.spec}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, fix: 'pass the path of a readable spec file (relative to the folder synth runs in)' },
          ]);
        }
        parseSpec(text, path.basename(specPath));
        req = { specPath, ...common };
      } else {
        parseSpecObject(props.spec.fields, 'the inline spec');
        req = { spec: props.spec.fields, specDir: path.resolve(props.spec.dir), specName: 'inline', ...common };
      }
    } catch (e) {
      if (e instanceof CleanimgError) throw new CleanimgError(`${where}: ${e.message.split('\n')[0]}`, e.problems);
      throw e;
    }
    const a = runWorker(req, where);
    this.digest = a.digest;
    this.repository = refName(repo);
    this.imageRef = `${this.repository}@${a.digest}` as DigestRef;
    this.layoutDir = a.layoutDir;
    this.layoutTag = a.layoutTag;
    this.base = { reference: a.base.reference, digest: a.base.digest, layout: a.baseLayout };
    this.layerDigest = a.layerDigest;
    this.specDigest = a.specDigest;
    this.warnings = a.warnings;
    if (a.trust) this.trust = a.trust;
  }

  /** The command a pipeline runs to publish exactly this digest. */
  pushCommand(tag = this.layoutTag): string {
    return `cleanimg-customize push --layout ${this.layoutDir}:${this.layoutTag} --tag ${this.repository}:${tag} --expect-digest ${this.digest}`;
  }
}
