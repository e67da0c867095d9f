import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { envConfig, type EnvConfigResult, type SecretReference } from '../core/env-config';
import type { EnvConfigAttachment } from '../core/props';
import { CleanimgError, type Problem } from '../errors';
import { asOutput, mapKnown, resolveWith, type Known } from './resolve';
import { secretFieldGuard } from './secret-fields';

/** The type token of the EnvConfig component. */
export const ENV_CONFIG_TYPE = 'cleanimg:index:EnvConfig';

/**
 * The annotation on every Secret that an EnvConfig component creates from Pulumi secrets: it tells
 * readers of the cluster where the data came from. It proves nothing to the policy pack (any program
 * can write it); the pack exempts a Secret from HD030 only when its config names it.
 */
export const SECRET_SOURCE_ANNOTATION = 'cleanimg.dev/secret-source';
export const SECRET_SOURCE_PULUMI = 'pulumi-secret';

/** A Secret that this component creates from Pulumi secrets and mounts as read-only files. */
export interface ManagedSecretArgs {
  /** Directory where each key appears as a read-only file. */
  readonly mountPath: string;
  /**
   * Key (file name) to value. Values must come through Pulumi's secret handling:
   * `pulumi.secret(...)`, `config.requireSecret(...)`, a secret output of another resource. A
   * literal string in the program is refused (HD030): it would be committed with the program.
   * The data stays secret in state and outputs.
   */
  readonly data: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Name of the Secret. @default `<name>-secret` */
  readonly secretName?: string;
}

export interface EnvConfigArgs {
  /** Base name: the ConfigMap is named `<name>-<content hash>`. @default the Pulumi resource name */
  readonly name?: string;
  /** @default the namespace of the provider's kubeconfig context */
  readonly namespace?: pulumi.Input<string>;
  /** Non-secret files: key (file name) to content. The keys are plain; the contents may be Outputs (never secret ones: HD031). @default none (no ConfigMap) */
  readonly data?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Directory where all `data` keys appear as read-only files. @default `/etc/<name>` unless `fileMounts` is given */
  readonly mountPath?: string;
  /** Single keys mounted at exact paths. @default none */
  readonly fileMounts?: Readonly<Record<string, string>>;
  /** Keys exposed as environment variables: env name to key. @default none */
  readonly envKeys?: Readonly<Record<string, string>>;
  /** Existing Secrets mounted as read-only files (never env vars). @default none */
  readonly secrets?: readonly SecretReference[];
  /** A Secret made from Pulumi secrets, mounted as read-only files. @default none */
  readonly managedSecret?: ManagedSecretArgs;
  /** Extra labels on the ConfigMap and the managed Secret. @default none */
  readonly labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

/** Every arg EnvConfig reads; any other own key (binaryData, stringData, __proto__, ...) would be dropped silently. */
const ARG_KEYS: ReadonlySet<string> = new Set(['name', 'namespace', 'data', 'mountPath', 'fileMounts', 'envKeys', 'secrets', 'managedSecret', 'labels']);
const MANAGED_SECRET_KEYS: ReadonlySet<string> = new Set(['mountPath', 'data', 'secretName']);

/** PROP001 for each arg EnvConfig does not know (JavaScript callers and casts reach here). */
function unknownArgProblems(args: object, name: string): Problem[] {
  const unknown = (o: object, known: ReadonlySet<string>, at: string) => Reflect.ownKeys(o).filter((k) => typeof k !== 'string' || !known.has(k)).map((k) => ({
    code: 'PROP001', path: `EnvConfig ${JSON.stringify(name)} ${at}${String(k)}`,
    message: `${JSON.stringify(String(k))} is not a known arg`,
    fix: k === 'binaryData' || k === 'stringData' ? 'put files in data (non-secret) or managedSecret.data (secret)' : 'remove it or correct its spelling',
  }));
  const ms = (args as EnvConfigArgs).managedSecret;
  return [...unknown(args, ARG_KEYS, ''), ...(isPlainRecord(ms) ? unknown(ms, MANAGED_SECRET_KEYS, 'managedSecret.') : [])];
}

function literalSecretProblems(data: ManagedSecretArgs['data'], name: string): Problem[] {
  if (pulumi.Output.isInstance(data) || !isPlainRecord(data)) return [];
  return Object.entries(data).flatMap(([key, value]) =>
    typeof value === 'string'
      ? [{
          code: 'HD030', path: `EnvConfig ${JSON.stringify(name)} managedSecret.data.${key}`,
          message: 'a literal secret value in the program would be committed with it',
          fix: 'pass pulumi.secret(...) from a secret source, config.requireSecret(...) or another resource\'s secret output',
        }]
      : []);
}

/** Whether an Input is a Pulumi secret (a plain value never is). */
function isSecretInput(v: unknown): Promise<boolean> {
  return pulumi.Output.isInstance(v) ? pulumi.isSecret(v) : Promise.resolve(false);
}

/**
 * Values that come through Outputs which are not secrets (e.g. `pulumi.output('hunter2')` or another
 * resource's plain output): they would be stored and shown in clear in the state (HD030).
 */
async function notSecretProblems(data: ManagedSecretArgs['data'], name: string): Promise<Problem[]> {
  if (await isSecretInput(data)) return [];
  if (pulumi.Output.isInstance(data) || !isPlainRecord(data)) {
    return [{ code: 'HD030', path: `EnvConfig ${JSON.stringify(name)} managedSecret.data`, message: 'the data is an Output that is not a Pulumi secret, so it would be kept in clear in the state', fix: 'wrap it in pulumi.secret(...) or take it from config.requireSecret(...)' }];
  }
  const out: Problem[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'string' || await isSecretInput(value)) continue;
    out.push({ code: 'HD030', path: `EnvConfig ${JSON.stringify(name)} managedSecret.data.${key}`, message: 'the value is an Output that is not a Pulumi secret, so it would be kept in clear in the state', fix: 'wrap it in pulumi.secret(...) or take it from config.requireSecret(...)' });
  }
  return out;
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && typeof (v as { then?: unknown }).then !== 'function';
}

