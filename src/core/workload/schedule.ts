/**
 * CronJob schedules and time zones, checked as the API server checks them (its cron parser takes
 * five fields or a macro; `TZ=`/`CRON_TZ=` in the schedule is refused in favour of `timeZone`), so a
 * typo fails at construction instead of at apply time.
 */

interface FieldBounds {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FIELDS: readonly FieldBounds[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 0, max: 6, names: DAYS },
];
const MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

function valueOf(text: string, f: FieldBounds): number | undefined {
  const named = f.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + (f.min === 1 ? 1 : 0);
  return /^\d{1,4}$/.test(text) ? Number(text) : undefined;
}

/** Why one comma-separated part of a field is not valid, or undefined. */
function partProblem(part: string, f: FieldBounds): string | undefined {
  const m = /^(\*|\?|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:\/(\d+))?$/.exec(part);
  if (!m) return `"${part}" is not a value, a range or a step`;
  const [, low, high, step] = m;
  if (step !== undefined && Number(step) === 0) return `the step in "${part}" must be positive`;
  if (low === '*' || low === '?') return high === undefined ? undefined : `"${part}" cannot be a range from ${low}`;
  const start = valueOf(low!, f);
  const end = high === undefined ? start : valueOf(high, f);
  if (start === undefined || end === undefined) return `"${part}" is not a number${f.names ? ` or a ${f.name} name` : ''}`;
  if (start < f.min || end > f.max) return `"${part}" is outside ${f.min}-${f.max}`;
  if (start > end) return `"${part}" starts after it ends`;
  return undefined;
}

/** Why `schedule` is not a valid CronJob schedule, or undefined when it is. */
export function cronScheduleProblem(schedule: string): string | undefined {
  if (schedule.includes('TZ')) return 'TZ= or CRON_TZ= in the schedule is refused by the API server: set timeZone instead';
  const s = schedule.trim();
  if (s.startsWith('@')) {
    if (MACROS.includes(s)) return undefined;
    return `unknown macro ${JSON.stringify(s)}: use one of ${MACROS.join(', ')} or five fields`;
  }
  const fields = s.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) return `a schedule has five fields (minute hour day-of-month month day-of-week), this one has ${fields.length}`;
  for (const [i, field] of fields.entries()) {
    for (const part of field.split(',')) {
      const problem = partProblem(part, FIELDS[i]!);
      if (problem) return `${FIELDS[i]!.name}: ${problem}`;
    }
  }
  return undefined;
}

/** Why `tz` is not an IANA time zone the controller manager can load, or undefined. */
export function timeZoneProblem(tz: string): string | undefined {
  const parts = tz.split('/');
  if (!tz || parts.some((p) => p === '.' || p === '..' || p.startsWith('-') || !/^[A-Za-z.\-_0-9+]{1,14}$/.test(p)))
    return `${JSON.stringify(tz)} is not an IANA time zone name such as Europe/Berlin or UTC`;
  if (tz.toLowerCase() === 'local') return 'Local is refused: name the time zone, e.g. Europe/Berlin';
  try {
    // Intl knows the IANA names; case must match, as the API server loads the zone file by name.
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
    if (resolved.toLowerCase() === tz.toLowerCase() && resolved !== tz) return `write ${resolved}, not ${tz} (names are case-sensitive)`;
    return undefined;
  } catch {
    return `unknown time zone ${JSON.stringify(tz)}`;
  }
}
