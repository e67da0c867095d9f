/**
 * HD033 at every cdk8s guard: construction and HardenedApp refuse strings UTF-8 cannot carry; the
 * synth plugin (with cdk8s-cli's own ValidationContext, and once through the real `cdk8s synth`)
 * refuses manifest text that Go's YAML reads differently, so a plain cdk8s App fails closed.
 */
import { ApiObject, App, Chart, JsonPatch } from 'cdk8s';
import { ValidationContext } from 'cdk8s-cli/plugins';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvConfig, HardenedApp, HardenedDeployment, HardeningValidation } from '../../src/cdk8s';
import { thrown } from '../support/expect-error';

const IMAGE = `registry.example.com/app@sha256:${'ab'.repeat(32)}` as const;
const INJECTION = '/srv\n\u2028      hostPID: true\u2028      hostNetwork: true';
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const problemsOf = (fn: () => unknown) => [...thrown(fn).problems];

describe('HD033 at construction and in HardenedApp', () => {
  it('refuses a lone surrogate in any string of a HardenedDeployment or an EnvConfig, naming the field', () => {
    const chart = new Chart(new App(), 'c');
    const deployment = problemsOf(() => new HardenedDeployment(chart, 'd', {
      name: 'web',
      annotations: { note: 'ok 🙂', bad: 'x\ud83d' },
      containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 8080 }], workingDir: '/a\udc00', args: ['fine', '\ud800'] }],
    }));
    expect(deployment.filter((p) => p.code === 'HD033').map((p) => p.path).sort()).toEqual([
      'Deployment/web /metadata/annotations/bad',
      'Deployment/web /spec/template/spec/containers/0/args/1',
      'Deployment/web /spec/template/spec/containers/0/workingDir',
      'ServiceAccount/web /metadata/annotations/bad',
    ]);
    const config = problemsOf(() => new EnvConfig(chart, 'cfg', { data: { 'app.env': 'A=\udfff' } }));
    expect(config.map((p) => p.code)).toEqual(['HD033']);
    expect(config[0]!.message).toMatch(/lone surrogate \(U\+DFFF/);
  });

  it('refuses one brought in by a JSON patch before writing anything', () => {
    const outdir = tempDir('hd033-app-');
    const app = new HardenedApp({ outdir });
    const web = new HardenedDeployment(new Chart(app, 'c'), 'web', { name: 'web', containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 8080 }] }] });
    web.deployment.addJsonPatch(JsonPatch.add('/metadata/labels/x', 'a\ud800'));
    expect(() => app.synth()).toThrow(/HD033 Deployment\/web \/metadata\/labels\/x: the string holds a lone surrogate/);
    expect(readdirSync(outdir)).toEqual([]);
  });

  it('writes Go\'s line breaks escaped, so the issue\'s string reaches Go as one string', () => {
    const app = new HardenedApp();
    new HardenedDeployment(new Chart(app, 'c'), 'web', { name: 'web', containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 8080 }], env: { GREETING: INJECTION } }] });
    const text = app.synthYaml();
    expect(text).toContain('value: "/srv\\n\\L      hostPID: true\\L      hostNetwork: true"\n');
    expect(text).not.toContain('\u2028');
  });
});

/** Runs the plugin over what a plain App (cdk8s's writer) or a HardenedApp writes, with cdk8s-cli's context. */
async function validate(build: (app: App) => void, hardened = false, keepFailedManifests = false) {
  const outdir = tempDir('hd033-plugin-');
  const app = hardened ? new HardenedApp({ outdir }) : new App({ outdir });
  build(app);
  app.synth();
  const manifests = readdirSync(outdir).map((f) => join(outdir, f));
  const context = new ValidationContext(manifests, 'cleanimg', '0.1.0');
  await new HardeningValidation({ keepFailedManifests }).validate(context as never);
  return { context, manifests, report: context.report.toString(), violations: context.report.toJson().violations };
}

const issue = (app: App) => {
  new HardenedDeployment(new Chart(app, 'issue'), 'web', { name: 'web', containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 8080 }], env: { GREETING: INJECTION } }] });
};

