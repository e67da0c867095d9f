import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { envConfig, type EnvConfigProps as CoreEnvConfigProps, type EnvConfigResult } from '../core/env-config';
import type { EnvConfigAttachment } from '../core/props';
import { defaultName } from './naming';

export { defaultName } from './naming';

export interface EnvConfigProps extends Omit<CoreEnvConfigProps, 'name'> {
  /** Base name of the ConfigMap (a content hash is appended). @default derived from the construct path */
  readonly name?: string;
}

/**
 * Per-environment configuration: non-secret files in an immutable, content-hashed ConfigMap, and
 * Secrets by reference only, all mounted read-only. Pass it to a container's `config`.
 *
 * ```ts
 * const cfg = new EnvConfig(chart, 'config', { data: { 'nginx.conf': conf }, fileMounts: { 'nginx.conf': '/etc/nginx/nginx.conf' } });
 * new HardenedDeployment(chart, 'nginx', { containers: [{ name: 'nginx', image, config: [cfg] }] });
 * ```
 */
export class EnvConfig extends Construct implements EnvConfigAttachment {
  /** The ConfigMap, when there is data. */
  readonly configMap?: ApiObject;
  /** The hashed ConfigMap name. */
  readonly configMapName?: string;
  readonly volumes: readonly Record<string, unknown>[];
  readonly volumeMounts: readonly Record<string, unknown>[];
  readonly env: readonly Record<string, unknown>[];
  readonly seal: string;
  /** The framework-neutral result, as the core built it. */
  readonly result: EnvConfigResult;

  constructor(scope: Construct, id: string, props: EnvConfigProps = {}) {
    super(scope, id);
    const name = props.name ?? defaultName(this, 42);
    this.result = envConfig({ ...props, name });
    this.configMapName = this.result.configMapName;
    this.volumes = this.result.volumes;
    this.volumeMounts = this.result.volumeMounts;
    this.env = this.result.env;
    this.seal = this.result.seal;
    if (this.result.configMap) this.configMap = new ApiObject(this, 'ConfigMap', this.result.configMap as never);
  }
}
