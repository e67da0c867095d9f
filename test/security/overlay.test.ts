/**
 * Attacks on what an overlay may put into an image, through the CLI as a user runs it
 * (`cleanimg-customize build --base-layout ... --output-layout ...`, offline on the embedded base):
 * each must fail with its rule id and write nothing. A control shows the same spec folder builds
 * once the attack is taken out, so a refusal for another reason cannot pass.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';

interface OverlayAttack {
  name: string;
  rule: string;
  /** Files to create in the spec folder (relative path -> content), or a function that sets it up. */
  setup?: (dir: string, outside: string) => void;
  /** YAML lines after `copy_files:` (and any top-level fields after them). */
  spec: string;
}

/** A stand-in ELF binary carrying `strings`, as the shell sniffer of verify reads one. */
const elf = (strings: string) => `\x7fELF\x02\x01\x01${'\0'.repeat(40)}${strings}${'\0'.repeat(40)}`;
const BUSYBOX = elf('BusyBox v1.36.1 (2024-01-01) multi-call binary');
const BASH = elf('GNU bash, version 5.2.15(1)-release');
const DASH = elf('Syntax error: %s\0Illegal option -%c');

const ATTACKS: OverlayAttack[] = [
  { name: 'a world-writable file mode', rule: 'SPEC009', spec: '  - {source: app.conf, destination: /etc/app/app.conf, mode: "0666"}' },
  { name: 'an all-permissions file mode', rule: 'SPEC009', spec: '  - {source: app.conf, destination: /etc/app/app.conf, mode: "0777"}' },
  { name: 'others-write only, as a bare YAML number', rule: 'SPEC009', spec: '  - {source: app.conf, destination: /etc/app/app.conf, mode: 2}' },
  { name: 'a world-writable folder without the sticky bit', rule: 'SPEC009', spec: '  - {source: app.conf, destination: /srv/drop/app.conf}\ndirectories:\n  - {path: /srv/drop, mode: "0777"}' },
  { name: 'a file at /etc/ld.so.preload', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/ld.so.preload}' },
  { name: 'a file at /etc/passwd', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/passwd}' },
  { name: 'a file at /etc/shadow', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/shadow}' },
  { name: 'a file into /etc/pam.d/', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/pam.d/}' },
  { name: 'a file under /etc/ld.so.preload (would make it a folder)', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/ld.so.preload/}' },
  {
    name: 'a folder copied into /etc that holds passwd', rule: 'INPUT013',
    setup: (d) => { mkdirSync(join(d, 'etc-tree')); writeFileSync(join(d, 'etc-tree/passwd'), 'nonroot:x:0:0::/:/sbin/nologin\n'); },
    spec: '  - {source: app.conf, destination: /etc/app/app.conf}\n  - {source: etc-tree, destination: /etc}',
  },
  {
    name: 'a folder copied to / that holds etc/ld.so.conf.d/hook.conf', rule: 'INPUT013',
    setup: (d) => { mkdirSync(join(d, 'root/etc/ld.so.conf.d'), { recursive: true }); writeFileSync(join(d, 'root/etc/ld.so.conf.d/hook.conf'), '/opt/hook\n'); },
    spec: '  - {source: root, destination: /}',
  },
  { name: 'folder metadata for /etc/sudoers.d', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/app/app.conf}\ndirectories:\n  - {path: /etc/sudoers.d, mode: "0755", owner: "65532:65532"}' },
  {
    name: 'a source file hard-linked to a file outside the spec folder', rule: 'INPUT014',
    setup: (d, outside) => { writeFileSync(outside, 'root:$6$secret:19000:0:99999:7:::\n'); linkSync(outside, join(d, 'innocent.txt')); },
    spec: '  - {source: innocent.txt, destination: /etc/app/innocent.txt}',
  },
  {
    name: 'a hard link inside a folder source', rule: 'INPUT014',
    setup: (d, outside) => { writeFileSync(outside, 'secret\n'); mkdirSync(join(d, 'tree')); linkSync(outside, join(d, 'tree/x')); },
    spec: '  - {source: tree, destination: /opt/tree}',
  },
  {
    name: 'a FIFO inside a folder source', rule: 'INPUT004',
    setup: (d) => { mkdirSync(join(d, 'tree')); execFileSync('mkfifo', [join(d, 'tree/pipe')]); },
    spec: '  - {source: tree, destination: /opt/tree}',
  },
  { name: 'an override naming /etc itself', rule: 'SPEC010', spec: '  - {source: app.conf, destination: /etc/passwd}\nunsafe_allow_system_files: [/etc]' },
  { name: 'an override naming a file that needs none', rule: 'SPEC010', spec: '  - {source: app.conf, destination: /etc/app/app.conf}\nunsafe_allow_system_files: [/etc/app/app.conf]' },
  { name: 'an override for one system file used for another', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/shadow}\nunsafe_allow_system_files: [/etc/nsswitch.conf]' },
  {
    name: 'a folder copied into /etc/ with the runtime user as owner (hands /etc to that user)', rule: 'INPUT015',
    setup: (d) => { mkdirSync(join(d, 'conf')); writeFileSync(join(d, 'conf/app.yaml'), 'a: 1\n'); },
    spec: '  - {source: conf, destination: /etc/, owner: "65532:65532", mode: "0640"}',
  },
  {
    name: 'a folder copied to / whose subfolder usr/lib goes to the runtime user', rule: 'INPUT015',
    setup: (d) => { mkdirSync(join(d, 'root/usr/lib/app'), { recursive: true }); writeFileSync(join(d, 'root/usr/lib/app/x.so'), 'x\n'); },
    spec: '  - {source: root, destination: /, owner: "65532:65532"}',
  },
  { name: 'directories: /etc owned by the runtime user', rule: 'INPUT015', spec: '  - {source: app.conf, destination: /etc/app/app.conf}\ndirectories:\n  - {path: /etc, mode: "0755", owner: "65532:65532"}' },
  { name: 'directories: /etc made 1777', rule: 'INPUT015', spec: '  - {source: app.conf, destination: /etc/app/app.conf}\ndirectories:\n  - {path: /etc, mode: "1777"}' },
  { name: 'directories: /usr/lib made 1777', rule: 'INPUT015', spec: '  - {source: app.conf, destination: /etc/app/app.conf}\ndirectories:\n  - {path: /usr/lib, mode: "1777"}' },
  { name: 'directories: /usr/local/bin made 1777', rule: 'INPUT015', spec: '  - {source: app.conf, destination: /etc/app/app.conf}\ndirectories:\n  - {path: /usr/local/bin, mode: "1777"}' },
  { name: 'directories: /etc group-writable (OpenShift runs as group 0)', rule: 'INPUT015', spec: '  - {source: app.conf, destination: /etc/app/app.conf}\ndirectories:\n  - {path: /etc, mode: "0775"}' },
  { name: 'directories: the libc folder owned by the runtime user', rule: 'INPUT015', spec: '  - {source: app.conf, destination: /etc/app/app.conf}\ndirectories:\n  - {path: /usr/lib/x86_64-linux-gnu, owner: "65532:65532"}' },
  { name: 'a busybox binary under another name in a bin folder', rule: 'INPUT006', setup: (d) => writeFileSync(join(d, 'bb'), BUSYBOX), spec: '  - {source: bb, destination: /usr/local/bin/bb, mode: "0755"}' },
  { name: 'bash as /usr/bin/rbash', rule: 'INPUT006', setup: (d) => writeFileSync(join(d, 'bash.bin'), BASH), spec: '  - {source: bash.bin, destination: /usr/bin/rbash, mode: "0755"}' },
  { name: 'dash as /usr/libexec/sh', rule: 'INPUT006', setup: (d) => writeFileSync(join(d, 'dash.bin'), DASH), spec: '  - {source: dash.bin, destination: /usr/libexec/sh, mode: "0755"}' },
  { name: 'dash as /usr/bin/yash', rule: 'INPUT006', setup: (d) => writeFileSync(join(d, 'dash.bin'), DASH), spec: '  - {source: dash.bin, destination: /usr/bin/yash, mode: "0755"}' },
  { name: 'a file named busybox.static outside the bin folders', rule: 'INPUT006', spec: '  - {source: app.conf, destination: /opt/tools/busybox.static}' },
  {
    name: 'a shell inside a folder source, under an innocent name', rule: 'INPUT006',
    setup: (d) => { mkdirSync(join(d, 'tools')); writeFileSync(join(d, 'tools/helper'), BUSYBOX); },
    spec: '  - {source: tools, destination: /opt/tools}',
  },
  { name: 'a file at /etc/ld-musl-x86_64.path', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/ld-musl-x86_64.path}' },
  { name: 'a file at /etc/ld-musl-aarch64.path', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/ld-musl-aarch64.path}' },
  { name: 'a file at /etc/pam.conf', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/pam.conf}' },
  { name: 'a file at /etc/sudo.conf', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/sudo.conf}' },
  { name: 'a file at /etc/sudoers.d/app', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/sudoers.d/app}' },
  { name: 'a file at /etc/doas.conf', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/doas.conf}' },
  { name: 'a file at /etc/doas.d/app.conf', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/doas.d/app.conf}' },
  { name: 'a file at /etc/login.defs', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/login.defs}' },
  { name: 'a file at /etc/environment', rule: 'INPUT013', spec: '  - {source: app.conf, destination: /etc/environment}' },
  { name: '/etc//passwd, not normalised', rule: 'INPUT005', spec: '  - {source: app.conf, destination: /etc//passwd}' },
  { name: '/etc/./ld.so.preload, not normalised', rule: 'INPUT005', spec: '  - {source: app.conf, destination: /etc/./ld.so.preload}' },
];

