import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { goodDeployment } from '../support/fixtures';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cleanimg-check-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

describe('cleanimg-customize check', () => {
  it('passes hardened manifests (exit 0)', async () => {
    const dir = tree({ 'ok.yaml': stringify(goodDeployment()) });
    const r = await runCli(['check', dir]);
    expect(r.out).toMatch(/1 objects in 1 files: no rule broken/);
    expect(r.code).toBe(0);
  });

  it('lists every violation with its fix and exits 1, walking folders and multi-document files', async () => {
    const bad = goodDeployment();
    bad.metadata.name = 'legacy';
    bad.spec.template.spec.containers[0].image = 'nginx:1.25';
    bad.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
    const dir = tree({
      'k8s/app.yaml': `${stringify(goodDeployment())}---\n${stringify(bad)}`,
      'k8s/secret.yml': stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { secret_key: 'x' } }),
      'k8s/notes.txt': 'not yaml, skipped in folders',
    });
    const r = await runCli(['check', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('Deployment/legacy');
    expect(r.out).toMatch(/HD003 \/spec\/template\/spec\/containers\/0\/image: image "nginx:1.25" is not pinned by digest\n\s+fix: use nginx:1.25@sha256:<digest>/);
    expect(r.out).toMatch(/HD004/);
    expect(r.out).toMatch(/HD030 \/stringData/);
    expect(r.out).toMatch(/3 objects in 2 files: 2 break 3 rules \(3 findings\)/);
  });

  it('prints a JSON report with --json', async () => {
    const bad = goodDeployment();
    bad.spec.template.spec.hostPID = true;
    const r = await runCli(['check', '--json', tree({ 'a.yaml': stringify(bad) })]);
    const report = JSON.parse(r.out);
    expect(report.ok).toBe(false);
    expect(report.violations.map((v: any) => [v.code, v.object, v.path])).toEqual([['HD009', 'Deployment/web', '/spec/template/spec/hostPID']]);
    expect(r.code).toBe(1);
  });

  it('reads a List kind', async () => {
    const r = await runCli(['check', tree({ 'l.yaml': stringify({ apiVersion: 'v1', kind: 'List', items: [goodDeployment(), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } }] }) })]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Pod\/p/);
  });

  it('reports malformed YAML and missing paths as errors (exit 2) without a stack trace', async () => {
    const r = await runCli(['check', tree({ 'bad.yaml': 'a: [1, 2\nb: c' })]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/CLI002 .*bad.yaml:\d+/);
    expect(r.err).not.toMatch(/\n\s+at /);
    const m = await runCli(['check', '/nonexistent/path']);
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/CLI001/);
  });

  it('has help that lists the rules, and a rules command', async () => {
    const h = await runCli(['check', '--help']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/HD003\s+images are pinned by digest/);
    const r = await runCli(['rules', '--json']);
    expect(JSON.parse(r.out).length).toBeGreaterThan(20);
    expect((await runCli(['no-such-command'])).code).toBe(2);
  });
});
