import { failureProblems } from '../support/expect-error';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { CleanimgError } from '../../src/errors';
import { PrivateKeyScanner, checkCertificates, detectPrivateKey, isShellPath, resolveInputs } from '../../src/customize/inputs';
import { parseSpec } from '../../src/customize/spec';
import { cleanupTmp, FAKE_DIGEST, keylessLookalikes, makeCert, makePrivateKeys, specYaml, tmp, write } from './fixtures';

afterAll(cleanupTmp);

const spec = (files: Parameters<typeof specYaml>[1], extra = '') => parseSpec(specYaml(`base/image@${FAKE_DIGEST}`, files, extra));

const problemsOf = failureProblems;

function mkfifo(p: string): void {
  execFileSync('mkfifo', [p]);
}

describe('resolveInputs: layout of the layer', () => {
  let dir: string;
  beforeAll(() => {
    dir = tmp();
    write(path.join(dir, 'config/custom.conf'), 'max_connections = 200\n');
    write(path.join(dir, 'tree/a.txt'), 'a\n');
    write(path.join(dir, 'tree/sub/b.txt'), 'b\n');
    write(path.join(dir, 'tools/agent'), 'binary\n');
    write(path.join(dir, 'outside-target.txt'), 'inside after all\n');
    symlinkSync('../outside-target.txt', path.join(dir, 'tree/link.txt'));
  });

  it('maps files, folders and "into folder" destinations with modes, owners and explicit parents', async () => {
    const r = await resolveInputs(
      spec([
        { source: 'config/custom.conf', destination: '/etc/postgresql/custom.conf', mode: '0640', owner: '0:65532' },
        { source: 'tree', destination: '/opt/tree', owner: '65532:65532' },
        { source: 'tools/agent', destination: '/usr/local/bin/', mode: '0755' },
      ]),
      dir,
    );
    const rows = r.entries.map((e) => `${e.kind} ${e.path} ${e.mode.toString(8)} ${e.uid}:${e.gid}`);
    expect(rows).toEqual([
      'dir /etc 755 0:0',
      'dir /etc/postgresql 755 0:0',
      'file /etc/postgresql/custom.conf 640 0:65532',
      'dir /opt 755 0:0',
      'dir /opt/tree 755 65532:65532',
      'file /opt/tree/a.txt 644 65532:65532',
      'file /opt/tree/link.txt 644 65532:65532',
      'dir /opt/tree/sub 755 65532:65532',
      'file /opt/tree/sub/b.txt 644 65532:65532',
      'dir /usr 755 0:0',
      'dir /usr/local 755 0:0',
      'dir /usr/local/bin 755 0:0',
      'file /usr/local/bin/agent 755 0:0',
    ]);
    expect(r.implicitDirectories).toEqual(['/etc', '/etc/postgresql', '/opt', '/usr', '/usr/local', '/usr/local/bin']);
    expect(r.fileCount).toBe(5);
    // A symlink that stays inside the folder is followed: the layer holds the target's contents.
    expect(r.entries.find((e) => e.path === '/opt/tree/link.txt')!.source).toBe(path.join(dir, 'outside-target.txt'));
    expect(r.warnings).toEqual([]);
  });

  it('lets directories: set a parent folder and /tmp keeps 1777', async () => {
    const r = await resolveInputs(
      spec([{ source: 'config/custom.conf', destination: '/etc/postgresql/custom.conf' }, { source: 'tree/a.txt', destination: '/tmp/seed/a.txt' }], 'directories:\n  - path: /etc/postgresql\n    mode: "0750"\n    owner: "0:65532"\n'),
      dir,
    );
    const byPath = Object.fromEntries(r.entries.map((e) => [e.path, e]));
    expect(byPath['/etc/postgresql']).toMatchObject({ kind: 'dir', mode: 0o750, uid: 0, gid: 65532 });
    expect(byPath['/tmp']).toMatchObject({ mode: 0o1777 });
    expect(r.implicitDirectories).not.toContain('/etc/postgresql');
  });
});

