import { App, Chart, JsonPatch, Testing, Yaml } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NginxChart } from '../../examples/nginx/chart';
import { GatewayChart, PRODUCTION, STAGING } from '../../examples/per-env/chart';
import { PostgresChart } from '../../examples/postgres/chart';
import { PythonAppChart } from '../../examples/python-app/chart';
import { EnvConfig, HardenedApp, HardenedDeployment } from '../../src/cdk8s';
import { Document, parse, parseAllDocuments, visit } from 'yaml';
import { fastYamlDocument, readAsNumberByGo, stringifyDocuments, withFastYaml } from '../../src/cdk8s/yaml-writer';
import { goYamlTextFindings } from '../../src/rules';
import { sortForApply } from '../../src/core';

const stock = Yaml.stringify;
const digest = `sha256:${'ab'.repeat(32)}` as const;

/**
 * What cdk8s's writer prints, except that strings Go's YAML reader would take for numbers are
 * double-quoted (the one intended difference; see readAsNumberByGo).
 */
function expected(d: unknown): string {
  const plain = stock.call(Yaml, d);
  const doc = new Document(d, { keepUndefined: true, version: '1.1' });
  let quoted = 0;
  visit(doc, { Scalar(_k, n) { if (typeof n.value === 'string' && readAsNumberByGo(n.value)) { n.type = 'QUOTE_DOUBLE'; quoted++; } } });
  return quoted === 0 ? plain : doc.toString({ lineWidth: 0 });
}

/**
 * Strings that neither writer may leave as cdk8s writes them, from go-yaml v2's reader: characters it
 * reads differently raw (its line breaks U+0085, U+2028, U+2029, CR; controls it refuses; U+FEFF;
 * U+FFFE, U+FFFF; lone surrogates), and multi-line strings whose first line starts with a tab.
 */
const GO_DIVERGENT = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\u{D800}-\u{DFFF}]/u;
const goDivergent = (s: string) => GO_DIVERGENT.test(s) || (s.includes('\n') && (/^\n*\t/.test(s) || /^[ \t\n]*$/.test(s)));
function holdsGoDivergent(v: unknown): boolean {
  if (typeof v === 'string') return goDivergent(v);
  if (v === null || typeof v !== 'object') return false;
  return Object.entries(v).some(([k, x]) => (!Array.isArray(v) && goDivergent(k)) || holdsGoDivergent(x));
}
/** What the JS parser gives back for a document of plain values (`undefined` is written as null). */
const readBack = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x) => (x === undefined ? null : x)));

/**
 * Every document written both ways: the fast writer, and cdk8s's writer alone (the fallback, forced)
 * print the same bytes; Go reads the text as the JS parser does (no HD033 text finding); a document
 * without a string Go reads differently is printed exactly as cdk8s prints it (but for Go-number
 * quoting), one with such strings reads back as the object. Returns how many the fast writer wrote itself.
 */
function compare(docs: readonly unknown[]): number {
  for (const d of docs) {
    const text = stringifyDocuments(stock, [d]);
    expect(stringifyDocuments(stock, [d], false)).toBe(text);
    expect(goYamlTextFindings(text)).toEqual([]);
    if (holdsGoDivergent(d)) expect(parse(text, { version: '1.1' })).toEqual(readBack(d));
    else expect(text).toBe(expected(d));
  }
  expect(stringifyDocuments(stock, docs)).toBe(docs.map((d) => stringifyDocuments(stock, [d])).join('---\n'));
  return docs.filter((d) => fastYamlDocument(d) !== undefined).length;
}

function examples(app: App): void {
  new PostgresChart(app, 'postgres');
  new NginxChart(app, 'nginx');
  new GatewayChart(app, 'gateway-staging', STAGING);
  new GatewayChart(app, 'gateway-production', PRODUCTION);
  new PythonAppChart(app, 'python-app');
}

