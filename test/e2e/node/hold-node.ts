// Starts a real node and holds it until this process is killed: the end-to-end tier kills this
// process with SIGKILL mid-run (test/e2e/node-cleanup.e2e.test.ts) to prove that nothing stays.
// Writes {"holder": <this PID>, "pid": <namespace PID>, "dir", "cgroupRoot"} to the file it is given.
import { writeFileSync } from 'node:fs';
import { startNode } from '../support/node';

async function main(): Promise<void> {
  const state = process.argv[2];
  if (!state) throw new Error('usage: hold-node.ts STATE_FILE');
  const node = await startNode({ keep: true });
  await node.kubectlOk(['run', 'sleeper', '--image=127.0.0.1:5000/pause:e2e', '--restart=Never', '--overrides',
    JSON.stringify({ spec: { securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } }, containers: [{ name: 'sleeper', image: '127.0.0.1:5000/pause:e2e', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }] } })]);
  await node.kubectlOk(['wait', '--for=condition=Ready', 'pod/sleeper', '--timeout=120s'], { timeoutMs: 130_000 });
  writeFileSync(state, JSON.stringify({ holder: process.pid, pid: node.pid, dir: node.dir, cgroupRoot: node.cgroupRoot }));
  setInterval(() => undefined, 1 << 30);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
