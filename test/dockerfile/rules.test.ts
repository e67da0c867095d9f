import { describe, expect, it } from 'vitest';
import { DOCKERFILE_RULES, unpinnedReason } from '../../src/dockerfile';
import { RULES } from '../../src/rules';
import { BASE, BUILDER, D1, found, of } from './helpers';

/** A Dockerfile that passes every rule; each test breaks one thing. */
const GOOD = [
  `FROM ${BUILDER} AS builder`, // 1
  'WORKDIR /src', // 2
  'COPY . .', // 3
  'RUN CGO_ENABLED=0 go build -o /out/app .', // 4
  `FROM ${BASE}`, // 5
  'COPY --from=builder /out/app /app/app', // 6
  'COPY --chmod=0444 config.yaml /etc/app/config.yaml', // 7
  'USER 65532:65532', // 8
  'ENTRYPOINT ["/app/app"]', // 9
  'CMD ["--port", "8080"]', // 10
].join('\n');

function replaceLine(n: number, text: string): string {
  const lines = GOOD.split('\n');
  lines[n - 1] = text;
  return lines.join('\n');
}

describe('Dockerfile rules', () => {
  it('have the rule shape (id, title, fix), unique ids DF001..., and do not collide with the Kubernetes rules', () => {
    const ids = DOCKERFILE_RULES.map((r) => r.id);
    expect(ids).toEqual(ids.map((_, i) => `DF${String(i + 1).padStart(3, '0')}`));
    for (const r of DOCKERFILE_RULES) {
      expect(r.title.length).toBeGreaterThan(10);
      expect(r.title).not.toMatch(/\n/);
      expect(r.fix.length).toBeGreaterThan(10);
    }
    expect(RULES.map((r) => r.id).filter((id) => ids.includes(id))).toEqual([]);
  });

  it('pass a good multi-stage Dockerfile', () => {
    expect(found(GOOD)).toEqual([]);
  });

  it('DF001: the final base is pinned by a well-formed digest, and from the allowed family when set', () => {
    expect(found(replaceLine(5, 'FROM cleanstart/go:1.22-prod'))).toEqual([['DF001', 5]]);
    const placeholder = of('DF001', replaceLine(5, 'FROM cleanstart/go:1.22-prod@sha256:abc123...'));
    expect(placeholder[0]!.message).toMatch(/malformed digest "sha256:abc123\.\.\."/);
    expect(placeholder[0]!.fix).toMatch(/cleanstart\/go:1.22-prod@sha256:<digest>/);
    expect(found(GOOD, { allowedBases: ['cleanstart/'] })).toEqual([]);
    expect(found(GOOD, { allowedBases: ['docker.io/cleanstart/'] })).toEqual([]);
    const other = of('DF001', GOOD, { allowedBases: ['registry.example.com/base/'] });
    expect(other.map((v) => [v.line, v.message])).toEqual([[5, expect.stringMatching(/not from an allowed base family \(registry.example.com\/base\/\)/)]]);
    // An ARG default that is not pinned is seen through the variable.
    expect(found(`ARG BASE=cleanstart/go:latest\n${replaceLine(5, 'FROM ${BASE}')}`)).toEqual([['DF001', 6]]);
    expect(found(`ARG BASE=${BASE}\n${replaceLine(5, 'FROM ${BASE}')}`)).toEqual([]);
  });

  it('DF001 follows a final stage built FROM an earlier stage to its base', () => {
    const text = ['FROM cleanstart/go:latest AS base', 'USER 65532', 'FROM base', 'ENTRYPOINT ["/app"]'].join('\n');
    const v = of('DF001', text);
    expect(v.map((x) => x.line)).toEqual([3]);
    expect(v[0]!.message).toMatch(/builds FROM stage "base", whose base is cleanstart\/go:latest/);
    expect(of('DF002', text)).toEqual([]);
  });

  it('DF002: builder stages are pinned too; scratch and stage references need no digest', () => {
    expect(found(replaceLine(1, 'FROM golang:1.22 AS builder'))).toEqual([['DF002', 1]]);
    expect(of('DF002', replaceLine(1, 'FROM golang:1.22 AS builder'))[0]!.message).toMatch(/stage 0 \(builder\): its base "golang:1.22" is not pinned by digest/);
    expect(found(replaceLine(1, 'FROM scratch AS builder'))).toEqual([]);
    expect(found(`${GOOD}\nFROM builder AS test\nFROM ${BASE}\nCOPY --from=builder /out/app /app\nUSER 65532\nENTRYPOINT ["/app"]`).filter(([c]) => c === 'DF002')).toEqual([]);
  });

  it('DF003: no RUN in the final image, with a specific fix for chmod/chown, npm, pip, apt', () => {
    const chmod = of('DF003', replaceLine(7, 'RUN chmod 0444 /etc/app/config.yaml'));
    expect(chmod.map((v) => v.line)).toEqual([7]);
    expect(chmod[0]!.fix).toMatch(/COPY --chmod=0644 \/ COPY --chown=65532:65532/);
    expect(of('DF003', replaceLine(7, 'RUN ["/bin/chown", "65532", "/x"]'))[0]!.fix).toMatch(/COPY --chown/);
    expect(of('DF003', replaceLine(7, 'RUN npm ci --omit=dev'))[0]!.fix).toMatch(/npm ci --omit=dev\) and COPY --from=builder/);
    expect(of('DF003', replaceLine(7, 'RUN pip install -r requirements.txt'))[0]!.fix).toMatch(/venv/);
    expect(of('DF003', replaceLine(7, 'RUN apt-get update && apt-get install -y curl'))[0]!.fix).toMatch(/OS packages/);
    expect(of('DF003', replaceLine(7, 'RUN /app/app --selftest'))[0]!.fix).toBe(DOCKERFILE_RULES.find((r) => r.id === 'DF003')!.fix);
    // A heredoc RUN is a RUN too; a RUN in the builder is fine.
    expect(found(replaceLine(7, 'RUN <<EOF\nchown 1 /x\nEOF'))).toEqual([['DF003', 7]]);
    expect(of('DF003', GOOD)).toEqual([]);
  });

  it('DF003 sees RUN in a stage the final stage is built FROM', () => {
    const text = [`FROM ${BASE} AS base`, 'RUN echo hi', 'FROM base', 'USER 65532', 'ENTRYPOINT ["/app"]'].join('\n');
    expect(found(text)).toEqual([['DF003', 2]]);
  });

  it('DF004: no SHELL in the final stage', () => {
    expect(found(replaceLine(7, 'SHELL ["/bin/bash", "-c"]'))).toEqual([['DF004', 7]]);
    expect(found(replaceLine(2, 'SHELL ["/bin/bash", "-c"]'))).toEqual([]);
  });

  it('DF005: CMD, ENTRYPOINT and HEALTHCHECK CMD in exec form', () => {
    const shell = of('DF005', replaceLine(9, 'ENTRYPOINT /app/app --port 8080'));
    expect(shell.map((v) => v.line)).toEqual([9]);
    expect(shell[0]!.fix).toBe('write ENTRYPOINT ["/app/app","--port","8080"]');
    expect(found(replaceLine(10, 'CMD --port 8080'))).toEqual([['DF005', 10]]);
    // Broken JSON falls back to shell form in the builder, so it is shell form here too.
    expect(found(replaceLine(9, 'ENTRYPOINT ["/app/app"'))).toEqual([['DF005', 9]]);
    expect(found(replaceLine(10, 'HEALTHCHECK --interval=10s CMD /app/app health'))).toEqual([['DF005', 10]]);
    expect(found(replaceLine(10, 'HEALTHCHECK --interval=10s CMD ["/app/app", "health"]'))).toEqual([]);
    expect(found(replaceLine(10, 'HEALTHCHECK NONE'))).toEqual([]);
    expect(found(replaceLine(2, 'CMD go build'))).toEqual([]);
  });

  it('DF006: the user in effect at the end is not root', () => {
    for (const u of ['root', '0', '0:0', 'root:root', '00:1000']) expect(found(replaceLine(8, `USER ${u}`)), u).toEqual([['DF006', 8]]);
    for (const u of ['65532', '65532:65532', 'nobody', '1000:0']) expect(found(replaceLine(8, `USER ${u}`)), u).toEqual([]);
    // A later non-root USER wins; a later root USER loses.
    expect(found(replaceLine(7, 'USER root'))).toEqual([]);
    expect(found(`${GOOD}\nUSER 0`)).toEqual([['DF006', 11]]);
    // Through an ARG default.
    expect(found(replaceLine(8, 'ARG UID=0\nUSER ${UID}'))).toEqual([['DF006', 9]]);
  });

  it('DF006: no USER is accepted only on a base known to run as non-root', () => {
    const noUser = replaceLine(8, '# no USER');
    expect(found(noUser)).toEqual([]);
    expect(found(noUser, { nonRootBases: [] })).toEqual([['DF006', 5]]);
    expect(found(noUser.replace(`FROM ${BASE}`, `FROM gcr.io/distroless/static@${D1}`))).toEqual([['DF006', 5]]);
    expect(found(noUser.replace(`FROM ${BASE}`, `FROM gcr.io/distroless/static@${D1}`), { nonRootBases: ['gcr.io/distroless/'] })).toEqual([]);
    expect(of('DF006', noUser.replace(`FROM ${BASE}`, 'FROM scratch'))[0]!.message).toMatch(/scratch runs as root/);
  });

  it('DF007: no ADD of remote URLs in any stage, unless an http(s) URL is pinned by --checksum', () => {
    expect(found(replaceLine(2, 'ADD https://example.com/tool.tgz /tmp/'))).toEqual([['DF007', 2]]);
    expect(found(replaceLine(7, 'ADD git@github.com:org/repo.git /src'))).toEqual([['DF007', 7]]);
    expect(found(replaceLine(2, `ADD --checksum=${D1} https://example.com/tool.tgz /tmp/`))).toEqual([]);
    expect(of('DF007', replaceLine(2, 'ADD --checksum=sha256:abc https://example.com/tool.tgz /tmp/'))[0]!.message).toMatch(/--checksum=sha256:abc is not sha256:<64 hex>/);
    expect(found(replaceLine(7, 'ADD config.tgz /etc/app/'))).toEqual([]);
  });

  it('DF008: no private keys, .env or credential files copied into the final stage (by name and destination)', () => {
    const bad = ['tls/server.key', 'id_rsa', 'deploy/id_ed25519', '.env', 'config/.env.production', 'cert.p12', 'credentials.json', '.npmrc', '.pypirc', '.netrc'];
    for (const src of bad) expect(found(replaceLine(7, `COPY ${src} /etc/app/`)), src).toEqual([['DF008', 7]]);
    const ok = ['tls/server.crt', 'id_rsa.pub', '.env.example', 'ca.pem', 'config.yaml'];
    for (const src of ok) expect(found(replaceLine(7, `COPY ${src} /etc/app/`)), src).toEqual([]);
    expect(of('DF008', replaceLine(7, 'COPY tls/ /etc/ssl/private/'))[0]!.message).toMatch(/private-key directory/);
    expect(found(replaceLine(7, 'COPY keys /home/app/.ssh'))).toEqual([['DF008', 7]]);
    expect(found(replaceLine(6, 'COPY --from=builder /root/.npmrc /app/.npmrc'))).toEqual([['DF008', 6]]);
    // Heredoc content is read.
    expect(found(replaceLine(7, 'COPY <<EOF /etc/app/key\n-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\nEOF'))).toEqual([['DF008', 7]]);
    // Builder stages may hold secrets (use build secrets there, but they do not reach the image by themselves).
    expect(found(replaceLine(3, 'COPY .npmrc .'))).toEqual([]);
  });

  it('DF009: COPY --from names an earlier stage or a digest-pinned image', () => {
    expect(found(replaceLine(6, 'COPY --from=0 /out/app /app/app'))).toEqual([]);
    expect(found(replaceLine(6, `COPY --from=busybox@${D1} /bin/busybox /app/busybox`))).toEqual([]);
    const image = of('DF009', replaceLine(6, 'COPY --from=busybox:1.36 /bin/busybox /app/busybox'));
    expect(image.map((v) => [v.line, v.message])).toEqual([[6, expect.stringMatching(/not a stage defined earlier, so it is pulled as an image: "busybox:1.36" is not pinned/)]]);
    expect(of('DF009', replaceLine(6, 'COPY --from=1 /out/app /app/app'))[0]!.message).toMatch(/names the stage it is in/);
    expect(of('DF009', replaceLine(6, 'COPY --from=7 /out/app /app/app'))[0]!.message).toMatch(/names no stage \(there are 2\)/);
    const later = [`FROM ${BUILDER} AS a`, 'COPY --from=b /x /x', `FROM ${BUILDER} AS b`, `FROM ${BASE}`, 'COPY --from=a /x /x', 'USER 65532'].join('\n');
    expect(of('DF009', later).map((v) => [v.line, v.message])).toEqual([[2, expect.stringMatching(/a stage defined later \(line 3\)/)]]);
  });

  it('reports every violation at once, sorted by line, each with the file name and line', () => {
    const text = ['FROM node:20 AS builder', 'RUN npm ci', 'FROM node:20-slim', 'SHELL ["/bin/sh", "-c"]', 'RUN npm ci --omit=dev', 'COPY .env /app/.env', 'ADD https://x.example/a /a', 'USER root', 'CMD node server.js'].join('\n');
    const vs = found(text, { name: 'app/Dockerfile' });
    expect(of('DF008', text, { name: 'app/Dockerfile' })[0]!.path).toBe('app/Dockerfile:6');
    expect(vs).toEqual([['DF002', 1], ['DF001', 3], ['DF004', 4], ['DF003', 5], ['DF008', 6], ['DF007', 7], ['DF006', 8], ['DF005', 9]]);
  });
});

describe('unpinnedReason', () => {
  it('tells a tag, a placeholder digest and a malformed reference apart', () => {
    expect(unpinnedReason(`nginx:1.25@${D1}`)).toBeUndefined();
    expect(unpinnedReason('nginx:1.25')).toMatch(/not pinned by digest/);
    expect(unpinnedReason('nginx@sha256:abc123...')).toMatch(/malformed digest/);
    expect(unpinnedReason(`Bad Name@${D1}`)).toMatch(/is not a valid image reference \(.+\)/);
  });
});
