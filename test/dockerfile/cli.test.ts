import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { checkDockerfile } from '../../src/dockerfile';
import { runCli } from '../support/cli';
import { goodDeployment } from '../support/fixtures';
import { BASE, BUILDER, fakePrivateKey, tree } from './helpers';

const FIX = join(__dirname, '..', 'fixtures', 'dockerfiles');
const dirs: string[] = [];
const dir = (files: Record<string, string> = {}) => {
  const d = tree(files, 'cleanimg-df-cli-');
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('cleanimg-customize check on Dockerfiles', () => {
  it('reports each violation with file:line and fix, and exits 1', async () => {
    const d = dir();
    copyFileSync(join(FIX, 'guide-6-node.Dockerfile'), join(d, 'Dockerfile'));
    const r = await runCli(['check', join(d, 'Dockerfile')]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${join(d, 'Dockerfile')}: final stage`);
    expect(r.out).toMatch(new RegExp(`DF003 ${join(d, 'Dockerfile').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:22: RUN npm ci --only=production --no-audit runs in the final stage, which has no shell\\n\\s+fix: install packages in the builder stage`));
    expect(r.out).toMatch(/DF002 .*Dockerfile:2: stage 0 \(builder\): its base "node:20" is not pinned/);
    expect(r.out).toMatch(/1 object in 1 file: 1 breaks 3 rules \(3 findings\)/);
  });

  it('finds Dockerfile, *.Dockerfile, Dockerfile.*, Containerfile in folders next to YAML, and passes good ones (exit 0)', async () => {
    const good = checkDockerfile(`FROM ${BASE}\nCOPY app /app\nUSER 65532\nENTRYPOINT ["/app"]\n`);
    expect(good).toEqual([]);
    const goodText = `FROM ${BASE}\nCOPY app /app\nUSER 65532\nENTRYPOINT ["/app"]\n`;
    const d = dir({ 'Dockerfile': goodText, 'svc/api.Dockerfile': goodText, 'svc/Dockerfile.prod': goodText, 'svc/Containerfile': goodText, 'k8s/app.yaml': stringify(goodDeployment()), 'notes.txt': 'FROM x' });
    const r = await runCli(['check', d]);
    expect(r.out).toMatch(/5 objects in 5 files: no rule broken/);
    expect(r.code).toBe(0);
    writeFileSync(join(d, 'svc', 'Containerfile'), `${goodText}USER root\n`);
    const bad = await runCli(['check', '--json', d]);
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.out);
    expect(report.violations.map((v: any) => [v.code, v.file.slice(d.length), v.line, v.path.slice(d.length)])).toEqual([['DF006', '/svc/Containerfile', 5, '/svc/Containerfile:5']]);
  });

  it('takes --allowed-base, --non-root-base and --context', async () => {
    const d = dir({ 'Dockerfile': `FROM ${BASE}\nCOPY conf /etc/app\nENTRYPOINT ["/app"]\n`, 'conf/a.conf': fakePrivateKey() });
    expect((await runCli(['check', join(d, 'Dockerfile')])).code).toBe(0);
    const r = await runCli(['check', '--allowed-base', 'registry.example.com/', '--non-root-base', 'registry.example.com/', '--context', d, join(d, 'Dockerfile')]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/DF001 .*Dockerfile:1: .*not from an allowed base family \(registry.example.com\/\)/);
    expect(r.out).toMatch(/DF006 .*Dockerfile:1: no USER is set/);
    expect(r.out).toMatch(/DF008 .*Dockerfile:2: context file "conf\/a.conf" contains a private key/);
  });

  it('reports an unparsable Dockerfile as an error (exit 2) with its line, no stack trace', async () => {
    const d = dir({ 'Dockerfile': `FROM ${BASE}\nCOPPY a b\n` });
    const r = await runCli(['check', d]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/DFP001 .*Dockerfile:2: unknown instruction "COPPY"/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('rules lists the Dockerfile rules after the Kubernetes ones', async () => {
    const r = await runCli(['rules', '--json']);
    const ids = JSON.parse(r.out).map((x: any) => x.id);
    expect(ids.filter((id: string) => id.startsWith('DF'))).toEqual(['DF001', 'DF002', 'DF003', 'DF004', 'DF005', 'DF006', 'DF007', 'DF008', 'DF009']);
    expect(ids.indexOf('DF001')).toBeGreaterThan(ids.indexOf('HD001'));
    expect((await runCli(['check', '--help'])).out).toMatch(/DF003\s+no RUN in the final stage/);
  });
});

describe('cleanimg-customize dockerfile', () => {
  const args = ['dockerfile', '--lang', 'go', '--builder', BUILDER, '--base', BASE];

  it('prints the Dockerfile and .dockerignore to stdout', async () => {
    const r = await runCli([...args, '--copy', 'config.yaml:/etc/app/config.yaml:0444', '--env', 'LOG_LEVEL=info', '--port', '8080', '--entrypoint', '["/app/app","serve"]']);
    expect(r.code).toBe(0);
    const [dockerfile, dockerignore] = r.out.split('# ---- .dockerignore ----\n');
    expect(checkDockerfile(dockerfile!)).toEqual([]);
    expect(dockerfile).toContain('COPY --chmod=0444 config.yaml /etc/app/config.yaml');
    expect(dockerfile).toContain('ENTRYPOINT ["/app/app","serve"]');
    expect(dockerignore).toMatch(/^\.env$/m);
  });

  it('writes both files with --out, refuses to overwrite without --force (changing nothing), replaces with --force', async () => {
    const d = dir();
    const out = join(d, 'app');
    const r = await runCli([...args, '--out', out]);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['.dockerignore', 'Dockerfile']);
    expect(checkDockerfile(readFileSync(join(out, 'Dockerfile'), 'utf8'))).toEqual([]);
    writeFileSync(join(out, 'Dockerfile'), 'mine\n');
    rmSync(join(out, '.dockerignore'));
    const again = await runCli(['dockerfile', '--lang', 'node', '--builder', `node:20@${BUILDER.split('@')[1]}`, '--base', BASE, '--out', out]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/CLI011 .*Dockerfile: already exists — pass --force/);
    expect(readFileSync(join(out, 'Dockerfile'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(out, '.dockerignore'))).toBe(false);
    const forced = await runCli(['dockerfile', '--lang', 'node', '--builder', `node:20@${BUILDER.split('@')[1]}`, '--base', BASE, '--out', out, '--force', '--no-build', '--output', 'src']);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(out, 'Dockerfile'), 'utf8')).toContain('COPY --from=builder /app/src ./src');
    expect(readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses unpinned images and bad flags with exit 2, writing nothing', async () => {
    const d = dir();
    const r = await runCli(['dockerfile', '--lang', 'go', '--builder', 'golang:1.22', '--base', 'cleanstart/go:latest', '--out', join(d, 'x')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/GEN001 builderImage: builder image "golang:1.22" is not pinned by digest/);
    expect(r.err).toMatch(/GEN001 prodBase/);
    expect(existsSync(join(d, 'x'))).toBe(false);
    expect((await runCli([...args, '--entrypoint', '/app/app'])).err).toMatch(/CLI010 --entrypoint/);
    expect((await runCli([...args, '--copy', 'justone'])).err).toMatch(/CLI010 --copy/);
    expect((await runCli([...args, '--lang', 'rust'])).err).toMatch(/GEN001 lang/);
    expect((await runCli(['dockerfile', '--lang', 'go'])).code).toBe(2);
  });
});
