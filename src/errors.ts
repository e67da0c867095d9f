/**
 * Errors meant for people: each names what is wrong, where, and how to fix it.
 * The CLI prints `message` alone (no stack trace) for any CleanimgError.
 */

/** One problem found in user input: a rule or check id, where it is, what is wrong, and the fix. */
export interface Problem {
  /** Rule or check id, e.g. `HD003` or `SPEC002`. */
  readonly code: string;
  /** Where: a JSON pointer into an object (`/spec/template/...`), a spec field (`copy_files[0].source`), or a file:line. */
  readonly path: string;
  /** What is wrong, in one sentence. */
  readonly message: string;
  /** What to do instead. */
  readonly fix: string;
}

export function formatProblem(p: Problem): string {
  return `${p.code} ${p.path}: ${p.message} — ${p.fix}`;
}

/** An error that carries one or more problems; its message lists all of them. */
export class CleanimgError extends Error {
  readonly problems: readonly Problem[];
  constructor(summary: string, problems: readonly Problem[] = []) {
    super(problems.length ? `${summary}\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}` : summary);
    this.name = 'CleanimgError';
    this.problems = problems;
  }
}
