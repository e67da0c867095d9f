// Starts one API server for the whole e2e run and hands its coordinates to the test
// files (vitest provide/inject). Stopped by PID in the teardown.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startCluster, type Cluster } from './cluster';
import { inCI, missingTools, SKIP_LOG_ENV, skipsAllowed } from './tools';

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

const RULE = '='.repeat(100);

/** The loud summary of suites skipped for missing tools; the run fails unless skips were asked for. */
function reportSkips(logDir: string): void {
  let lines: string[] = [];
  try { lines = readFileSync(join(logDir, 'skips'), 'utf8').split('\n').filter(Boolean); } catch { /* none skipped */ }
  rmSync(logDir, { recursive: true, force: true });
  if (lines.length === 0) return;
  const tools = [...new Set(lines.flatMap((l) => l.split(', ')))].sort();
  const message = [
    RULE,
    `[e2e] ${lines.length} suite${lines.length === 1 ? ' was' : 's were'} SKIPPED, not passed: missing ${tools.join(', ')}.`,
    '[e2e] Install the tools with `bash test/e2e/provision.sh` (cached; see test/e2e/README.md) and run again.',
    skipsAllowed() ? '[e2e] CLEANIMG_E2E_ALLOW_SKIP is set, so the run does not fail for it.' : '[e2e] The run fails for it; set CLEANIMG_E2E_ALLOW_SKIP=1 to run only what the installed tools allow.',
    RULE,
  ].join('\n');
  process.stderr.write(`${message}\n`);
  if (!skipsAllowed()) process.exitCode = 1;
}

export default async function setup(project: TestProject) {
  const logDir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-skips-'));
  process.env[SKIP_LOG_ENV] = join(logDir, 'skips');
  const missing = missingTools(CLUSTER_TOOLS);
  if (missing.length > 0) {
    const error = `E2E_TOOL_MISSING: ${missing.join(', ')} — run test/e2e/provision.sh`;
    if (inCI()) throw new Error(error);
    if (!skipsAllowed()) {
      rmSync(logDir, { recursive: true, force: true });
      // Said once, without a stack trace, and the run exits non-zero before any file is collected.
      process.stderr.write(`${[
        RULE,
        `[e2e] NOTHING RAN: the end-to-end tier needs ${missing.join(', ')} (and more), which are not installed.`,
        '[e2e] Install them with `bash test/e2e/provision.sh` (cached; see test/e2e/README.md), or set',
        '[e2e] CLEANIMG_E2E_ALLOW_SKIP=1 to run only the suites the installed tools allow.',
        RULE,
      ].join('\n')}\n`);
      process.exit(1);
    }
    project.provide('e2eCluster', { error });
    return async () => reportSkips(logDir);
  }
  let cluster: Cluster | undefined;
  const t0 = Date.now();
  try {
    cluster = await startCluster();
  } catch (e) {
    rmSync(logDir, { recursive: true, force: true });
    // A cluster that will not start is a failure everywhere, not a skip.
    throw new Error(`E2E_CLUSTER_START: ${(e as Error).message}`);
  }
  process.stderr.write(`[e2e] kube-apiserver ready at ${cluster.server} in ${((Date.now() - t0) / 1000).toFixed(1)} s (dir ${cluster.dir})\n`);
  project.provide('e2eCluster', { server: cluster.server, kubeconfig: cluster.kubeconfig, dir: cluster.dir });
  return async () => {
    await cluster?.stop();
    reportSkips(logDir);
  };
}
