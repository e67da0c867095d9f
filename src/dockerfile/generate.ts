/**
 * Writes multi-stage Dockerfiles for the guide's recipes (Go, Python with a venv, Node.js) whose
 * final stage is shell-less-safe: COPY only, exec-form ENTRYPOINT, a non-root USER, both bases
 * pinned by digest. The output is checked against DOCKERFILE_RULES before it is returned.
 *
 * Ownership: application files stay owned by root and are not writable by the runtime user (a
 * compromised process cannot rewrite its own code, even on a writable volume); only the paths
 * listed in `files` with `owner: 'app'` get `--chown=65532:65532`. Writable state belongs on
 * volumes (emptyDir, PVC), since the root filesystem is read-only at run time.
 */
import { CleanimgError, type Problem } from '../errors';
import { isDigestPinned } from '../core/image-ref';
import { assertDockerfileOk, checkDockerfile } from './check';
import { dockerignoreMatcher } from './secrets';

export type GeneratorLang = 'go' | 'python' | 'node';

/** An extra file or directory from the build context for the final image (config, CA certificate). */
export interface GeneratedFile {
  /** Path in the build context. */
  readonly source: string;
  /** Absolute path in the image. */
  readonly destination: string;
  /** Octal mode, e.g. '0444'. Needs BuildKit or buildah >= 1.29 (`COPY --chmod`). @default as in the context */
  readonly mode?: string;
  /** 'app': owned by the runtime user (`--chown=<user>`); 'root': read-only to the app. @default 'root' */
  readonly owner?: 'root' | 'app';
}

export interface GenerateDockerfileOptions {
  readonly lang: GeneratorLang;
  /** The builder image, pinned by digest (e.g. `golang:1.22@sha256:...`): what it compiles ends up in the image. */
  readonly builderImage: string;
  /** The production base, pinned by digest (e.g. `cleanstart/go:1.22-prod@sha256:...`). */
  readonly prodBase: string;
  /** Exec-form entrypoint. @default go: ['/app/<binaryName>'], python: ['/opt/venv/bin/python', '-m', 'app'], node: ['node', 'dist/index.js'] */
  readonly entrypoint?: readonly string[];
  /** Default arguments (exec-form CMD). */
  readonly cmd?: readonly string[];
  /** Where the app lives in the image. @default '/app' */
  readonly appDir?: string;
  /** The runtime user, numeric UID:GID, non-root. @default '65532:65532' */
  readonly user?: string;
  /** Extra files from the context (configs, CA certificates) for the final image. */
  readonly files?: readonly GeneratedFile[];
  /** Environment variables for the final image. */
  readonly env?: Readonly<Record<string, string>>;
  /** Ports to document with EXPOSE. */
  readonly ports?: readonly number[];
  /** Go: the package to build. @default '.' */
  readonly goPackage?: string;
  /** Go: the binary's name. @default 'app' */
  readonly binaryName?: string;
  /** Python: the requirements file. @default 'requirements.txt' */
  readonly requirements?: string;
  /** Node: the npm script that builds the app, or null for none. @default 'build' */
  readonly buildScript?: string | null;
  /** Node: the build outputs (or source folders when there is no build) copied into the app dir. @default ['dist'] */
  readonly outputs?: readonly string[];
}

export interface GeneratedDockerfile {
  readonly dockerfile: string;
  readonly dockerignore: string;
}