describe('resolveInputs: refusals', () => {
  let dir: string;
  let outside: string;
  beforeAll(() => {
    const root = tmp();
    dir = path.join(root, 'spec');
    outside = write(path.join(root, 'secret.txt'), 'outside\n');
    write(path.join(dir, 'ok.txt'), 'ok\n');
    symlinkSync(outside, path.join(dir, 'escape-link'));
    mkdirSync(path.join(dir, 'tree'));
    write(path.join(dir, 'tree/fine.txt'), 'fine\n');
    symlinkSync('../../secret.txt', path.join(dir, 'tree/escape'));
    symlinkSync(path.dirname(outside), path.join(dir, 'dirlink'));
    mkfifo(path.join(dir, 'fifo'));
    write(path.join(dir, 'shells/busybox'), 'not really busybox\n');
  });

  const one = async (f: { source: string; destination: string }) => {
    const ps = await problemsOf(resolveInputs(spec([f]), dir));
    expect(ps).toHaveLength(1);
    return ps[0]!;
  };

  it('a ".." escape and an absolute source', async () => {
    expect(await one({ source: '../secret.txt', destination: '/etc/x' })).toMatchObject({ code: 'INPUT001', path: 'copy_files[0].source' });
    expect(await one({ source: 'tree/../ok.txt', destination: '/etc/x' })).toMatchObject({ code: 'INPUT001' });
    expect(await one({ source: outside, destination: '/etc/x' })).toMatchObject({ code: 'INPUT001' });
  });

  it('symlinks that resolve outside the folder, direct or inside a folder source', async () => {
    expect(await one({ source: 'escape-link', destination: '/etc/x' })).toMatchObject({ code: 'INPUT002', path: 'copy_files[0].source' });
    expect(await one({ source: 'dirlink/secret.txt', destination: '/etc/x' })).toMatchObject({ code: 'INPUT002' });
    const p = await one({ source: 'tree', destination: '/opt/tree' });
    expect(p).toMatchObject({ code: 'INPUT002', path: 'copy_files[0].source (tree/escape)' });
  });

  it('a missing source', async () => {
    const p = await one({ source: 'certs/corporate-ca.crt', destination: '/etc/ssl/certs/corporate-ca.crt' });
    expect(p).toMatchObject({ code: 'INPUT003', path: 'copy_files[0].source' });
    expect(p.fix).toMatch(/relative to the spec file/);
  });

  it('fifos and other special files', async () => {
    expect(await one({ source: 'fifo', destination: '/etc/fifo' })).toMatchObject({ code: 'INPUT004' });
  });

  it('destinations that are relative, not normalised, or leave the root', async () => {
    for (const d of ['etc/x', '/etc/../x', '/etc//x', '/etc/./x', '/../x']) {
      expect(await one({ source: 'ok.txt', destination: d })).toMatchObject({ code: 'INPUT005', path: 'copy_files[0].destination' });
    }
    expect(await one({ source: 'ok.txt', destination: '/proc/x' })).toMatchObject({ code: 'INPUT005' });
    expect(await one({ source: 'ok.txt', destination: '/etc' })).toMatchObject({ code: 'INPUT005' });
  });

  it('shell paths, directly or through a folder source', async () => {
    for (const d of ['/bin/sh', '/usr/bin/bash', '/bin/busybox', '/usr/bin/dash', '/usr/local/bin/zsh', '/bin/ash']) {
      const p = await one({ source: 'ok.txt', destination: d });
      expect(p).toMatchObject({ code: 'INPUT006', path: 'copy_files[0].destination' });
      expect(p.fix).toMatch(/shell-less/);
    }
    expect(await one({ source: 'shells', destination: '/usr/bin/' })).toMatchObject({ code: 'INPUT006', path: 'copy_files[0].source (shells/busybox)' });
    expect(isShellPath('/usr/bin/shx')).toBe(false);
    expect(isShellPath('/etc/sh')).toBe(false);
  });

  it('whiteout names, which would delete base files', async () => {
    const p = await one({ source: 'ok.txt', destination: '/etc/.wh.passwd' });
    expect(p).toMatchObject({ code: 'INPUT005' });
    expect(p.message).toMatch(/\.wh\./);
  });

  it('folders that are symlinks on merged-/usr bases', async () => {
    const p = await one({ source: 'ok.txt', destination: '/lib/x.so' });
    expect(p).toMatchObject({ code: 'INPUT011' });
    expect(p.fix).toContain('/usr/lib');
  });

  it('two entries for one destination', async () => {
    const ps = await problemsOf(resolveInputs(spec([{ source: 'ok.txt', destination: '/etc/x' }, { source: 'tree/fine.txt', destination: '/etc/x' }]), dir));
    expect(ps).toEqual([expect.objectContaining({ code: 'INPUT010', path: 'copy_files[1].destination' })]);
  });

  it('a file where another entry needs a folder', async () => {
    const ps = await problemsOf(resolveInputs(spec([{ source: 'ok.txt', destination: '/etc/app' }, { source: 'tree/fine.txt', destination: '/etc/app/x' }]), dir));
    expect(ps.map((p) => p.code)).toEqual(['INPUT010']);
  });

  it('reports all problems at once', async () => {
    const ps = await problemsOf(
      resolveInputs(
        spec([
          { source: '../secret.txt', destination: '/etc/a' },
          { source: 'missing.txt', destination: '/etc/b' },
          { source: 'ok.txt', destination: '/bin/sh' },
          { source: 'escape-link', destination: 'relative' },
        ]),
        dir,
      ),
    );
    expect(ps.map((p) => `${p.code} ${p.path}`).sort()).toEqual([
      'INPUT001 copy_files[0].source',
      'INPUT003 copy_files[1].source',
      'INPUT005 copy_files[3].destination',
      'INPUT006 copy_files[2].destination',
    ]);
  });
});