let work: string;
let baseLayout: string;
let baseRef: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cleanimg-security-overlay-'));
  process.env.CLEANIMG_CACHE_DIR = join(work, 'cache');
  baseLayout = join(work, 'base');
  const r = await runCli(['base', '--output-layout', baseLayout]);
  expect(r.code, r.err).toBe(0);
  baseRef = r.out.split('\n')[0]!.trim();
});
afterAll(() => {
  delete process.env.CLEANIMG_CACHE_DIR;
  rmSync(work, { recursive: true, force: true });
});

async function build(name: string, attack: Pick<OverlayAttack, 'setup' | 'spec'>) {
  const dir = join(work, name.replace(/[^a-z0-9]+/gi, '-'));
  mkdirSync(dir);
  writeFileSync(join(dir, 'app.conf'), 'key = value\n');
  attack.setup?.(dir, join(work, `${name.replace(/[^a-z0-9]+/gi, '-')}-outside`));
  writeFileSync(join(dir, 'spec.yaml'), `base_image: "${baseRef}"\narch: amd64\ncopy_files:\n${attack.spec}\n`);
  const out = join(dir, 'out-layout');
  const r = await runCli(['build', '--spec', join(dir, 'spec.yaml'), '--tag', 'registry.example.com/attack:1', '--base-layout', baseLayout, '--output-layout', out, '--json']);
  return { ...r, wrote: existsSync(out) };
}

