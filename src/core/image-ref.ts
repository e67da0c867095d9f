import { parseReference } from '../oci/reference';

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