describe('resolveInputs: private keys', () => {
  let dir: string;
  let keys: Record<string, Buffer>;
  beforeAll(() => {
    dir = tmp();
    keys = makePrivateKeys(dir);
    for (const [name, bytes] of Object.entries(keys)) write(path.join(dir, 'keys', name), bytes);
    write(path.join(dir, 'public.pem'), '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n');
    write(path.join(dir, 'der-like.bin'), Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]));
  });

  it('finds every kind of key', async () => {
    const expected: Record<string, RegExp> = {
      'pkcs8.pem': /PEM "PRIVATE KEY"/,
      'rsa-pkcs1.pem': /RSA PRIVATE KEY/,
      'ec-sec1.pem': /EC PRIVATE KEY/,
      'encrypted.pem': /ENCRYPTED PRIVATE KEY/,
      'pkcs8.der': /PKCS#8 DER/,
      'encrypted-pkcs8.der': /encrypted PKCS#8 DER/,
      'sec1.der': /SEC1 DER/,
      'openssh-raw.bin': /OpenSSH/,
      id_ed25519: /OpenSSH/,
      'openssl-ed25519.pem': /PRIVATE KEY/,
      'config-with-key.conf': /PEM "PRIVATE KEY"/,
      'keystore.p12': /PKCS#12 keystore/,
      'jwks.json': /JWK with private members/,
      'cert-then-der.pem': /PKCS#8 DER RSA/,
      'app.properties': /base64-wrapped PEM/,
    };
    expect(Object.keys(keys).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, re] of Object.entries(expected)) {
      expect(await detectPrivateKey(path.join(dir, 'keys', name)), name).toMatch(re);
    }
    expect(await detectPrivateKey(path.join(dir, 'public.pem'))).toBeNull();
    expect(await detectPrivateKey(path.join(dir, 'der-like.bin'))).toBeNull();
    for (const [name, bytes] of Object.entries(keylessLookalikes(dir))) {
      write(path.join(dir, 'lookalikes', name), bytes);
      expect(await detectPrivateKey(path.join(dir, 'lookalikes', name)), name).toBeNull();
    }
  });

  it('finds a key marker deep in a large file, also across a 1 MiB read boundary', async () => {
    const filler = Buffer.alloc(3 << 20, 'a');
    const cases: [string, number, RegExp | null][] = [
      ['-----BEGIN EC PRIVATE KEY-----', (1 << 20) - 12, /EC PRIVATE KEY/],
      ['-----BEGIN PRIVATE KEY-----', (2 << 20) - 5, /PEM "PRIVATE KEY"/],
      ['b3BlbnNzaC1rZXktdjE', (1 << 20) - 9, /OpenSSH/],
      ['PRIVATE KEY but no PEM header', (1 << 20) - 3, null],
    ];
    for (const [marker, at, re] of cases) {
      const f = path.join(dir, 'large-with-marker.bin');
      const b = Buffer.from(filler);
      b.write(marker, at, 'latin1');
      writeFileSync(f, b);
      const got = await detectPrivateKey(f);
      if (re) expect(got, marker).toMatch(re);
      else expect(got, marker).toBeNull();
    }
  });

  it('gives the same answer fed in any chunk sizes (the scan shares its read with hashing)', async () => {
    const names = [...Object.keys(keys), '../public.pem', '../der-like.bin'];
    for (const name of names) {
      const bytes = readFileSync(path.join(dir, 'keys', name));
      const whole = await detectPrivateKey(path.join(dir, 'keys', name));
      for (const size of [1, 7, 64, 1000]) {
        const s = new PrivateKeyScanner();
        for (let off = 0; off < bytes.length; off += size) s.update(bytes.subarray(off, off + size));
        expect(s.finish(), `${name} in ${size}-byte chunks`).toBe(whole);
      }
    }
  });

  it('refuses them with the Secret/EnvConfig fix, one problem per key, through a folder source too', async () => {
    const ps = await problemsOf(resolveInputs(spec([{ source: 'keys', destination: '/etc/app/keys' }]), dir));
    expect(ps).toHaveLength(Object.keys(keys).length);
    for (const p of ps) {
      expect(p.code).toBe('INPUT007');
      expect(p.fix).toMatch(/Secret/);
      expect(p.fix).toMatch(/EnvConfig/);
      expect(p.fix).toMatch(/allow_private_keys: true/);
    }
  });

  it('accepts them with the loud override, in the spec or as an option', async () => {
    const s = spec([{ source: 'keys/pkcs8.pem', destination: '/etc/app/key.pem' }]);
    await expect(resolveInputs(s, dir)).rejects.toBeInstanceOf(CleanimgError);
    const viaOption = await resolveInputs(s, dir, { allowPrivateKeys: true });
    expect(viaOption.entries.map((e) => e.path)).toContain('/etc/app/key.pem');
    const viaSpec = await resolveInputs(spec([{ source: 'keys/pkcs8.pem', destination: '/etc/app/key.pem' }], 'allow_private_keys: true\n'), dir);
    expect(viaSpec.entries.map((e) => e.path)).toContain('/etc/app/key.pem');
  });
});

