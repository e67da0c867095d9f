/**
 * The synchronous half of CustomizedImage: cdk8s synth is synchronous and the overlay build is not, so
 * the construct runs this module in a child process (execFileSync), sends a BuildRequest as JSON on
 * stdin and reads one JSON answer on stdout: the build summary, or `{ ok: false, error, problems }`
 * with the same messages the CLI prints. It never touches the network: the base comes from a local
 * layout, the embedded default base, or the content-addressed cache.
 */
import { existsSync } from 'node:fs';
import { CleanimgError } from '../errors';
import { buildOverlay } from '../customize/build';
import { cachedLayoutDir, defaultBaseLayout, defaultCacheDir, DEFAULT_BASE_DIGEST, DEFAULT_BASE_NAME, DEFAULT_BASE_REF } from '../customize/base-image';
import { loadSpec, parseSpecObject, type LoadedSpec } from '../customize/spec';
import { LayoutImageSource } from '../oci/layout';
import type { TrustReport } from '../customize/trust/prepare';

export interface BuildRequest {
  /** A spec file; or `spec` (raw fields) with `specDir`. */
  readonly specPath?: string;
  readonly spec?: unknown;
  readonly specDir?: string;
  /** The name of an inline spec in the history comment. */
  readonly specName?: string;
  /** `repository:tag`: the tag names the image in the output layout. */
  readonly tag: string;
  readonly outputLayout: string;
  readonly baseLayout?: string;
  readonly cacheDir?: string;
  readonly sourceDateEpoch?: number;
  readonly allowPrivateKeys?: boolean;
}

export interface BuildAnswer {
  readonly ok: true;
  readonly digest: string;
  readonly layoutDir: string;
  readonly layoutTag: string;
  readonly baseLayout: string;
  readonly base: { readonly reference: string; readonly digest: string; readonly manifestDigest: string };
  readonly layerDigest: string;
  readonly specDigest: string;
  readonly warnings: readonly string[];
  /** The trust_ca step's report (store layout, bundle, CAs added), when the spec has trust_ca. */
  readonly trust?: TrustReport;
}

export interface BuildFailure {
  readonly ok: false;
  readonly error: string;
  readonly problems: CleanimgError['problems'];
}

async function baseLayoutFor(req: BuildRequest, loaded: LoadedSpec): Promise<string> {
  if (req.baseLayout) return req.baseLayout;
  const b = loaded.spec.base_image;
  const cacheDir = req.cacheDir ?? defaultCacheDir();
  if (b.name === DEFAULT_BASE_NAME) {
    if (b.digest !== DEFAULT_BASE_DIGEST) {
      throw new CleanimgError(`the spec pins ${b.text}, which this version of cleanimg does not embed`, [
        { code: 'BASE011', path: 'base_image', message: `the embedded default base is ${DEFAULT_BASE_REF}`, fix: `set base_image: "${DEFAULT_BASE_REF}", or pass baseLayout with the base you pinned` },
      ]);
    }
    return (await defaultBaseLayout({ cacheDir })).dir;
  }
  const cached = cachedLayoutDir(cacheDir, b.digest);
  if (existsSync(cached)) return cached;
  throw new CleanimgError(`the base ${b.text} is not available offline`, [
    {
      code: 'BASE012',
      path: 'base_image',
      message: `no baseLayout was given and the cache has no ${cached}`,
      fix: `fill the cache once with \`cleanimg-customize pull ${b.text}${req.cacheDir ? ` --cache-dir ${cacheDir}` : ''}\` (the only step that uses the network), or pass baseLayout (an OCI layout holding the base)`,
    },
  ]);
}

export async function runBuildRequest(req: BuildRequest): Promise<BuildAnswer> {
  let loaded: LoadedSpec;
  if (req.specPath !== undefined) {
    loaded = await loadSpec(req.specPath);
  } else {
    const spec = parseSpecObject(req.spec, 'the inline spec');
    loaded = { spec, specPath: req.specName ?? 'inline', specDir: req.specDir ?? '.', specDigest: '' };
  }
  const baseDir = await baseLayoutFor(req, loaded);
  const source = await LayoutImageSource.open(baseDir);
  const built = await buildOverlay({
    specPath: loaded.specPath,
    spec: loaded.spec,
    specDir: loaded.specDir,
    source,
    tag: req.tag,
    outputLayout: req.outputLayout,
    manifestFormat: 'oci',
    ...(req.sourceDateEpoch !== undefined ? { sourceDateEpoch: req.sourceDateEpoch } : {}),
    ...(req.allowPrivateKeys ? { allowPrivateKeys: true } : {}),
  });
  try {
    return {
      ok: true,
      digest: built.manifestDigest,
      layoutDir: built.outputLayout!.dir,
      layoutTag: built.outputLayout!.tag,
      baseLayout: source.dir,
      base: { reference: built.base.reference, digest: built.base.digest, manifestDigest: built.base.manifestDigest },
      layerDigest: built.layer.descriptor.digest,
      specDigest: built.specDigest,
      warnings: built.warnings,
      ...(built.trust ? { trust: built.trust } : {}),
    };
  } finally {
    await built.dispose();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

if (require.main === module) {
  readStdin()
    .then((text) => runBuildRequest(JSON.parse(text) as BuildRequest))
    .then(
      (answer) => {
        process.stdout.write(JSON.stringify(answer));
      },
      (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        const failure: BuildFailure = { ok: false, error: process.env.CLEANIMG_DEBUG ? String(err.stack) : err.message, problems: e instanceof CleanimgError ? e.problems : [] };
        process.stdout.write(JSON.stringify(failure));
        process.exitCode = 2;
      },
    );
}
