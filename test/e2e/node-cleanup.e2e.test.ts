// The real node leaves nothing behind, even when the test process is killed mid-run: a process
// holding a node with a running pod (test/e2e/node/hold-node.ts) gets SIGKILL; every process of the
// node (pod containers and shims included) must be gone, with no mount, network link, iptables
// chain or ipset (kube-router's firewall) added on the host. The kubelet's cgroup folders are the one thing that outlives it (by
// design: the host's cgroup hierarchies are not namespaced here), and the next start removes them.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runtimeDir, skipWithoutNode, startNode } from './support/node';
import { run, sleep } from './support/tools';



/** Every PID in the cgroup tree `root` of every v1 hierarchy. */
function pidsUnder(root: string): number[] {
  const pids: number[] = [];
  const walk = (dir: string) => {
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.push(Number(line));
      for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) walk(join(dir, d.name));
    } catch {
      /* gone */
    }
  };
  for (const h of readdirSync('/sys/fs/cgroup')) walk(join('/sys/fs/cgroup', h, root));
  return [...new Set(pids)];
}

/** Processes whose command line names `text`. */
function processesNaming(text: string): string[] {
  const found: string[] = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(text)) found.push(`${p}: ${cmd}`);
    } catch {
      /* gone */
    }
  }
  return found;
}

const hostState = async () => ({
  links: (await run('ip', ['-o', 'link'])).stdout.split('\n').map((l) => l.split(':')[1]?.trim()).filter(Boolean).sort(),
  chains: (await run('iptables-save', [])).stdout.split('\n').filter((l) => l.startsWith(':')).map((l) => l.split(' ')[0]).sort(),
  forward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(),
  bridgeNf: readFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').trim(),
  ipsets: await ipsets(),
});

async function ipsets(): Promise<string[]> {
  const r = await run(join(runtimeDir(), 'usr/sbin/ipset'), ['list', '-n'], { env: { ...process.env, LD_LIBRARY_PATH: join(runtimeDir(), 'usr/lib/x86_64-linux-gnu') } });
  if (r.code !== 0) throw new Error(`ipset list: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).sort();
}

describe.skipIf(skipWithoutNode())('the real node leaves nothing behind', () => {
  const work = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-node-cleanup-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('a test process killed with SIGKILL mid-run takes every process of its node with it; the next start removes its cgroups', async () => {
    const before = await hostState();
    const stateFile = join(work, 'state.json');
    const holder = spawn(process.execPath, ['--import', 'tsx', resolve(__dirname, 'node/hold-node.ts'), stateFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    holder.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const deadline = Date.now() + 240_000;
    while (!existsSync(stateFile)) {
      if (holder.exitCode !== null || Date.now() > deadline) throw new Error(`hold-node did not start a node: ${stderr}`);
      await sleep(500);
    }
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { holder: number; pid: number; dir: string; cgroupRoot: string };
    const running = pidsUnder(state.cgroupRoot);
    expect(running.length, 'the pod runs in the kubelet cgroups').toBeGreaterThan(0);
    expect(processesNaming(state.dir).length).toBeGreaterThan(3);
    const hostMounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(hostMounts).not.toContain(state.dir);

    process.kill(state.holder, 'SIGKILL');
    const gone = Date.now() + 30_000;
    while ((existsSync(`/proc/${state.pid}`) || pidsUnder(state.cgroupRoot).length > 0 || processesNaming(state.dir).length > 0) && Date.now() < gone) await sleep(250);
    expect(existsSync(`/proc/${state.pid}`), 'the namespace is gone').toBe(false);
    expect(pidsUnder(state.cgroupRoot), 'no pod process survives').toEqual([]);
    expect(processesNaming(state.dir), 'no node process survives').toEqual([]);
    for (const pid of running) expect(existsSync(`/proc/${pid}`), `process ${pid} of the pod`).toBe(false);
    expect(await hostState(), 'no link, iptables chain, ipset or sysctl change on the host').toEqual(before);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(state.dir);

    // What outlives a killed run: the empty cgroup folders. The next start removes them.
    expect(readdirSync('/sys/fs/cgroup').some((h) => existsSync(join('/sys/fs/cgroup', h, state.cgroupRoot)))).toBe(true);
    const next = await startNode();
    try {
      expect(readdirSync('/sys/fs/cgroup').filter((h) => existsSync(join('/sys/fs/cgroup', h, state.cgroupRoot)))).toEqual([]);
    } finally {
      await next.stop();
    }
    expect(readdirSync('/sys/fs/cgroup').filter((h) => existsSync(join('/sys/fs/cgroup', h, next.cgroupRoot)))).toEqual([]);
    rmSync(state.dir, { recursive: true, force: true });
  }, 600_000);
});