describe('detectPrivateKey: keys in the forms the README names, changed a little (red-team F3)', () => {
  const { privateKey: rsa, publicKey: rsaPublic } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const ecJwk = ec.export({ format: 'jwk' });
  const pad = Buffer.alloc(70_000);
  const ppk = 'PuTTY-User-Key-File-3: ssh-ed25519\r\nEncryption: none\r\nComment: k\r\nPublic-Lines: 1\r\nAAAA\r\n';
  let cert: Buffer;
  let dir: string;
  const variants = (): Record<string, Buffer> => ({
    'notes-with-ppk.txt': Buffer.from(`notes about the server\n${ppk}`),
    'jwks-big.json': Buffer.from(JSON.stringify({ keys: [ecJwk], comment: 'x'.repeat(70_200) })),
    'jwk-sorted-big.json': Buffer.from(JSON.stringify({ comment: 'x'.repeat(70_200), crv: ecJwk.crv, d: ecJwk.d, kty: ecJwk.kty })),
    'jwk-bom.json': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(ecJwk))]),
    'jwk-deep.json': Buffer.from(JSON.stringify(Array.from({ length: 20 }).reduce<unknown>((v) => ({ wrap: v }), ecJwk))),
    'jwk-escaped-deep.json': Buffer.from(JSON.stringify(Array.from({ length: 20 }).reduce<unknown>((v) => ({ wrap: v }), ecJwk)).replace('"d"', '"\\u0064"')),
    'cert-then-pkcs1.pem': Buffer.concat([cert, rsa.export({ format: 'der', type: 'pkcs1' }) as Buffer]),
    'cert-then-sec1.pem': Buffer.concat([cert, ec.export({ format: 'der', type: 'sec1' }) as Buffer]),
    'comment-cert-pkcs8.pem': Buffer.concat([Buffer.from('# server bundle\n'), cert, rsa.export({ format: 'der', type: 'pkcs8' }) as Buffer]),
    'nl-cert-pkcs8.pem': Buffer.concat([Buffer.from('\n'), cert, ec.export({ format: 'der', type: 'pkcs8' }) as Buffer]),
    'pkcs1-padded.der': Buffer.concat([rsa.export({ format: 'der', type: 'pkcs1' }) as Buffer, pad]),
    'sec1-padded.der': Buffer.concat([ec.export({ format: 'der', type: 'sec1' }) as Buffer, pad]),
    'encpkcs8-padded.der': Buffer.concat([ec.export({ format: 'der', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'test' }) as Buffer, pad]),
  });
  const ordinary = (): Record<string, Buffer> => ({
    'public-jwks-big.json': Buffer.from(JSON.stringify({ keys: [rsa.export({ format: 'jwk' })].map(({ kty, n, e }) => ({ kty, n, e })), comment: 'x'.repeat(70_200) })),
    'no-kty-big.json': Buffer.from(JSON.stringify({ d: 'abcdefghijklmnopqrstuvwxyz012345', p: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', pad: 'y'.repeat(70_000) })),
    'commented-cert.pem': Buffer.concat([Buffer.from('# CA\n'), cert, cert]),
    'cert-then-spki-and-pkcs1-public.pem': Buffer.concat([cert, rsaPublic.export({ format: 'der', type: 'spki' }) as Buffer, rsaPublic.export({ format: 'der', type: 'pkcs1' }) as Buffer]),
    'cert-padded.der': Buffer.concat([execFileSync('openssl', ['x509', '-outform', 'DER'], { input: cert }), pad]),
    'putty-doc.md': Buffer.from('PuTTY keys start with `PuTTY-User-Key-File-3: <algorithm>`, then an Encryption line.\n'),
    'openssl-binary': readFileSync(execFileSync('sh', ['-c', 'command -v openssl']).toString().trim()),
  });

  beforeAll(() => {
    dir = tmp();
    cert = Buffer.from(makeCert(dir, { cn: 'server.example.com', ca: false }));
    for (const [name, bytes] of Object.entries({ ...variants(), ...ordinary() })) write(path.join(dir, name), bytes);
  });

  it('finds each, with the same answer in any chunk sizes', async () => {
    const expected: Record<string, RegExp> = {
      'notes-with-ppk.txt': /PuTTY/, 'jwks-big.json': /JWK/, 'jwk-sorted-big.json': /JWK/, 'jwk-bom.json': /JWK/, 'jwk-deep.json': /JWK/, 'jwk-escaped-deep.json': /JWK/,
      'cert-then-pkcs1.pem': /PKCS#1 DER/, 'cert-then-sec1.pem': /SEC1 DER/, 'comment-cert-pkcs8.pem': /PKCS#8 DER/, 'nl-cert-pkcs8.pem': /PKCS#8 DER/,
      'pkcs1-padded.der': /PKCS#1 DER/, 'sec1-padded.der': /SEC1 DER/, 'encpkcs8-padded.der': /encrypted PKCS#8 DER/,
    };
    expect(Object.keys(expected).sort()).toEqual(Object.keys(variants()).sort());
    for (const [name, re] of Object.entries(expected)) {
      const whole = await detectPrivateKey(path.join(dir, name));
      expect(whole, name).toMatch(re);
      const bytes = readFileSync(path.join(dir, name));
      for (const size of [7, 1000, 4096]) {
        const sc = new PrivateKeyScanner();
        for (let off = 0; off < bytes.length; off += size) sc.update(bytes.subarray(off, off + size));
        expect(sc.finish(), `${name} in ${size}-byte chunks`).toBe(whole);
      }
    }
  });

  it('does not take ordinary files for keys: public JWKs, JSON without kty, certificates, a document, a binary', async () => {
    for (const name of Object.keys(ordinary())) expect(await detectPrivateKey(path.join(dir, name)), name).toBeNull();
  });
});

describe('resolveInputs: certificates at CA locations', () => {
  let dir: string;
  beforeAll(() => {
    dir = tmp();
    write(path.join(dir, 'certs/ca.crt'), makeCert(dir, { cn: 'Test Corporate CA', ca: true }));
    write(path.join(dir, 'certs/leaf.crt'), makeCert(dir, { cn: 'server.example.com', ca: false }));
    write(path.join(dir, 'certs/expired-ca.crt'), makeCert(dir, { cn: 'Expired CA', ca: true, start: '20200101000000Z', end: '20210101000000Z' }));
    write(path.join(dir, 'certs/garbage.crt'), 'this is not a certificate\n');
    write(path.join(dir, 'certs/broken.crt'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  });

  it('accepts a current CA, and warns that copying it into a trust store folder does not make it trusted', async () => {
    // The guide's example: copy_files puts the CA in /etc/ssl/certs, which no bundle includes.
    const copied = await resolveInputs(spec([{ source: 'certs/ca.crt', destination: '/etc/ssl/certs/corporate-ca.crt' }]), dir);
    expect(copied.entries.map((e) => e.path)).toContain('/etc/ssl/certs/corporate-ca.crt');
    expect(copied.warnings).toHaveLength(1);
    expect(copied.warnings[0]).toMatch(/^copy_files\[0\]\.source \(\/etc\/ssl\/certs\/corporate-ca\.crt\): a CA copied into a trust store folder is not in the image's CA bundle/);
    expect(copied.warnings[0]).toContain('trust_ca: [certs/ca.crt]');
    const anchors = await resolveInputs(spec([{ source: 'certs/ca.crt', destination: '/usr/local/share/ca-certificates/corp.crt' }]), dir);
    expect(anchors.warnings).toHaveLength(1);
    // Listed under trust_ca as well: the bundle will hold it, no warning.
    const trusted = await resolveInputs(spec([{ source: 'certs/ca.crt', destination: '/etc/ssl/certs/corporate-ca.crt' }], 'trust_ca: [certs/ca.crt]\n'), dir);
    expect(trusted.warnings).toEqual([]);
    // Outside a trust store folder (an app's own CA file, named in its config): no warning.
    const ownFile = await resolveInputs(spec([{ source: 'certs/ca.crt', destination: '/etc/app/tls/ca.crt' }]), dir);
    expect(ownFile.warnings).toEqual([]);
  });

  it('warns for a certificate that is not a CA', async () => {
    const r = await resolveInputs(spec([{ source: 'certs/leaf.crt', destination: '/usr/local/share/ca-certificates/server.crt' }]), dir);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/copy_files\[0\]\.source.*server\.example\.com.*not a CA/);
  });

  it('refuses an expired CA, a non-certificate and a broken PEM', async () => {
    const ps = await problemsOf(
      resolveInputs(
        spec([
          { source: 'certs/expired-ca.crt', destination: '/etc/ssl/certs/old.crt' },
          { source: 'certs/garbage.crt', destination: '/etc/ssl/certs/garbage.pem' },
          { source: 'certs/broken.crt', destination: '/etc/app/tls/broken.crt' },
        ]),
        dir,
      ),
    );
    expect(ps.map((p) => `${p.code} ${p.path}`)).toEqual(['INPUT009 copy_files[0].source', 'INPUT008 copy_files[1].source', 'INPUT008 copy_files[2].source']);
    expect(ps[0]!.message).toMatch(/expired on 2021-01-01/);
  });

  it('judges every certificate of a bundle, against the given time', async () => {
    const { readFileSync } = await import('node:fs');
    const bundle = Buffer.concat([readFileSync(path.join(dir, 'certs/ca.crt')), readFileSync(path.join(dir, 'certs/expired-ca.crt'))]);
    expect(checkCertificates(bundle, new Date()).error).toMatch(/certificate 2 \(CN=Expired CA\) expired/);
    expect(checkCertificates(bundle, new Date('2020-06-01T00:00:00Z')).error).toBeUndefined();
  });

  it('leaves files elsewhere alone', async () => {
    const r = await resolveInputs(spec([{ source: 'certs/garbage.crt', destination: '/etc/app/notes.txt' }]), dir);
    expect(r.entries.map((e) => e.path)).toContain('/etc/app/notes.txt');
  });
});
