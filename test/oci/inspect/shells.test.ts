import * as crypto from 'node:crypto';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { CleanimgError } from '../../../src/errors';
import { readFilesystem } from '../../../src/oci/inspect/filesystem';
import { checkShellFree, imageUser, shellByPath } from '../../../src/oci/inspect/shells';
import { isShellPath } from '../../../src/customize/inputs';
import type { Descriptor } from '../../../src/oci/types';

interface E {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  linkname?: string;
  content?: string;
  mode?: number;
}

/** A layer tar built with tar-stream, gzip-compressed unless `plain`. */
async function layer(entries: E[], opts: { plain?: boolean; mediaType?: string } = {}): Promise<{ desc: Descriptor; bytes: Buffer }> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c) => chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = type === 'file' ? Buffer.from(e.content ?? `#!${e.name}\n`) : undefined;
    const header = { name: e.name, type, linkname: e.linkname, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), mtime: new Date(0), uid: 0, gid: 0, ...(type.endsWith('device') ? { devmajor: 1, devminor: 3 } : {}) };
    if (content) pack.entry({ ...header, size: content.length }, content);
    else pack.entry(header);
  }
  pack.finalize();
  await done;
  const raw = Buffer.concat(chunks);
  const bytes = opts.plain ? raw : zlib.gzipSync(raw);
  const mediaType = opts.mediaType ?? (opts.plain ? 'application/vnd.oci.image.layer.v1.tar' : 'application/vnd.oci.image.layer.v1.tar+gzip');
  return { desc: { mediaType, size: bytes.length, digest: `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}` }, bytes };
}

/** Opens layers by digest, serving them in small chunks as a network would; counts opens. */
function opener(layers: { desc: Descriptor; bytes: Buffer }[], chunk = 7) {
  const byDigest = new Map(layers.map((l) => [l.desc.digest, l.bytes]));
  const opened: string[] = [];
  const open = (d: Descriptor) => {
    opened.push(d.digest);
    const bytes = byDigest.get(d.digest)!;
    return Readable.from(
      (function* () {
        for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
      })(),
    );
  };
  return { open, opened };
}

async function check(layers: { desc: Descriptor; bytes: Buffer }[], user?: string) {
  const { open } = opener(layers);
  return checkShellFree({ layers: layers.map((l) => l.desc), config: { config: user === undefined ? {} : { User: user } } }, open);
}

const base = [
  { name: 'etc/', type: 'directory' as const },
  { name: 'etc/passwd', content: 'nonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n' },
  { name: 'usr/', type: 'directory' as const },
  { name: 'usr/bin/', type: 'directory' as const },
  { name: 'usr/bin/app', content: 'ELF', mode: 0o755 },
];

