/**
 * The round trip through Go's YAML reader: random Unicode strings placed in every string prop of
 * HardenedDeployment and EnvConfig props, the app written three ways
 *   - `hardened-fast`      HardenedApp's writer (the fast path, falling back per document),
 *   - `hardened-fallback`  HardenedApp with every document forced to cdk8s's writer (+ Go quoting),
 *   - `cdk8s+plugin`       a plain cdk8s App (cdk8s's own writer) checked by the synth plugin,
 * and the text read back by `yaml-echo` (sigs.k8s.io/yaml, as kubectl reads it). For every case and
 * path: Go's JSON of every document equals the object that was meant to be written, or the case was
 * refused (HD033 at construction or by the plugin; other rules refuse some strings too: secret-looking
 * env values, shells). Used by test/cdk8s/go-yaml-roundtrip.test.ts (a fast slice in `npm test`)
 * and test/e2e/yaml-roundtrip.e2e.test.ts.
 *
 * The strings are built from pieces chosen from go-yaml v2's reader and scanner (its line breaks,
 * the characters it refuses, its escapes) and from YAML 1.1's look-alikes (numbers, booleans, null),
 * not from the writer's code.
 */
import { App, Chart } from 'cdk8s';
import { ValidationContext } from 'cdk8s-cli/plugins';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { EnvConfig, HardenedApp, HardenedDeployment, HardeningValidation, type EnvConfigProps, type HardenedDeploymentProps } from '../../src/cdk8s';
import { withFastYaml, yamlWriterStats } from '../../src/cdk8s/yaml-writer';
import { sortForApply } from '../../src/core';
import { CleanimgError } from '../../src/errors';
import { goYamlTextFindings } from '../../src/rules';

// ------------------------------------------------------------------ strings

/** Pieces Go's reader treats specially, and YAML 1.1 look-alikes. */
const PIECES = [
  '\u2028', '\u2029', '\u0085', '\r', '\r\n', '\n', '\n\n', '\t', '\0', '\x01', '\x07', '\x1b', '\x1f', '\x7f', '\x80', '\x9f',
  '\ufeff', '\ufffe', '\uffff', '\u00a0', ' ', '  ', ': ', ':', ' #', '#', '"', "'", '\\', '\\L', '\\u2028', '- ', '? ', '---', '...',
  '|', '|-', '>', '&a', '*a', '!!str', '%YAML', '@', '`', '{', '}', '[', ']', ',', '~', '<', '=', '/', '.', '..',
  'yes', 'No', 'ON', 'off', 'y', 'N', 'null', 'Null', 'true', 'False', '0o17', '0x1F', '0b101', '1_000', '672.e_-6', '.5', '1e3',
  '-.inf', '.NaN', '0755', '12:30', '2001-12-14', '2001-1-2 3:4:5', 'é', '漢字', '🙂', 'hostPID: true', '\n      hostPID: true',
  '\u2028      hostNetwork: true', '\n\u2028          hostPID: true',
];

/** Whole strings that look like something else to a YAML 1.1 reader. */
const LOOK_ALIKES = ['', ' ', 'yes', 'NO', 'on', 'Off', 'y', 'n', 'null', '~', 'true', 'FALSE', '0o17', '0x1F', '0b1_01', '1_000', '672.e_-6',
  '.5', '+1.', '1e3', '09', '-.inf', '.nan', '0755', '12:30:45', '2001-12-14', '2001-12-14t21:59:43.10-05:00', '=', '-', '?', '---', '...'];
// Not here: the merge key `<<`. Both writers leave it plain as a map key (a label key `<<`), and Go
// then refuses the document ("map merge requires map or sequence of maps as the value"): a YAML 1.1
// difference left for later, with `yes`/`on` in hand-written YAML (see the HD033 notes).

const codePoint = (min: number, max: number) => fc.integer({ min, max }).map((c) => String.fromCodePoint(c));

/** Characters Go's reader treats differently from the `yaml` package when raw. */
const GO_SPECIAL = ['\u2028', '\u2029', '\u0085', '\r', '\0', '\x01', '\x1b', '\x7f', '\x80', '\x9f', '\ufeff', '\ufffe', '\uffff', '\t', '\n'];

