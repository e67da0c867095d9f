/**
 * Per-environment configuration: non-secret files in an immutable ConfigMap whose name carries a
 * hash of its content (like kustomize's configMapGenerator, so a change rolls the Deployment and the
 * old ConfigMap stays for rollback), and secrets only by reference to a Secret that already exists.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CleanimgError } from '../errors';
import { checkObject } from '../rules';
import { sealAttachment } from './attachment';
import type { EnvConfigAttachment } from './props';
import { TOKEN_PATH } from '../rules/shape-rules';
import { absolutePath, dnsLabel, parseProps } from './props-schema';

/** A Secret that exists in the cluster (made by External Secrets, Sealed Secrets, an operator, Pulumi...). */
export interface SecretReference {
  /** Name of the existing Secret. */
  readonly secretName: string;
  /** Directory where its keys appear as read-only files. */
  readonly mountPath: string;
  /** Mount only these keys. @default all keys */
  readonly keys?: readonly string[];
  /** Start even if the Secret does not exist yet. @default false */
  readonly optional?: boolean;
}

export interface EnvConfigProps {
  /** Base name; the ConfigMap is named `<name>-<content hash>`. */
  readonly name: string;
  /** @default the namespace of the kubeconfig context */
  readonly namespace?: string;
  /** Non-secret files: key (file name) to content. Secret-looking keys and values are refused. @default none (no ConfigMap) */
  readonly data?: Readonly<Record<string, string>>;
  /** Directory where all `data` keys appear as read-only files. @default `/etc/<name>` unless `fileMounts` is given */
  readonly mountPath?: string;
  /** Single keys mounted at exact paths (e.g. `{ 'nginx.conf': '/etc/nginx/nginx.conf' }`). @default none */
  readonly fileMounts?: Readonly<Record<string, string>>;
  /** Keys exposed as environment variables: env name to key. @default none */
  readonly envKeys?: Readonly<Record<string, string>>;
  /** Secrets mounted as read-only files. Never env vars, never literal data. @default none */
  readonly secrets?: readonly SecretReference[];
  /** Extra labels on the ConfigMap. @default none */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface EnvConfigResult extends EnvConfigAttachment {
  /** The generated ConfigMap, or undefined when there is no data. */
  readonly configMap?: Record<string, unknown>;
  /** Its hashed name. */
  readonly configMapName?: string;
}

const dnsSubdomain = z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a DNS subdomain name');
const configKey = z.string().max(253).regex(/^[-._a-zA-Z0-9]+$/, 'must consist of letters, digits, "-", "_" and "."')
  .refine((k) => k !== '.' && k !== '..', 'must not be "." or ".." (the API server refuses them)');

/** Where an attachment mounts: never at or under the service-account token's directory (HD032). */
const TOKEN_DIR = new RegExp(TOKEN_PATH);
const mountTarget = absolutePath.refine((p) => !TOKEN_DIR.test(p), {
  error: 'is at or under the service-account token directory (/var/run/secrets/kubernetes.io): a mount there would put a token where clients look for one',
  params: { rule: 'HD032' },
});

const schema = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/, 'must be a DNS label of at most 42 characters (a hash suffix is added)'),
  namespace: dnsLabel.optional(),
  data: z.record(configKey, z.string()).optional(),
  mountPath: mountTarget.optional(),
  fileMounts: z.record(configKey, mountTarget).optional(),
  envKeys: z.record(z.string().regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/), configKey).optional(),
  secrets: z.array(z.strictObject({
    secretName: dnsSubdomain,
    mountPath: mountTarget,
    keys: z.array(configKey).min(1).optional(),
    optional: z.boolean().optional(),
  })).optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

/** The content hash used in ConfigMap names: 10 hex characters of SHA-256 over the sorted data. */
export function contentHash(data: Readonly<Record<string, string>>): string {
  const canonical = JSON.stringify(Object.keys(data).sort().map((k) => [k, data[k]]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 10);
}

/** Builds the ConfigMap and the mounts a container needs for this configuration. */
export function envConfig(props: EnvConfigProps): EnvConfigResult {
  const p = parseProps(schema, props, `EnvConfig ${JSON.stringify((props as { name?: unknown })?.name ?? '')}`);
  const data = p.data ?? {};
  const keys = Object.keys(data);
  const problems = [];
  for (const [what, map] of [['fileMounts', p.fileMounts ?? {}], ['envKeys', p.envKeys ?? {}]] as const) {
    for (const [k, v] of Object.entries(map)) {
      const key = what === 'fileMounts' ? k : v;
      if (!(key in data)) problems.push({ code: 'PROP003', path: `${what}.${k}`, message: `key ${JSON.stringify(key)} is not in data`, fix: `add it to data or remove it from ${what}` });
    }
  }
  if (keys.length === 0 && (p.mountPath || p.fileMounts || p.envKeys))
    problems.push({ code: 'PROP003', path: 'data', message: 'mountPath, fileMounts or envKeys are set but data is empty', fix: 'add data or remove them' });
  if (problems.length) throw new CleanimgError(`EnvConfig ${JSON.stringify(p.name)}: ${problems.length} invalid prop${problems.length === 1 ? '' : 's'}:`, problems);

  const volumes: Record<string, unknown>[] = [];
  const volumeMounts: Record<string, unknown>[] = [];
  const env: Record<string, unknown>[] = [];
  let configMap: Record<string, unknown> | undefined;
  let configMapName: string | undefined;

  if (keys.length > 0) {
    configMapName = `${p.name}-${contentHash(data)}`;
    configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: configMapName,
        ...(p.namespace ? { namespace: p.namespace } : {}),
        labels: { 'app.kubernetes.io/part-of': p.name, 'app.kubernetes.io/managed-by': 'cleanimg', ...p.labels },
      },
      immutable: true,
      data: Object.fromEntries(keys.sort().map((k) => [k, data[k]!])),
    };
    const violations = checkObject(configMap as never);
    if (violations.length) {
      throw new CleanimgError(`EnvConfig ${JSON.stringify(p.name)}: data breaks ${violations.length === 1 ? 'a rule' : 'rules'}:`,
        violations.map((v) => ({ ...v, path: `data${v.path.replace(/^\/data\//, '.').replace(/~1/g, '/').replace(/~0/g, '~')}` })));
    }
    const volumeName = `${p.name}-config`;
    volumes.push({ name: volumeName, configMap: { name: configMapName } });
    const dir = p.mountPath ?? (p.fileMounts ? undefined : `/etc/${p.name}`);
    if (dir) volumeMounts.push({ name: volumeName, mountPath: dir, readOnly: true });
    for (const [key, path] of Object.entries(p.fileMounts ?? {})) volumeMounts.push({ name: volumeName, mountPath: path, subPath: key, readOnly: true });
    for (const [envName, key] of Object.entries(p.envKeys ?? {})) env.push({ name: envName, valueFrom: { configMapKeyRef: { name: configMapName, key } } });
  }
  (p.secrets ?? []).forEach((s, i) => {
    const volumeName = `${p.name}-secret-${i}`;
    volumes.push({
      name: volumeName,
      secret: {
        secretName: s.secretName,
        defaultMode: 0o440,
        ...(s.keys ? { items: s.keys.map((k) => ({ key: k, path: k })) } : {}),
        ...(s.optional ? { optional: true } : {}),
      },
    });
    volumeMounts.push({ name: volumeName, mountPath: s.mountPath, readOnly: true });
  });
  return { configMap, configMapName, ...sealAttachment({ volumes, volumeMounts, env }) };
}
