/**
 * Attachments are nominal: what a container's `config` accepts must have been made by this
 * library (an EnvConfig), not merely look like it. A look-alike plain object could otherwise add a
 * projected service-account-token volume, mount over the token path, or pull env vars from any
 * ConfigMap key.
 *
 * Every attachment the library makes carries a `seal`: an HMAC (SHA-256) of its volumes, mounts
 * and env under a key drawn at random when this module loads and never exported. The seal survives
 * copies (Pulumi copies values through Outputs) but not a change of content, and nobody without the
 * key can make one. The content is also checked against the only shapes an EnvConfig produces, so
 * even a sealed attachment cannot carry anything else.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Problem } from '../errors';
import type { EnvConfigAttachment } from './props';

const KEY = randomBytes(32);

/** The canonical text of an attachment's content: keys sorted at every level. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'undefined';
}

function sealOf(a: Pick<EnvConfigAttachment, 'volumes' | 'volumeMounts' | 'env'>): string {
  return createHmac('sha256', KEY).update(canonical([a.volumes, a.volumeMounts, a.env])).digest('base64url');
}

/** Seals what an EnvConfig made. Internal to the library: not exported from any package entry point. */
export function sealAttachment<T extends Omit<EnvConfigAttachment, 'seal'>>(a: T): T & { readonly seal: string } {
  return { ...a, seal: sealOf(a) };
}

/** The only volume, mount and env shapes an EnvConfig produces. */
const name = z.string().min(1).max(253);
const keyItems = z.array(z.strictObject({ key: name, path: name })).min(1);
const configMapVolume = z.strictObject({ name, configMap: z.strictObject({ name }) });
const secretVolume = z.strictObject({
  name,
  secret: z.strictObject({ secretName: name, defaultMode: z.literal(0o440), items: keyItems.optional(), optional: z.literal(true).optional() }),
});
const mount = z.strictObject({ name, mountPath: z.string().startsWith('/'), subPath: name.optional(), readOnly: z.literal(true) });
const configMapEnv = z.strictObject({ name, valueFrom: z.strictObject({ configMapKeyRef: z.strictObject({ name, key: name }) }) });
const attachmentShape = z.strictObject({
  volumes: z.array(z.union([configMapVolume, secretVolume])),
  volumeMounts: z.array(mount),
  env: z.array(configMapEnv),
  seal: z.string(),
});

/**
 * Reads `a` as an attachment this library made: a checked copy (so a getter or a Proxy cannot show
 * one content to the check and another to the builder), or the problems. `where` names the prop.
 */
export function readAttachment(a: unknown, where: string): { value?: EnvConfigAttachment; problems: Problem[] } {
  const fix = 'pass an EnvConfig (cdk8s or Pulumi) made by cleanimg; a hand-made or modified object is not accepted';
  if (!a || typeof a !== 'object') return { problems: [{ code: 'PROP007', path: where, message: 'config entries must be EnvConfigs', fix }] };
  let parsed;
  try {
    const o = a as EnvConfigAttachment;
    parsed = attachmentShape.safeParse({ volumes: o.volumes, volumeMounts: o.volumeMounts, env: o.env, seal: o.seal });
  } catch (e) {
    return { problems: [{ code: 'PROP007', path: where, message: `reading it failed: ${(e as Error).message}`, fix }] };
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { problems: [{ code: 'PROP007', path: where, message: `not an EnvConfig: ${issue.message} at ${issue.path.join('.') || 'the top'}`, fix }] };
  }
  if (parsed.data.seal !== sealOf(parsed.data)) return { problems: [{ code: 'PROP007', path: where, message: 'not an EnvConfig made by cleanimg, or changed after it was made', fix }] };
  return { value: parsed.data, problems: [] };
}