describe('checkShellFree', () => {
  it('finds nothing in a shell-less image', async () => {
    const res = await check([await layer(base)], '65532:65532');
    expect(res.shellFree).toBe(true);
    expect(res.findings).toEqual([]);
    expect(res.user).toEqual({ user: '65532:65532', isRoot: false, uid: 65532, gid: 65532 });
    expect(res.entries).toBe(base.length);
  });

  it('finds /bin/sh as a regular file (gzip layer) and in a plain tar layer', async () => {
    const gz = await check([await layer([...base, { name: 'bin/', type: 'directory' }, { name: 'bin/sh', mode: 0o755 }])]);
    expect(gz.shellFree).toBe(false);
    expect(gz.findings).toEqual([{ path: '/bin/sh', kind: 'shell', layer: 0 }]);
    const plain = await check([await layer([{ name: './usr/bin/bash', mode: 0o755 }], { plain: true })]);
    expect(plain.findings).toEqual([{ path: '/usr/bin/bash', kind: 'shell', layer: 0 }]);
  });

  it('detects gzip from the bytes even when the media type says plain tar', async () => {
    const l = await layer([{ name: 'bin/dash' }], { mediaType: 'application/vnd.oci.image.layer.v1.tar' });
    expect((await check([l])).findings.map((f) => f.path)).toEqual(['/bin/dash']);
  });

  it('applies a whiteout in an upper layer that removes /bin/sh', async () => {
    const lower = await layer([...base, { name: 'bin/', type: 'directory' }, { name: 'bin/sh' }, { name: 'bin/true' }]);
    const upper = await layer([{ name: 'bin/.wh.sh', content: '' }]);
    const withOnlyLower = await check([lower]);
    expect(withOnlyLower.shellFree).toBe(false);
    const res = await check([lower, upper]);
    expect(res.shellFree).toBe(true);
    // the whiteout removed only sh
    const fsys = await readFilesystem([lower.desc, upper.desc], opener([lower, upper]).open);
    expect(fsys.lget('/bin/true')?.type).toBe('file');
    expect(fsys.lget('/bin/sh')).toBeUndefined();
  });

  it('applies an opaque directory: lower contents go, the same layer\'s entries stay', async () => {
    const lower = await layer([{ name: 'bin/', type: 'directory' }, { name: 'bin/bash' }, { name: 'bin/ls' }]);
    const upper = await layer([{ name: 'bin/', type: 'directory' }, { name: 'bin/.wh..wh..opq', content: '' }, { name: 'bin/app' }]);
    const fsys = await readFilesystem([lower.desc, upper.desc], opener([lower, upper]).open);
    expect([...fsys.walk()].map(([p]) => p)).toEqual(['/bin', '/bin/app']);
    expect((await check([lower, upper])).shellFree).toBe(true);
  });

  it('a whiteout does not hide a file the same layer adds back', async () => {
    const lower = await layer([{ name: 'bin/sh' }]);
    const upper = await layer([{ name: 'bin/sh' }, { name: 'bin/.wh.sh', content: '' }]);
    expect((await check([lower, upper])).findings.map((f) => f.path)).toEqual(['/bin/sh']);
  });

  it('finds busybox and the /bin/sh symlink that points at it', async () => {
    const res = await check([
      await layer([
        { name: 'bin/', type: 'directory' },
        { name: 'bin/busybox', mode: 0o755 },
        { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
        { name: 'usr/local/tools/run', type: 'symlink', linkname: '/bin/busybox' },
      ]),
    ]);
    expect(res.shellFree).toBe(false);
    expect(res.findings).toEqual([
      { path: '/bin/busybox', kind: 'busybox', layer: 0 },
      { path: '/bin/sh', kind: 'symlink', target: '/bin/busybox', layer: 0 },
      { path: '/usr/local/tools/run', kind: 'symlink', target: '/bin/busybox', layer: 0 },
    ]);
  });

  it('finds a busybox binary anywhere, and hardlinks to a shell', async () => {
    const res = await check([
      await layer([
        { name: 'opt/tools/busybox.static', mode: 0o755 },
        { name: 'usr/bin/zsh', mode: 0o755 },
        { name: 'opt/run-me', type: 'link', linkname: 'usr/bin/zsh' },
      ]),
    ]);
    expect(res.findings).toEqual([
      { path: '/opt/run-me', kind: 'hardlink', target: '/usr/bin/zsh', layer: 0 },
      { path: '/opt/tools/busybox.static', kind: 'busybox', layer: 0 },
      { path: '/usr/bin/zsh', kind: 'shell', layer: 0 },
    ]);
  });

  it('follows a symlinked /bin (merged /usr), and ignores a dangling /bin/sh', async () => {
    const merged = await check([await layer([{ name: 'bin', type: 'symlink', linkname: 'usr/bin' }, { name: 'usr/bin/ash' }])]);
    expect(merged.findings).toEqual([
      { path: '/bin/ash', kind: 'symlink', target: '/usr/bin/ash', layer: 0 },
      { path: '/usr/bin/ash', kind: 'shell', layer: 0 },
    ]);
    const dangling = await check([await layer([{ name: 'bin/sh', type: 'symlink', linkname: '/nonexistent/sh' }, { name: 'loop/a', type: 'symlink', linkname: 'b' }, { name: 'loop/b', type: 'symlink', linkname: 'a' }])]);
    expect(dangling.shellFree).toBe(true);
  });

  it('a shell added in a later layer is found; a later layer replacing /bin with a file removes it', async () => {
    const l0 = await layer(base);
    const l1 = await layer([{ name: 'bin/sh' }]);
    const l2 = await layer([{ name: 'bin', content: 'not a dir' }]);
    expect((await check([l0, l1])).findings).toEqual([{ path: '/bin/sh', kind: 'shell', layer: 1 }]);
    expect((await check([l0, l1, l2])).shellFree).toBe(true);
  });

  it('refuses a layer whose bytes do not match the manifest digest', async () => {
    const l = await layer([{ name: 'bin/sh' }]);
    const other = await layer([{ name: 'bin/ls' }]);
    const { open } = opener([{ desc: l.desc, bytes: other.bytes }]);
    const err = await checkShellFree({ layers: [l.desc], config: {} }, open).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CleanimgError);
    expect((err as CleanimgError).problems[0]!.code).toBe('INS002');
  });

  it('refuses a corrupt gzip stream and a zstd layer with a clear error', async () => {
    const good = await layer([{ name: 'bin/sh' }]);
    const broken = Buffer.from(good.bytes);
    broken.fill(0x41, 20, 60);
    const desc = { ...good.desc, digest: `sha256:${crypto.createHash('sha256').update(broken).digest('hex')}` };
    const err = await checkShellFree({ layers: [desc], config: {} }, opener([{ desc, bytes: broken }]).open).catch((e: unknown) => e);
    expect((err as CleanimgError).problems?.[0]?.code).toBe('INS003');
    const zstd = { ...good.desc, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' };
    const err2 = await checkShellFree({ layers: [zstd], config: {} }, opener([good]).open).catch((e: unknown) => e);
    expect((err2 as CleanimgError).problems?.[0]?.code).toBe('INS001');
  });

  it('turns a source that fails mid-stream or cannot open into a clear error', async () => {
    const l = await layer([{ name: 'bin/sh', content: 'x'.repeat(5000) }]);
    const failing = () =>
      Readable.from(
        (async function* () {
          yield l.bytes.subarray(0, 100);
          throw new Error('ECONNRESET');
        })(),
      );
    const e1 = (await checkShellFree({ layers: [l.desc], config: {} }, failing).catch((e: unknown) => e)) as CleanimgError;
    expect(e1.problems[0]!.code).toBe('INS003');
    expect(e1.message).toMatch(/ECONNRESET/);
    const e2 = (await checkShellFree({ layers: [l.desc], config: {} }, async () => {
      throw new Error('BLOB_UNKNOWN');
    }).catch((e: unknown) => e)) as CleanimgError;
    expect(e2.problems[0]!.code).toBe('INS004');
  });

  it('reads an empty tar layer (only the end-of-archive blocks)', async () => {
    const empty = await layer([]);
    const res = await check([await layer(base), empty]);
    expect(res.shellFree).toBe(true);
    expect(res.layers).toBe(2);
  });

  it('streams a large layer without holding it (a 64 MiB file, generated lazily, read through in chunks)', async () => {
    const size = 64 * 1024 * 1024;
    /** The same tar, made on demand each time; nothing holds more than one 1 MiB block. */
    const makeTar = () => {
      const pack = tar.pack();
      const block = Buffer.alloc(1024 * 1024, 0x61);
      (async () => {
        const entry = pack.entry({ name: 'data/big.bin', size, mode: 0o644, mtime: new Date(0) });
        for (let i = 0; i < size / block.length; i++) {
          if (!entry.write(block)) await new Promise<void>((r) => entry.once('drain', () => r()));
        }
        entry.end(() => undefined);
        pack.entry({ name: 'bin/sh', size: 1, mode: 0o755, mtime: new Date(0) }, 'x');
        pack.finalize();
      })();
      return pack as unknown as AsyncIterable<Buffer>;
    };
    const hash = crypto.createHash('sha256');
    let total = 0;
    for await (const c of makeTar()) {
      hash.update(c);
      total += c.length;
    }
    const desc: Descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar', size: total, digest: `sha256:${hash.digest('hex')}` };
    const heapBefore = process.memoryUsage().heapUsed;
    const res = await checkShellFree({ layers: [desc], config: {} }, () => Readable.from(makeTar()));
    expect(total).toBeGreaterThan(size);
    expect(res.findings.map((f) => f.path)).toEqual(['/bin/sh']);
    // a loose bound, not a benchmark: the 64 MiB never sits in the JS heap at once
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(size / 2);
  });
});

describe('imageUser', () => {
  it.each([
    ['', true],
    ['0', true],
    ['root', true],
    ['0:0', true],
    ['root:wheel', true],
    ['65532:65532', false],
    ['nonroot', false],
    ['10001', false],
  ])('User %j → isRoot %s', (user, isRoot) => {
    expect(imageUser({ config: { User: user } })).toMatchObject({ user, isRoot });
  });

  it('treats a missing config as root', () => {
    expect(imageUser({})).toMatchObject({ user: '', isRoot: true });
  });
});

describe('judged as a runtime sees the image: contents, the image\'s own users, special modes', () => {
  const elf = (strings: string) => `\x7fELF\x02\x01\x01${'\0'.repeat(40)}${strings}${'\0'.repeat(40)}`;

  it('finds a shell by its contents wherever it is and whatever it is called, and the links to it', async () => {
    const l = await layer([
      ...base,
      { name: 'opt/', type: 'directory' },
      { name: 'opt/tools/', type: 'directory' },
      { name: 'opt/tools/helper', content: elf('BusyBox v1.36.1 (2024-01-01) multi-call binary'), mode: 0o755 },
      { name: 'usr/libexec/', type: 'directory' },
      { name: 'usr/libexec/x', content: elf('GNU bash, version 5.2.15(1)-release'), mode: 0o755 },
      { name: 'usr/bin/run', type: 'symlink', linkname: '../libexec/x' },
      { name: 'usr/share/', type: 'directory' },
      { name: 'usr/share/README', content: 'this image has no BusyBox v1 and no GNU bash, version anything' },
      { name: 'usr/bin/dashy', content: elf('Syntax error: %s\0Illegal option -%c'), mode: 0o755 },
    ]);
    const r = await check([l], 'nonroot');
    expect(r.findings.map((f) => `${f.kind}${f.shell ? `:${f.shell}` : ''} ${f.path}${f.target ? ` -> ${f.target}` : ''}`)).toEqual([
      'content:busybox /opt/tools/helper',
      'symlink /usr/bin/run -> /usr/libexec/x',
      'content:dash /usr/bin/dashy',
      'content:bash /usr/libexec/x',
    ].sort((a, b) => a.split(' ')[1]!.localeCompare(b.split(' ')[1]!)));
  });

  it('resolves the configured user through the image\'s final /etc/passwd: a name mapped to UID 0 is root', async () => {
    const lower = await layer(base);
    const upper = await layer([{ name: 'etc/passwd', content: 'root:x:0:0::/root:/sbin/nologin\nnonroot:x:0:0::/home/nonroot:/sbin/nologin\n' }]);
    expect((await check([lower], 'nonroot')).user).toMatchObject({ isRoot: false, uid: 65532, gid: 65532 });
    expect((await check([lower, upper], 'nonroot')).user).toMatchObject({ isRoot: true, uid: 0 });
    expect((await check([lower], 'ghost')).user).toMatchObject({ isRoot: false, unresolved: 'user "ghost" is not in the image\'s /etc/passwd' });
    expect((await check([lower], '65532:nogroup')).user.unresolved).toMatch(/group "nogroup"/);
  });

  it('lists setuid and setgid files and world-writable entries, not a sticky /tmp', async () => {
    const l = await layer([
      ...base,
      { name: 'usr/bin/su-like', content: 'x', mode: 0o4755 },
      { name: 'usr/bin/sg-like', content: 'x', mode: 0o2755 },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
      { name: 'var/', type: 'directory' },
      { name: 'var/drop/', type: 'directory', mode: 0o777 },
      { name: 'etc/app.conf', content: 'x', mode: 0o666 },
    ]);
    const r = await check([l], 'nonroot');
    expect(r.special.map((e) => `${e.what} ${e.path}`)).toEqual(['world-writable /etc/app.conf', 'setgid /usr/bin/sg-like', 'setuid /usr/bin/su-like', 'world-writable /var/drop']);
  });

  it('lists devices and FIFOs in any layer, a loader preload list, and loader or account files a later layer replaced', async () => {
    const lower = await layer([
      ...base,
      { name: 'etc/group', content: 'nonroot:x:65532:\n' },
      { name: 'etc/ld.so.conf', content: 'include /etc/ld.so.conf.d/*.conf\n' },
      { name: 'dev/', type: 'directory' },
      { name: 'dev/null-like', type: 'character-device' },
      { name: 'srv/', type: 'directory' },
      { name: 'srv/disk', type: 'block-device' },
    ]);
    const upper = await layer([
      { name: 'etc/passwd', content: 'nonroot:x:0:0::/home/nonroot:/sbin/nologin\n' },
      { name: 'etc/ld.so.preload', content: '/usr/lib/libhook.so\n' },
      { name: 'etc/app.conf', content: 'new file, not a system one\n' },
      { name: 'run/', type: 'directory' },
      { name: 'run/pipe', type: 'fifo' },
    ]);
    const r = await check([lower, upper], 'nonroot');
    expect(r.special.map((e) => `${e.what} ${e.path} ${e.layer}${e.replaces !== undefined ? `<${e.replaces}` : ''}`)).toEqual([
      'device /dev/null-like 0',
      'loader-preload /etc/ld.so.preload 1',
      'system-file-replaced /etc/passwd 1<0',
      'fifo /run/pipe 1',
      'device /srv/disk 0',
    ]);
    // The base alone: its own account and loader files are no finding.
    expect((await check([lower], 'nonroot')).special.map((e) => e.what)).toEqual(['device', 'device']);
  });
});


describe('shellByPath: the one path rule of verify and build', () => {
  it('names shells in binary folders and busybox/toybox anywhere; build refuses exactly those paths', () => {
    const cases: [string, string | undefined][] = [
      ['/usr/bin/rbash', 'shell'], ['/bin/yash', 'shell'], ['/usr/local/sbin/sh', 'shell'], ['/usr/libexec/sh', undefined],
      ['/opt/tools/busybox.static', 'busybox'], ['/usr/local/bin/toybox', 'busybox'], ['/usr/bin/shx', undefined], ['/etc/sh', undefined],
    ];
    for (const [p, kind] of cases) {
      expect(shellByPath(p), p).toBe(kind);
      expect(isShellPath(p), p).toBe(kind !== undefined);
    }
  });
});
