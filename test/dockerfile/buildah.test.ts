/**
 * Real builds, no Docker engine: Debian's buildah (chroot isolation, vfs storage) builds a
 * generated Dockerfile against a local registry, with locally made images (a busybox-static
 * builder whose `go` is a stand-in that writes a static binary; a shell-less, non-root prod base).
 * Skipped when buildah, umoci, skopeo, docker-registry or busybox are not installed
 * (`apt-get install -y buildah umoci skopeo docker-registry busybox-static`).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerfileImage } from '../../src/cdk8s';
import { checkDockerfile, generateDockerfile } from '../../src/dockerfile';
import { freePort } from '../support/registry';

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
const READY = process.platform === 'linux' && process.getuid?.() === 0 && !!BUSYBOX && ['buildah', 'umoci', 'skopeo', 'docker-registry'].every(have);
if (!READY) {
  const lacking = [process.platform !== 'linux' && 'Linux', process.getuid?.() !== 0 && 'root', !BUSYBOX && 'busybox', ...['buildah', 'umoci', 'skopeo', 'docker-registry'].filter((t) => !have(t))].filter(Boolean);
  process.stderr.write(`[buildah] skipped: needs ${lacking.join(', ')} (npm test installs the tools as root: scripts/test-tools.sh)\n`);
}


const run = (cmd: string, args: string[], cwd?: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe.skipIf(!READY)('generated Dockerfiles built for real by buildah', () => {
  let work: string;
  let registry: ChildProcess | undefined;
  let reg: string;
  let builderRef: string;
  let prodRef: string;
  const buildah = (...args: string[]) => run('buildah', ['--root', join(work, 'storage', 'root'), '--runroot', join(work, 'storage', 'run'), '--storage-driver', 'vfs', ...args]);
  const bud = (dir: string, tag: string) => buildah('bud', '--isolation', 'chroot', '--tls-verify=false', '--timestamp', '0', '--layers=false', '-q', '-f', join(dir, 'Dockerfile'), '-t', tag, dir);
  const push = (tag: string, digestFile: string) => buildah('push', '--tls-verify=false', '--digestfile', digestFile, tag);
  const digestOf = (ref: string) => run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${ref}`]).trim();

  /** An OCI image made with umoci from a rootfs callback, pushed to the registry; returns repo:tag@digest. */
  function makeImage(name: string, fill: (rootfs: string) => void, config: string[]): string {
    const layout = join(work, 'layout');
    if (!existsSync(layout)) run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', `${layout}:${name}`]);
    const bundle = join(work, `bundle-${name}`);
    run('umoci', ['unpack', '--rootless', '--image', `${layout}:${name}`, bundle]);
    fill(join(bundle, 'rootfs'));
    run('umoci', ['repack', '--image', `${layout}:${name}`, bundle]);
    if (config.length) run('umoci', ['config', '--image', `${layout}:${name}`, ...config]);
    run('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:${name}`, `docker://${reg}/${name}:1`]);
    return `${reg}/${name}:1@${digestOf(`${reg}/${name}:1`)}`;
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cleanimg-buildah-'));
    const port = await freePort();
    reg = `127.0.0.1:${port}`;
    mkdirSync(join(work, 'reg'));
    writeFileSync(join(work, 'reg', 'config.yml'), `version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: ${join(work, 'reg', 'data')}}}\nhttp: {addr: ${reg}}\n`);
    registry = spawn('docker-registry', ['serve', join(work, 'reg', 'config.yml')], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      try {
        await fetch(`http://${reg}/v2/`);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // The builder: busybox with a shell, and a `go` stand-in (`go build -o OUT` copies a static binary to OUT).
    builderRef = makeImage('builder', (root) => {
      mkdirSync(join(root, 'bin'), { recursive: true });
      mkdirSync(join(root, 'usr', 'local', 'bin'), { recursive: true });
      mkdirSync(join(root, 'tmp'), { recursive: true });
      writeFileSync(join(root, 'bin', 'busybox'), readFileSync(BUSYBOX!));
      chmodSync(join(root, 'bin', 'busybox'), 0o755);
      for (const c of ['sh', 'cp', 'mkdir', 'dirname']) symlinkSync('busybox', join(root, 'bin', c));
      writeFileSync(join(root, 'usr', 'local', 'bin', 'go'), '#!/bin/sh\n[ "$1" = mod ] && exit 0\nout=""\nwhile [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done\nmkdir -p "$(dirname "$out")" && cp /bin/busybox "$out"\n', { mode: 0o755 });
    }, ['--config.env', 'PATH=/usr/local/bin:/bin']);
    // The production base: no shell, a non-root user in its config.
    prodRef = makeImage('prod', (root) => {
      mkdirSync(join(root, 'etc'), { recursive: true });
      writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n');
    }, ['--config.user', '65532:65532']);
  }, 120_000);

  afterAll(() => {
    if (registry?.pid) process.kill(registry.pid);
    if (work) {
      try {
        buildah('rm', '--all');
        buildah('rmi', '--all', '--force');
      } catch {
        // storage may be empty
      }
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('multi-stage: the generated Go Dockerfile builds, pushes reproducibly, runs as 65532 with no shell, and its digest file feeds DockerfileImage', () => {
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'go.mod'), 'module example.com/app\n');
    writeFileSync(join(app, 'main.go'), 'package main\nfunc main() {}\n');
    writeFileSync(join(app, 'config.yaml'), 'port: 8080\n');
    writeFileSync(join(app, '.env'), 'SECRET=1\n');
    const g = generateDockerfile({ lang: 'go', builderImage: builderRef, prodBase: prodRef, binaryName: 'busybox', entrypoint: ['/app/busybox', 'echo', 'hello'], files: [{ source: 'config.yaml', destination: '/etc/app/config.yaml', mode: '0444' }] });
    writeFileSync(join(app, 'Dockerfile'), g.dockerfile);
    writeFileSync(join(app, '.dockerignore'), g.dockerignore);
    expect(checkDockerfile(g.dockerfile, { context: app, nonRootBases: [] })).toEqual([]);

    bud(app, `${reg}/app:a`);
    push(`${reg}/app:a`, join(work, 'a.digest'));
    bud(app, `${reg}/app:b`);
    push(`${reg}/app:b`, join(work, 'b.digest'));
    const digest = readFileSync(join(work, 'a.digest'), 'utf8').trim();
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(readFileSync(join(work, 'b.digest'), 'utf8').trim()).toBe(digest);

    const config = JSON.parse(run('skopeo', ['inspect', '--tls-verify=false', '--config', `docker://${reg}/app@${digest}`]));
    expect(config.config.User).toBe('65532:65532');
    expect(config.config.Entrypoint).toEqual(['/app/busybox', 'echo', 'hello']);

    const image = new DockerfileImage(Testing.chart(), 'img', { dockerfile: join(app, 'Dockerfile'), lockFile: join(work, 'a.digest'), repository: `${reg}/app`, nonRootBases: [] });
    expect(image.imageRef).toBe(`${reg}/app@${digest}`);

    const c = buildah('from', '--tls-verify=false', `${reg}/app@${digest}`).trim();
    expect(buildah('run', '--isolation', 'chroot', c, '--', '/app/busybox', 'echo', 'exec form works')).toMatch(/exec form works/);
    expect(() => buildah('run', '--isolation', 'chroot', c, '--', '/bin/sh', '-c', 'true')).toThrow();
    const files = run('sh', ['-c', `cd ${work} && skopeo copy -q --src-tls-verify=false docker://${reg}/app@${digest} oci:out:app && umoci unpack --rootless --image out:app unpacked >/dev/null && cd unpacked/rootfs && find . -type f | sort`]);
    expect(files.trim().split('\n')).toEqual(['./app/busybox', './etc/app/config.yaml', './etc/passwd']);
  }, 180_000);

  it('COPY-only on the shell-less base builds; the same with RUN chmod (what DF003 refuses) fails in the builder', () => {
    const dir = join(work, 'copy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'custom.conf'), 'max_connections = 200\n');
    const copyOnly = `FROM ${prodRef}\nCOPY --chmod=0444 custom.conf /etc/postgresql/custom.conf\n`;
    writeFileSync(join(dir, 'Dockerfile'), copyOnly);
    // The local base sets USER 65532:65532 in its config, so it is a known non-root base here.
    const known = { nonRootBases: [`${reg}/prod:`] };
    expect(checkDockerfile(copyOnly, known)).toEqual([]);
    expect(checkDockerfile(copyOnly).map((v) => v.code)).toEqual(['DF006']);
    expect(() => bud(dir, `${reg}/copy:1`)).not.toThrow();
    const withRun = `${copyOnly}RUN chmod 0644 /etc/postgresql/custom.conf\n`;
    expect(checkDockerfile(withRun, known).map((v) => `${v.code}:${v.line}`)).toEqual(['DF003:3']);
    writeFileSync(join(dir, 'Dockerfile'), withRun);
    expect(() => bud(dir, `${reg}/copy:2`)).toThrow();
  }, 120_000);
});
