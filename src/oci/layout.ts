/**
 * OCI image layout on disk (image-spec image-layout.md): `oci-layout`, `index.json` whose entries carry
 * `org.opencontainers.image.ref.name` (the tag skopeo's `oci:DIR:tag` and umoci's `DIR:tag` look up),
 * and content-addressed `blobs/sha256/<hex>`.
 *
 * Reading: LayoutImageSource implements ImageSource (ref = a tag in index.json, or a `sha256:` digest of
 * any manifest in the layout) and verifies every blob it returns against its digest.
 *
 * Writing: blobs are written to a temp name in blobs/sha256 and renamed, so a blob file is either
 * absent or complete; index.json is replaced atomically (write temp, rename) after every blob it
 * references is in place. A new layout is assembled in a temp folder next to the target and renamed
 * into place, so a failed write leaves no half layout behind. Concurrent writers to one layout are not
 * coordinated (last index.json wins).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, constants as fsc } from 'node:fs/promises';
import * as path from 'node:path';
import { CleanimgError } from '../errors';
import { MediaType, type Descriptor, type FetchedManifest, type ImageIndex, type ImageSource } from './types';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
export const IMAGE_LAYOUT_VERSION = '1.0.0';
const DIGEST_RE = /^sha256:([a-f0-9]{64})$/;
/** image-spec's grammar for ref.name: components of alphanumerics joined by separators. */
const REF_NAME_RE = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

/** An ImageSource that can also stream big blobs (layers). The registry source can implement it too. */
export interface StreamingImageSource extends ImageSource {
  openBlob(digest: string): Promise<NodeJS.ReadableStream>;
}

export function isStreamingSource(s: ImageSource): s is StreamingImageSource {
  return typeof (s as Partial<StreamingImageSource>).openBlob === 'function';
}

function layoutError(dir: string, message: string, fix: string, code = 'LAYOUT001'): CleanimgError {
  return new CleanimgError(`OCI layout ${dir}: ${message}`, [{ code, path: dir, message, fix }]);
}

export function digestHex(digest: string): string {
  const m = DIGEST_RE.exec(digest);
  if (!m) throw new CleanimgError(`invalid digest ${digest}`, [{ code: 'LAYOUT002', path: digest, message: 'not a sha256 digest', fix: 'use sha256:<64 lowercase hex>' }]);
  return m[1]!;
}

export function blobPath(dir: string, digest: string): string {
  return path.join(dir, 'blobs', 'sha256', digestHex(digest));
}

export function isValidRefName(name: string): boolean {
  return REF_NAME_RE.test(name);
}