function mixed(app: App): void {
  examples(app);
  const chart = new Chart(app, 'bench', { labels: { team: 'a' } });
  for (let i = 0; i < 3; i++) {
    const cfg = new EnvConfig(chart, `cfg${i}`, { data: { 'app.env': `INDEX=${i}\n`, 'one-line': 'x' }, mountPath: '/etc/app' });
    new HardenedDeployment(chart, `app${i}`, { containers: [{ name: 'app', image: `registry.example.com/app${i}@${digest}`, ports: [{ containerPort: 8080 }], config: [cfg] }] });
  }
}

/** cdk8s-plus objects (which break the hardening rules, so they go in a plain App). */
function plus(app: App): void {
  const chart = new Chart(app, 'plus');
  for (let i = 0; i < 3; i++) {
    const cm = new kplus.ConfigMap(chart, `plus-cfg${i}`, { data: { a: 'b' } });
    const d = new kplus.Deployment(chart, `plus${i}`, { containers: [{ image: `registry.example.com/plus${i}@${digest}`, portNumber: 8080 }] });
    d.containers[0]!.mount('/etc/app', kplus.Volume.fromConfigMap(chart, `vol${i}`, cm));
  }
}

describe('the fast YAML writer', () => {
  it('writes every object of the example scenarios as cdk8s does, most of them itself', () => {
    const app = Testing.app();
    examples(app);
    const docs = app.charts.flatMap((c) => c.toJson());
    const fast = compare(docs);
    expect(docs.length).toBeGreaterThan(30);
    // Deployments, ServiceAccounts, NetworkPolicies, ... are simple enough; multi-line config is not.
    expect(fast).toBeGreaterThan(docs.length / 2);
    const deployments = docs.filter((d) => d.kind === 'Deployment');
    expect(deployments.length).toBeGreaterThan(0);
    for (const d of deployments) expect(fastYamlDocument(d)).toBe(stock.call(Yaml, d));
    // Config files (multi-line values) are written as literal blocks by the fast writer too.
    const multiLine = docs.filter((d) => d.kind === 'ConfigMap' && Object.values(d.data ?? {}).some((v) => String(v).includes('\n')));
    expect(multiLine.length).toBeGreaterThan(0);
    for (const d of multiLine) expect(fastYamlDocument(d)).toBe(stock.call(Yaml, d));
  });

  it('writes the same manifest through HardenedApp.synthYaml and synth as cdk8s\'s writer, and puts the writer back', () => {
    const fastApp = new HardenedApp({ outdir: mkdtempSync(join(tmpdir(), 'yaml-fast-')) });
    const stockApp = new HardenedApp({ outdir: mkdtempSync(join(tmpdir(), 'yaml-stock-')), yamlWriter: 'cdk8s' });
    const plainApp = new App({ outdir: mkdtempSync(join(tmpdir(), 'yaml-plain-')) });
    try {
      mixed(fastApp);
      mixed(stockApp);
      mixed(plainApp);
      const text = fastApp.synthYaml();
      expect(Yaml.stringify).toBe(stock);
      expect(text).toBe(stockApp.synthYaml());
      // The same documents as a plain App writes; HardenedApp puts each chart's in apply order.
      const docs = (t: string) => t.split(/^---\n/m).sort();
      expect(docs(text)).toEqual(docs(plainApp.synthYaml()));
      expect(text.length).toBeGreaterThan(20_000);
      fastApp.synth();
      stockApp.synth();
      expect(Yaml.stringify).toBe(stock);
      const files = readdirSync(fastApp.outdir).sort();
      expect(files.length).toBe(app_charts(fastApp));
      expect(readdirSync(stockApp.outdir).sort()).toEqual(files);
      for (const f of files) expect(readFileSync(join(fastApp.outdir, f), 'utf8')).toBe(readFileSync(join(stockApp.outdir, f), 'utf8'));
    } finally {
      for (const a of [fastApp, stockApp, plainApp]) rmSync(a.outdir, { recursive: true, force: true });
    }
  });

  it('writes cdk8s-plus objects as cdk8s does', () => {
    const app = Testing.app();
    plus(app);
    const docs = app.charts.flatMap((c) => c.toJson());
    expect(compare(docs)).toBeGreaterThan(0);
    expect(withFastYaml(() => app.synthYaml())).toBe(app.synthYaml());
  });

  it('puts cdk8s\'s writer back when synth fails', () => {
    const app = new HardenedApp({ outdir: '/nonexistent-not-written' });
    const chart = new Chart(app, 'c');
    const d = new HardenedDeployment(chart, 'd', { containers: [{ name: 'app', image: `registry.example.com/a@${digest}`, ports: [{ containerPort: 8080 }] }] });
    d.deployment.addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/securityContext/privileged', true));
    expect(() => app.synthYaml()).toThrow(/HD0/);
    expect(Yaml.stringify).toBe(stock);
    expect(() => withFastYaml(() => { throw new Error('boom'); })).toThrow('boom');
    expect(Yaml.stringify).toBe(stock);
  });

  it('writes the cases it handles exactly as cdk8s (but for strings Go reads differently), and hands every other one to cdk8s', () => {
    const cases: unknown[] = [
      { a: {}, b: [], c: null, d: true, e: false, f: 0, g: -7, h: 65532 },
      { a: [{ b: 1, c: [{ d: 'x' }, 'y'] }, 'z', 1, null, true] },
      { a: { b: { c: { d: ['e'] } } } },
      // quoted or block strings, other numbers, undefined, nested or sparse sequences, aliases, class instances
      { a: 'yes' }, { a: 'on' }, { a: 'y' }, { a: 'N' }, { a: '~' }, { a: 'null' }, { a: '' }, { a: '0755' }, { a: '1:20' },
      { a: '0x1F' }, { a: '1_000' }, { a: '.5' }, { a: '1e3' }, { a: '2001-12-14' }, { a: '---x' }, { a: '...' }, { a: '%x' },
      { a: '@x' }, { a: '-' }, { a: '- x' }, { a: 'a: b' }, { a: 'a #b' }, { a: ' x' }, { a: 'x ' }, { a: 'x:' }, { a: 'line\nnext' },
      { a: 'tab\there' }, { a: 'bell\u0007' }, { a: '\u0085' }, { a: 'é ü 漢字 🙂' }, { a: '"q"' }, { a: "'q'" }, { a: 'x: y' }, { a: 'x:y' },
      { '8080': 'x' }, { 'a b': 'c' }, { ['k'.repeat(1100)]: 1 }, { a: 1.5 }, { a: -0 }, { a: 2 ** 60 }, { a: NaN }, { a: Infinity },
      { a: undefined }, { a: [[1]] }, { a: [{}] }, { a: [[]] }, { a: [, 1] }, { a: new Date(0) }, { a: 10n },
      (() => { const s = { x: 1 }; return { a: s, b: s }; })(), (() => { const s = ['x']; return { a: s, b: s }; })(),
      Object.assign(Object.create(null), { a: 1 }), {},
      // multi-line values: literal blocks at every depth, and the forms left to cdk8s
      { a: 'x\ny\n' }, { a: 'x\ny' }, { a: '---\nx\n' }, { a: { b: 'x\n\ny' } }, { a: [{ b: 'l1\nl2', c: { d: 'p\nq\n' } }] },
      { a: 'a: b\n#c\n- d\n' }, { a: 'x\n  y\n' }, { a: 'x\n \ny' }, { a: 'x\u2028y\nz' }, { a: 'é\n🙂\n' },
      { a: ' x\ny' }, { a: 'x\ny \n' }, { a: 'x\n\n' }, { a: '\nx' }, { a: 'x\r\ny' }, { a: 'x\n\ty' }, { a: 'x\n' }, { a: ['x\ny'] }, { 'k\ney': 1 },
      { a: 'x\u2028y' }, { a: '\ufeffx' }, { a: 'x\u00a0' }, { '': 1 }, { a: { '~': 1 } }, { a: [{ 'b c': 'd' }] }, { a: 'x\ny\n', b: { c: '\u00a0x\ny' } },
    ];
    const fast = compare(cases);
    expect(fast).toBeGreaterThanOrEqual(3);
    expect(fast).toBeLessThan(cases.length);
    // A Map goes to cdk8s's writer, which tags it !!omap: a tag the text check refuses (the JS parser
    // reads a Map, whose entries the rules would not see). HardenedApp refuses a Map before that (HD034).
    const map = stringifyDocuments(stock, [{ a: new Map() }]);
    expect(map).toBe('a: !!omap []\n');
    expect(goYamlTextFindings(map).map((f) => f.message)).toEqual([expect.stringMatching(/explicit tag \(!!omap\)/)]);
  });

  it('double-quotes strings that Go\'s YAML reader takes for numbers, which cdk8s prints plain', () => {
    const go = ['672.e_-6', '0o17', '0b1_01', '1_0', '-.5_5', '+1.', '0x_1F'];
    const strings = ['1.2.3', 'v1.0', '0o8', '0x', '1e', 'e5', '.', '-', '1-2', '10.0.0.1', '1_0a'];
    for (const s of go) expect(readAsNumberByGo(s), s).toBe(true);
    for (const s of strings) expect(readAsNumberByGo(s), s).toBe(false);
    // cdk8s's writer leaves these plain: the flaw being fixed.
    expect(stock.call(Yaml, { v: '672.e_-6' })).toBe('v: 672.e_-6\n');
    // The fast path and the fallback path (a nested sequence sends the document to cdk8s's writer).
    const fastDoc = { metadata: { labels: { a: '672.e_-6', b: '0o17', c: 'v1.0' } } };
    const slowDoc = { ...fastDoc, x: [[1]] };
    expect(fastYamlDocument(fastDoc)).toBe('metadata:\n  labels:\n    a: "672.e_-6"\n    b: "0o17"\n    c: v1.0\n');
    expect(fastYamlDocument(slowDoc)).toBeUndefined();
    const slow = stringifyDocuments(stock, [slowDoc]);
    expect(slow).toContain('a: "672.e_-6"');
    expect(slow).toContain('b: "0o17"');
    for (const text of [fastYamlDocument(fastDoc)!, slow]) expect(parse(text, { version: '1.1' }).metadata).toEqual(fastDoc.metadata);
    // Keys too.
    expect(stringifyDocuments(stock, [{ '0o7': 'k' }])).toBe('"0o7": k\n');
  });

  it('agrees with cdk8s on thousands of generated documents', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const alphabet = 'abcXYZ019-_./:@#!&*?|>%`\'" \t\n{}[],~=+é';
    const words = ['app', 'yes', 'No', 'ON', 'off', 'true', 'False', 'null', 'Null', '~', '', '0', '007', '1.0', '1e5', '-1', '+1', '0o17', '0b101',
      '12:30', '12:30:45', 'l1\nl2\n', 'a\n\nb', 'x\n', 'x\n  y', ' x\ny', 'x\ny\n\n', '---\na', 'a\n...\n', '2024-01-01', '2024-01-01T00:00:00Z', '.inf', '.NaN', '100m', '64Mi', 'ALL', 'RuntimeDefault', '/etc/app',
      'registry.example.com/a@sha256:' + 'ab'.repeat(32), 'k8s.io/name', 'a: b', '- a', '? x', 'x #y', 'x#y', '---', '...x', 'y', 'n', 'Y'];
    const str = (): string => (rnd() < 0.6 ? pick(words) : Array.from({ length: Math.floor(rnd() * 8) }, () => pick([...alphabet])).join(''));
    // Wild documents mix every kind of value; tame ones hold the plain words, integers and booleans of manifests.
    const tame = ['app', 'x', 'INDEX=1\nLOG_LEVEL=info\n', 'line\n  more', 'ALL', '100m', '64Mi', 'RuntimeDefault', '/etc/app', 'k8s.io/name', 'x:y', 'x#y', 'a-b_c.d', 'registry.example.com/a@sha256:' + 'ab'.repeat(32)];
    let wild = true;
    const value = (depth: number): unknown => {
      const r = rnd();
      if (depth > 3 || r < 0.45) {
        return wild
          ? pick([() => str(), () => Math.floor(rnd() * 70000) - 100, () => rnd() < 0.5, () => null, () => rnd() * 10, () => undefined])()
          : pick([() => pick(tame), () => Math.floor(rnd() * 70000) - 100, () => rnd() < 0.5, () => null])();
      }
      if (r < 0.75) return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 4) }, () => [wild ? str() : pick(tame), value(depth + 1)]));
      return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
    };
    const docs = Array.from({ length: 4000 }, (_, i) => {
      wild = i % 2 === 0;
      return Object.fromEntries(Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => [wild ? str() : pick(tame), value(0)]));
    });
    const fast = compare(docs);
    expect(fast).toBeGreaterThan(300);
    expect(fast).toBeLessThan(docs.length);
  });
});

