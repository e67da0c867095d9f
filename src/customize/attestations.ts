/**
 * Attestations of an overlay, as in-toto statements about the pushed image:
 *
 * - a CycloneDX 1.6 SBOM of what the overlay added (predicate type `https://cyclonedx.org/bom`): the
 *   image as the BOM's subject, the base image as its one dependency, and one `file` component per
 *   file of the layer with its SHA-256, size and mode, read from the layer blob itself;
 * - a SLSA provenance v1 statement (`https://slsa.dev/provenance/v1`): the spec (as validated) as
 *   the external parameters, the base and every input file (its SHA-256, from the layer) as resolved
 *   dependencies, cleanimg-customize as the builder.
 *
 * Same spec, same inputs, same base → the same statement bytes: the only time is SOURCE_DATE_EPOCH
 * (0 unless set), the SBOM's serial number is derived from the image digest, and lists are sorted.
 * cosign reads them with `cosign verify-attestation --type cyclonedx|slsaprovenance1`; they are signed
 * and attached by oci/signing/attest.ts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as path from 'node:path';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import type { BuildOverlayResult } from './build';

export const CYCLONEDX_PREDICATE_TYPE = 'https://cyclonedx.org/bom';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const BUILD_TYPE = 'https://cleanimg.dev/customize/build/v1';
const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

export interface LayerFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly mode: number;
}

export interface Attestation {
  readonly predicateType: string;
  /** The in-toto statement's bytes. */
  readonly statement: Buffer;
}

/** Every regular file of a gzip layer blob, with its SHA-256 (hex), sorted by path. */
export async function layerFiles(blobPath: string): Promise<LayerFile[]> {
  const files: LayerFile[] = [];
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    if (h.type !== 'file') {
      stream.resume();
      stream.on('end', next);
      return;
    }
    const hash = createHash('sha256');
    let size = 0;
    stream.on('data', (c: unknown) => {
      hash.update(c as Buffer);
      size += (c as Buffer).length;
    });
    stream.on('end', () => {
      files.push({ path: `/${h.name.replace(/^\.?\/+/, '')}`, sha256: hash.digest('hex'), size, mode: (h.mode ?? 0) & 0o7777 });
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    const src = createReadStream(blobPath).on('error', reject);
    src.pipe(createGunzip()).on('error', reject).pipe(extract);
  });
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function statement(subjectName: string, digest: string, predicateType: string, predicate: unknown): Buffer {
  return Buffer.from(JSON.stringify({ _type: STATEMENT_TYPE, subject: [{ name: subjectName, digest: { sha256: digest.slice('sha256:'.length) } }], predicateType, predicate }), 'utf8');
}

/** A UUID (version 4 layout) derived from `seed`, so the same image gets the same SBOM serial number. */
function derivedUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The CycloneDX 1.6 SBOM of the overlay (JSON text). The library is loaded only here (~150 ms). */
export function cyclonedxSbom(imageName: string, imageDigest: string, build: Pick<BuildOverlayResult, 'base' | 'sourceDateEpoch'>, files: readonly LayerFile[]): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const CDX = require('@cyclonedx/cyclonedx-library') as typeof import('@cyclonedx/cyclonedx-library');
  const bom = new CDX.Models.Bom();
  bom.serialNumber = `urn:uuid:${derivedUuid(imageDigest)}`;
  bom.metadata.timestamp = new Date(build.sourceDateEpoch * 1000);
  bom.metadata.tools.components.add(new CDX.Models.Component(CDX.Enums.ComponentType.Application, 'cleanimg-customize', { bomRef: 'tool:cleanimg-customize' }));
  const image = new CDX.Models.Component(CDX.Enums.ComponentType.Container, imageName, { version: imageDigest, bomRef: 'image' });
  bom.metadata.component = image;
  const base = new CDX.Models.Component(CDX.Enums.ComponentType.Container, build.base.name, { version: build.base.manifestDigest, bomRef: 'base', description: `the base image, ${build.base.reference}` });
  bom.components.add(base);
  image.dependencies.add(base.bomRef);
  for (const f of files) {
    const c = new CDX.Models.Component(CDX.Enums.ComponentType.File, f.path, { bomRef: `file:${f.path}` });
    c.hashes.set(CDX.Enums.HashAlgorithm['SHA-256'], f.sha256);
    c.properties.add(new CDX.Models.Property('cleanimg:size', String(f.size)));
    c.properties.add(new CDX.Models.Property('cleanimg:mode', f.mode.toString(8).padStart(4, '0')));
    bom.components.add(c);
    image.dependencies.add(c.bomRef);
  }
  const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6));
  return JSON.parse(serializer.serialize(bom, { sortLists: true }));
}

/** The SLSA provenance v1 predicate of the build. */
export function slsaProvenance(build: Pick<BuildOverlayResult, 'base' | 'spec' | 'specDigest' | 'sourceDateEpoch' | 'layer'>, files: readonly LayerFile[], builderVersion: string, specDir: string): unknown {
  const byDest = new Map(files.map((f) => [f.path, f]));
  const inputs = build.layer.entries
    .filter((e) => e.kind === 'file' && e.source && byDest.has(e.path))
    .map((e) => ({ name: path.relative(specDir, e.source!).split(path.sep).join('/'), digest: { sha256: byDest.get(e.path)!.sha256 }, annotations: { destination: e.path } }))
    .sort((a, b) => (a.annotations.destination < b.annotations.destination ? -1 : 1));
  const time = new Date(build.sourceDateEpoch * 1000).toISOString();
  const { text: baseText } = build.spec.base_image;
  return {
    buildDefinition: {
      buildType: BUILD_TYPE,
      externalParameters: { spec: { ...build.spec, base_image: baseText } },
      internalParameters: { specDigest: build.specDigest, sourceDateEpoch: build.sourceDateEpoch },
      resolvedDependencies: [
        { uri: `oci://${build.base.reference}`, digest: { sha256: build.base.manifestDigest.slice('sha256:'.length) } },
        ...inputs,
      ],
    },
    runDetails: {
      builder: { id: `https://cleanimg.dev/cleanimg-customize@${builderVersion}` },
      metadata: { invocationId: `${build.specDigest}`, startedOn: time, finishedOn: time },
    },
  };
}

/** Both statements for the pushed image `imageName@imageDigest`. */
export async function overlayAttestations(build: BuildOverlayResult, imageName: string, imageDigest: string, builderVersion: string, specDir: string): Promise<Attestation[]> {
  const files = await layerFiles(build.layer.path);
  return [
    { predicateType: CYCLONEDX_PREDICATE_TYPE, statement: statement(imageName, imageDigest, CYCLONEDX_PREDICATE_TYPE, cyclonedxSbom(imageName, imageDigest, build, files)) },
    { predicateType: SLSA_PROVENANCE_V1, statement: statement(imageName, imageDigest, SLSA_PROVENANCE_V1, slsaProvenance(build, files, builderVersion, specDir)) },
  ];
}