function sha256(b: Uint8Array): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** Media type of manifest bytes that do not say it: index if it has `manifests`, else image manifest. */
function sniffMediaType(bytes: Buffer): string {
  let j: { mediaType?: unknown; manifests?: unknown; config?: unknown };
  try {
    j = JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'application/octet-stream';
  }
  if (typeof j.mediaType === 'string') return j.mediaType;
  if (Array.isArray(j.manifests)) return MediaType.OciIndex;
  if (j.config) return MediaType.OciManifest;
  return 'application/octet-stream';
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export async function isLayout(dir: string): Promise<boolean> {
  try {
    const j = JSON.parse(await readFile(path.join(dir, 'oci-layout'), 'utf8')) as { imageLayoutVersion?: unknown };
    return typeof j.imageLayoutVersion === 'string';
  } catch {
    return false;
  }
}

export async function readIndex(dir: string): Promise<ImageIndex> {
  let text: string;
  try {
    text = await readFile(path.join(dir, 'index.json'), 'utf8');
  } catch {
    throw layoutError(dir, 'has no index.json', 'point at an OCI image layout folder (one with oci-layout, index.json and blobs/)');
  }
  let j: ImageIndex;
  try {
    j = JSON.parse(text) as ImageIndex;
  } catch {
    throw layoutError(dir, 'index.json is not valid JSON', 'repair or recreate the layout');
  }
  if (j.schemaVersion !== 2 || !Array.isArray(j.manifests)) throw layoutError(dir, 'index.json is not an image index', 'repair or recreate the layout');
  return j;
}

/** Reads images from an OCI image layout. */
export class LayoutImageSource implements StreamingImageSource {
  readonly name: string;

  private constructor(readonly dir: string) {
    this.name = `oci:${dir}`;
  }

  static async open(dir: string): Promise<LayoutImageSource> {
    const abs = path.resolve(dir);
    if (!(await isLayout(abs))) throw layoutError(dir, 'is not an OCI image layout (no oci-layout file)', 'create one with `skopeo copy ... oci:DIR:TAG` or `umoci init --layout DIR`');
    return new LayoutImageSource(abs);
  }

  readIndex(): Promise<ImageIndex> {
    return readIndex(this.dir);
  }

  /** Tags (ref.name annotations) in index.json with their descriptors. */
  async tags(): Promise<Map<string, Descriptor>> {
    const m = new Map<string, Descriptor>();
    for (const d of (await this.readIndex()).manifests) {
      const n = d.annotations?.[REF_NAME_ANNOTATION];
      if (n !== undefined) m.set(n, d);
    }
    return m;
  }

  /** Descriptor for a tag or a digest. */
  async resolve(ref: string): Promise<Descriptor> {
    const idx = await this.readIndex();
    if (ref.startsWith('sha256:')) {
      digestHex(ref);
      const d = idx.manifests.find((x) => x.digest === ref);
      if (d) return d;
      const p = blobPath(this.dir, ref);
      let s;
      try {
        s = await stat(p);
      } catch {
        throw layoutError(this.dir, `has no manifest ${ref}`, 'check the digest, or copy the image into the layout first', 'LAYOUT003');
      }
      const bytes = await readFile(p);
      return { mediaType: sniffMediaType(bytes), digest: ref, size: s.size };
    }
    const found = idx.manifests.filter((x) => x.annotations?.[REF_NAME_ANNOTATION] === ref);
    if (found.length === 0) {
      const names = idx.manifests.map((x) => x.annotations?.[REF_NAME_ANNOTATION]).filter((x) => x);
      throw layoutError(this.dir, `has no tag "${ref}"`, names.length ? `use one of: ${names.join(', ')}` : 'the layout has no tagged images', 'LAYOUT003');
    }
    if (found.length > 1) throw layoutError(this.dir, `has ${found.length} entries tagged "${ref}"`, 'remove the duplicates from index.json', 'LAYOUT004');
    return found[0]!;
  }

  async getManifest(ref: string): Promise<FetchedManifest> {
    const d = await this.resolve(ref);
    const bytes = await this.getBlob(d.digest);
    const mediaType = d.mediaType && d.mediaType !== 'application/octet-stream' ? d.mediaType : sniffMediaType(bytes);
    return { bytes, mediaType, digest: d.digest };
  }

  async getBlob(digest: string): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(blobPath(this.dir, digest));
    } catch (e) {
      if (e instanceof CleanimgError) throw e;
      throw layoutError(this.dir, `has no blob ${digest}`, 'the layout is incomplete; copy the image into it again', 'LAYOUT003');
    }
    const got = sha256(bytes);
    if (got !== digest) throw layoutError(this.dir, `blob ${digest} has content ${got}`, 'the layout is corrupt; copy the image into it again', 'LAYOUT005');
    return bytes;
  }

  async openBlob(digest: string): Promise<ReadStream> {
    const p = blobPath(this.dir, digest);
    if (!(await exists(p))) throw layoutError(this.dir, `has no blob ${digest}`, 'the layout is incomplete; copy the image into it again', 'LAYOUT003');
    return createReadStream(p);
  }

  hasBlob(digest: string): Promise<boolean> {
    return exists(blobPath(this.dir, digest));
  }
}

/** Writes blobs and tags into an OCI image layout. Use `LayoutWriter.open` then `commit`. */
export class LayoutWriter {
  private constructor(
    /** Where the layout will be. */
    readonly dir: string,
    /** Where it is written now: `dir` for an existing layout, a temp sibling for a new one. */
    readonly workDir: string,
    private readonly fresh: boolean,
  ) {}

  /**
   * Open an existing layout for writing, or prepare a new one. A non-empty folder that is not a layout
   * is refused (nothing is written into it).
   */
  /** Whether `open` would accept `dir`: 'existing' layout, 'new' (absent or empty folder); throws otherwise. Writes nothing. */
  static async check(dir: string): Promise<'existing' | 'new'> {
    const abs = path.resolve(dir);
    let st;
    try {
      st = await stat(abs);
    } catch {
      return 'new';
    }
    if (!st.isDirectory()) throw layoutError(dir, 'exists and is not a folder', 'choose a new folder or an existing OCI layout for --output-layout');
    if (await isLayout(abs)) {
      await readIndex(abs);
      return 'existing';
    }
    if ((await readdir(abs)).length > 0) throw layoutError(dir, 'is a folder with other files in it, not an OCI layout', 'choose an empty or new folder, or an existing OCI layout');
    return 'new';
  }