describe('attacks on the overlay are refused with their rule id, and nothing is written', () => {
  for (const a of ATTACKS) {
    it(`${a.rule}: ${a.name}`, async () => {
      const r = await build(a.name, a);
      expect(r.code, r.out).not.toBe(0);
      const codes = (JSON.parse(r.out) as { problems?: Array<{ code: string }> }).problems?.map((p) => p.code) ?? [];
      expect(codes, r.out).toContain(a.rule);
      expect(r.wrote).toBe(false);
    });
  }
});

describe('controls: the same paths build when nothing is wrong, or with the loud override', () => {
  it('a 0644 file, a 1777 folder (sticky), and a system file listed under unsafe_allow_system_files', async () => {
    const r = await build('controls', {
      spec: [
        '  - {source: app.conf, destination: /etc/app/app.conf, mode: "0644"}',
        '  - {source: app.conf, destination: /srv/drop/app.conf}',
        '  - {source: app.conf, destination: /etc/nsswitch.conf}',
        'directories:',
        '  - {path: /srv/drop, mode: "1777"}',
        'unsafe_allow_system_files: [/etc/nsswitch.conf]',
      ].join('\n'),
    });
    expect(r.code, `${r.out}${r.err}`).toBe(0);
    expect(r.wrote).toBe(true);
  });

  it('a folder copied into /etc/app/ with the runtime user as owner, and /tmp and /var/tmp as 1777', async () => {
    const r = await build('control-owned-app-folder', {
      setup: (d) => { mkdirSync(join(d, 'conf')); writeFileSync(join(d, 'conf/app.yaml'), 'a: 1\n'); },
      spec: '  - {source: conf, destination: /etc/app/, owner: "65532:65532", mode: "0640"}\ndirectories:\n  - {path: /tmp, mode: "1777"}\n  - {path: /var/tmp, mode: "1777"}',
    });
    expect(r.code, `${r.out}${r.err}`).toBe(0);
  });

  it('an ELF program that is no shell, under a bin folder', async () => {
    const r = await build('control-elf', { setup: (d) => writeFileSync(join(d, 'app'), elf('usage: app [--port N]')), spec: '  - {source: app, destination: /usr/local/bin/app, mode: "0755"}' });
    expect(r.code, `${r.out}${r.err}`).toBe(0);
  });

  it('a folder source whose files each have one name', async () => {
    const r = await build('control-tree', { setup: (d) => { mkdirSync(join(d, 'tree')); writeFileSync(join(d, 'tree/x'), 'x\n'); }, spec: '  - {source: tree, destination: /opt/tree}' });
    expect(r.code, `${r.out}${r.err}`).toBe(0);
  });
});

