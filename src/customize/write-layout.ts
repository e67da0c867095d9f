/**
 * buildOverlay's --output-layout: the image written into an OCI image layout (created, or an existing
 * one updated), complete for skopeo and umoci, so with the base's layer blobs too: hard-linked from a
 * base layout on disk, else downloaded from the base's source and verified (see build.ts). All of it
 * goes through LayoutWriter, which commits at the end or leaves the folder as it was.
 */
import * as path from 'node:path';
import type { AppendResult } from '../oci/image';
import { isStreamingSource, LayoutImageSource, LayoutWriter } from '../oci/layout';
import type { ImageManifest, ImageSource, Platform } from '../oci/types';
import type { PlatformChosen } from './build';

/** The layer's blob file: where it is, and whether the build still owns it (moved into the layout: not any more). */
export interface LayerFile {
  path: string;
  owned: boolean;
}

/**
 * Writes the base's layers, the config, the layer and the manifest, then names the manifest `tag` in
 * the layout's index. The layer file moves into the layout when the build owns it (else it is copied
 * or linked, e.g. from the layer cache); `file` follows it.
 */
export async function writeOutputLayout(
  dir: string,
  tag: string,
  source: ImageSource,
  base: { readonly manifest: ImageManifest; readonly chosen: PlatformChosen },
  img: AppendResult,
  file: LayerFile,
): Promise<{ dir: string; tag: string }> {
  const writer = await LayoutWriter.open(dir);
  try {
    for (const d of base.manifest.layers) {
      if (await writer.hasBlob(d.digest)) continue;
      if (source instanceof LayoutImageSource) await writer.linkFrom(source, d.digest);
      else if (isStreamingSource(source)) await writer.putStream(await source.openBlob(d.digest), d.digest);
      else await writer.putBytes(await source.getBlob(d.digest), d.digest);
    }
    await writer.putBytes(img.configBytes, img.configDescriptor.digest);
    file.path = await writer.putFile(file.path, img.layerDescriptor.digest, { move: file.owned });
    file.owned = false; // the writer has it now (a failed commit removes it with the rest)
    await writer.putBytes(img.manifestBytes, img.manifestDigest);
    const platform: Platform = { ...base.chosen.platform };
    await writer.commit({ mediaType: img.manifestMediaType, digest: img.manifestDigest, size: img.manifestBytes.length, platform }, tag);
  } catch (e) {
    await writer.abort();
    throw e;
  }
  // The blob now lives in the output layout: in a fresh layout it moved with the folder rename.
  file.path = path.join(path.resolve(dir), 'blobs', 'sha256', img.layerDescriptor.digest.slice('sha256:'.length));
  return { dir: path.resolve(dir), tag };
}
