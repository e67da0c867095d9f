/**
 * JSON bytes as Go's encoding/json writes them for the structs cosign and go-containerregistry use,
 * so our signature manifests, configs and payloads are byte-for-byte what cosign would write.
 *
 * Go differs from JSON.stringify in: struct field order (fixed by the struct, not the input),
 * map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped as \u003c etc., omitted empty fields.
 */
import type { Descriptor } from '../types';

/** A string as Go's json.Marshal writes it (with its default HTML escaping). */
export function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Any JSON value, maps with sorted keys (Go's map[string]T / map[string]any). */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(goValue).join(',')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v as object).sort();
    return `{${keys.map((k) => `${goString(k)}:${goValue((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  throw new TypeError(`cannot encode ${typeof v} as JSON`);
}

/** Fields in order; `undefined` values are left out (Go's omitempty for our purposes). */
export function goObject(fields: [string, string | undefined][]): string {
  return `{${fields.filter(([, v]) => v !== undefined).map(([k, v]) => `${goString(k)}:${v}`).join(',')}}`;
}

const nonEmptyMap = (m: Record<string, string> | undefined) => (m && Object.keys(m).length ? goValue(m) : undefined);
const nonEmptyString = (s: unknown) => (typeof s === 'string' && s !== '' ? goString(s) : undefined);
const nonEmptyArray = (a: unknown) => (Array.isArray(a) && a.length ? goValue(a) : undefined);

/** go-containerregistry v1.Descriptor. */
export function goDescriptor(d: Descriptor & { data?: string }): string {
  return goObject([
    ['mediaType', goString(d.mediaType)],
    ['size', JSON.stringify(d.size)],
    ['digest', goString(d.digest)],
    ['data', nonEmptyString(d.data)],
    ['urls', nonEmptyArray(d.urls)],
    ['annotations', nonEmptyMap(d.annotations)],
    ['platform', d.platform ? goPlatform(d.platform as unknown as Record<string, unknown>) : undefined],
    ['artifactType', nonEmptyString(d.artifactType)],
  ]);
}

function goPlatform(p: Record<string, unknown>): string {
  return goObject([
    ['architecture', goString(String(p.architecture ?? ''))],
    ['os', goString(String(p.os ?? ''))],
    ['os.version', nonEmptyString(p['os.version'])],
    ['os.features', nonEmptyArray(p['os.features'])],
    ['variant', nonEmptyString(p.variant)],
    ['features', nonEmptyArray(p.features)],
  ]);
}

/** The manifest fields go-containerregistry's v1.Manifest serializes. */
export interface GoManifestFields {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  subject?: Descriptor;
  artifactType?: string;
}

/** go-containerregistry v1.Manifest. */
export function goManifest(m: GoManifestFields): string {
  return goObject([
    ['schemaVersion', JSON.stringify(m.schemaVersion)],
    ['mediaType', nonEmptyString(m.mediaType)],
    ['config', goDescriptor(m.config)],
    ['layers', m.layers.length ? `[${m.layers.map(goDescriptor).join(',')}]` : 'null'],
    ['annotations', nonEmptyMap(m.annotations)],
    ['subject', m.subject ? goDescriptor(m.subject) : undefined],
    ['artifactType', nonEmptyString(m.artifactType)],
  ]);
}

/** Go's zero time.Time as JSON: what v1.Time writes for a missing `created`. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

function goHistory(h: Record<string, unknown>): string {
  return goObject([
    ['author', nonEmptyString(h.author)],
    ['created', goString(typeof h.created === 'string' ? h.created : GO_ZERO_TIME)],
    ['created_by', nonEmptyString(h.created_by)],
    ['comment', nonEmptyString(h.comment)],
    ['empty_layer', h.empty_layer === true ? 'true' : undefined],
  ]);
}

/** The v1.Config fields in struct order, with how each is written when non-empty. */
const CONFIG_FIELDS: [string, 'bool' | 'strings' | 'string' | 'map' | 'set' | 'int' | 'health'][] = [
  ['AttachStderr', 'bool'],
  ['AttachStdin', 'bool'],
  ['AttachStdout', 'bool'],
  ['Cmd', 'strings'],
  ['Healthcheck', 'health'],
  ['Domainname', 'string'],
  ['Entrypoint', 'strings'],
  ['Env', 'strings'],
  ['Hostname', 'string'],
  ['Image', 'string'],
  ['Labels', 'map'],
  ['OnBuild', 'strings'],
  ['OpenStdin', 'bool'],
  ['StdinOnce', 'bool'],
  ['Tty', 'bool'],
  ['User', 'string'],
  ['Volumes', 'set'],
  ['WorkingDir', 'string'],
  ['ExposedPorts', 'set'],
  ['ArgsEscaped', 'bool'],
  ['NetworkDisabled', 'bool'],
  ['MacAddress', 'string'],
  ['StopSignal', 'string'],
  ['Shell', 'strings'],
];

function goContainerConfig(c: Record<string, unknown>): string {
  return goObject(
    CONFIG_FIELDS.map(([k, kind]) => {
      const v = c[k];
      switch (kind) {
        case 'bool':
          return [k, v === true ? 'true' : undefined];
        case 'string':
          return [k, nonEmptyString(v)];
        case 'strings':
          return [k, nonEmptyArray(v)];
        case 'map':
          return [k, v && typeof v === 'object' && Object.keys(v).length ? goValue(v) : undefined];
        case 'set':
          return [k, v && typeof v === 'object' && Object.keys(v).length ? goValue(Object.fromEntries(Object.keys(v).map((x) => [x, {}]))) : undefined];
        case 'health':
          return [k, v && typeof v === 'object' ? goValue(v) : undefined];
        default:
          return [k, undefined];
      }
    }),
  );
}

/** go-containerregistry v1.ConfigFile: unknown fields are dropped, as Go's struct decoding drops them. */
export function goConfigFile(cf: Record<string, unknown>): string {
  const rootfs = (cf.rootfs ?? {}) as { type?: unknown; diff_ids?: unknown };
  const diffIds = Array.isArray(rootfs.diff_ids) ? (rootfs.diff_ids as string[]) : [];
  const history = Array.isArray(cf.history) ? (cf.history as Record<string, unknown>[]) : [];
  return goObject([
    ['architecture', goString(typeof cf.architecture === 'string' ? cf.architecture : '')],
    ['author', nonEmptyString(cf.author)],
    ['container', nonEmptyString(cf.container)],
    ['created', goString(typeof cf.created === 'string' ? cf.created : GO_ZERO_TIME)],
    ['docker_version', nonEmptyString(cf.docker_version)],
    ['history', history.length ? `[${history.map(goHistory).join(',')}]` : undefined],
    ['os', goString(typeof cf.os === 'string' ? cf.os : '')],
    [
      'rootfs',
      goObject([
        ['type', goString(typeof rootfs.type === 'string' ? rootfs.type : '')],
        ['diff_ids', diffIds.length ? goValue(diffIds) : 'null'],
      ]),
    ],
    ['config', goContainerConfig((cf.config ?? {}) as Record<string, unknown>)],
    ['os.version', nonEmptyString(cf['os.version'])],
    ['variant', nonEmptyString(cf.variant)],
    ['os.features', nonEmptyArray(cf['os.features'])],
  ]);
}
