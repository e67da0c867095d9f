/**
 * `cleanimg-customize check` refuses manifest text that Go's YAML (kubectl, the API server) reads
 * differently from the JS parser the rules run on (HD033), with the file, line and fix.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { goodDeployment } from '../support/fixtures';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** One file `name` holding `content` in a new folder; returns the file's path. */
function file(name: string, content: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'cleanimg-check-go-'));
  dirs.push(dir);
  writeFileSync(join(dir, name), content);
  return join(dir, name);
}

const good = () => stringify(goodDeployment());

describe('check: HD033, text Go reads differently', () => {
  it('passes a hardened manifest, with CR LF line ends too', async () => {
    expect((await runCli(['check', file('ok.yaml', good())])).code).toBe(0);
    const crlf = await runCli(['check', file('crlf.yaml', good().replace(/\n/g, '\r\n'))]);
    expect(crlf.out).toMatch(/no rule broken/);
    expect(crlf.code).toBe(0);
  });

  it('refuses a raw U+2028 in a comment, where Go starts a new line: hostPID for Go, a comment for the JS parser', async () => {
    const text = good().replace('spec:\n  replicas', '# rollout notes\u2028hostNetwork: true\nspec:\n  replicas');
    const path = file('app.yaml', text);
    const r = await runCli(['check', path]);
    expect(r.code).toBe(1);
    const line = text.slice(0, text.indexOf('\u2028')).split('\n').length;
    expect(r.out).toContain(`${path}: Deployment/web\n  HD033 ${path}:${line}: column 16: the text contains U+2028 (LINE SEPARATOR) written raw; Go's YAML reads it as a line break, the JS parser as a character\n      fix: use HardenedApp (its writer escapes it) or remove the character`);
    expect(r.out).toMatch(/1 object in 1 file: 1 breaks 1 rule \(1 finding\)/);
  });

  it('reports every finding at once, each with its line, and the other rules too (--json)', async () => {
    const bad = goodDeployment();
    bad.spec.template.spec.hostPID = true;
    bad.metadata.labels.build = '672.e_-6';
    bad.metadata.annotations = { note: 'a\u0085b', raw: 'x\u007fy' };
    const r = await runCli(['check', '--json', file('bad.yaml', stringify(bad))]);
    const report = JSON.parse(r.out);
    expect(report.violations.map((v: { code: string }) => v.code).sort()).toEqual(['HD009', 'HD033', 'HD033', 'HD033']);
    const messages = report.violations.filter((v: { code: string }) => v.code === 'HD033').map((v: { path: string; message: string }) => `${v.path.replace(/^.*bad\.yaml/, 'bad.yaml')} ${v.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^bad\.yaml:\d+ column \d+: "672\.e_-6" is written plain: Go's YAML reads 0\.000672, the JS parser \(YAML 1\.2\) the string "672\.e_-6"$/),
      expect.stringMatching(/^bad\.yaml:\d+ column \d+: the text contains U\+0085 \(NEXT LINE\) written raw/),
      expect.stringMatching(/^bad\.yaml:\d+ column \d+: the text contains U\+007F written raw; Go's YAML refuses the whole document/),
    ]);
    expect(r.code).toBe(1);
  });

  it('leaves alone what both read the same: 0o17 is a number to Go and to YAML 1.2 alike', async () => {
    const d = goodDeployment();
    d.metadata.labels.mode = 'x';
    const r = await runCli(['check', file('n.yaml', stringify(d).replace('mode: x', 'mode: 0o17'))]);
    expect(r.out).not.toMatch(/HD033/);
  });

  it('refuses bytes that are not UTF-8', async () => {
    const r = await runCli(['check', file('latin1.yaml', Buffer.concat([Buffer.from(good()), Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from('\n')]))]);
    expect(r.out).toMatch(/HD033 .*latin1\.yaml:\d+: column \d+: the file is not valid UTF-8/);
    expect(r.code).toBe(1);
  });

  it('lists HD033 beside CLI002 when the JS parser cannot read the text either', async () => {
    const r = await runCli(['check', file('broken.yaml', 'a: x\u2028b: y\n')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/CLI002 .*broken\.yaml:1/);
    expect(r.err).toMatch(/HD033 .*broken\.yaml:1: column 5: the text contains U\+2028/);
  });
});