  static async open(dir: string): Promise<LayoutWriter> {
    const abs = path.resolve(dir);
    if ((await LayoutWriter.check(abs)) === 'existing') {
      await mkdir(path.join(abs, 'blobs', 'sha256'), { recursive: true });
      return new LayoutWriter(abs, abs, false);
    }
    await mkdir(path.dirname(abs), { recursive: true });
    const work = `${abs}.cleanimg-${randomBytes(6).toString('hex')}.tmp`;
    await mkdir(path.join(work, 'blobs', 'sha256'), { recursive: true });
    await writeFile(path.join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: IMAGE_LAYOUT_VERSION }));
    await writeFile(path.join(work, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }));
    return new LayoutWriter(abs, work, true);
  }

  private blob(digest: string): string {
    return blobPath(this.workDir, digest);
  }

  private tmpName(): string {
    return path.join(this.workDir, 'blobs', 'sha256', `.tmp-${randomBytes(8).toString('hex')}`);
  }

  async hasBlob(digest: string): Promise<boolean> {
    return exists(this.blob(digest));
  }

  /** Write bytes as a blob (verified against `digest` when given). Returns its descriptor fields. */
  async putBytes(bytes: Uint8Array, digest?: string): Promise<{ digest: string; size: number }> {
    const d = sha256(bytes);
    if (digest && d !== digest) throw layoutError(this.dir, `blob content ${d} does not match ${digest}`, 'this is a bug; report it', 'LAYOUT005');
    if (!(await this.hasBlob(d))) {
      const tmp = this.tmpName();
      await writeFile(tmp, bytes, { mode: 0o644 });
      await rename(tmp, this.blob(d));
    }
    return { digest: d, size: bytes.length };
  }

  /**
   * Add a file whose digest is already known (e.g. a freshly built layer). With `move`, the file is
   * renamed into place (copied across filesystems) and no longer exists at `file`.
   */
  async putFile(file: string, digest: string, opts: { move?: boolean } = {}): Promise<string> {
    const dest = this.blob(digest);
    if (await exists(dest)) {
      if (opts.move) await unlink(file).catch(() => undefined);
      return dest;
    }
    if (opts.move) {
      try {
        await rename(file, dest);
        return dest;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      }
    }
    const tmp = this.tmpName();
    await copyFile(file, tmp, fsc.COPYFILE_FICLONE);
    await rename(tmp, dest);
    if (opts.move) await unlink(file);
    return dest;
  }

  /** Add a blob from another layout: hard link when possible (same filesystem), else copy. */
  async linkFrom(source: LayoutImageSource, digest: string): Promise<void> {
    const dest = this.blob(digest);
    if (await exists(dest)) return;
    const src = blobPath(source.dir, digest);
    if (!(await exists(src))) throw layoutError(source.dir, `has no blob ${digest}`, 'the base layout is incomplete; copy the base image into it again', 'LAYOUT003');
    const tmp = this.tmpName();
    try {
      await link(src, tmp);
    } catch {
      await copyFile(src, tmp, fsc.COPYFILE_FICLONE);
    }
    await rename(tmp, dest);
  }

  /** Add a blob from a stream, verifying its digest before it gets its name. */
  async putStream(stream: NodeJS.ReadableStream, digest: string): Promise<void> {
    const dest = this.blob(digest);
    if (await exists(dest)) return;
    const tmp = this.tmpName();
    const fh = await open(tmp, 'wx', 0o644);
    const h = createHash('sha256');
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        h.update(chunk);
        await fh.write(chunk);
      }
    } finally {
      await fh.close();
    }
    const got = `sha256:${h.digest('hex')}`;
    if (got !== digest) {
      await unlink(tmp).catch(() => undefined);
      throw layoutError(this.dir, `downloaded blob has content ${got}, expected ${digest}`, 'the source served wrong bytes; try again or check the source', 'LAYOUT005');
    }
    await rename(tmp, dest);
  }

  /**
   * Point `tag` at a manifest (replacing any entry with that tag) and make the layout visible. Every blob
   * the manifest needs must already be in place. For a new layout, the temp folder is renamed to `dir`.
   */
  async commit(manifest: Descriptor, tag: string): Promise<void> {
    if (!isValidRefName(tag)) {
      throw layoutError(this.dir, `"${tag}" is not a valid ref name`, 'use letters, digits and . _ - : @ + / between them, e.g. 15-custom');
    }
    if (!(await this.hasBlob(manifest.digest))) throw layoutError(this.dir, `manifest ${manifest.digest} is not in the layout`, 'write the manifest blob before tagging it', 'LAYOUT003');
    const idx = await readIndex(this.workDir);
    const manifests = idx.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== tag);
    const entry: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, annotations: { [REF_NAME_ANNOTATION]: tag } };
    if (manifest.platform) entry.platform = manifest.platform;
    manifests.push(entry);
    const next: ImageIndex = { schemaVersion: 2, mediaType: idx.mediaType ?? MediaType.OciIndex, manifests };
    if (idx.annotations) next.annotations = idx.annotations;
    const tmp = path.join(this.workDir, `.index.json.${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(tmp, JSON.stringify(next, null, 2) + '\n');
    await rename(tmp, path.join(this.workDir, 'index.json'));
    if (this.fresh) {
      // rename(2) replaces an empty folder; a folder that gained files meanwhile makes this fail, safely.
      try {
        await rename(this.workDir, this.dir);
      } catch (e) {
        await this.abort();
        throw layoutError(this.dir, `could not be created (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'choose a new or empty folder for --output-layout');
      }
    }
  }

  /** Throw away a new layout's temp folder (an existing layout keeps its blobs, which are harmless). */
  async abort(): Promise<void> {
    if (this.fresh) await rm(this.workDir, { recursive: true, force: true });
  }
}
