// The API server started by global-setup.ts, seen from a test file.
import { inject } from 'vitest';
import { run, tool, type RunOptions, type RunResult } from './tools';

export interface SharedCluster {
  server: string;
  kubeconfig: string;
  kubectl(args: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** The shared cluster, or undefined when it was not started (tools missing outside CI). */
export function sharedCluster(): SharedCluster | undefined {
  const c = inject('e2eCluster');
  if (!c.server || !c.kubeconfig) return undefined;
  const kubeconfig = c.kubeconfig;
  const kubectlBin = tool('kubectl');
  return {
    server: c.server,
    kubeconfig,
    kubectl: (args, opts = {}) =>
      run(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], {
        ...opts,
        env: { ...(opts.env ?? process.env), KUBECONFIG: kubeconfig },
      }),
  };
}

/** Why there is no shared cluster. */
export function sharedClusterError(): string | undefined {
  return inject('e2eCluster').error;
}
