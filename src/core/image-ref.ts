import { parseReference } from '../oci/reference';
import { CleanimgError } from '../errors';

/**
 * Image references as the hardened core sees them: only digest-pinned references are accepted
 * (`repo@sha256:<64 hex>` or `repo:tag@sha256:<64 hex>`), since a tag can be moved after review.
 */

/** A reference pinned by digest. The template type makes a tag-only string literal fail to type-check. */
export type DigestRef = `${string}@sha256:${string}`;

/** Anything that can name a pinned image, e.g. a CustomizedImage. */
export interface ImageLike {
  /** The digest-pinned reference (`repo@sha256:...`). */
  readonly imageRef: DigestRef;
}

export type ImageInput = DigestRef | ImageLike;

/** True when `ref` is a well-formed reference (as docker and crane parse them) pinned by a sha256 digest. */
export function isDigestPinned(ref: unknown): ref is DigestRef {
  if (typeof ref !== 'string') return false;
  // The props check, the construct-time rules and the app-wide rules all ask about each image.
  const known = pinnedCache.get(ref);
  if (known !== undefined) return known;
  let pinned: boolean;
  try {
    pinned = parseReference(ref).digest !== undefined;
  } catch {
    pinned = false;
  }
  if (pinnedCache.size >= 10_000) pinnedCache.clear();
  pinnedCache.set(ref, pinned);
  return pinned;
}

const pinnedCache = new Map<string, boolean>();

/** The string form of an image input (the ref itself, or an ImageLike's `imageRef`). */
export function imageRefOf(image: ImageInput | unknown): string {
  if (typeof image === 'string') return image;
  if (image && typeof image === 'object' && 'imageRef' in image) return String((image as ImageLike).imageRef);
  return String(image);
}

/**
 * A reference known only at run time (from CI: `digestRef(process.env.IMAGE)`) as a typed
 * {@link DigestRef}, or an HD003 error naming `source` when it is missing or not pinned by digest.
 */
export function digestRef(ref: string | undefined, source = 'image reference'): DigestRef {
  if (isDigestPinned(ref)) return ref;
  throw new CleanimgError(`${source} is not pinned by digest`, [{
    code: 'HD003',
    path: source,
    message: ref === undefined || ref === '' ? 'it is empty or not set' : `${JSON.stringify(ref)} has no @sha256:<64 hex> digest`,
    fix: 'pass repo@sha256:<digest> (e.g. from `crane digest`, buildx --metadata-file, or cleanimg-customize build --json)',
  }]);
}
