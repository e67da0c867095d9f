import { afterAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { CleanimgError, type Problem } from '../../src/errors';
import { loadSpec, parseSpec, parseSpecObject, specDigest } from '../../src/customize/spec';
import { cleanupTmp, tmp, write } from './fixtures';

const HEX = 'a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';

function problems(fn: () => unknown): Problem[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CleanimgError);
    return [...(e as CleanimgError).problems];
  }
  throw new Error('expected a CleanimgError');
}

afterAll(cleanupTmp);

describe('spec: the guide example as written', () => {
  // From the guide (Example 1), with a real 64-hex digest in place of "abc123...".
  const guide = `base_image: "cleanstart/postgresql:15-prod@sha256:${HEX}"
arch: amd64
variant: prod
copy_files:
  - source: certs/corporate-ca.crt
    destination: /etc/ssl/certs/corporate-ca.crt
  - source: config/custom.conf
    destination: /etc/postgresql/custom.conf
`;

  it('parses every field', () => {
    const s = parseSpec(guide, 'postgres-spec.yaml');
    expect(s.base_image).toEqual({ text: `cleanstart/postgresql:15-prod@sha256:${HEX}`, name: 'cleanstart/postgresql', tag: '15-prod', digest: `sha256:${HEX}` });
    expect(s.arch).toBe('amd64');
    expect(s.variant).toBe('prod');
    expect(s.copy_files).toEqual([
      { source: 'certs/corporate-ca.crt', destination: '/etc/ssl/certs/corporate-ca.crt' },
      { source: 'config/custom.conf', destination: '/etc/postgresql/custom.conf' },
    ]);
    expect(s.allow_private_keys).toBe(false);
    expect(s.labels).toEqual({});
  });

  it('refuses the guide\'s literal placeholder digest', () => {
    const ps = problems(() => parseSpec(guide.replace(HEX, 'abc123def456...'), 'postgres-spec.yaml'));
    expect(ps).toHaveLength(1);
    expect(ps[0]).toMatchObject({ code: 'SPEC004', path: 'base_image' });
    expect(ps[0]!.message).toContain('not a sha256 digest');
    expect(ps[0]!.fix).toContain('@sha256:');
  });

  it('gives the same spec digest for the same meaning, whatever the formatting', () => {
    const a = parseSpec(guide);
    const b = parseSpec(`# a comment\n${guide.replace('arch: amd64', 'arch:   "amd64"')}`);
    expect(specDigest(a)).toBe(specDigest(b));
    expect(specDigest(parseSpec(guide.replace('custom.conf\n', 'other.conf\n')))).not.toBe(specDigest(a));
  });
});

