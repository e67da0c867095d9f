/**
 * The digest a pipeline's build step produced, read from the file that step writes:
 *
 * - `docker buildx build --push --metadata-file meta.json ...`: JSON with `containerimage.digest`
 *   (the pushed manifest or index digest) and `image.name` (the pushed names, comma-separated).
 * - `docker buildx bake --metadata-file meta.json`: the same object per target (`{ "app": {...} }`).
 * - A digest file: `sha256:<hex>` alone (`skopeo copy --digestfile`, `buildah push --digestfile`,
 *   `crane digest`), or `repo@sha256:<hex>` on one line.
 */
import { readFileSync } from 'node:fs';
import { isDigestPinned, type DigestRef } from '../core/image-ref';
import { CleanimgError } from '../errors';

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface BuiltImage {
  /** `sha256:<64 hex>`. */
  readonly digest: string;
  /** The repository named by the file (`image.name`, or the part before `@`), tag removed, if any. */
  readonly repository?: string;
}

function fail(code: string, path: string, message: string, fix: string): never {
  throw new CleanimgError(`cannot take the built image's digest from ${path}: ${message}`, [{ code, path, message, fix }]);
}

const BUILD_FIX = 'run the build step first, e.g. docker buildx build --push -t <repo>:<tag> --metadata-file <file> .';

/** Strips a tag (not a registry port) from `reg:5000/app:1.0` → `reg:5000/app`. */
export function repositoryOf(name: string): string {
  const at = name.indexOf('@');
  const n = at >= 0 ? name.slice(0, at) : name;
  const slash = n.lastIndexOf('/');
  const colon = n.lastIndexOf(':');
  return colon > slash ? n.slice(0, colon) : n;
}

/** Reads a lock/metadata file; `target` picks one target of a bake metadata file. */
export function readBuiltImage(file: string, target?: string): BuiltImage {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    fail('DIG001', file, missing ? 'the lock file does not exist' : (e as Error).message, BUILD_FIX);
  }
  const trimmed = text.trim();
  if (!trimmed) fail('DIG002', file, 'the lock file is empty', BUILD_FIX);
  if (trimmed.startsWith('{')) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(trimmed) as Record<string, unknown>;
    } catch (e) {
      fail('DIG002', file, `the lock file is not valid JSON (${(e as Error).message})`, BUILD_FIX);
    }
    let meta = json;
    if (!('containerimage.digest' in json)) {
      const targets = Object.entries(json).filter(([, v]) => v && typeof v === 'object' && 'containerimage.digest' in (v as object));
      const picked = target ? targets.find(([k]) => k === target) : targets.length === 1 ? targets[0] : undefined;
      if (!picked) {
        fail('DIG002', file, target ? `no target ${JSON.stringify(target)} with containerimage.digest (targets: ${targets.map(([k]) => k).join(', ') || 'none'})` : targets.length > 1 ? `several targets (${targets.map(([k]) => k).join(', ')}); say which` : 'no "containerimage.digest" field', targets.length > 1 ? 'pass the bake target name' : `${BUILD_FIX} (with --push, so the digest is the pushed one)`);
      }
      meta = picked[1] as Record<string, unknown>;
    }
    const digest = meta['containerimage.digest'];
    if (typeof digest !== 'string' || !DIGEST.test(digest)) fail('DIG003', file, `containerimage.digest ${JSON.stringify(digest)} is not sha256:<64 hex>`, BUILD_FIX);
    const names = typeof meta['image.name'] === 'string' ? (meta['image.name'] as string).split(',').map((s) => s.trim()).filter(Boolean) : [];
    return { digest, repository: names[0] ? repositoryOf(names[0]) : undefined };
  }
  const lines = trimmed.split(/\r?\n/);
  if (lines.length > 1) fail('DIG003', file, 'the digest file has more than one line', 'write one digest (sha256:<hex>) or one reference (repo@sha256:<hex>)');
  const v = lines[0]!.trim();
  if (DIGEST.test(v)) return { digest: v };
  if (isDigestPinned(v)) return { digest: v.slice(v.indexOf('@') + 1), repository: repositoryOf(v) };
  fail('DIG003', file, `${JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v)} is not sha256:<64 hex> or repo@sha256:<64 hex>`, BUILD_FIX);
}

/** `repository@digest`, checked. */
export function pinnedRef(repository: string, digest: string, where: string): DigestRef {
  const ref = `${repositoryOf(repository)}@${digest}`;
  if (!DIGEST.test(digest)) fail('DIG003', where, `digest ${JSON.stringify(digest)} is not sha256:<64 hex>`, 'pass the digest the build pushed (sha256:<64 hex>)');
  if (!isDigestPinned(ref)) fail('DIG004', where, `${JSON.stringify(ref)} is not a valid image reference`, 'pass a repository such as registry.example.com/team/app');
  return ref as DigestRef;
}
