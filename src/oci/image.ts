/**
 * Pure image transformations, after go-containerregistry's mutate.Append: the base's layers are
 * referenced unchanged, one layer is appended, the config is rewritten with fixed times, and the
 * manifest keeps the base's media type family (OCI or Docker v2).
 *
 * Everything is serialised as canonical JSON (keys sorted at every level, no whitespace), so the same
 * inputs always give the same bytes and digests.
 *
 * A Docker v2 base can be written as OCI on request (`outputFamily: 'oci'`): the base layers keep their
 * bytes and digests, only their descriptors' media types change (as `skopeo copy --format oci` does).
 * OCI image layouts need this, because skopeo and umoci ignore Docker manifests inside them.
 *
 * Docker v2 manifests have no `annotations` field in their schema. distribution 2.8.2 accepts one
 * anyway (checked here: PUT answered 201 and the bytes came back as sent), but Docker tooling ignores
 * it and registries that validate the schema strictly may refuse it. So for a Docker base the base
 * name/digest and the spec's annotations are written as config labels instead, and a warning says so.
 */
import { CleanimgError } from '../errors';
import { MediaType, type Descriptor, type HistoryEntry, type ImageConfig, type ImageManifest } from './types';
import { sha256Digest } from './digest';

export type ManifestFamily = 'oci' | 'docker';

export const ANNOTATION_BASE_DIGEST = 'org.opencontainers.image.base.digest';
export const ANNOTATION_BASE_NAME = 'org.opencontainers.image.base.name';
export const CREATED_BY = 'cleanimg-customize build';

export { sha256Digest };

/** JSON with object keys sorted at every level and no insignificant whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('canonicalJson: non-finite number');
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

/** OCI or Docker v2, from a manifest's media type (its header or its `mediaType` field). */
export function manifestFamily(mediaType: string | undefined): ManifestFamily {
  if (mediaType === MediaType.DockerManifest) return 'docker';
  if (mediaType === MediaType.OciManifest || mediaType === undefined) return 'oci';
  throw new CleanimgError('unsupported base manifest', [
    {
      code: 'IMAGE001',
      path: 'base_image',
      message: `the base manifest has media type ${mediaType}`,
      fix: `use a base image whose manifest is ${MediaType.OciManifest} or ${MediaType.DockerManifest}`,
    },
  ]);
}

