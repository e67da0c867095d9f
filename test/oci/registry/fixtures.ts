/** Small OCI images made in memory for client tests: one gzip layer with the given files, a config and a manifest. */
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { sha256Digest } from '../../../src/oci/digest';
import { MediaType, type ImageConfig, type ImageManifest } from '../../../src/oci/types';

export interface Blob {
  bytes: Buffer;
  digest: string;
  size: number;
}

export const blobOf = (bytes: Buffer): Blob => ({ bytes, digest: sha256Digest(bytes), size: bytes.length });

export async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const [name, content] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    p.entry({ name: name.replace(/^\//, ''), mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, content);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface TestImage {
  layer: Blob;
  config: Blob;
  manifest: Blob;
  mediaType: string;
}

export async function makeImage(files: Record<string, string>, opts: { docker?: boolean } = {}): Promise<TestImage> {
  const tar = await tarOf(files);
  const layer = blobOf(gzipSync(tar, { level: 6 }));
  const cfg: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    created: '1970-01-01T00:00:00Z',
    config: { User: '65532:65532', Env: ['PATH=/usr/bin'] },
    rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
    history: [{ created: '1970-01-01T00:00:00Z', created_by: 'cleanimg test' }],
  };
  const config = blobOf(Buffer.from(JSON.stringify(cfg)));
  const mediaType = opts.docker ? MediaType.DockerManifest : MediaType.OciManifest;
  const m: ImageManifest = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: opts.docker ? MediaType.DockerConfig : MediaType.OciConfig, digest: config.digest, size: config.size },
    layers: [{ mediaType: opts.docker ? MediaType.DockerLayerGzip : MediaType.OciLayerGzip, digest: layer.digest, size: layer.size }],
  };
  return { layer, config, manifest: blobOf(Buffer.from(JSON.stringify(m))), mediaType };
}
