/**
 * The plugin package's provider: serves the components to Pulumi programs in every language
 * (YAML, Python, Go, C#, Java) through the engine's Construct call. Each Construct builds the same
 * TypeScript component a TypeScript program would (same type token, same children, same rule ids
 * and messages on bad input) and reports its outputs.
 *
 * The schema is generated from the components' TypeScript types by `scripts/pulumi-schema.ts` and
 * shipped beside the plugin (`pulumi-plugin/schema.json`).
 */
import { readFileSync } from 'node:fs';
import * as pulumi from '@pulumi/pulumi';
import type * as provider from '@pulumi/pulumi/provider';
import { CleanimgError } from '../../errors';
import { CustomizedImage } from '../customized-image';
import { EnvConfig } from '../env-config';
import { HardenedDeployment } from '../hardened-deployment';
import { HardenedCronJob, HardenedJob } from '../hardened-job';
import { HardenedNamespace } from '../hardened-namespace';
import { HardenedStatefulSet } from '../hardened-statefulset';
import { PLUGIN_COMPONENT_OUTPUTS, type PluginComponentName } from './components';

type ComponentClass = new (name: string, args: never, opts?: pulumi.ComponentResourceOptions) => pulumi.ComponentResource;

/** The class of each component the package serves. */
const CLASSES: Readonly<Record<PluginComponentName, ComponentClass>> = {
  HardenedDeployment: HardenedDeployment as unknown as ComponentClass,
  HardenedStatefulSet: HardenedStatefulSet as unknown as ComponentClass,
  HardenedJob: HardenedJob as unknown as ComponentClass,
  HardenedCronJob: HardenedCronJob as unknown as ComponentClass,
  EnvConfig: EnvConfig as unknown as ComponentClass,
  HardenedNamespace: HardenedNamespace as unknown as ComponentClass,
  CustomizedImage: CustomizedImage as unknown as ComponentClass,
};

const TYPE = /^cleanimg:index:([A-Za-z]+)$/;

/**
 * A top-level input the engine wrapped in an Output only because it depends on another resource
 * (an EnvConfig's attachment inside `containers`) is unwrapped when its value is known and not
 * secret: the components decide which objects exist from plain values, as in a TypeScript program.
 * Secret and unknown values stay Outputs, and the components check them when they are known.
 */
export async function plainWhereKnown(inputs: pulumi.Inputs): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inputs)) {
    if (!pulumi.Output.isInstance(v)) {
      out[k] = v;
      continue;
    }
    const o = v as pulumi.Output<unknown> & { isKnown: Promise<boolean>; isSecret: Promise<boolean>; promise(): Promise<unknown> };
    const [known, secret] = await Promise.all([o.isKnown, o.isSecret]);
    out[k] = known && !secret ? await o.promise() : v;
  }
  return out;
}

export class CleanimgProvider implements provider.Provider {
  constructor(
    readonly version: string,
    private readonly schemaFile: string,
  ) {}

  async getSchema(): Promise<string> {
    return readFileSync(this.schemaFile, 'utf8');
  }

  async construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<provider.ConstructResult> {
    const component = TYPE.exec(type)?.[1];
    if (component === undefined || !Object.hasOwn(CLASSES, component)) {
      throw new CleanimgError(`cleanimg: unknown component type ${JSON.stringify(type)}`, [
        { code: 'PROP001', path: type, message: 'not a component of this package', fix: `use one of ${Object.keys(CLASSES).map((c) => `cleanimg:index:${c}`).join(', ')}` },
      ]);
    }
    const args = await plainWhereKnown(inputs);
    const key = component as PluginComponentName;
    const instance = new CLASSES[key](name, args as never, options) as pulumi.ComponentResource & Record<string, unknown>;
    const state: Record<string, unknown> = {};
    for (const k of PLUGIN_COMPONENT_OUTPUTS[key].outputs) if (instance[k] !== undefined) state[k] = instance[k];
    return { urn: instance.urn, state };
  }
}
