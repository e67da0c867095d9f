// The npm package as users meet it: `npm pack` holds only what they need; the tarball installs into
// an empty project, where the CLI runs through npx, both faces load, and their types resolve under
// moduleResolution node16, nodenext and bundler. Needs the package registry (dependencies install
// from npm's cache when warm, as after `npm ci`).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PULUMI_TOOLS, REPO, pulumiWorkspace, seedPluginCache } from './support/pulumi';
import { run, skipWithout } from './support/tools';

const NPM = 'npm';
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

interface PackFile { path: string }

describe('the npm package as users meet it', () => {
  let dir: string;
  let tarball: string;
  let files: string[];
  let project: string;

  beforeAll(async () => {
    execFileSync(process.execPath, [TSC, '-p', join(REPO, 'tsconfig.json')], { cwd: REPO, stdio: 'inherit' });
    dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-package-'));
    const pack = await run(NPM, ['pack', '--json', '--pack-destination', dir], { cwd: REPO, timeoutMs: 300_000 });
    expect(pack.code, pack.stderr).toBe(0);
    const [info] = JSON.parse(pack.stdout) as [{ filename: string; files: PackFile[] }];
    tarball = join(dir, info.filename);
    files = info.files.map((f) => f.path).sort();

    project = join(dir, 'app');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, version: '1.0.0' }, null, 2));
    const install = await run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project, timeoutMs: 900_000 });
    expect(install.code, install.stdout + install.stderr).toBe(0);
  }, 1_200_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('npm pack holds the compiled library, the policy pack, the plugin package and the documents, nothing else', () => {
    const outside = files.filter((f) => !f.startsWith('lib/') && !f.startsWith('policy-pack/'));
    expect(outside).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'SECURITY.md', 'package.json',
      'pulumi-plugin/PulumiPlugin.yaml', 'pulumi-plugin/index.js', 'pulumi-plugin/package.json', 'pulumi-plugin/schema.json']);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => /^(src|test|bench|examples|dist|scripts|docs)\//.test(f))).toEqual([]);
    const pkg = JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: REPO, encoding: 'utf8' })) as { exports: Record<string, string | Record<string, string>>; bin: Record<string, string> };
    const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t))).map((t) => t.replace(/^\.\//, ''));
    for (const t of [...targets, ...Object.values(pkg.bin), 'policy-pack/index.js', 'policy-pack/PulumiPolicy.yaml']) expect(files, t).toContain(t);
  });

  it('the CLI runs from npx in a project that installed the tarball', async () => {
    const help = await run('npx', ['--no-install', 'cleanimg-customize', '--help'], { cwd: project, timeoutMs: 120_000 });
    expect(help.code, help.stderr).toBe(0);
    for (const cmd of ['build', 'verify', 'check', 'rules']) expect(help.stdout).toContain(cmd);
    const rules = await run('npx', ['--no-install', 'cleanimg-customize', 'rules', '--json'], { cwd: project, timeoutMs: 120_000 });
    expect(rules.code, rules.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(rules.stdout))).toContain('HD006');
  });

  it('both faces load from the installed package, and the policy pack code (pulumi preview --policy-pack node_modules/cleanimg/policy-pack)', async () => {
    const script = "require('cleanimg/cdk8s'); require('cleanimg/pulumi'); const p = require('cleanimg/package.json'); const { POLICY_PACK_NAME } = require('./node_modules/cleanimg/lib/pulumi/policy.js'); console.log(p.name, POLICY_PACK_NAME);";
    const r = await run(process.execPath, ['-e', script], { cwd: project, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('cleanimg cleanimg-hardening');
  });

  // The real CLI starts the installed plugin package (through the Node.js language host, after an
  // `npm install` in its folder that only links the enclosing package) and reads its schema.
  it.skipIf(skipWithout(PULUMI_TOOLS))('pulumi package get-schema node_modules/cleanimg/pulumi-plugin serves the schema', async () => {
    const ws = pulumiWorkspace('/nonexistent-kubeconfig');
    try {
      seedPluginCache(ws);
      const plugin = join(project, 'node_modules', 'cleanimg', 'pulumi-plugin');
      const got = await ws.pulumi(['package', 'get-schema', plugin], project);
      expect(got.code, got.stderr).toBe(0);
      const { config: _config, ...schema } = JSON.parse(got.stdout) as Record<string, unknown>;
      expect(schema).toEqual(JSON.parse(readFileSync(join(REPO, 'pulumi-plugin', 'schema.json'), 'utf8')));
      expect(got.stderr).not.toMatch(/install-scripts|npm error/);
    } finally {
      ws.dispose();
    }
  }, 300_000);

  const resolutions: [string, string][] = [['node16', 'node16'], ['nodenext', 'nodenext'], ['bundler', 'preserve']];
  for (const [resolution, module] of resolutions) {
    it(`types resolve for cleanimg/cdk8s and cleanimg/pulumi under moduleResolution ${resolution}`, async () => {
      const src = join(project, `types-${resolution}`);
      mkdirSync(src);
      writeFileSync(join(src, 'index.ts'), [
        "import { App, Chart } from 'cdk8s';",
        "import { HardenedDeployment, type HardenedDeploymentProps } from 'cleanimg/cdk8s';",
        "import { HardenedDeployment as PulumiDeployment } from 'cleanimg/pulumi';",
        `const props: HardenedDeploymentProps = { containers: [{ name: 'app', image: 'registry.example.com/app@sha256:${'ab'.repeat(32)}', ports: [{ containerPort: 8080 }] }] };`,
        "new HardenedDeployment(new Chart(new App(), 'c'), 'web', props);",
        'export const pulumiFace: typeof PulumiDeployment = PulumiDeployment;',
        '// @ts-expect-error a tag is not a digest',
        "export const bad: HardenedDeploymentProps = { containers: [{ name: 'app', image: 'nginx:latest' }] };",
        '',
      ].join('\n'));
      writeFileSync(join(src, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { target: 'ES2022', module, moduleResolution: resolution, strict: true, noEmit: true, skipLibCheck: true, types: [] },
        include: ['index.ts'],
      }));
      const tsc = await run(process.execPath, [TSC, '-p', join(src, 'tsconfig.json')], { cwd: project, timeoutMs: 300_000 });
      expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
    });
  }
});