const wildPiece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...PIECES) },
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) }, // any character, often above U+FFFF (a surrogate pair)
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9]{1,6}$/) },
  { weight: 2, arbitrary: codePoint(0, 0x9f) },
  { weight: 1, arbitrary: codePoint(0x2000, 0x206f) },
);
/** The wild pieces without any character Go reads differently: text cdk8s's own writer gets right. */
const GO_SAFE = /^[^\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]*$/u;
const goSafePiece = wildPiece.filter((p) => GO_SAFE.test(p) && !/^\n*\t/.test(p));
/** Go's special characters among plain words: strings the fast writer prints itself. */
const goSpecialPiece = fc.oneof(fc.constantFrom(...GO_SPECIAL), fc.stringMatching(/^[a-z0-9]{1,6}$/));
/** A lone surrogate (a high one may pair with a low one next to it: then it is a character). */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** Random strings of pieces: mostly a few, sometimes a look-alike, sometimes very long. */
const stringOf = (piece: fc.Arbitrary<string>, lookAlikes = 3) => fc.oneof(
  { weight: 12, arbitrary: fc.array(piece, { maxLength: 6 }).map((ps) => ps.join('')) },
  { weight: lookAlikes, arbitrary: fc.constantFrom(...LOOK_ALIKES) },
  { weight: 1, arbitrary: fc.tuple(fc.array(piece, { maxLength: 3 }), fc.integer({ min: 500, max: 3000 }), fc.array(piece, { maxLength: 3 })).map(([a, n, b]) => `${a.join('')}${'x y'.repeat(n)}${b.join('')}`) },
);

/**
 * The kinds of case: wild strings; wild strings without Go's special characters (which cdk8s's
 * writer and the plugin let through); Go's special characters among plain words (the fast writer's
 * own quoting); wild strings with, now and then, a lone surrogate (refused with HD033).
 */
export const STRING_KINDS = {
  wild: stringOf(wildPiece),
  goSafe: stringOf(goSafePiece),
  goSpecial: fc.array(goSpecialPiece, { minLength: 1, maxLength: 6 }).map((ps) => ps.join('')),
  withLoneSurrogates: stringOf(fc.oneof({ weight: 40, arbitrary: wildPiece }, { weight: 1, arbitrary: loneSurrogate })),
} as const;

/** An absolute path made of a random string (no `/`, so no `.` or `..` segment). */
const absolutePath = (anyString: fc.Arbitrary<string>, prefix: string) => anyString.map((s) => `${prefix}${s.replace(/\//g, '_')}`);
/**
 * Paths refuse control characters and line separators at the props (PROP002), so they get strings
 * without them (every other character, look-alikes included); the free-text props get everything.
 */
const PATH_SAFE = /^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$/u;
const pathSafe = (anyString: fc.Arbitrary<string>) => anyString.filter((s) => PATH_SAFE.test(s));

/**
 * Constrained props: their own alphabets, with the look-alikes those alphabets allow (`tame`: only
 * plain words, so that a document is left to the fast writer unless its free strings need more).
 */
const constrained = (tame: boolean) => {
  const withLookAlikes = (lookAlikes: string[], plain: fc.Arbitrary<string>) => (tame ? plain : fc.oneof(fc.constantFrom(...lookAlikes), plain));
  return {
    dnsLabel: withLookAlikes(['0755', '1e3', '0x1f', '1-0', 'yes', 'on', 'n', 'null', 'true', '0b101', '12', '09'], fc.stringMatching(/^[a-z]([-a-z0-9]{0,10}[a-z0-9])?$/)),
    envName: withLookAlikes(['-1e3', '.5', '-0o17', '_1', 'yes', 'ON', 'null', 'y', '-.inf', '.NaN', '-0x1F', '-1_0'], fc.stringMatching(/^[_a-zA-Z][_a-zA-Z0-9]{0,10}$/)),
    configKey: withLookAlikes(['0755', '1e3', '0o17', '1_000', '672.e_-6', '.5', 'yes', 'null', 'true', 'n', '-', '09'], fc.stringMatching(/^[a-zA-Z][-._a-zA-Z0-9]{0,11}$/)),
    portName: withLookAlikes(['yes', 'on', '1e3', 'null'], fc.stringMatching(/^[a-z]([-a-z0-9]{0,8}[a-z0-9])?$/)),
    // Label values: the label alphabet, with the look-alikes it allows (Go reads `0o17` as a number).
    labelValue: withLookAlikes(['0o17', '0x1F', '1_000', '672.e_-6', '1e3', '09', 'yes', 'On', 'null', 'true', 'y', '0755', '.5', '12'], fc.stringMatching(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?)?$/)),
    labelKey: withLookAlikes(['0o17', '1e3', 'yes', 'null', 'example.com/0755'], fc.stringMatching(/^([a-z0-9]{1,8}\.com\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?$/)),
    quantity: tame ? fc.constantFrom('64Mi', '100m', '1') : fc.constantFrom('64Mi', '1e3', '100m', '0.5', '1', '12e6', '0755'),
  };
};

