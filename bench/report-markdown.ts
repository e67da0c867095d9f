/**
 * BENCHMARKS.md holds hand-written analysis and, between markers, the output of the last `npm run bench`:
 *
 *   <!-- bench:ID -->
 *   ...generated: the command, the machine, the output...
 *   <!-- /bench:ID -->
 *
 * A run replaces only the sections it ran; the text outside the markers is never touched.
 */

export const startMarker = (id: string): string => `<!-- bench:${id} -->`;
export const endMarker = (id: string): string => `<!-- /bench:${id} -->`;

/** Where generated sections go when BENCHMARKS.md has no marker for them yet. */
export const GENERATED_HEADING = '## Latest `npm run bench`';

/**
 * `markdown` with section `id`'s body replaced by `body` (or appended under GENERATED_HEADING when the
 * section is new). Throws when the markers are unbalanced, so a hand edit that broke them is not
 * silently overwritten.
 */
export function replaceSection(markdown: string, id: string, body: string): string {
  const start = startMarker(id);
  const end = endMarker(id);
  const i = markdown.indexOf(start);
  const j = markdown.indexOf(end);
  const block = `${start}\n${body.trimEnd()}\n${end}`;
  if (i === -1 && j === -1) {
    const heading = markdown.includes(GENERATED_HEADING) ? '' : `\n${GENERATED_HEADING}\n`;
    return `${markdown.trimEnd()}\n${heading}\n${block}\n`;
  }
  if (i === -1 || j === -1 || j < i || markdown.indexOf(start, i + 1) !== -1 || markdown.indexOf(end, j + 1) !== -1) {
    throw new Error(`BENCHMARKS.md: the markers of section "${id}" are unbalanced (${start} ... ${end}): fix them by hand, then rerun`);
  }
  return markdown.slice(0, i) + block + markdown.slice(j + end.length);
}

export interface SectionRun {
  readonly title: string;
  /** The exact commands, as a reader would type them. */
  readonly commands: readonly string[];
  /** ISO date of the run. */
  readonly date: string;
  readonly seconds: number;
  /** Machine and load line(s). */
  readonly machine: string;
  /** What the commands printed on stdout. */
  readonly output: string;
  /** Set when a command failed or was skipped: why. */
  readonly problem?: string;
}

/** The generated body of one section. */
export function renderSection(run: SectionRun): string {
  const lines = [
    `### ${run.title}`,
    '',
    `Command${run.commands.length > 1 ? 's' : ''}: ${run.commands.map((c) => `\`${c}\``).join(', then ')}`,
    `Run by \`npm run bench\` on ${run.date} in ${run.seconds.toFixed(0)} s. ${run.machine}`,
  ];
  if (run.problem) lines.push('', `**Not measured: ${run.problem}**`);
  const out = run.output.trimEnd();
  if (out) lines.push('', '```', out.replace(/```/g, "'''"), '```');
  return lines.join('\n');
}
