/**
 * HD033's two halves: the object rule (strings UTF-8 cannot carry) and the text check (what Go's YAML
 * reads differently from the JS parser). The cases come from go-yaml v2's reader and scanner
 * (readerc.go, scannerc.go); test/cdk8s/go-yaml-roundtrip.test.ts checks them against Go itself.
 */
import { describe, expect, it } from 'vitest';
import { checkObject, goYamlTextFindings, goYamlTextViolations, readAsNumberByGo, RULES } from '../../src/rules';

const at = (text: string, options?: Parameters<typeof goYamlTextFindings>[1]) => goYamlTextFindings(text, options).map((f) => `${f.line}:${f.column}`);

describe('HD033 on objects: strings that cannot be encoded', () => {
  it('is in the rule list, in id order', () => {
    const ids = RULES.map((r) => r.id);
    expect(ids).toContain('HD033');
    expect([...ids].sort()).toEqual(ids);
  });

  it('refuses lone surrogates in values and keys, anywhere, with the JSON pointer', () => {
    const o = {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { ['k\udc00/x~y']: 'v' } },
      data: { a: 'x\ud800', b: 'ok 🙂', c: '\udbff\udfff' }, list: [['fine', 'bad\ud83d']],
    };
    const v = checkObject(o).filter((x) => x.code === 'HD033');
    expect(v.map((x) => x.path)).toEqual(['/metadata/labels/k\\uDC00~1x~0y', '/data/a', '/list/0/1']);
    expect(v[1]!.message).toMatch(/lone surrogate \(U\+D800 at index 1\), which UTF-8 cannot encode/);
    expect(v[0]!.message).toMatch(/^the key "k\\udc00\/x~y"/);
    expect(v[1]!.fix).toMatch(/remove the lone surrogate/);
  });

  it('passes strings with paired surrogates and every other character', () => {
    const all = Array.from({ length: 0xd800 }, (_, c) => String.fromCharCode(c)).join('') + '🙂\u{10ffff}\ue000\ufffe';
    expect(checkObject({ kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: all } }).filter((x) => x.code === 'HD033')).toEqual([]);
  });
});