describe('spec: refusals name the field and the fix', () => {
  const base = (extra: string, files = '  - source: a.txt\n    destination: /etc/a.txt\n') =>
    `base_image: "reg.example.com:5000/team/app:1.0@sha256:${HEX}"\narch: amd64\ncopy_files:\n${files}${extra}`;

  it('base image not pinned by digest', () => {
    const ps = problems(() => parseSpec(base('').replace(`@sha256:${HEX}`, '')));
    expect(ps[0]).toMatchObject({ code: 'SPEC004', path: 'base_image' });
    expect(ps[0]!.message).toMatch(/not pinned by digest/);
  });

  it('uppercase or short digests', () => {
    expect(problems(() => parseSpec(base('').replace(HEX, HEX.toUpperCase())))[0]).toMatchObject({ code: 'SPEC004' });
    expect(problems(() => parseSpec(base('').replace(HEX, HEX.slice(1))))[0]).toMatchObject({ code: 'SPEC004' });
  });

  it('an invalid repository name', () => {
    expect(problems(() => parseSpec(base('').replace('team/app', 'Team/App')))[0]).toMatchObject({ code: 'SPEC004', path: 'base_image' });
  });

  it('unknown keys (typos) at the top and in entries', () => {
    const ps = problems(() => parseSpec(base('copy_file: []\n', '  - source: a.txt\n    destinaton: /etc/a.txt\n')));
    const byPath = Object.fromEntries(ps.map((p) => [p.path, p]));
    expect(byPath['copy_file']).toMatchObject({ code: 'SPEC003' });
    expect(byPath['copy_file']!.fix).toMatch(/^did you mean "copy_files"\?/);
    expect(byPath['copy_files[0].destinaton']!.fix).toMatch(/^did you mean "destination"\?/);
    expect(byPath['copy_files[0].destinaton']).toMatchObject({ code: 'SPEC003' });
    expect(byPath['copy_files[0].destination']).toMatchObject({ code: 'SPEC002', message: 'required field is missing' });
  });

  it('a missing destination in the second entry', () => {
    const ps = problems(() => parseSpec(base('', '  - source: a.txt\n    destination: /etc/a.txt\n  - source: b.txt\n')));
    expect(ps).toEqual([expect.objectContaining({ code: 'SPEC002', path: 'copy_files[1].destination' })]);
  });

  it('wrong types', () => {
    const ps = problems(() => parseSpec(`base_image: 42\narch: amd64\ncopy_files: "a.txt"\nlabels: {enabled: true}\nallow_private_keys: "yes"\n`));
    const paths = ps.map((p) => p.path).sort();
    expect(paths).toEqual(['allow_private_keys', 'base_image', 'copy_files', 'labels.enabled']);
    expect(ps.every((p) => p.code === 'SPEC002' && p.fix.length > 0)).toBe(true);
  });

  it('an empty copy_files list', () => {
    expect(problems(() => parseSpec(`base_image: "a@sha256:${HEX}"\narch: amd64\ncopy_files: []\n`))[0]).toMatchObject({ code: 'SPEC002', path: 'copy_files' });
  });

  it('malformed YAML with its line', () => {
    const ps = problems(() => parseSpec('base_image: "x\narch: [amd64\n', 'bad.yaml'));
    expect(ps[0]!.code).toBe('SPEC001');
    expect(ps[0]!.path).toMatch(/^bad\.yaml:\d+:\d+$/);
  });

  it('duplicate keys, several documents, an empty file, a list', () => {
    expect(problems(() => parseSpec(base('arch: arm64\n')))[0]!.code).toBe('SPEC001');
    expect(problems(() => parseSpec(base('') + '---\n' + base('')))[0]!.code).toBe('SPEC001');
    expect(problems(() => parseSpec(''))[0]!.code).toBe('SPEC001');
    expect(problems(() => parseSpec('- a\n- b\n'))[0]!.code).toBe('SPEC002');
  });

  it('an unknown arch; x86_64 is read as amd64', () => {
    expect(problems(() => parseSpec(base('').replace('arch: amd64', 'arch: amd46')))[0]).toMatchObject({ code: 'SPEC007', path: 'arch' });
    expect(parseSpec(base('').replace('arch: amd64', 'arch: x86_64')).arch).toBe('amd64');
  });

  it('collects every problem at once', () => {
    const ps = problems(() =>
      parseSpec(`base_image: "nginx:1.25"\narch: sparc\ncopy_files:\n  - source: a\n    destination: /a\n    mode: "0999"\n    owner: postgres\n`),
    );
    expect(ps.map((p) => `${p.code} ${p.path}`).sort()).toEqual([
      'SPEC004 base_image',
      'SPEC005 copy_files[0].mode',
      'SPEC006 copy_files[0].owner',
      'SPEC007 arch',
    ]);
  });
});