describe('HD033 in the synth plugin', () => {
  it('refuses cdk8s\'s text with the file, line and fix, and removes the manifests', async () => {
    const r = await validate(issue);
    expect(r.context.report.success).toBe(false);
    expect(r.violations.map((v) => v.ruleName)).toEqual(['HD033 manifests are read the same by Go\'s YAML']);
    const locations = r.violations[0]!.violatingConstructs.flatMap((c) => c.locations);
    expect(locations).toEqual([
      expect.stringMatching(/issue\.k8s\.yaml:\d+: column \d+: the text contains U\+2028 \(LINE SEPARATOR\) written raw; Go's YAML reads it as a line break, the JS parser as a character — use HardenedApp \(its writer escapes it\) or remove the character$/),
      expect.stringMatching(/issue\.k8s\.yaml:\d+: column \d+: the text contains U\+2028/),
    ]);
    expect(r.violations[0]!.violatingConstructs[0]!.resourceName).toBe('Deployment/web');
    for (const m of r.manifests) expect(existsSync(m)).toBe(false);
  });

  it('passes the same app written by HardenedApp', async () => {
    const r = await validate(issue, true);
    expect(r.violations).toEqual([]);
    expect(r.context.report.success).toBe(true);
  });

  it('refuses what cdk8s\'s writer leaves plain that Go reads as a number, and C1 controls', async () => {
    const r = await validate((app) => {
      const chart = new Chart(app, 'raw');
      new ApiObject(chart, 'cm', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', labels: { build: '672.e_-6', mode: '0o17' } }, data: { bell: 'x\u0085y', del: 'x\u007f' } });
    }, false, true);
    const locations = r.violations.flatMap((v) => v.violatingConstructs.flatMap((c) => c.locations));
    // In text order, each with the line and column.
    expect(locations.map((l) => l.replace(/^.*?raw\.k8s\.yaml:/, ''))).toEqual([
      expect.stringMatching(/^5: column 12: "672\.e_-6" is written plain: Go's YAML reads 0\.000672, the JS parser \(YAML 1\.1, as cdk8s writes\) the string "672\.e_-6" — double-quote it/),
      expect.stringMatching(/^6: column 11: "0o17" is written plain: Go's YAML reads 15, the JS parser \(YAML 1\.1, as cdk8s writes\) the string "0o17"/),
      expect.stringMatching(/^9: column 11: the text contains U\+0085 \(NEXT LINE\) written raw; Go's YAML reads it as a line break/),
      expect.stringMatching(/^10: column 10: the text contains U\+007F written raw; Go's YAML refuses the whole document/),
    ]);
    expect(readFileSync(r.manifests[0]!, 'utf8')).toContain('mode: 0o17');
  });

  it('fails `cdk8s synth` itself for a plain App, with the rule table and no manifest left', () => {
    const root = resolve(__dirname, '../..');
    const plugin = join(root, 'lib/cdk8s/validation-plugin.js');
    expect(existsSync(plugin), 'npm test compiles lib/ first').toBe(true);
    const dir = tempDir('hd033-cli-');
    writeFileSync(join(dir, 'cdk8s.yaml'), ['language: typescript', 'app: node app.js', 'output: dist', 'validations:', `  - package: ${plugin}`, '    class: HardeningValidation', '    version: 0.1.0', ''].join('\n'));
    writeFileSync(join(dir, 'app.js'), `
      const { App, Chart } = require(${JSON.stringify(join(root, 'node_modules/cdk8s'))});
      const { HardenedDeployment } = require(${JSON.stringify(join(root, 'lib/cdk8s/index.js'))});
      const app = new App();
      new HardenedDeployment(new Chart(app, 'issue'), 'web', { name: 'web', containers: [{ name: 'app', image: ${JSON.stringify(IMAGE)}, ports: [{ containerPort: 8080 }], env: { GREETING: ${JSON.stringify(INJECTION)} } }] });
      app.synth();
    `);
    const r = spawnSync(process.execPath, [join(root, 'node_modules/cdk8s-cli/bin/cdk8s'), 'synth'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' } });
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status, out).toBe(2);
    expect(out).toMatch(/HD033 manifests are read the same by Go's YAML/);
    expect(out).toMatch(/U\+2028 \(LINE SEPARATOR\)/);
    expect(readdirSync(join(dir, 'dist')).filter((f) => f.endsWith('.yaml'))).toEqual([]);
  }, 60_000);
});
