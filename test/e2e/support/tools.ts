// Finding and running the real tools of the end-to-end tier.
import { spawn } from 'node:child_process';
import { accessSync, appendFileSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { freePort } from '../../support/registry';

export { freePort };

/** Where test/e2e/provision.sh caches the tools (it links them into `<dir>/bin`). */
export function toolsDir(): string {
  return process.env.CLEANIMG_TOOLS ?? '/root/.cache/cleanimg-tools';
}

/** True when the user asked to run what the installed tools allow (CLEANIMG_E2E_ALLOW_SKIP=1). */
export function skipsAllowed(): boolean {
  const v = (process.env.CLEANIMG_E2E_ALLOW_SKIP ?? '').toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

/** Where skipped suites are recorded for the run's summary (set by the global setup). */
export const SKIP_LOG_ENV = 'CLEANIMG_E2E_SKIP_LOG';

/** Records a skipped suite and what it lacked, for the run's loud summary (global-setup.ts). */
export function recordSkip(lacking: string): void {
  const log = process.env[SKIP_LOG_ENV];
  if (log) appendFileSync(log, `${lacking.replace(/\n/g, ' ')}\n`);
}

/** True when running in CI: a missing tool is then a failure, never a skip. */
export function inCI(): boolean {
  const ci = (process.env.CI ?? '').toLowerCase();
  return ci !== '' && ci !== '0' && ci !== 'false';
}

/** True when `path` is a file this process may execute. */
export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path of a tool: the provisioned cache first, then PATH. */
export function findTool(name: string): string | undefined {
  const cached = join(toolsDir(), 'bin', name);
  if (executable(cached)) return cached;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The tools among `names` that cannot be found. */
export function missingTools(names: readonly string[]): string[] {
  return names.filter((n) => findTool(n) === undefined);
}

/** The path of a tool, or an error that says how to get it. */
export function tool(name: string): string {
  const p = findTool(name);
  if (!p) {
    throw new Error(
      `E2E_TOOL_MISSING: tool "${name}" not found in ${join(toolsDir(), 'bin')} or PATH — run test/e2e/provision.sh (or set CLEANIMG_TOOLS)`,
    );
  }
  return p;
}

/**
 * Whether a suite needing `names` should be skipped: never in CI (the suite then runs
 * and fails on the first missing tool); locally, skipped with a note on stderr.
 */
export function skipWithout(names: readonly string[]): boolean {
  const missing = missingTools(names);
  if (missing.length === 0) return false;
  if (inCI()) return false;
  process.stderr.write(`[e2e] skipping: missing ${missing.join(', ')} (run test/e2e/provision.sh)\n`);
  recordSkip(missing.join(', '));
  return true;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

/** Run a command to completion, capturing its output; never throws on a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Like run(), but throws with the command's output when it does not exit 0. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code ?? r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