function secretKeyProblems(keys: readonly string[], name: string): Problem[] {
  const bad = keys.filter((k) => !CONFIG_KEY.test(k)).map((k) => ({
    code: 'PROP002', path: `EnvConfig ${JSON.stringify(name)} managedSecret.data.${k}`,
    message: `key ${JSON.stringify(k)} must consist of letters, digits, "-", "_" and "."`, fix: 'rename the key',
  }));
  if (keys.length === 0) bad.push({ code: 'PROP003', path: `EnvConfig ${JSON.stringify(name)} managedSecret.data`, message: 'the managed secret has no keys', fix: 'add data or remove managedSecret' });
  return bad;
}

/** The Secret object (without data) that the component creates for `managedSecret`. */
export function managedSecretObject(secretName: string, baseName: string, namespace: string | undefined, labels: Record<string, string> | undefined): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName,
      ...(namespace ? { namespace } : {}),
      labels: { 'app.kubernetes.io/part-of': baseName, 'app.kubernetes.io/managed-by': 'cleanimg', ...labels },
      annotations: { [SECRET_SOURCE_ANNOTATION]: SECRET_SOURCE_PULUMI },
    },
    type: 'Opaque',
  };
}

/**
 * Per-environment configuration as a Pulumi component: non-secret files in an immutable ConfigMap
 * named with a hash of its content, existing Secrets by reference, and (Pulumi only) a Secret made
 * from Pulumi secrets; all mounted read-only. Pass it to a container's `config` in a
 * HardenedDeployment. The objects are those of the cdk8s EnvConfig for the same props.
 */
export class EnvConfig extends pulumi.ComponentResource implements PulumiAttachmentSource {
  /** The Kubernetes base name. */
  readonly name: string;
  /** The same as `attachment`, when every input was plain: lets a HardenedDeployment validate at construction. */
  readonly attachmentValue?: EnvConfigAttachment;
  readonly configMap?: k8s.core.v1.ConfigMap;
  /** The Secret made from `managedSecret`. */
  readonly secret?: k8s.core.v1.Secret;
  /** The core's result, when every input was plain. */
  readonly resultValue?: EnvConfigResult;
  private readonly known: Known<EnvConfigResult>;
  private cache: { result?: pulumi.Output<EnvConfigResult>; attachment?: pulumi.Output<EnvConfigAttachment>; configMapName?: pulumi.Output<string | undefined> } = {};

  // Outputs are made on first use: each Output costs the Pulumi runtime promises and stack captures.

  /** The core's result (with the managed Secret mounted like a referenced one). */
  get result(): pulumi.Output<EnvConfigResult> {
    return (this.cache.result ??= asOutput(this.known));
  }

  /** What a container receives (volumes, read-only mounts, env). */
  get attachment(): pulumi.Output<EnvConfigAttachment> {
    return (this.cache.attachment ??= asOutput(mapKnown(this.known, attachmentOf)));
  }

  /** The hashed ConfigMap name, when there is data. */
  get configMapName(): pulumi.Output<string | undefined> {
    return (this.cache.configMapName ??= asOutput(mapKnown(this.known, (r) => r.configMapName)));
  }

