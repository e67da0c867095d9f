/** Output helpers shared by the CLI commands: plain text for people, `--json` for pipelines. */
import { CleanimgError } from '../errors';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

/** Exit codes: 0 ok, 1 findings (rules broken, verification failed), 2 bad input or operational error. */
export const EXIT = { ok: 0, findings: 1, error: 2 } as const;

/** Prints an error without a stack trace (unless CLEANIMG_DEBUG is set) and returns the exit code. */
export function reportError(io: Io, e: unknown, json: boolean): number {
  const err = e instanceof Error ? e : new Error(String(e));
  if (json) {
    io.out(JSON.stringify({ ok: false, error: err.message, problems: e instanceof CleanimgError ? e.problems : [] }, null, 2));
  } else {
    io.err(`error: ${process.env.CLEANIMG_DEBUG ? err.stack : err.message}`);
  }
  return EXIT.error;
}

/** `1 object`, `2 objects`: counts in messages people read. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