const SAFE_PATH = /^[A-Za-z0-9_./@+-][A-Za-z0-9_./@+=:,-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function validate(o: GenerateDockerfileOptions): Problem[] {
  const p: Problem[] = [];
  const bad = (path: string, message: string, fix: string) => p.push({ code: 'GEN001', path, message, fix });
  if (!['go', 'python', 'node'].includes(o.lang)) bad('lang', `lang ${JSON.stringify(o.lang)} is not one of go, python, node`, 'pass --lang go, python or node');
  if (!isDigestPinned(o.builderImage)) bad('builderImage', `builder image ${JSON.stringify(o.builderImage)} is not pinned by digest (what the builder compiles ends up in the image)`, 'pass the builder as <image>:<tag>@sha256:<64 hex>');
  if (!isDigestPinned(o.prodBase)) bad('prodBase', `prod base ${JSON.stringify(o.prodBase)} is not pinned by digest`, 'pass the base as <image>:<tag>@sha256:<64 hex>');
  const user = o.user ?? '65532:65532';
  const m = /^(\d+):(\d+)$/.exec(user);
  if (!m) bad('user', `user ${JSON.stringify(user)} is not a numeric UID:GID`, 'use e.g. 65532:65532 (numeric, so runAsNonRoot can verify it)');
  else if (Number(m[1]) === 0 || Number(m[2]) === 0) bad('user', `user ${user} is root (UID or GID 0)`, 'use a non-root UID:GID such as 65532:65532');
  const appDir = o.appDir ?? '/app';
  if (!appDir.startsWith('/') || !SAFE_PATH.test(appDir)) bad('appDir', `appDir ${JSON.stringify(appDir)} is not an absolute path of plain characters`, 'use e.g. /app');
  const paths: Array<[string, string | undefined]> = [['goPackage', o.goPackage], ['binaryName', o.binaryName], ['requirements', o.requirements], ['buildScript', o.buildScript ?? undefined]];
  (o.outputs ?? []).forEach((x, i) => paths.push([`outputs[${i}]`, x]));
  (o.files ?? []).forEach((f, i) => {
    paths.push([`files[${i}].source`, f.source], [`files[${i}].destination`, f.destination]);
    if (!f.destination?.startsWith('/')) bad(`files[${i}].destination`, `destination ${JSON.stringify(f.destination)} is not absolute`, 'use an absolute path in the image, e.g. /etc/app/config.yaml');
    if (f.mode !== undefined && !/^0?[0-7]{3,4}$/.test(f.mode)) bad(`files[${i}].mode`, `mode ${JSON.stringify(f.mode)} is not octal`, "use e.g. '0444'");
    if (f.owner !== undefined && f.owner !== 'root' && f.owner !== 'app') bad(`files[${i}].owner`, `owner ${JSON.stringify(f.owner)} is not 'root' or 'app'`, "use 'root' (read-only to the app) or 'app'");
  });
  for (const [name, v] of paths) if (v !== undefined && (!SAFE_PATH.test(v) || v.includes('..'))) bad(name, `${name} ${JSON.stringify(v)} has characters a Dockerfile would misread (spaces, quotes, $, newlines) or ..`, 'use a plain relative path');
  if (o.binaryName !== undefined && o.binaryName.includes('/')) bad('binaryName', `binaryName ${JSON.stringify(o.binaryName)} contains /`, 'use a plain file name');
  for (const k of Object.keys(o.env ?? {})) if (!ENV_NAME.test(k)) bad(`env.${k}`, `${JSON.stringify(k)} is not a valid environment variable name`, 'use letters, digits and _');
  for (const [k, v] of Object.entries(o.env ?? {})) if (/[\n\r]/.test(v)) bad(`env.${k}`, 'the value contains a newline', 'use a single-line value, or a ConfigMap at run time');
  (o.ports ?? []).forEach((port, i) => { if (!Number.isInteger(port) || port < 1 || port > 65535) bad(`ports[${i}]`, `port ${port} is out of range`, 'use 1-65535'); });
  for (const [name, argv] of [['entrypoint', o.entrypoint], ['cmd', o.cmd]] as const) {
    if (argv !== undefined && (!Array.isArray(argv) || argv.some((a) => typeof a !== 'string') || (name === 'entrypoint' && argv.length === 0)))
      bad(name, `${name} must be a non-empty list of strings`, `pass e.g. ["/app/server", "--port=8080"]`);
  }
  return p;
}

function envLine(env: Readonly<Record<string, string>>): string {
  return `ENV ${Object.entries(env).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' \\\n    ')}`;
}

function finalTail(o: GenerateDockerfileOptions, user: string, entrypoint: readonly string[]): string[] {
  const lines: string[] = [];
  for (const f of o.files ?? []) {
    const flags = [f.owner === 'app' ? `--chown=${user}` : '', f.mode ? `--chmod=${f.mode}` : ''].filter(Boolean).join(' ');
    lines.push(`COPY ${flags ? `${flags} ` : ''}${f.source} ${f.destination}`);
  }
  if (o.env && Object.keys(o.env).length) lines.push(envLine(o.env));
  for (const port of o.ports ?? []) lines.push(`EXPOSE ${port}`);
  lines.push(`USER ${user}`, `ENTRYPOINT ${JSON.stringify(entrypoint)}`);
  if (o.cmd) lines.push(`CMD ${JSON.stringify(o.cmd)}`);
  return lines;
}

// No `# syntax=` line: it would make BuildKit pull an unpinned frontend image from a public registry.
const HEADER = (lang: string) => [
  `# Generated by cleanimg-customize dockerfile --lang ${lang}. The final stage only COPYs: its base has no shell.`,
];

function goDockerfile(o: GenerateDockerfileOptions, user: string, appDir: string): string[] {
  const bin = o.binaryName ?? 'app';
  const pkg = o.goPackage ?? '.';
  return [
    ...HEADER('go'),
    `FROM ${o.builderImage} AS builder`,
    'WORKDIR /src',
    '# Dependencies first, so this layer is cached until go.mod/go.sum change.',
    'COPY go.* ./',
    'RUN go mod download',
    'COPY . .',
    '# A static binary: the production base needs no libc from the builder.',
    `RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/${bin} ${pkg}`,
    '',
    `FROM ${o.prodBase}`,
    `COPY --from=builder /out/${bin} ${appDir}/${bin}`,
    ...finalTail(o, user, o.entrypoint ?? [`${appDir}/${bin}`]),
  ];
}

function pythonDockerfile(o: GenerateDockerfileOptions, user: string, appDir: string): string[] {
  const req = o.requirements ?? 'requirements.txt';
  return [
    ...HEADER('python'),
    `FROM ${o.builderImage} AS builder`,
    `WORKDIR ${appDir}`,
    '# A venv, copied whole into the final stage. Builder and production base must have the same',
    '# Python version at the same path (the venv links to the interpreter).',
    'RUN python -m venv /opt/venv',
    'ENV PATH="/opt/venv/bin:$PATH"',
    `COPY ${req} ./`,
    `RUN pip install --no-cache-dir -r ${req}`,
    'COPY . .',
    '',
    `FROM ${o.prodBase}`,
    `WORKDIR ${appDir}`,
    'COPY --from=builder /opt/venv /opt/venv',
    `COPY --from=builder ${appDir} ${appDir}`,
    'ENV PATH="/opt/venv/bin:$PATH" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1',
    ...finalTail(o, user, o.entrypoint ?? ['/opt/venv/bin/python', '-m', 'app']),
  ];
}

function nodeDockerfile(o: GenerateDockerfileOptions, user: string, appDir: string): string[] {
  const script = o.buildScript === undefined ? 'build' : o.buildScript;
  const outputs = o.outputs ?? ['dist'];
  return [
    ...HEADER('node'),
    '# Production dependencies only, installed in a builder stage (the final stage cannot run npm).',
    `FROM ${o.builderImage} AS deps`,
    `WORKDIR ${appDir}`,
    'COPY package.json package-lock.json ./',
    'RUN npm ci --omit=dev --no-audit --no-fund',
    '',
    `FROM ${o.builderImage} AS builder`,
    `WORKDIR ${appDir}`,
    'COPY package.json package-lock.json ./',
    'RUN npm ci --no-audit --no-fund',
    'COPY . .',
    ...(script ? [`RUN npm run ${script}`] : []),
    '',
    `FROM ${o.prodBase}`,
    `WORKDIR ${appDir}`,
    'ENV NODE_ENV=production',
    `COPY --from=deps ${appDir}/node_modules ./node_modules`,
    `COPY --from=builder ${appDir}/package.json ./package.json`,
    ...outputs.map((d) => `COPY --from=builder ${appDir}/${d.replace(/^\.\//, '').replace(/\/+$/, '')} ./${d.replace(/^\.\//, '').replace(/\/+$/, '')}`),
    ...finalTail(o, user, o.entrypoint ?? ['node', `${outputs[0]?.replace(/^\.\//, '').replace(/\/+$/, '') ?? 'dist'}/index.js`]),
  ];
}

const DOCKERIGNORE_COMMON = [
  '# Generated by cleanimg-customize: keep secrets and local clutter out of the build context.',
  '.git',
  '.gitignore',
  '.dockerignore',
  'Dockerfile*',
  '*.Dockerfile',
  '.env',
  '.env.*',
  '!.env.example',
  '**/*.key',
  '**/*.pem',
  '**/*.p12',
  '**/*.pfx',
  '**/id_rsa*',
  '**/id_ecdsa*',
  '**/id_ed25519*',
  '**/credentials*',
  '**/.npmrc',
  '**/.pypirc',
  '**/.netrc',
  '**/.git-credentials',
  '**/.docker',
  '**/.ssh',
  '.vscode',
  '.idea',
  '*.log',
];

const DOCKERIGNORE_LANG: Record<GeneratorLang, string[]> = {
  go: ['# Go (vendor/ is kept: go build uses it when present)', 'bin/', '*.test', 'coverage.out'],
  python: ['# Python', '**/__pycache__', '**/*.py[cod]', '.venv', 'venv', '.pytest_cache', '.mypy_cache', '.tox', 'build/', 'dist/', '*.egg-info'],
  node: ['# Node.js: dependencies are installed from the lock file inside the builder', 'node_modules', '**/node_modules', 'coverage', '.npm', '.nyc_output'],
};

/**
 * Generates a Dockerfile and `.dockerignore` for a Go, Python (venv) or Node.js app. Throws a
 * CleanimgError listing every bad option (GEN001), and never returns a Dockerfile that breaks a
 * Dockerfile rule.
 */
export function generateDockerfile(o: GenerateDockerfileOptions): GeneratedDockerfile {
  const problems = validate(o);
  if (problems.length) throw new CleanimgError('cannot generate the Dockerfile:', problems);
  const user = o.user ?? '65532:65532';
  const appDir = (o.appDir ?? '/app').replace(/\/+$/, '') || '/app';
  const lines = o.lang === 'go' ? goDockerfile(o, user, appDir) : o.lang === 'python' ? pythonDockerfile(o, user, appDir) : nodeDockerfile(o, user, appDir);
  const dockerfile = `${lines.join('\n')}\n`;
  // The prod base may not be a CleanStart one: USER is always set, so DF006 holds on any base.
  assertDockerfileOk(checkDockerfile(dockerfile, { name: 'generated Dockerfile' }), 'the generated Dockerfile');
  const ignore = [...DOCKERIGNORE_COMMON, ...DOCKERIGNORE_LANG[o.lang]];
  // Files asked for explicitly (a CA certificate `ca.pem`) must reach the builder.
  const matcher = dockerignoreMatcher(ignore.join('\n'));
  const reinclude = (o.files ?? []).map((f) => f.source.replace(/^\.\//, '')).filter((s) => matcher(s));
  if (reinclude.length) ignore.push('# Files the Dockerfile copies explicitly', ...reinclude.map((s) => `!${s}`));
  const dockerignore = `${ignore.join('\n')}\n`;
  return { dockerfile, dockerignore };
}