  constructor(resourceName: string, args: EnvConfigArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    const name = args.name ?? resourceName;
    const ms = args.managedSecret;
    const secretName = ms ? ms.secretName ?? `${name}-secret` : undefined;
    const problems = [...unknownArgProblems(args, name), ...(ms ? literalSecretProblems(ms.data, name) : [])];
    if (ms && isPlainRecord(ms.data) && !pulumi.Output.isInstance(ms.data)) problems.push(...secretKeyProblems(Object.keys(ms.data), name));
    if (problems.length) throw new CleanimgError(`EnvConfig ${JSON.stringify(name)}: ${problems.length} invalid prop${problems.length === 1 ? '' : 's'}:`, problems);

    const coreInput = {
      name,
      ...(args.namespace !== undefined ? { namespace: args.namespace } : {}),
      ...(args.data !== undefined ? { data: args.data } : {}),
      ...(args.mountPath !== undefined ? { mountPath: args.mountPath } : {}),
      ...(args.fileMounts !== undefined ? { fileMounts: args.fileMounts } : {}),
      ...(args.envKeys !== undefined ? { envKeys: args.envKeys } : {}),
      ...(args.labels !== undefined ? { labels: args.labels } : {}),
      ...(args.secrets !== undefined || ms ? { secrets: [...(args.secrets ?? []), ...(ms ? [{ secretName: secretName!, mountPath: ms.mountPath }] : [])] } : {}),
    };
    // Validate before registering anything: plain args that break a rule throw here.
    // A secret Output in data (or any other field) would be stored in a ConfigMap or a label in plain text.
    const known: Known<EnvConfigResult> = resolveWith(coreInput, (p) => envConfig(p as never), secretFieldGuard(coreInput, `EnvConfig ${JSON.stringify(name)}`));
    super(ENV_CONFIG_TYPE, resourceName, {}, opts);
    this.name = name;
    this.known = known;
    if (known.plain) {
      this.resultValue = known.value;
      this.attachmentValue = attachmentOf(known.value);
    }

    if (args.data && Object.keys(args.data).length > 0) {
      const cm = mapKnown(known, (r) => r.configMap!);
      this.configMap = new k8s.core.v1.ConfigMap(resourceName, cmArgs(cm), { parent: this });
    }
    if (ms) {
      const data = pulumi.secret(pulumi.all([pulumi.output(ms.data), notSecretProblems(ms.data, name)]).apply(([d, notSecret]) => {
        if (notSecret.length) throw new CleanimgError(`EnvConfig ${JSON.stringify(name)}: ${notSecret.length} invalid prop${notSecret.length === 1 ? '' : 's'}:`, notSecret);
        const bad = secretKeyProblems(Object.keys(d), name);
        if (bad.length) throw new CleanimgError(`EnvConfig ${JSON.stringify(name)}: ${bad.length} invalid prop${bad.length === 1 ? '' : 's'}:`, bad);
        return Object.fromEntries(Object.keys(d).sort().map((k) => [k, Buffer.from(String(d[k]), 'utf8').toString('base64')]));
      }));
      // Tied to the core's result, so that args the core refuses (given as Outputs) create no Secret either.
      const obj = pulumi.all([asOutput(known), args.namespace, args.labels])
        .apply(([, ns, labels]) => managedSecretObject(secretName!, name, ns, labels as Record<string, string> | undefined));
      this.secret = new k8s.core.v1.Secret(`${resourceName}-secret`, {
        metadata: obj.apply((o) => o.metadata as k8s.types.input.meta.v1.ObjectMeta),
        type: 'Opaque',
        data,
      }, { parent: this, additionalSecretOutputs: ['data', 'stringData'] });
    }
    this.registerOutputs(known.plain ? { name, configMapName: known.value.configMapName } : { name, configMapName: this.configMapName });
  }
}

/** Anything a HardenedDeployment container accepts in `config`. */
export interface PulumiAttachmentSource {
  readonly attachment: pulumi.Output<EnvConfigAttachment>;
  readonly attachmentValue?: EnvConfigAttachment;
}

type Obj = Record<string, unknown>;

function attachmentOf(r: EnvConfigResult): EnvConfigAttachment {
  return { volumes: r.volumes, volumeMounts: r.volumeMounts, env: r.env, seal: r.seal };
}

/** ConfigMap args from a known (or future) ConfigMap object. */
function cmArgs(cm: Known<Obj>): k8s.core.v1.ConfigMapArgs {
  if (cm.plain) return { metadata: cm.value.metadata as never, immutable: cm.value.immutable as boolean, data: cm.value.data as never };
  return { metadata: cm.value.apply((o) => o.metadata as never), immutable: cm.value.apply((o) => o.immutable as boolean), data: cm.value.apply((o) => o.data as never) };
}