const DIGEST = `sha256:${'ab'.repeat(32)}` as const;

export interface RoundTripCase {
  readonly deployment: HardenedDeploymentProps;
  readonly config: EnvConfigProps;
  readonly serviceName: string;
}

/** A HardenedDeployment and an EnvConfig with strings from `anyString` in every string prop. */
function caseOf(anyString: fc.Arbitrary<string>, tame = false): fc.Arbitrary<RoundTripCase> {
  const { dnsLabel, envName, configKey, portName, quantity, labelValue, labelKey } = constrained(tame);
  const strings = (max: number) => fc.array(anyString, { maxLength: max });
  const stringMap = (key: fc.Arbitrary<string>, max: number) => fc.dictionary(key, anyString, { maxKeys: max });
  const absolute = (prefix: string) => absolutePath(pathSafe(anyString), prefix);
  const labels = (max: number) => fc.dictionary(labelKey, labelValue, { maxKeys: max });
  return fc.record({
  dataKeys: fc.uniqueArray(configKey, { minLength: 1, maxLength: 3 }),
  dataValues: strings(3),
  config: fc.record({
    name: dnsLabel,
    namespace: dnsLabel,
    mountPath: absolute('/etc/c'),
    fileMountPath: absolute('/etc/f'),
    envName,
    secretMount: absolute('/run/s'),
    secretName: dnsLabel,
    labels: labels(2),
  }),
  deployment: fc.record({
    name: dnsLabel,
    namespace: dnsLabel,
    labels: labels(3),
    annotations: stringMap(labelKey, 3),
    containerName: dnsLabel,
    command: strings(3),
    args: strings(3),
    workingDir: absolute('/w'),
    portName,
    env: stringMap(envName, 3),
    cpu: quantity,
    subPath: pathSafe(anyString).map((x) => `s${x.replace(/\//g, '_')}`),
    claimName: dnsLabel,
    httpPath: absolute('/h'),
    grpcService: anyString,
    execArgs: strings(2),
    initArgs: strings(2),
  }),
  serviceName: dnsLabel,
}).map(({ dataKeys, dataValues, config: c, deployment: d, serviceName }) => ({
  serviceName,
  config: {
    name: c.name,
    namespace: c.namespace,
    data: Object.fromEntries(dataKeys.map((k, i) => [k, dataValues[i] ?? ''])),
    mountPath: c.mountPath,
    fileMounts: { [dataKeys[0]!]: c.fileMountPath },
    envKeys: { [c.envName]: dataKeys[0]! },
    secrets: [{ secretName: c.secretName, mountPath: c.secretMount, keys: dataKeys }],
    labels: c.labels,
  },
  deployment: {
    name: d.name,
    namespace: c.namespace,
    labels: d.labels,
    annotations: d.annotations,
    containers: [{
      name: d.containerName,
      image: `registry.example.com/app@${DIGEST}`,
      ...(d.command.length ? { command: ['/app/server', ...d.command] } : {}),
      args: d.args,
      workingDir: d.workingDir,
      ports: [{ containerPort: 8080, name: d.portName }],
      env: d.env,
      resources: { cpu: { request: d.cpu } },
      writablePaths: [{ path: '/tmp', sizeLimit: '64Mi' }, { path: '/data', claimName: d.claimName, subPath: d.subPath }],
      probes: {
        readiness: { http: { path: d.httpPath, port: d.portName } },
        liveness: { exec: { command: ['/app/check', ...d.execArgs] } },
        startup: { grpc: { port: 8080, service: d.grpcService } },
      },
    }],
    initContainers: [{ name: `init-${d.containerName}`.slice(0, 63).replace(/-+$/, ''), image: `registry.example.com/init@${DIGEST}`, args: d.initArgs, probes: { readiness: { tcp: { port: 9 } }, liveness: { tcp: { port: 9 } } } }],
  },
  }));
}