describe('bytes changed without a trace in the stat (a write through a dirty shared mapping keeps mtime and ctime)', () => {
  it('LAYER004: a cached scan record whose stat still matches but whose bytes are a key now; nothing is written', async () => {
    const name = 'mmap-poisoned-record';
    const dir = join(work, name);
    mkdirSync(dir);
    const conf = join(dir, 'app.conf');
    const key = execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519']);
    writeFileSync(conf, Buffer.alloc(key.length, 'a'));
    writeFileSync(join(dir, 'spec.yaml'), `base_image: "${baseRef}"\narch: amd64\ncopy_files:\n  - {source: app.conf, destination: /etc/app/app.conf}\n`);
    const first = await runCli(['build', '--spec', join(dir, 'spec.yaml'), '--tag', 'registry.example.com/attack:1', '--base-layout', baseLayout, '--output-layout', join(dir, 'out1'), '--json']);
    expect(first.code, first.out + first.err).toBe(0);
    // What the kernel does for a store into an already dirty MAP_SHARED page: new bytes, same stat.
    // Simulated by writing the key and putting the new stat into the record the first build left.
    writeFileSync(conf, key);
    const st = statSync(conf, { bigint: true });
    const files = join(work, 'cache', 'layers', 'files');
    const recPath = join(files, readdirSync(files).find((f) => JSON.parse(readFileSync(join(files, f), 'utf8')).source === conf)!);
    const rec = JSON.parse(readFileSync(recPath, 'utf8'));
    expect(rec.sha256).toBe(createHash('sha256').update(Buffer.alloc(key.length, 'a')).digest('hex'));
    writeFileSync(recPath, JSON.stringify({ ...rec, dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), recordedAtMs: Date.now() + 60_000 }));
    // Another mode: a new layer key, so the layer is built from the file's bytes now.
    writeFileSync(join(dir, 'spec.yaml'), `base_image: "${baseRef}"\narch: amd64\ncopy_files:\n  - {source: app.conf, destination: /etc/app/app.conf, mode: "0640"}\n`);
    const out = join(dir, 'out2');
    const r = await runCli(['build', '--spec', join(dir, 'spec.yaml'), '--tag', 'registry.example.com/attack:1', '--base-layout', baseLayout, '--output-layout', out, '--json']);
    expect(r.code, r.out).not.toBe(0);
    const problems = (JSON.parse(r.out) as { problems?: Array<{ code: string; message: string }> }).problems ?? [];
    expect(problems.map((p) => p.code), r.out).toEqual(['LAYER004']);
    expect(existsSync(out)).toBe(false);
  });
});
