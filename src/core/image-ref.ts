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

const PINNED = /^[a-z0-9]+(?:[._-][a-z0-9]+|:[0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?@sha256:[a-f0-9]{64}$/;

/** True when `ref` is a well-formed reference pinned by a sha256 digest. */
export function isDigestPinned(ref: unknown): ref is DigestRef {
  return typeof ref === 'string' && PINNED.test(ref);
}

/** The string form of an image input (the ref itself, or an ImageLike's `imageRef`). */
export function imageRefOf(image: ImageInput | unknown): string {
  if (typeof image === 'string') return image;
  if (image && typeof image === 'object' && 'imageRef' in image) return String((image as ImageLike).imageRef);
  return String(image);
}
