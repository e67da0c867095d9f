import * as crypto from 'node:crypto';
import { CleanimgError } from '../../../src/errors';
import type { FetchedManifest, ImageSource } from '../../../src/oci/types';
import type { SignatureImage } from '../../../src/oci/signing/cosign';

const sha = (b: Uint8Array) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

/** A repository in memory, for tests: tags → manifests, digests → blobs. `lax` skips the blob digest check. */
export class MemoryRepo implements ImageSource {
  readonly name = 'memory/repo';
  readonly tags = new Map<string, { bytes: Buffer; mediaType: string }>();
  readonly blobs = new Map<string, Buffer>();
  lax = false;
  /** When set, getManifest throws this (a network error, say). */
  failWith: Error | undefined;

  async getManifest(ref: string): Promise<FetchedManifest> {
    const m = this.tags.get(ref);
    if (this.failWith) throw this.failWith;
    if (!m) {
      // the shape our registry client throws for a missing manifest
      const message = `MANIFEST_UNKNOWN: ${ref} not found`;
      throw new CleanimgError('image not found', [{ code: 'REG003', path: ref, message, fix: 'check the reference' }]);
    }
    return { bytes: m.bytes, mediaType: m.mediaType, digest: sha(m.bytes) };
  }

  async getBlob(digest: string): Promise<Buffer> {
    const b = this.blobs.get(digest);
    if (!b) throw new Error(`BLOB_UNKNOWN: ${digest}`);
    if (!this.lax && sha(b) !== digest) throw new Error(`blob ${digest} does not match its digest`);
    return b;
  }

  /** What a pusher does with signImage's result. */
  push(img: SignatureImage): void {
    for (const b of img.blobs) this.blobs.set(b.descriptor.digest, b.bytes);
    this.tags.set(img.tag, { bytes: img.manifest, mediaType: img.mediaType });
  }

  /** The existing `.sig` image, as signImage wants it. */
  existing(tag: string): { manifest: Buffer; config: Buffer } | null {
    const m = this.tags.get(tag);
    if (!m) return null;
    const cfg = JSON.parse(m.bytes.toString()).config.digest as string;
    return { manifest: m.bytes, config: this.blobs.get(cfg)! };
  }
}
