import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Runs test/pulumi/fixtures/<file> <case> (default output-error.ts) in a child process (tsx) and returns its status and output. */
export function runFixture(which: string, file = 'output-error.ts'): { status: number | null; stdout: string; stderr: string } {
  const root = join(__dirname, '..', '..');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', file), which], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
