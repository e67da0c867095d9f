// A real single-node Kubernetes for the end-to-end tier: etcd, kube-apiserver, controller-manager,
// scheduler, a registry, containerd + runc + the CNI bridge and a kubelet, all in their own PID,
// network and mount namespaces (test/e2e/node/node.sh). Pods really run: the kubelet enforces
// what the API server only stores.
//
// Nothing reaches the host but the kubelet's cgroup folders (removed by stop(), and swept at the
// next start if a run was killed): killing the namespace's first process kills every process in it,
// pods included, and takes the bridge, iptables rules, ip_forward and mounts with it. The launcher
// runs under `setpriv --pdeathsig KILL`, so a test process that dies takes the node with it.
//
// Everything listens on the namespace's own 127.0.0.1: commands that talk to the node (kubectl,
// cleanimg-customize --push, crane, pulumi) run through `nsenter --net` (inNode()).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ADMISSION_CONFIG } from './cluster';
import { startServer, waitFor, type Server } from './process';
import { findTool, inCI, recordSkip, run, runOk, skipWithout, sleep, tool, toolsDir, type RunOptions, type RunResult } from './tools';

const NODE_SH = resolve(__dirname, '../node/node.sh');
/** The registry inside the node's namespace; containerd also serves registry.example.com from it. */
export const NODE_REGISTRY = '127.0.0.1:5000';
const CGROUP_PREFIX = '/cleanimg-e2e-';

