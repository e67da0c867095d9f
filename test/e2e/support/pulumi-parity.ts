// The TypeScript side of a plugin-package parity check: the same args given to the TypeScript
// components under Pulumi's mock runtime, in this process; the Kubernetes objects' inputs by
// `type::name`, as a stack export lists them.
import { installMocks } from '../../pulumi/harness';
import { EnvConfig, HardenedDeployment, HardenedNamespace } from '../../../src/pulumi';

export interface ParityArgs {
  namespace: Record<string, unknown>;
  config: Record<string, unknown>;
  deployment: { containers: Array<Record<string, unknown>> } & Record<string, unknown>;
}

/** Resource names as the plugin programs name them: ns, appConfig, app. */
export async function kubeInputsOfTypeScript(args: ParityArgs): Promise<Record<string, Record<string, unknown>>> {
  const recorder = installMocks('cleanimg-parity', 'parity');
  new HardenedNamespace('ns', args.namespace as never);
  const config = new EnvConfig('appConfig', args.config as never);
  new HardenedDeployment('app', { ...args.deployment, containers: [{ ...args.deployment.containers[0], config: [config] }] } as never);
  // Registration is asynchronous: wait until the count settles.
  let last = -1;
  for (let i = 0; i < 100 && recorder.kube().length !== last; i++) {
    last = recorder.kube().length;
    await new Promise((r) => setTimeout(r, 50));
  }
  return Object.fromEntries(recorder.kube().map((r) => [`${r.type}::${r.name}`, JSON.parse(JSON.stringify(r.inputs)) as Record<string, unknown>]));
}
