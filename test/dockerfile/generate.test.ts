import { describe, expect, it } from 'vitest';
import { CleanimgError } from '../../src/errors';
import { checkDockerfile, dockerignoreMatcher, generateDockerfile, parseDockerfile, type GenerateDockerfileOptions } from '../../src/dockerfile';
import { BASE, D1, D2 } from './helpers';

const BUILDERS = { go: `golang:1.22@${D2}`, python: `python:3.12@${D2}`, node: `node:20@${D2}` } as const;
const BASES = { go: BASE, python: `cleanstart/python:3.12-prod@${D1}`, node: `cleanstart/node:20-prod@${D1}` } as const;

function gen(lang: 'go' | 'python' | 'node', over: Partial<GenerateDockerfileOptions> = {}) {
  return generateDockerfile({ lang, builderImage: BUILDERS[lang], prodBase: BASES[lang], ...over });
}

function problems(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CleanimgError);
    return (e as CleanimgError).problems.map((p) => `${p.code} ${p.path}`);
  }
  throw new Error('expected an error');
}

describe('generateDockerfile', () => {
  for (const lang of ['go', 'python', 'node'] as const) {
    it(`${lang}: passes every Dockerfile rule, on any base (USER is always set), with extra files, env and ports`, () => {
      const opts = { files: [{ source: 'config.yaml', destination: '/etc/app/config.yaml', mode: '0444' }, { source: 'certs/ca.pem', destination: '/etc/ssl/certs/ca.pem' }], env: { LOG_LEVEL: 'info', GREETING: 'hello world' }, ports: [8080] };
      const { dockerfile } = gen(lang, opts);
      expect(checkDockerfile(dockerfile)).toEqual([]);
      expect(checkDockerfile(dockerfile, { allowedBases: ['cleanstart/'], nonRootBases: [] })).toEqual([]);
      const df = parseDockerfile(dockerfile);
      const final = df.final.instructions;
      expect(final.filter((i) => i.keyword === 'RUN')).toEqual([]);
      expect(final.find((i) => i.keyword === 'USER')!.args).toEqual(['65532:65532']);
      expect(final.find((i) => i.keyword === 'ENTRYPOINT')!.json).toBeDefined();
      expect(dockerfile).toContain('COPY --chmod=0444 config.yaml /etc/app/config.yaml');
      expect(dockerfile).toContain('ENV LOG_LEVEL="info" \\\n    GREETING="hello world"');
      expect(dockerfile).toContain('EXPOSE 8080');
      expect(df.stages.every((s) => s.image.includes('@sha256:'))).toBe(true);
      expect(dockerfile).not.toMatch(/# syntax=/);
    });
  }

  it('go: a static binary (CGO_ENABLED=0) copied alone, exec-form entrypoint', () => {
    const { dockerfile } = gen('go', { goPackage: './cmd/server', binaryName: 'server' });
    expect(dockerfile).toContain('RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/server ./cmd/server');
    expect(dockerfile).toContain('COPY --from=builder /out/server /app/server');
    expect(dockerfile).toMatch(/ENTRYPOINT \["\/app\/server"\]\n$/);
  });

  it('python: the venv is built in the builder and copied whole', () => {
    const { dockerfile } = gen('python', { requirements: 'requirements/prod.txt', entrypoint: ['/opt/venv/bin/gunicorn', 'app:wsgi'] });
    const final = parseDockerfile(dockerfile).final;
    expect(final.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args.join(' '))).toEqual(['/opt/venv /opt/venv', '/app /app']);
    expect(dockerfile).toContain('RUN python -m venv /opt/venv');
    expect(dockerfile).toContain('RUN pip install --no-cache-dir -r requirements/prod.txt');
    expect(dockerfile).toContain('ENTRYPOINT ["/opt/venv/bin/gunicorn","app:wsgi"]');
  });

  it('node: npm ci --omit=dev in a builder stage; node_modules and the build output copied', () => {
    const { dockerfile } = gen('node', { outputs: ['build', 'public/'], cmd: ['--port', '8080'] });
    expect(dockerfile).toContain('RUN npm ci --omit=dev --no-audit --no-fund');
    expect(dockerfile).toContain('RUN npm run build');
    const copies = parseDockerfile(dockerfile).final.instructions.filter((i) => i.keyword === 'COPY').map((i) => `${i.flags.from} ${i.args.join(' ')}`);
    expect(copies).toEqual(['deps /app/node_modules ./node_modules', 'builder /app/package.json ./package.json', 'builder /app/build ./build', 'builder /app/public ./public']);
    expect(dockerfile).toContain('ENTRYPOINT ["node","build/index.js"]\nCMD ["--port","8080"]');
    expect(gen('node', { buildScript: null }).dockerfile).not.toContain('npm run');
  });

  it('owner app gets --chown=<user>; everything else stays root-owned', () => {
    const { dockerfile } = gen('go', { user: '10001:10001', files: [{ source: 'data/seed.db', destination: '/var/lib/app/seed.db', owner: 'app', mode: '0640' }] });
    expect(dockerfile).toContain('COPY --chown=10001:10001 --chmod=0640 data/seed.db /var/lib/app/seed.db');
    expect(dockerfile).toContain('USER 10001:10001');
    expect(dockerfile.match(/--chown/g)).toHaveLength(1);
  });

  it('writes a .dockerignore that keeps .git, .env, keys and node_modules out, but lets explicitly copied files in', () => {
    const { dockerignore } = gen('node', { files: [{ source: 'certs/ca.pem', destination: '/etc/ssl/certs/ca.pem' }] });
    const ignored = dockerignoreMatcher(dockerignore);
    for (const p of ['.git/HEAD', '.env', '.env.production', 'tls/server.key', 'id_rsa', 'a/b/id_ed25519', 'node_modules/x/index.js', 'pkg/node_modules/y', '.npmrc', 'x/.ssh/config', 'other.pem']) expect(ignored(p), p).toBe(true);
    for (const p of ['src/index.ts', 'package.json', 'package-lock.json', '.env.example', 'certs/ca.pem']) expect(ignored(p), p).toBe(false);
    expect(dockerignoreMatcher(gen('python').dockerignore)('pkg/__pycache__/a.pyc')).toBe(true);
  });

  it('refuses bad options, listing each (GEN001), and never returns a Dockerfile that breaks a rule', () => {
    expect(problems(() => generateDockerfile({ lang: 'go', builderImage: 'golang:1.22', prodBase: 'cleanstart/go:latest' }))).toEqual(['GEN001 builderImage', 'GEN001 prodBase']);
    expect(problems(() => gen('go', { user: '0:0' }))).toEqual(['GEN001 user']);
    expect(problems(() => gen('go', { user: 'app' }))).toEqual(['GEN001 user']);
    expect(problems(() => gen('go', { lang: 'rust' as never }))).toEqual(['GEN001 lang']);
    expect(problems(() => gen('go', { binaryName: 'a b', goPackage: '$(x)', appDir: 'app' }))).toEqual(['GEN001 appDir', 'GEN001 goPackage', 'GEN001 binaryName']);
    expect(problems(() => gen('go', { files: [{ source: '../etc/passwd', destination: 'rel', mode: '999' }] }))).toEqual(['GEN001 files[0].destination', 'GEN001 files[0].mode', 'GEN001 files[0].source']);
    expect(problems(() => gen('go', { env: { 'BAD-NAME': 'x', OK: 'a\nb' }, ports: [0], entrypoint: [] }))).toEqual(['GEN001 env.BAD-NAME', 'GEN001 env.OK', 'GEN001 ports[0]', 'GEN001 entrypoint']);
    // Valid options, but a file the rules refuse: the rules' violations come back, not a Dockerfile.
    expect(problems(() => gen('go', { files: [{ source: 'tls/server.key', destination: '/etc/ssl/server.key' }] }))).toEqual(['DF008 generated Dockerfile:13']);
  });
});