export interface KubeNode {
  /** Temp dir: certificates, kubeconfigs, one log per component in logs/. */
  dir: string;
  /** Host PID of the namespace's first process (for nsenter). */
  pid: number;
  /** The kubelet's cgroup root, `/cleanimg-e2e-<id>` in every cgroup v1 hierarchy. */
  cgroupRoot: string;
  kubeconfig: string;
  /** Run a command in the node's network namespace (its 127.0.0.1). Never throws on exit codes. */
  inNode(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** kubectl as the cluster admin, in the node's network namespace. */
  kubectl(args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** kubectl that throws with its output on a non-zero exit. */
  kubectlOk(args: readonly string[], opts?: RunOptions): Promise<string>;
  /** Events, pod states and the logs of every container that is not ready, in `namespaces`. */
  diagnose(namespaces: readonly string[]): Promise<string>;
  /** Kill the namespace (every process in it), remove the cgroup folders and the temp dir. */
  stop(): Promise<void>;
}

export interface NodeOptions {
  /** Keep the temp dir after stop(). Default: env E2E_KEEP=1. */
  keep?: boolean;
  /** How long to wait for the node to be Ready. Default 180 s (two busy cores). */
  readyTimeoutMs?: number;
}

/** The provisioned tools a real node needs (provision.sh also unpacks its runtime). */
export const NODE_TOOLS = ['kube-apiserver', 'kubelet', 'kube-scheduler', 'kube-controller-manager', 'kubectl', 'crane', 'distribution-registry', 'cleanimg-probe', 'kube-router'];

/**
 * Whether a suite on the real node should be skipped: never in CI (the suite then fails on what is
 * missing); locally, when a tool (NODE_TOOLS and `extra`) is missing or the node cannot run here
 * (not root, no runtime), said on stderr and recorded for the run's summary.
 */
export function skipWithoutNode(extra: readonly string[] = []): boolean {
  if (skipWithout([...NODE_TOOLS, ...extra])) return true;
  const why = nodeUnavailable();
  if (why && !inCI()) {
    process.stderr.write(`[e2e] skipping the real node: ${why}\n`);
    recordSkip(why);
    return true;
  }
  return false;
}

/** Why a real node cannot run here, or undefined when it can. */
export function nodeUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the real node needs root (namespaces, mounts, cgroups)';
  for (const bin of ['unshare', 'nsenter', 'setpriv', 'ip', 'openssl', 'curl', 'etcd']) {
    if (findTool(bin) === undefined) return `${bin} is not installed (or not on PATH)`;
  }
  for (const bin of ['usr/bin/containerd', 'usr/sbin/ipset']) {
    if (!existsSync(join(runtimeDir(), bin))) return `no ${bin} in the node runtime ${runtimeDir()} (test/e2e/provision.sh node-runtime)`;
  }
  return undefined;
}

/** Where provision.sh unpacked containerd, runc, the CNI plugins and ipset. */
export function runtimeDir(): string {
  return join(toolsDir(), 'node-runtime');
}

/** Removes cgroup roots left by killed runs (folders whose processes are all gone). */
async function sweepCgroups(): Promise<void> {
  const roots = new Set<string>();
  for (const h of safeReaddir('/sys/fs/cgroup')) {
    for (const d of safeReaddir(join('/sys/fs/cgroup', h))) if (d.startsWith(CGROUP_PREFIX.slice(1))) roots.add(`/${d}`);
  }
  for (const root of roots) await run('bash', [NODE_SH, '--remove-cgroups', root]);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The host PID of `pid`'s only child (unshare --fork's child: PID 1 of the new namespace). */
async function childOf(holder: Server, pid: number): Promise<number> {
  let child = 0;
  await waitFor(holder, 'the namespace', async () => {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    child = Number(kids[0] ?? 0);
    return child > 0;
  }, 10_000);
  return child;
}

export async function startNode(options: NodeOptions = {}): Promise<KubeNode> {
  const why = nodeUnavailable();
  if (why) throw new Error(`E2E_NODE_UNAVAILABLE: ${why}`);
  await sweepCgroups();
  const keep = options.keep ?? process.env.E2E_KEEP === '1';
  const dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-node-'));
  const cgroupRoot = `${CGROUP_PREFIX}${randomBytes(6).toString('hex')}`;
  writeFileSync(join(dir, 'admission.yaml'), ADMISSION_CONFIG);
  const binDir = join(toolsDir(), 'bin');
  const holder = startServer(
    'node',
    'setpriv',
    ['--pdeathsig', 'KILL', '--', 'unshare', '--pid', '--net', '--mount', '--fork', '--kill-child', '--mount-proc', '--propagation', 'private', '--',
      'bash', NODE_SH, dir, binDir, runtimeDir(), cgroupRoot],
    join(dir, 'node.log'),
    { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}` },
  );
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await holder.stop(0); // SIGTERM to unshare: --kill-child sends SIGKILL to the namespace's first process
    // The kernel kills the namespace's processes once its first one is gone; their cgroups empty soon after.
    for (let i = 0; i < 50; i++) {
      if ((await run('bash', [NODE_SH, '--remove-cgroups', cgroupRoot])).code === 0) break;
      await sleep(200);
    }
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pid = await childOf(holder, holder.pid);
    const kubeconfig = join(dir, 'admin.kubeconfig');
    const nsenter = tool('nsenter');
    const inNode = (cmd: string, args: readonly string[], opts: RunOptions = {}) =>
      run(nsenter, ['-t', String(pid), '--net', '--', cmd, ...args], opts);
    const kubectlBin = tool('kubectl');
    const kubectl = (args: readonly string[], opts: RunOptions = {}) =>
      inNode(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], { ...opts, env: { ...(opts.env ?? process.env), HOME: dir } });
    const kubectlOk = async (args: readonly string[], opts: RunOptions = {}) => {
      const r = await kubectl(args, opts);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    };
    await waitFor(holder, 'all components started', async () => existsSync(join(dir, 'started')), 180_000);
    await pushPause(dir, inNode);
    await waitFor(holder, 'node Ready', async () => {
      const r = await kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}']);
      return r.stdout.trim() === 'True';
    }, options.readyTimeoutMs ?? 180_000);
    // NetworkPolicies hold from the first pod on: kube-router's firewall has synced once.
    await waitFor(holder, "kube-router's firewall", async () => (await inNode('curl', ['-fsS', '-o', '/dev/null', 'http://127.0.0.1:20244/healthz'])).code === 0, 60_000);
    // Pods in a namespace need its "default" ServiceAccount, which the controller-manager makes.
    await waitFor(holder, 'the default ServiceAccount', async () => (await kubectl(['-n', 'default', 'get', 'serviceaccount', 'default'])).code === 0, 60_000);
    const diagnose = (namespaces: readonly string[]) => diagnoseNode(kubectl, namespaces, dir);
    return { dir, pid, cgroupRoot, kubeconfig, inNode, kubectl, kubectlOk, diagnose, stop };
  } catch (e) {
    const logs = tailLogs(dir);
    await stop();
    throw new Error(`${(e as Error).message}\n${logs}`);
  }
}

/** The pod sandbox image: cleanimg-probe as /pause (it waits for SIGTERM), built with crane. */
async function pushPause(dir: string, inNode: KubeNode['inNode']): Promise<void> {
  const root = join(dir, 'pause-root');
  mkdirSync(root, { recursive: true });
  await runOk('cp', [tool('cleanimg-probe'), join(root, 'pause')]);
  await runOk('tar', ['-C', root, '--owner=0', '--group=0', '--mtime=@0', '-cf', join(dir, 'pause.tar'), 'pause']);
  const crane = tool('crane');
  const ref = `${NODE_REGISTRY}/pause:e2e`;
  const a = await inNode(crane, ['append', '--insecure', '-f', join(dir, 'pause.tar'), '-t', ref]);
  const m = await inNode(crane, ['mutate', '--insecure', ref, '--entrypoint=/pause', '-t', ref]);
  if (a.code !== 0 || m.code !== 0) throw new Error(`pause image: ${a.stderr}\n${m.stderr}`);
}

function tailLogs(dir: string): string {
  const out: string[] = [];
  for (const f of ['node.log', ...safeReaddir(join(dir, 'logs')).map((l) => join('logs', l))]) {
    try {
      const s = readFileSync(join(dir, f), 'utf8');
      out.push(`--- ${f} (last lines)\n${s.split('\n').slice(-15).join('\n')}`);
    } catch {
      /* not written */
    }
  }
  return out.join('\n');
}

async function diagnoseNode(kubectl: KubeNode['kubectl'], namespaces: readonly string[], dir: string): Promise<string> {
  const parts: string[] = [];
  for (const ns of namespaces) {
    parts.push(`=== namespace ${ns}`);
    parts.push((await kubectl(['-n', ns, 'get', 'all,pvc', '-o', 'wide'])).stdout);
    parts.push((await kubectl(['-n', ns, 'get', 'events', '--sort-by=.lastTimestamp'])).stdout.split('\n').slice(-25).join('\n'));
    const pods = await kubectl(['-n', ns, 'get', 'pods', '-o', 'json']);
    let items: Array<{ metadata: { name: string }; status?: { containerStatuses?: Array<{ name: string; ready: boolean }> } }> = [];
    try {
      items = JSON.parse(pods.stdout).items ?? [];
    } catch {
      /* no pods */
    }
    for (const p of items) {
      for (const c of p.status?.containerStatuses ?? []) {
        if (c.ready) continue;
        const logs = await kubectl(['-n', ns, 'logs', p.metadata.name, '-c', c.name, '--tail=30']);
        parts.push(`--- logs ${ns}/${p.metadata.name}/${c.name}\n${logs.stdout}${logs.stderr}`);
      }
    }
  }
  parts.push(`node logs in ${dir}/logs`);
  return parts.join('\n');
}