/** RFC 3339 time of a SOURCE_DATE_EPOCH value, as configs write it (no fractional seconds). */
export function epochToRfc3339(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

export interface AppendInput {
  readonly baseManifest: ImageManifest;
  /** The media type the base manifest was served with (decides the family). */
  readonly baseManifestMediaType: string;
  readonly baseConfig: ImageConfig;
  /** The base as the spec names it, e.g. `cleanstart/postgresql:15-prod`. */
  readonly baseName: string;
  /** Digest of the base's platform manifest (the one whose layers we reuse). */
  readonly baseDigest: string;
  /** The new layer. */
  readonly layer: { readonly digest: string; readonly diffId: string; readonly size: number };
  /** Seconds since the epoch for `created` and the history entry. */
  readonly sourceDateEpoch: number;
  /** Free text for the history entry, e.g. the spec name and digest. */
  readonly comment?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Write the result in this family instead of the base's (converting base layer descriptors). */
  readonly outputFamily?: ManifestFamily;
}

export interface AppendResult {
  readonly family: ManifestFamily;
  readonly config: ImageConfig;
  readonly configBytes: Buffer;
  readonly configDescriptor: Descriptor;
  readonly layerDescriptor: Descriptor;
  readonly manifest: ImageManifest;
  readonly manifestBytes: Buffer;
  readonly manifestMediaType: string;
  readonly manifestDigest: string;
  readonly warnings: readonly string[];
}

function checkBase(m: ImageManifest, c: ImageConfig): void {
  const problems = [];
  if (m.schemaVersion !== 2 || !m.config || !Array.isArray(m.layers)) {
    problems.push({ code: 'IMAGE002', path: 'base_image', message: 'the base manifest is not a schemaVersion 2 image manifest', fix: 'use an OCI or Docker v2 image as base' });
  }
  if (!c.rootfs || !Array.isArray(c.rootfs.diff_ids)) {
    problems.push({ code: 'IMAGE002', path: 'base_image', message: 'the base config has no rootfs.diff_ids', fix: 'use an OCI or Docker v2 image as base' });
  } else if (Array.isArray(m.layers) && c.rootfs.diff_ids.length !== m.layers.length) {
    problems.push({
      code: 'IMAGE002',
      path: 'base_image',
      message: `the base has ${m.layers.length} layers but ${c.rootfs.diff_ids.length} diff_ids`,
      fix: 'the base image is inconsistent; rebuild or choose another base',
    });
  }
  if (problems.length) throw new CleanimgError('the base image cannot be extended', problems);
}

const LAYER_TYPE_PAIRS: readonly [string, string][] = [
  [MediaType.DockerLayerGzip, MediaType.OciLayerGzip],
  ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'],
  ['application/vnd.docker.image.rootfs.diff.tar', MediaType.OciLayer],
];

/** The same layer blob described in the other family (bytes and digest unchanged). */
function convertLayer(d: Descriptor, to: ManifestFamily): Descriptor {
  const pair = LAYER_TYPE_PAIRS.find(([docker, oci]) => (to === 'oci' ? docker : oci) === d.mediaType);
  if (!pair) {
    throw new CleanimgError('cannot convert the base image', [
      {
        code: 'IMAGE003',
        path: 'base_image',
        message: `base layer ${d.digest} has media type ${d.mediaType}, which has no ${to === 'oci' ? 'OCI' : 'Docker v2'} equivalent`,
        fix: 'keep the base image\'s own manifest format',
      },
    ]);
  }
  return { ...d, mediaType: to === 'oci' ? pair[1] : pair[0] };
}

/** Append one layer to a base image: new config and manifest in the base's family. */
export function appendLayer(input: AppendInput): AppendResult {
  const { baseManifest: bm, baseConfig: bc } = input;
  checkBase(bm, bc);
  const baseFamily = manifestFamily(input.baseManifestMediaType ?? bm.mediaType);
  const family = input.outputFamily ?? baseFamily;
  const created = epochToRfc3339(input.sourceDateEpoch);
  const warnings: string[] = [];

  const labels: Record<string, string> = { ...(bc.config?.Labels ?? {}) };
  for (const [k, v] of Object.entries(input.labels ?? {})) labels[k] = v;
  const annotations: Record<string, string> = {};
  const baseAnn = { [ANNOTATION_BASE_DIGEST]: input.baseDigest, [ANNOTATION_BASE_NAME]: input.baseName };
  if (family === 'oci') {
    Object.assign(annotations, input.annotations ?? {}, baseAnn);
  } else {
    Object.assign(labels, baseAnn);
    const extra = Object.entries(input.annotations ?? {});
    for (const [k, v] of extra) if (!(k in labels)) labels[k] = v;
    if (extra.length) warnings.push(`the base is a Docker v2 image, whose manifests have no annotations: ${extra.map(([k]) => k).join(', ')} were written as config labels`);
  }

  const history: HistoryEntry[] = [...(bc.history ?? [])];
  const entry: HistoryEntry = { created, created_by: CREATED_BY };
  if (input.comment) entry.comment = input.comment;
  history.push(entry);

  const innerConfig = { ...(bc.config ?? {}) };
  if (Object.keys(labels).length) innerConfig.Labels = labels;
  const config: ImageConfig = {
    ...bc,
    created,
    config: innerConfig,
    rootfs: { type: 'layers', diff_ids: [...bc.rootfs.diff_ids, input.layer.diffId] },
    history,
  };
  const configBytes = canonicalBytes(config);
  const configDescriptor: Descriptor = {
    mediaType: family === 'oci' ? MediaType.OciConfig : MediaType.DockerConfig,
    digest: sha256Digest(configBytes),
    size: configBytes.length,
  };
  const layerDescriptor: Descriptor = {
    mediaType: family === 'oci' ? MediaType.OciLayerGzip : MediaType.DockerLayerGzip,
    digest: input.layer.digest,
    size: input.layer.size,
  };
  const manifestMediaType = family === 'oci' ? MediaType.OciManifest : MediaType.DockerManifest;
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: manifestMediaType,
    config: configDescriptor,
    layers: [...(family === baseFamily ? bm.layers : bm.layers.map((l) => convertLayer(l, family))), layerDescriptor],
  };
  if (family === 'oci' && baseFamily === 'oci') {
    // Keep the base manifest's own annotations (except the base pointers, which now name the base itself).
    const kept = { ...(bm.annotations ?? {}) };
    delete kept[ANNOTATION_BASE_DIGEST];
    delete kept[ANNOTATION_BASE_NAME];
    manifest.annotations = { ...kept, ...annotations };
  } else if (family === 'oci') {
    manifest.annotations = annotations;
  }
  const manifestBytes = canonicalBytes(manifest);
  return {
    family,
    config,
    configBytes,
    configDescriptor,
    layerDescriptor,
    manifest,
    manifestBytes,
    manifestMediaType,
    manifestDigest: sha256Digest(manifestBytes),
    warnings,
  };
}