/** A case of one of the kinds. */
export const roundTripCase: fc.Arbitrary<RoundTripCase> = fc.oneof(
  { weight: 4, arbitrary: caseOf(STRING_KINDS.wild) },
  { weight: 3, arbitrary: caseOf(STRING_KINDS.goSafe) },
  { weight: 3, arbitrary: caseOf(STRING_KINDS.goSpecial, true) },
  { weight: 1, arbitrary: caseOf(STRING_KINDS.withLoneSurrogates) },
);

/** The case's objects in one chart of `app` (the EnvConfig attached to the container, a Service). */
function build(app: App, c: RoundTripCase): Chart {
  const chart = new Chart(app, 'case');
  const config = new EnvConfig(chart, 'config', c.config);
  const [first, ...rest] = c.deployment.containers;
  const deployment = new HardenedDeployment(chart, 'app', { ...c.deployment, containers: [{ ...first!, config: [config] }, ...rest] });
  deployment.exposeViaService({ name: c.serviceName });
  return chart;
}

// ------------------------------------------------------------------ writing

export const PATHS = ['hardened-fast', 'hardened-fallback', 'cdk8s+plugin'] as const;
export type WritePath = (typeof PATHS)[number];

export type Outcome =
  | { readonly kind: 'written'; readonly text: string; readonly objects: readonly unknown[] }
  | { readonly kind: 'refused'; readonly by: 'construction' | 'plugin'; readonly codes: readonly string[]; readonly message: string; readonly text?: string; readonly objects?: readonly unknown[] };

function refusedAtConstruction(e: unknown): Outcome {
  if (!(e instanceof CleanimgError)) throw e;
  return { kind: 'refused', by: 'construction', codes: [...new Set(e.problems.map((p) => p.code))].sort(), message: e.message };
}

/** Writes one case by one path (in `dir`, for the plugin path). */
export async function writeCase(path: WritePath, c: RoundTripCase, dir: string): Promise<Outcome> {
  if (path !== 'cdk8s+plugin') {
    const app = new HardenedApp();
    let chart: Chart;
    try {
      chart = build(app, c);
    } catch (e) {
      return refusedAtConstruction(e);
    }
    // HardenedApp writes a chart's objects in apply order.
    const objects = sortForApply(chart.toJson());
    try {
      const text = path === 'hardened-fast' ? app.synthYaml() : withFastYaml(() => app.synthYaml(), { fast: false });
      return { kind: 'written', text, objects };
    } catch (e) {
      return refusedAtConstruction(e); // HardenedApp runs the rules again before it writes
    }
  }
  const outdir = mkdtempSync(join(dir, 'plain-'));
  const app = new App({ outdir });
  let chart: Chart;
  try {
    chart = build(app, c);
  } catch (e) {
    return refusedAtConstruction(e);
  }
  const objects = chart.toJson();
  app.synth();
  const manifests = readdirSync(outdir).map((f) => join(outdir, f));
  const text = manifests.map((m) => readFileSync(m, 'utf8')).join('');
  const context = new ValidationContext(manifests, 'cleanimg', '0.1.0');
  (context.logger as { log: (m: string) => void }).log = () => {};
  await new HardeningValidation({ keepFailedManifests: false }).validate(context as never);
  rmSync(outdir, { recursive: true, force: true });
  if (context.report.success) return { kind: 'written', text, objects };
  const violations = context.report.toJson().violations as unknown as { ruleName: string; violatingConstructs: { locations: string[] }[] }[];
  return {
    kind: 'refused',
    by: 'plugin',
    codes: [...new Set(violations.map((v) => v.ruleName.split(' ')[0]!))].sort(),
    message: violations.map((v) => `${v.ruleName}: ${v.violatingConstructs.flatMap((x) => x.locations).join('; ')}`).join('\n'),
    text,
    objects,
  };
}

