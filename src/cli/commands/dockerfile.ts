/**
 * `cleanimg-customize dockerfile --lang go|python|node --builder IMAGE@sha256:... --base IMAGE@sha256:...`:
 * writes a multi-stage Dockerfile and .dockerignore that pass the Dockerfile rules, to stdout or
 * (with --out DIR) to files, atomically and never over existing files unless --force.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { generateDockerfile, type GeneratedFile, type GeneratorLang } from '../../dockerfile';
import { CleanimgError, type Problem } from '../../errors';
import { EXIT, reportError, type Io } from '../output';

interface DockerfileCliOptions {
  lang: string;
  builder: string;
  base: string;
  out?: string;
  force?: boolean;
  entrypoint?: string;
  cmd?: string;
  appDir?: string;
  user?: string;
  copy?: string[];
  env?: string[];
  port?: string[];
  goPackage?: string;
  binary?: string;
  requirements?: string;
  buildScript?: string;
  noBuild?: boolean;
  output?: string[];
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function bad(path: string, message: string, fix: string): never {
  throw new CleanimgError(`dockerfile: ${message}`, [{ code: 'CLI010', path, message, fix }]);
}

function argv(flag: string, text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    bad(flag, `${flag} ${JSON.stringify(text)} is not a JSON list`, `pass ${flag} '["/app/server","--port=8080"]'`);
  }
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) bad(flag, `${flag} is not a JSON list of strings`, `pass ${flag} '["/app/server","--port=8080"]'`);
  return v as string[];
}

/** `SRC:DEST[:MODE][:app]` → a GeneratedFile. */
function parseCopy(spec: string): GeneratedFile {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 4 || !parts[0] || !parts[1]) bad('--copy', `--copy ${JSON.stringify(spec)} is not SRC:DEST[:MODE][:app]`, 'pass e.g. --copy config.yaml:/etc/app/config.yaml:0444');
  const [source, destination, ...rest] = parts as [string, string, ...string[]];
  let mode: string | undefined;
  let owner: 'app' | 'root' | undefined;
  for (const r of rest) {
    if (r === 'app' || r === 'root') owner = r;
    else mode = r;
  }
  return { source, destination, mode, owner };
}

/** Writes each file to a temp name in `dir`, then renames: all or nothing, never over an existing file unless `force`. */
export function writeAtomically(dir: string, files: Record<string, string>, force: boolean): string[] {
  if (existsSync(dir) && !statSync(dir).isDirectory()) bad('--out', `${dir} exists and is not a directory`, 'pass a directory');
  const existing = Object.keys(files).filter((n) => existsSync(join(dir, n)));
  if (existing.length && !force) {
    const problems: Problem[] = existing.map((n) => ({ code: 'CLI011', path: join(dir, n), message: 'already exists', fix: 'pass --force to replace it, or another --out' }));
    throw new CleanimgError(`dockerfile: refusing to overwrite ${existing.join(', ')} in ${dir}`, problems);
  }
  mkdirSync(dir, { recursive: true });
  const temps: Array<[string, string]> = [];
  try {
    for (const [name, content] of Object.entries(files)) {
      const tmp = join(dir, `.${name}.${process.pid}.${Date.now()}.tmp`);
      writeFileSync(tmp, content, { flag: 'wx', mode: 0o644 });
      temps.push([tmp, join(dir, name)]);
    }
    for (const [tmp, dest] of temps) renameSync(tmp, dest);
  } finally {
    for (const [tmp] of temps) rmSync(tmp, { force: true });
  }
  return temps.map(([, d]) => d);
}

export function runDockerfile(opts: DockerfileCliOptions, io: Io): number {
  const env: Record<string, string> = {};
  for (const e of opts.env ?? []) {
    const eq = e.indexOf('=');
    if (eq <= 0) bad('--env', `--env ${JSON.stringify(e)} is not NAME=VALUE`, 'pass e.g. --env LOG_LEVEL=info');
    env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  const ports = (opts.port ?? []).map((p) => (/^\d+$/.test(p) ? Number(p) : bad('--port', `--port ${JSON.stringify(p)} is not a number`, 'pass e.g. --port 8080')));
  const g = generateDockerfile({
    lang: opts.lang as GeneratorLang,
    builderImage: opts.builder,
    prodBase: opts.base,
    entrypoint: argv('--entrypoint', opts.entrypoint),
    cmd: argv('--cmd', opts.cmd),
    appDir: opts.appDir,
    user: opts.user,
    files: (opts.copy ?? []).map(parseCopy),
    env: Object.keys(env).length ? env : undefined,
    ports: ports.length ? ports : undefined,
    goPackage: opts.goPackage,
    binaryName: opts.binary,
    requirements: opts.requirements,
    buildScript: opts.noBuild ? null : opts.buildScript,
    outputs: opts.output,
  });
  if (!opts.out) {
    io.out(`${g.dockerfile}\n# ---- .dockerignore ----\n${g.dockerignore}`);
    return EXIT.ok;
  }
  const written = writeAtomically(opts.out, { Dockerfile: g.dockerfile, '.dockerignore': g.dockerignore }, !!opts.force);
  io.out(`wrote ${written.join(' and ')}`);
  return EXIT.ok;
}

export function addDockerfileCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  program.command('dockerfile')
    .description('Write a multi-stage Dockerfile (and .dockerignore) for a Go, Python or Node.js app whose final stage passes the Dockerfile rules: COPY only, exec-form ENTRYPOINT, non-root USER, bases pinned by digest.')
    .requiredOption('--lang <lang>', 'go, python or node')
    .requiredOption('--builder <image>', 'builder image pinned by digest, e.g. golang:1.22@sha256:...')
    .requiredOption('--base <image>', 'production base pinned by digest, e.g. cleanstart/go:1.22-prod@sha256:...')
    .option('--out <dir>', 'write Dockerfile and .dockerignore into this directory (default: print both)')
    .option('--force', 'replace existing files in --out')
    .option('--entrypoint <json>', 'exec-form entrypoint as a JSON list, e.g. \'["/app/server"]\'')
    .option('--cmd <json>', 'default arguments as a JSON list')
    .option('--app-dir <path>', 'where the app lives in the image (default /app)')
    .option('--user <uid:gid>', 'runtime user (default 65532:65532)')
    .option('--copy <src:dest[:mode][:app]>', 'an extra context file for the final image (repeatable), e.g. config.yaml:/etc/app/config.yaml:0444', collect)
    .option('--env <NAME=VALUE>', 'an environment variable for the final image (repeatable)', collect)
    .option('--port <n>', 'a port to EXPOSE (repeatable)', collect)
    .option('--go-package <pkg>', 'go: package to build (default .)')
    .option('--binary <name>', 'go: binary name (default app)')
    .option('--requirements <file>', 'python: requirements file (default requirements.txt)')
    .option('--build-script <name>', 'node: npm script that builds the app (default build)')
    .option('--no-build', 'node: no build step')
    .option('--output <path>', 'node: build output or source folder to copy (repeatable; default dist)', collect)
    .addHelpText('after', '\nExample:\n  cleanimg-customize dockerfile --lang go --builder golang:1.22@sha256:<digest> \\\n    --base cleanstart/go:1.22-prod@sha256:<digest> --copy config.yaml:/etc/app/config.yaml:0444 --out .')
    .action((opts: DockerfileCliOptions & { build?: boolean }) => {
      try {
        setExit(runDockerfile({ ...opts, noBuild: opts.build === false }, io));
      } catch (e) {
        setExit(reportError(io, e, false));
      }
    });
}
