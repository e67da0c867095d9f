// Starts one API server for the whole e2e run and hands its coordinates to the test
// files (vitest provide/inject). Stopped by PID in the teardown.
import type { TestProject } from 'vitest/node';
import { startCluster, type Cluster } from './cluster';
import { inCI, missingTools } from './tools';

export const CLUSTER_TOOLS = ['etcd', 'kube-apiserver', 'kubectl'] as const;

export interface ProvidedCluster {
  server?: string;
  kubeconfig?: string;
  dir?: string;
  /** Why there is no cluster (missing tools, or a start failure). */
  error?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2eCluster: ProvidedCluster;
  }
}

export default async function setup(project: TestProject) {
  const missing = missingTools(CLUSTER_TOOLS);
  if (missing.length > 0) {
    const error = `E2E_TOOL_MISSING: ${missing.join(', ')} — run test/e2e/provision.sh`;
    if (inCI()) throw new Error(error);
    project.provide('e2eCluster', { error });
    return;
  }
  let cluster: Cluster | undefined;
  const t0 = Date.now();
  try {
    cluster = await startCluster();
  } catch (e) {
    // A cluster that will not start is a failure everywhere, not a skip.
    throw new Error(`E2E_CLUSTER_START: ${(e as Error).message}`);
  }
  process.stderr.write(`[e2e] kube-apiserver ready at ${cluster.server} in ${((Date.now() - t0) / 1000).toFixed(1)} s (dir ${cluster.dir})\n`);
  project.provide('e2eCluster', { server: cluster.server, kubeconfig: cluster.kubeconfig, dir: cluster.dir });
  return async () => {
    await cluster?.stop();
  };
}