describe('HD033 on text: what Go\'s YAML reads differently', () => {
  it('finds Go\'s line breaks written raw, wherever they are', () => {
    expect(at('a: x\u2028hostPID: true\n')).toEqual(['1:5']);
    expect(at('# c\u2029b: 1\na: "x\u0085y"\n')).toEqual(['1:4', '2:6']);
    const [f] = goYamlTextFindings('a: |-\n  x\n  y\u2028hostPID: true\n');
    expect(f).toMatchObject({ line: 3, column: 4 });
    expect(f!.message).toBe('the text contains U+2028 (LINE SEPARATOR) written raw; Go\'s YAML reads it as a line break, the JS parser as a character');
    expect(f!.fix).toBe('use HardenedApp (its writer escapes it) or remove the character');
  });

  it('finds a CR without LF, but not CR LF line ends', () => {
    expect(at('a: x\ry\n')).toEqual(['1:5']);
    expect(at('a: x\r\nb: z\r\n')).toEqual([]);
  });

  it('finds characters Go refuses raw: C0 controls but TAB/LF/CR, DEL, C1 but NEL, U+FFFE, U+FFFF', () => {
    for (const c of ['\0', '\x01', '\x0b', '\x1f', '\x7f', '\x80', '\x9f', '\ufffe', '\uffff']) {
      const [f, ...rest] = goYamlTextFindings(`a: "x${c}y"\n`);
      expect(rest).toEqual([]);
      expect(f!.message, JSON.stringify(c)).toMatch(/Go's YAML refuses the whole document/);
    }
    expect(at('a: "x\ty \u00a0 é 🙂 \ue000 \ufffd"\n')).toEqual([]);
  });

  it('finds U+FEFF after the start of the text, not a byte order mark that starts it', () => {
    expect(at('\ufeffa: 1\n')).toEqual([]);
    expect(at('a: 1\n\ufeffb: 2\n')).toEqual(['2:1']);
    expect(goYamlTextFindings('a: x\ufeffy\n')[0]!.message).toMatch(/U\+FEFF \(BYTE ORDER MARK\)/);
  });

  it('finds bytes that are not UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from('a: 1\nb: x'), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]);
    const [f] = goYamlTextFindings(bytes);
    expect(f).toMatchObject({ line: 2, message: expect.stringMatching(/not valid UTF-8/) });
    expect(goYamlTextFindings(Buffer.from('a: é🙂\n'))).toEqual([]);
  });

  it('finds a tab where a block scalar\'s indentation is still being found, and only there', () => {
    expect(at('a: |-\n  \tx\n  y\n')).toEqual(['2:3']);
    expect(at('a: |\n\n  \n  \tx\n')).toEqual(['4:3']);
    expect(at('a:\n  - >-\n    \tx\n')).toEqual(['3:5']);
    // A tab after the indentation is found is content; an indentation indicator fixes it; plain text is fine.
    expect(at('a: |-\n  x\n  \ty\n')).toEqual([]);
    expect(at('a: |2-\n  \tx\n')).toEqual([]);
    expect(at('a: x\tb\nc:\t1\n')).toEqual([]);
  });

  it('finds YAML 1.1 booleans, octal numbers and merge keys that Go reads otherwise than YAML 1.2, in values and keys', () => {
    const text = 'a: yes\nb: "yes"\nc: on\nd: y\ne: True\nf: 0777\ng: 0o17\nh: ~\non: x\n"off": x\nbase: &b {x: 1}\nm:\n  <<: *b\nnote: runs on nodes\nn: x\n';
    expect(at(text, { version: '1.2' })).toEqual(['1:4', '3:4', '4:4', '6:4', '9:1', '13:3', '15:1']);
    expect(goYamlTextFindings('m:\n  <<: {hostPID: true}\n', { version: '1.2' })[0]!.message).toMatch(/merge key/);
    // Read as YAML 1.1 (cdk8s's text), the booleans and octal agree with Go but not with what the guards
    // read (YAML 1.2), so they are still findings; 0o17 (a string in 1.1) and the merge key as before.
    expect(at(text, { version: '1.1' })).toEqual(['1:4', '3:4', '4:4', '6:4', '7:4', '9:1', '13:3', '15:1']);
    // 010000 is 4096 to Go and to YAML 1.1, but 10000 to the guards' YAML 1.2 reading: a UID the rules would pass.
    const [uid] = goYamlTextFindings('runAsUser: 010000\n', { version: '1.1' });
    expect(uid!.message).toBe('"010000" is written plain: Go\'s YAML reads 4096, the JS parser (YAML 1.2, as the guards read it) 10000');
  });

  it('refuses a "<<" key in an object, which cdk8s writes plain and Go then merges', () => {
    const v = checkObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', annotations: { '<<': 'x' } } } as never).filter((x) => x.code === 'HD033');
    expect(v.map((x) => x.path)).toEqual(['/metadata/annotations/<<']);
    expect(v[0]!.fix).toMatch(/remove the "<<" key/);
  });

  it('finds plain scalars Go reads as numbers where the JS side reads strings', () => {
    expect(at('a: 672.e_-6\nb: 1_000\nc: "0o17"\nd: 8080\ne: 1.5\nf: v1.0\n', { version: '1.2' })).toEqual(['1:4', '2:4']);
    // Written for YAML 1.1 (cdk8s's writer): 0o17 is a string there (and in 1.2 a number, as for Go).
    expect(at('a: 0o17\nb: 09\nc: 0755\nd: 0x1F\n', { version: '1.1' })).toEqual(['1:4', '3:4']);
    expect(at('a: 0o17\nb: 09\n', { version: '1.2' })).toEqual([]);
    expect(at('"0o17": 1\n1_0: x\n', { version: '1.2' })).toEqual(['2:1']);
    // Inside a block scalar it is text, not a scalar.
    expect(at('a: |\n  timeout: 672.e_-6\n')).toEqual([]);
    expect(goYamlTextFindings('a: 672.e_-6\n')[0]!.message).toBe('"672.e_-6" is written plain: Go\'s YAML reads 0.000672, the JS parser (YAML 1.1, as cdk8s writes) the string "672.e_-6"');
  });

  it('agrees with go-yaml v2 on what is a number (strconv.ParseInt base 0 without `_`, then its float pattern)', () => {
    for (const s of ['0o17', '0O17', '0x1F', '-0x1F', '+0b101', '0755', '09', '1_000', '672.e_-6', '.5', '-.5_5', '+1.', '1e3', '99999999999999999999999999999999999999999999999999999999999999999999']) expect(readAsNumberByGo(s), s).toBe(true);
    for (const s of ['', 'x1', '1.2.3', '0o8', '0x', '1e', '.', '-', '1-2', '2001-12-14', '.inf', '1:20']) expect(readAsNumberByGo(s), s).toBe(false);
  });

  it('names the object whose document holds the finding, and the file and line', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: ns}\ndata: {x: "\u2028"}\n---\n- not an object \u2029\n';
    const v = goYamlTextViolations(text, 'dist/app.k8s.yaml');
    expect(v.map((x) => [x.code, x.object, x.path])).toEqual([['HD033', 'ConfigMap/ns/b', 'dist/app.k8s.yaml:8'], ['HD033', 'document 3', 'dist/app.k8s.yaml:10']]);
    expect(v[0]!.message).toMatch(/^column 12: the text contains U\+2028/);
  });

  it('is quiet on ordinary manifests', () => {
    const text = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {a: "0o17"}\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - image: nginx:1.25@sha256:abc\n          args: ["--x=1.5", "1_000"]\n          resources: {limits: {cpu: 0.5, memory: 64Mi}}\n          env:\n            - name: CONF\n              value: |\n                a\tb\n                key: value\n';
    expect(goYamlTextFindings(text)).toEqual([]);
  });
});