describe('spec: mode and owner', () => {
  const one = (line: string) => parseSpec(`base_image: "a@sha256:${HEX}"\narch: amd64\ncopy_files:\n  - source: a\n    destination: /a\n    ${line}\n`).copy_files[0]!;

  it('reads modes as octal however they are written', () => {
    expect(one('mode: 0600').mode).toBe(0o600); // YAML 1.2 would say decimal 600
    expect(one('mode: "0755"').mode).toBe(0o755);
    expect(one('mode: 0o640').mode).toBe(0o640);
    expect(one('mode: 644').mode).toBe(0o644);
    expect(one('mode: "1755"').mode).toBe(0o1755);
    expect(one('owner: "65532:65532"').mode).toBeUndefined();
  });

  it('refuses world-writable file modes (SPEC009), even with the sticky bit; a folder may be 1777', () => {
    const p = (line: string) => problems(() => one(line))[0]!;
    for (const m of ['"0666"', '"0777"', '"1777"', '"0002"', '2']) expect(p(`mode: ${m}`), m).toMatchObject({ code: 'SPEC009', path: 'copy_files[0].mode' });
    expect(one('mode: "0664"').mode).toBe(0o664);
  });

  it('refuses non-octal digits, out-of-range and setuid/setgid modes', () => {
    const p = (line: string) => problems(() => one(line))[0]!;
    expect(p('mode: 0888')).toMatchObject({ code: 'SPEC005', path: 'copy_files[0].mode' });
    expect(p('mode: "rw-r--r--"')).toMatchObject({ code: 'SPEC005' });
    expect(p('mode: "4755"').message).toContain('setuid');
    expect(p('mode: "2755"').code).toBe('SPEC005');
    expect(p('mode: 17777').code).toBe('SPEC005');
  });

  it('reads owners', () => {
    expect(one('owner: "65532:65533"').owner).toEqual({ uid: 65532, gid: 65533 });
    expect(one('owner: 65532:65532').owner).toEqual({ uid: 65532, gid: 65532 });
    expect(one('owner: 1000').owner).toEqual({ uid: 1000, gid: 1000 });
    expect(problems(() => one('owner: "postgres:postgres"'))[0]).toMatchObject({ code: 'SPEC006', path: 'copy_files[0].owner' });
    expect(problems(() => one('owner: "1:99999999"'))[0]).toMatchObject({ code: 'SPEC006' });
  });

  it('takes numbers at face value in object specs (constructs)', () => {
    const s = parseSpecObject({ base_image: `a@sha256:${HEX}`, arch: 'arm64', copy_files: [{ source: 'a', destination: '/a', mode: 0o600, owner: '10001:10001' }] });
    expect(s.copy_files[0]).toMatchObject({ mode: 0o600, owner: { uid: 10001, gid: 10001 } });
  });

  it('accepts directories, labels, annotations and the key override', () => {
    const s = parseSpec(
      `base_image: "a@sha256:${HEX}"\narch: amd64\ncopy_files: [{source: a, destination: /etc/app/a}]\ndirectories:\n  - path: /etc/app\n    mode: "0750"\n    owner: "0:65532"\nlabels: {org.example.team: db}\nannotations: {org.example.ticket: "1"}\nallow_private_keys: true\n`,
    );
    expect(s.directories).toEqual([{ path: '/etc/app', mode: 0o750, owner: { uid: 0, gid: 65532 } }]);
    expect(s.labels).toEqual({ 'org.example.team': 'db' });
    expect(s.annotations).toEqual({ 'org.example.ticket': '1' });
    expect(s.allow_private_keys).toBe(true);
  });
});

describe('loadSpec', () => {
  it('resolves the folder and reports a missing file', async () => {
    const d = tmp();
    const f = write(path.join(d, 'sub', 's.yaml'), `base_image: "a@sha256:${HEX}"\narch: amd64\ncopy_files: [{source: a, destination: /a}]\n`);
    const l = await loadSpec(f);
    expect(l.specDir).toBe(path.join(d, 'sub'));
    expect(l.specDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
    await expect(loadSpec(path.join(d, 'nope.yaml'))).rejects.toMatchObject({ problems: [expect.objectContaining({ code: 'SPEC001', message: 'the spec file does not exist' })] });
  });
});