// ------------------------------------------------------------------ reading with Go

export interface GoDocument {
  readonly object?: unknown;
  readonly error?: string;
}

/** Every file's documents as yaml-echo (Go) reads them, in batches. */
export function readWithGo(yamlEcho: string, files: readonly string[]): Map<string, GoDocument[]> {
  const out = new Map<string, GoDocument[]>(files.map((f) => [f, []]));
  for (let i = 0; i < files.length; i += 300) {
    const batch = files.slice(i, i + 300);
    const r = spawnSync(yamlEcho, batch, { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.status !== 0 && r.status !== 1) throw new Error(`yaml-echo failed (${r.status}): ${r.stderr}`);
    for (const line of r.stdout.split('\n')) {
      if (!line) continue;
      const l = JSON.parse(line) as { file: string; document: number; object?: unknown; error?: string };
      out.get(l.file)!.push(l.error !== undefined ? { error: `${l.document < 0 ? 'stream: ' : ''}${l.error}` } : { object: l.object });
    }
  }
  return out;
}

/** The first difference between what was meant and what Go read, as a JSON pointer and both values. */
export function firstDifference(meant: unknown, read: unknown, reader = 'Go', path = ''): string | undefined {
  if (Object.is(meant, read)) return undefined;
  if (meant && read && typeof meant === 'object' && typeof read === 'object' && Array.isArray(meant) === Array.isArray(read)) {
    const keys = new Set([...Object.keys(meant), ...Object.keys(read)]);
    for (const k of keys) {
      const d = firstDifference((meant as Record<string, unknown>)[k], (read as Record<string, unknown>)[k], reader, `${path}/${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return `${path || '/'}: meant ${JSON.stringify(meant)}, ${reader} read ${JSON.stringify(read)}`;
}

// ------------------------------------------------------------------ the whole run

export interface PathCounts {
  written: number;
  refusedHD033: number;
  refusedOther: number;
  mismatches: number;
  /** Plugin refusals of text that Go would in fact have read as meant (the text check errs on the safe side). */
  refusedButGoAgrees: number;
  /**
   * cdk8s+plugin only: documents cdk8s's own writer got wrong for every reader (the JS parser the
   * plugin uses reads the same as Go, and both differ from the object): not a Go/JS divergence, so
   * no text check can see it; HardenedApp's writer gets these right.
   */
  cdk8sWriterLosses: number;
}

export interface RoundTripReport {
  readonly seed: number;
  readonly generated: number;
  readonly counts: Record<WritePath, PathCounts>;
  readonly documents: number;
  readonly fastDocuments: number;
  readonly fallbackDocuments: number;
  /** Human-readable descriptions of the first mismatches (at most 10). */
  readonly mismatches: readonly string[];
  /** Examples of cdk8sWriterLosses. */
  readonly losses: readonly string[];
  /** Problems found on our own side: HardenedApp text with HD033 findings, or text the JS parser reads otherwise. */
  readonly ownProblems: readonly string[];
}

const show = (c: RoundTripCase) => JSON.stringify(c).slice(0, 2000);

/**
 * Generates `runs` cases from `seed`, writes each by every path, reads every written text with Go
 * and compares. Never throws on a mismatch: the caller asserts on the report.
 */
export async function roundTrip(yamlEcho: string, runs: number, seed: number): Promise<RoundTripReport> {
  const cases = fc.sample(roundTripCase, { numRuns: runs, seed });
  const dir = mkdtempSync(join(tmpdir(), 'go-yaml-roundtrip-'));
  const counts = Object.fromEntries(PATHS.map((p) => [p, { written: 0, refusedHD033: 0, refusedOther: 0, mismatches: 0, refusedButGoAgrees: 0, cdk8sWriterLosses: 0 }])) as Record<WritePath, PathCounts>;
  const mismatches: string[] = [];
  const ownProblems: string[] = [];
  const losses: string[] = [];
  const before = { ...yamlWriterStats };
  try {
    mkdirSync(join(dir, 'text'));
    const written: { file: string; path: WritePath; index: number; outcome: Outcome }[] = [];
    for (const [index, c] of cases.entries()) {
      for (const path of PATHS) {
        const outcome = await writeCase(path, c, dir);
        if (outcome.kind === 'refused') {
          if (outcome.codes.includes('HD033')) counts[path].refusedHD033++;
          else counts[path].refusedOther++;
        } else {
          counts[path].written++;
          if (path !== 'cdk8s+plugin') {
            const findings = goYamlTextFindings(outcome.text);
            if (findings.length) ownProblems.push(`${path} case ${index}: HD033 text finding in our own output: ${findings[0]!.message} — ${show(c)}`);
            const js = parseAllDocuments(outcome.text).map((d) => d.toJS());
            const diff = firstDifference(JSON.parse(JSON.stringify(outcome.objects)), js, 'the JS parser');
            if (diff) ownProblems.push(`${path} case ${index}: ${diff} — ${show(c)}`);
          }
        }
        if (outcome.text !== undefined && outcome.objects) {
          const file = join(dir, 'text', `${index}-${path.replace(/\W/g, '_')}.yaml`);
          writeFileSync(file, outcome.text);
          written.push({ file, path, index, outcome });
        }
      }
    }
    const go = readWithGo(yamlEcho, written.map((w) => w.file));
    let documents = 0;
    for (const w of written) {
      const meant = JSON.parse(JSON.stringify(w.outcome.objects)) as unknown[];
      const read = go.get(w.file)!;
      documents += meant.length;
      const problem = read.length !== meant.length
        ? `Go read ${read.length} documents, ${meant.length} were written${read.find((d) => d.error) ? ` (${read.find((d) => d.error)!.error})` : ''}`
        : read.map((d, i) => (d.error !== undefined ? `document ${i}: Go refused it: ${d.error}` : firstDifference(meant[i], d.object))).find(Boolean);
      if (w.outcome.kind === 'refused') {
        if (!problem) counts[w.path].refusedButGoAgrees++;
        continue;
      }
      if (problem && w.path === 'cdk8s+plugin' && !read.some((d) => d.error)) {
        // The plugin's question is whether Go and the JS parser agree (cdk8s-cli parses with the defaults).
        const js = parseAllDocuments(w.outcome.text!).map((d) => d.toJS());
        if (!firstDifference(js, read.map((d) => d.object))) {
          counts[w.path].cdk8sWriterLosses++;
          if (losses.length < 3) losses.push(`case ${w.index}: ${problem}`);
          continue;
        }
      }
      if (problem) {
        counts[w.path].mismatches++;
        if (mismatches.length < 10) mismatches.push(`${w.path} case ${w.index}: ${problem} — ${show(cases[w.index]!)}`);
      }
    }
    return {
      seed,
      generated: cases.length,
      counts,
      documents,
      fastDocuments: yamlWriterStats.fast - before.fast,
      fallbackDocuments: yamlWriterStats.fallback - before.fallback,
      mismatches,
      losses,
      ownProblems: ownProblems.slice(0, 10),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The report as the lines the tests print. */
export function formatReport(r: RoundTripReport): string {
  const lines = [`go-yaml round trip: seed ${r.seed}, ${r.generated} cases generated, ${r.documents} documents read by Go (HardenedApp writers: ${r.fastDocuments} documents by the fast path, ${r.fallbackDocuments} by cdk8s's writer)`];
  for (const p of PATHS) {
    const c = r.counts[p];
    lines.push(`  ${p.padEnd(18)} written ${String(c.written).padStart(5)}  refused HD033 ${String(c.refusedHD033).padStart(5)}  refused by other rules ${String(c.refusedOther).padStart(5)}  mismatches ${c.mismatches}`
      + (p === 'cdk8s+plugin' ? `  (refused although Go reads it as meant: ${c.refusedButGoAgrees}; cdk8s's writer loses the string for Go and JS alike: ${c.cdk8sWriterLosses})` : ''));
  }
  for (const l of r.losses) lines.push(`  cdk8s writer loss ${l.slice(0, 300)}`);
  for (const m of r.mismatches) lines.push(`  MISMATCH ${m}`);
  for (const m of r.ownProblems) lines.push(`  OWN ${m}`);
  return lines.join('\n');
}
