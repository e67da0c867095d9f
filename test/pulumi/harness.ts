/**
 * Pulumi unit-test harness: `pulumi.runtime.setMocks` records every resource the program registers
 * (type, name, the inputs the engine would receive, and the URN with its parent chain).
 */
import * as pulumi from '@pulumi/pulumi';

export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
  /** The provider reference (`<urn>::<id>`) when the resource names a provider. */
  readonly provider?: string;
}

export interface Recorder {
  /** Every resource registered so far, in order. */
  readonly resources: Registered[];
  /** Only `kubernetes:*` resources (not the default provider). */
  kube(): Registered[];
  clear(): void;
  /** The inputs of the resource of this type and name; throws when none was registered. */
  inputsOf(type: string, name: string): Record<string, any>;
}

/** Extra output state a mocked resource reports besides its inputs (e.g. a build's digest). */
export type MockOutputs = (r: Registered) => Record<string, unknown> | undefined;

export function installMocks(project = 'cleanimg-test', stack = 'test', outputs?: MockOutputs): Recorder {
  const resources: Registered[] = [];
  pulumi.runtime.setMocks({
    newResource(args) {
      const r = { type: args.type, name: args.name, inputs: args.inputs, ...(args.provider ? { provider: args.provider } : {}) };
      resources.push(r);
      return { id: `${args.name}-id`, state: { ...args.inputs, ...(outputs?.(r) ?? {}) } };
    },
    call(args) {
      return args.inputs;
    },
  }, project, stack, false);
  return {
    resources,
    kube: () => resources.filter((r) => r.type.startsWith('kubernetes:') && !r.type.startsWith('pulumi:providers:')),
    clear: () => void resources.splice(0),
    inputsOf: (type, name) => {
      const r = resources.find((x) => x.type === type && x.name === name);
      if (!r) throw new Error(`no ${type} named ${name} was registered`);
      return r.inputs;
    },
  };
}

/** The value of an Output (they are all known under non-preview mocks). */
export function valueOf<T>(o: pulumi.Input<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    pulumi.output(o).apply((v) => { resolve(v as T); return v; });
    // A rejected Output never runs apply; surface its error instead of hanging.
    (pulumi.output(o) as unknown as { promise(): Promise<unknown> }).promise().catch(reject);
  });
}

/** Waits until every given resource is registered (its URN and id are known) and returns their URNs. */
export async function settle(...resources: (pulumi.Resource | undefined)[]): Promise<string[]> {
  const urns: string[] = [];
  for (const r of resources) {
    if (!r) continue;
    urns.push(await valueOf(r.urn));
    if (pulumi.CustomResource.isInstance(r)) await valueOf(r.id);
  }
  return urns;
}

/** Whether a value the engine received is marked secret, and the value inside. */
export function secretValue(v: unknown): { secret: boolean; value: unknown } {
  const sigKey = '4dabf18193072939515e22adb298388d';
  const secretSig = '1b47061264138c4ac30d75fd1eb44270';
  if (v && typeof v === 'object' && (v as Record<string, unknown>)[sigKey] === secretSig) return { secret: true, value: (v as { value: unknown }).value };
  return { secret: false, value: v };
}