describe('strings Go\'s YAML reads differently', () => {
  // [what, string, how both writers write it]: the escapes are those go-yaml v2 decodes in a
  // double-quoted scalar (scannerc.go: \0 \a \b \t \n \v \f \r \e \N \L \P \xXX \uXXXX).
  const pinned: readonly (readonly [string, string, string])[] = [
    ['LINE SEPARATOR, which Go reads as a line break', 'x\u2028hostPID: true', '"x\\LhostPID: true"'],
    ['PARAGRAPH SEPARATOR', 'x\u2029y', '"x\\Py"'],
    ['NEL', 'x\u0085y', '"x\\Ny"'],
    ['a CR on its own', 'x\ry', '"x\\ry"'],
    ['NUL', 'x\u0000y', '"x\\0y"'],
    ['BEL', '\u0007', '"\\a"'],
    ['backspace, vertical tab, form feed, escape', '\b\v\f\u001b', '"\\b\\v\\f\\e"'],
    ['another C0 control', 'x\u0001y', '"x\\x01y"'],
    ['DEL', 'x\u007fy', '"x\\x7fy"'],
    ['C1 controls other than NEL', '\u0080\u009f', '"\\x80\\x9f"'],
    ['BYTE ORDER MARK', '\ufeffx', '"\\ufeffx"'],
    ['U+FFFE and U+FFFF, which Go refuses raw', 'x\ufffe\uffff', '"x\\ufffe\\uffff"'],
    ['quotes, backslashes and tabs beside one of them', '"a"\t\\\u2028', '"\\"a\\"\\t\\\\\\L"'],
    ['a line break and a line separator', 'a\nb\u2028c\n', '"a\\nb\\Lc\\n"'],
    ['a multi-line string whose first line starts with a tab', '\tx\ny', '"\\tx\\ny"'],
    ['the same after empty lines', '\n\n\tx', '"\\n\\n\\tx"'],
    ['a multi-line string of only whitespace (cdk8s writes `|+`, and every reader loses the spaces)', ' \n', '" \\n"'],
    ['characters Go reads raw stay raw beside them', '\u00a0é🙂\u2028', '"\u00a0é🙂\\L"'],
  ];

  const writers = {
    fast: (d: unknown) => stringifyDocuments(stock, [d]),
    fallback: (d: unknown) => stringifyDocuments(stock, [d], false),
  };

  it.each(pinned)('%s: double-quoted with escapes, as a value and as a key, by the fast writer and the fallback', (_what, s, written) => {
    for (const [name, write] of Object.entries(writers)) {
      expect(write({ a: s }), name).toBe(`a: ${written}\n`);
      expect(write({ [s]: 'v' }), name).toBe(`${written}: v\n`);
      expect(write({ a: [s] }), name).toBe(`a:\n  - ${written}\n`);
      expect(write({ a: { b: s }, c: [[1]] }), name).toContain(`b: ${written}\n`);
    }
    // The fast writer prints these itself (no document goes to cdk8s's writer for them).
    expect(fastYamlDocument({ a: s })).toBe(`a: ${written}\n`);
    // The JS parser reads the same string back; the text has nothing Go reads differently.
    for (const text of [`a: ${written}\n`, `${written}: v\n`]) {
      expect(goYamlTextFindings(text)).toEqual([]);
      expect(parse(text, { version: '1.1' })).toEqual(text.startsWith('a:') ? { a: s } : { [s]: 'v' });
    }
  });

  it('is what cdk8s\'s own writer gets wrong: it leaves the character raw, and the text check finds it', () => {
    // C0 controls cdk8s already escapes (JSON escapes in double quotes); the rest it writes raw.
    const raw = pinned.filter(([, s]) => /[\u0085\u2028\u2029\u007f-\u009f\ufeff\ufffe\uffff]|^\n*\t/.test(s));
    expect(raw.length).toBeGreaterThanOrEqual(9);
    for (const [what, s] of raw) expect(goYamlTextFindings(stock.call(Yaml, { a: s })).length, what).toBeGreaterThan(0);
    // In a literal block, text after a raw U+2028 starts a new line for Go: here a new key.
    expect(stock.call(Yaml, { a: 'x\ny\u2028hostPID: true' })).toBe('a: |-\n  x\n  y\u2028hostPID: true\n');
    expect(stringifyDocuments(stock, [{ a: 'x\ny\u2028hostPID: true' }])).toBe('a: "x\\ny\\LhostPID: true"\n');
  });

  it('leaves tabs, non-ASCII text and Go-safe strings as cdk8s writes them', () => {
    for (const d of [{ a: 'x\ty' }, { a: 'é 漢字 🙂' }, { a: 'x\u00a0y' }, { a: 'x\ny\n' }, { a: 'x\n\ty\n' }, { 'k\tl': 1 }]) {
      expect(stringifyDocuments(stock, [d])).toBe(stock.call(Yaml, d));
      expect(stringifyDocuments(stock, [d], false)).toBe(stock.call(Yaml, d));
    }
  });

  it('writes them through HardenedApp, fast or forced to cdk8s\'s writer, and the text reads back as the objects', () => {
    const build = (app: App) => {
      const chart = new Chart(app, 'c');
      new HardenedDeployment(chart, 'd', {
        name: 'web',
        annotations: { team: 'a\u2029b', note: 'k\u0085v' },
        containers: [{ name: 'app', image: `registry.example.com/a@${digest}`, ports: [{ containerPort: 8080 }], env: { WORKDIR: '/srv\u2028hostPID: true', MODE: 'x\u2028hostNetwork: true' } }],
      });
      return chart;
    };
    const fast = new HardenedApp();
    const charts = sortForApply(build(fast).toJson());
    const fastText = fast.synthYaml();
    const slowApp = new HardenedApp();
    build(slowApp);
    const slowText = withFastYaml(() => slowApp.synthYaml(), { fast: false });
    expect(slowText).toBe(fastText);
    expect(fastText).toContain('value: "/srv\\LhostPID: true"');
    expect(fastText).not.toMatch(/[\u0085\u2028\u2029]/);
    expect(goYamlTextFindings(fastText)).toEqual([]);
    expect(parseAllDocuments(fastText).map((d) => d.toJS())).toEqual(charts);
    // A plain App writes them raw.
    const plain = new App();
    build(plain);
    expect(plain.synthYaml()).toContain('value: "/srv\u2028hostPID: true"');
  });
});

function app_charts(app: App): number {
  return app.charts.length;
}

afterAll(() => expect(Yaml.stringify).toBe(stock));
