// Long-running server processes for the tier: started with their output in a log
// file, stopped by PID (SIGTERM, then SIGKILL), never by name.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { sleep } from './tools';

export interface Server {
  name: string;
  pid: number;
  log: string;
  /** Resolves once the process has exited. */
  exited: Promise<number | null>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** The last `n` characters of the log, for error messages. */
  tail(n?: number): string;
  /** SIGTERM, wait up to `graceMs`, then SIGKILL. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  // A crashed test run must not leave servers behind.
  process.on('exit', () => {
    for (const c of running) {
      if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  });
}

export function startServer(name: string, cmd: string, args: readonly string[], log: string, env?: NodeJS.ProcessEnv): Server {
  hookExit();
  const fd = openSync(log, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: env ?? process.env });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  running.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
    child.on('error', () => {
      running.delete(child);
      resolve(null);
    });
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const tail = (n = 3000) => {
    try {
      const s = readFileSync(log, 'utf8');
      return s.slice(-n);
    } catch {
      return '';
    }
  };
  const stop = async (graceMs = 10_000) => {
    if (!alive()) return;
    child.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done && alive()) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  return { name, pid: child.pid, log, exited, alive, tail, stop };
}

/** Poll `probe` until it returns true; fail early if `server` exits. */
export async function waitFor(server: Server, what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!server.alive()) {
      throw new Error(`${server.name} exited before ${what}; log ${server.log}:\n${server.tail()}`);
    }
    try {
      if (await probe()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      throw new Error(`${server.name}: ${what} not reached in ${timeoutMs} ms; log ${server.log}:\n${server.tail()}`);
    }
    await sleep(250);
  }
}
