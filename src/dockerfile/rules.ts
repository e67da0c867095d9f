/**
 * The Dockerfile rules: what a Dockerfile for a shell-less, non-root production image must hold.
 * Same shape as the Kubernetes rules (id, one-line title, fix); `cleanimg-customize rules` lists both.
 *
 * "The final image" is the last stage together with the stages it is built FROM (`FROM builder`
 * puts every layer of `builder` into the result), so the final-stage rules look at that chain.
 *
 * Decisions:
 * - Builder stages must be pinned by digest too (DF002): the compiler, libraries and wheels of a
 *   builder end up inside the artifacts (a static Go binary links the builder's standard library),
 *   so `golang:1.21` is as much a moving input as an unpinned base.
 * - A final stage without USER is accepted only on a base known to run as non-root (option
 *   `nonRootBases`, default `cleanstart/`; the guide's images are configured with a non-root user).
 *   On any other base the image would run as whatever the base says, often root: DF006 asks for
 *   `USER 65532:65532`. `verify` checks the built image's config afterwards either way.
 * - Variables are checked with their ARG/ENV defaults (what a build without --build-arg gets).
 * - `ADD <http(s) URL>` is accepted with `--checksum=sha256:<64 hex>` (the content is pinned);
 *   every other remote ADD (git, ssh, unpinned http) is refused.
 */
import { posix } from 'node:path';
import { isDigestPinned } from '../core/image-ref';
import { CleanimgError } from '../errors';
import { parseReference } from '../oci/reference';
import { copyPaths, type DfInstruction, type DfStage, type ParsedDockerfile } from './parse';
import { contextFilesFor, contextIgnore, readHead, secretContentReason, secretDestinationReason, secretFileNameReason } from './secrets';

export interface DockerfileCheckOptions {
  /** How the file is named in violations (`<name>:<line>`). @default 'Dockerfile' */
  readonly name?: string;
  /**
   * Allowed base families for the final image, as reference prefixes (`cleanstart/`,
   * `registry.example.com/base/`). `docker.io/` and `docker.io/library/` are ignored when matching.
   * @default any base (pinned by digest)
   */
  readonly allowedBases?: readonly string[];
  /**
   * Bases known to run as a non-root user, as reference prefixes: on them a final stage without
   * USER is accepted. @default ['cleanstart/']
   */
  readonly nonRootBases?: readonly string[];
  /** The build context directory: when given, copied files are also checked by content and `.dockerignore` is honoured. */
  readonly context?: string;
}

export interface DockerfileFinding {
  readonly line: number;
  readonly message: string;
  /** A more specific fix than the rule's general one. */
  readonly fix?: string;
  /** Which stage the line is in (index). */
  readonly stage: number;
}

export interface DockerfileRule {
  /** Stable id, e.g. `DF003`. */
  readonly id: string;
  /** One-line statement of what must hold. */
  readonly title: string;
  /** The general fix. */
  readonly fix: string;
  check(df: ParsedDockerfile, opts: DockerfileCheckOptions): DockerfileFinding[];
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** The final stage and the stages it is built FROM, root first. */
export function finalChain(df: ParsedDockerfile): DfStage[] {
  const chain: DfStage[] = [];
  for (let s: DfStage | undefined = df.final; s; s = s.parent) chain.unshift(s);
  return chain;
}

function finalInstructions(df: ParsedDockerfile): Array<{ i: DfInstruction; stage: DfStage }> {
  return finalChain(df).flatMap((stage) => stage.instructions.map((i) => ({ i, stage })));
}

/** `docker.io/library/nginx` → `nginx`, `docker.io/x/y` → `x/y`. */
function shortRef(ref: string): string {
  return ref.replace(/^(?:index\.)?docker\.io\/(?:library\/)?/, '');
}

function matchesPrefix(ref: string, prefixes: readonly string[]): boolean {
  const short = shortRef(ref);
  return prefixes.some((p) => ref.startsWith(p) || short.startsWith(shortRef(p)));
}

/** Why an image reference is not pinned by a well-formed digest, or undefined when it is. */
export function unpinnedReason(ref: string): string | undefined {
  if (isDigestPinned(ref)) return undefined;
  const at = ref.indexOf('@');
  if (at < 0) return `${JSON.stringify(ref)} is not pinned by digest (a tag can be moved)`;
  const digest = ref.slice(at + 1);
  if (!DIGEST.test(digest)) return `${JSON.stringify(ref)} has a malformed digest ${JSON.stringify(digest)} (a placeholder? a digest is sha256: and 64 hex characters)`;
  try {
    parseReference(ref);
  } catch (e) {
    if (e instanceof CleanimgError && e.problems[0]) return `${JSON.stringify(ref)} is not a valid image reference (${e.problems[0].message})`;
  }
  return `${JSON.stringify(ref)} is not a valid image reference`;
}

function unpinnedFix(ref: string): string {
  const repo = ref.replace(/@.*$/, '');
  return `write ${repo}@sha256:<digest> (get the digest with: skopeo inspect --format '{{.Digest}}' docker://${repo})`;
}

function stageLabel(df: ParsedDockerfile, s: DfStage): string {
  return s.index === df.final.index ? 'the final stage' : `stage ${s.index}${s.name ? ` (${s.name})` : ''}`;
}

const RUN_FIXES: Array<[RegExp, string]> = [
  [/(^|[\s;&|(/])(chmod|chown|chgrp)\s/, 'set modes and owners in the COPY itself: COPY --chmod=0644 / COPY --chown=65532:65532 (a shell-less image cannot run chmod or chown)'],
  [/(^|[\s;&|(/])(npm|yarn|pnpm)\s+(ci|install|i|add|prune)\b/, 'install packages in the builder stage (npm ci --omit=dev) and COPY --from=builder /app/node_modules into the final stage'],
  [/(^|[\s;&|(/])(pip3?|python3?\s+-m\s+pip|poetry|uv)\s+(install|sync)\b/, 'install packages into a venv in the builder stage and COPY --from=builder /opt/venv /opt/venv'],
  [/(^|[\s;&|(/])(apt-get|apt|apk|yum|dnf|microdnf|zypper)\s/, 'install OS packages in the builder stage and copy only the files you need, or choose a base that has them'],
  [/(^|[\s;&|(/])(go\s+build|cargo\s+build|mvn|gradle|make)\b/, 'compile in the builder stage and COPY --from=builder only the artifact'],
];

function isShellForm(text: string): boolean {
  const t = text.trim();
  if (!t.startsWith('[')) return true;
  try {
    const v = JSON.parse(t) as unknown;
    return !(Array.isArray(v) && v.every((s) => typeof s === 'string'));
  } catch {
    return true;
  }
}

function userOf(i: DfInstruction): string {
  return i.args.join(' ');
}

function isRootUser(user: string): boolean {
  const uid = user.split(':')[0]!.trim();
  return uid === 'root' || (/^\d+$/.test(uid) && Number(uid) === 0);
}

function isRemote(src: string): boolean {
  return /^(https?|git|ssh|ftp):\/\//i.test(src) || /^[\w.-]+@[\w.-]+:/.test(src);
}

/** WORKDIR in effect before each instruction of a chain, to make COPY destinations absolute. */
function withWorkdirs(chain: readonly DfStage[]): Array<{ i: DfInstruction; stage: DfStage; workdir: string }> {
  let wd = '/';
  const out: Array<{ i: DfInstruction; stage: DfStage; workdir: string }> = [];
  for (const stage of chain) {
    for (const i of stage.instructions) {
      out.push({ i, stage, workdir: wd });
      if (i.keyword === 'WORKDIR' && i.args[0]) wd = posix.resolve(wd, i.args.join(' '));
    }
  }
  return out;
}

function chainOf(s: DfStage): DfStage[] {
  const chain: DfStage[] = [];
  for (let x: DfStage | undefined = s; x; x = x.parent) chain.unshift(x);
  return chain;
}

/** The earlier stage a `--from` value names (by name or index), if any. */
export function stageNamed(df: ParsedDockerfile, from: string, before: number): DfStage | undefined {
  if (/^\d+$/.test(from)) {
    const n = Number(from);
    return n < before ? df.stages[n] : undefined;
  }
  const s = df.stages.find((x) => x.name === from.toLowerCase());
  return s && s.index < before ? s : undefined;
}

function overlaps(a: string, b: string): boolean {
  const x = posix.normalize(a).replace(/\/+$/, '') || '/';
  const y = posix.normalize(b).replace(/\/+$/, '') || '/';
  return x === y || x === '/' || y === '/' || x.startsWith(`${y}/`) || y.startsWith(`${x}/`);
}

function secretFindings(df: ParsedDockerfile, opts: DockerfileCheckOptions): DockerfileFinding[] {
  const out: DockerfileFinding[] = [];
  const ignored = opts.context ? contextIgnore(opts.context) : () => false;
  const contentCache = new Map<string, string | undefined>();
  const contentReason = (abs: string) => {
    if (!contentCache.has(abs)) {
      let r: string | undefined;
      try {
        r = secretContentReason(readHead(abs));
      } catch {
        r = undefined;
      }
      contentCache.set(abs, r);
    }
    return contentCache.get(abs);
  };
  /** Context files sent by one COPY/ADD: each checked by name and content. */
  const checkContext = (sources: readonly string[], line: number, stage: number, via?: string) => {
    if (!opts.context) return;
    const seen = new Set<string>();
    for (const src of sources) {
      if (src.startsWith('<<') || isRemote(src)) continue;
      for (const f of contextFilesFor(opts.context, src, ignored)) {
        if (seen.has(f.path)) continue;
        seen.add(f.path);
        const why = secretFileNameReason(f.path) ?? contentReason(f.abs);
        if (why) out.push({ line, stage, message: `context file ${JSON.stringify(f.path)} ${why.replace(/^contains/, 'contains')}${via ? `, and reaches the final image ${via}` : ', and is copied into the final image'}` });
      }
    }
  };

  for (const { i, stage } of finalInstructions(df)) {
    if (i.keyword !== 'COPY' && i.keyword !== 'ADD') continue;
    const { sources, dest } = copyPaths(i);
    const from = i.flags.from;
    const destWhy = secretDestinationReason(dest);
    if (destWhy) out.push({ line: i.line, stage: stage.index, message: `${i.keyword} ${destWhy}` });
    for (const src of sources) {
      if (src.startsWith('<<')) continue;
      const why = secretFileNameReason(src);
      if (why) out.push({ line: i.line, stage: stage.index, message: `${i.keyword} source ${JSON.stringify(src)} ${why}` });
    }
    for (const h of i.heredocs) {
      const why = secretContentReason(h.content);
      if (why) out.push({ line: i.line, stage: stage.index, message: `heredoc <<${h.name} ${why}` });
    }
    if (from === undefined) {
      checkContext(sources, i.line, stage.index);
      continue;
    }
    // Context files can reach the final image through a builder: `COPY . /src` there, `COPY --from=builder /src /app` here.
    const src = stageNamed(df, from, stage.index);
    if (!src || !opts.context) continue;
    const wanted = sources.map((s) => posix.resolve('/', s));
    for (const b of withWorkdirs(chainOf(src))) {
      if ((b.i.keyword !== 'COPY' && b.i.keyword !== 'ADD') || b.i.flags.from !== undefined) continue;
      const bp = copyPaths(b.i);
      const bdest = posix.resolve(b.workdir, bp.dest);
      if (wanted.some((w) => overlaps(w, bdest))) checkContext(bp.sources, i.line, stage.index, `through ${stageLabel(df, src)} (line ${b.i.line} copies it to ${bdest})`);
    }
  }
  return out;
}

export const DOCKERFILE_RULES: readonly DockerfileRule[] = [
  {
    id: 'DF001',
    title: 'the final image\'s base (last FROM) is pinned by digest, from an allowed base family when one is set',
    fix: 'write FROM <base>@sha256:<digest> (e.g. cleanstart/<name>:<tag>@sha256:...)',
    check(df, opts) {
      const chain = finalChain(df);
      const root = chain[0]!;
      const via = root === df.final ? '' : ` (the final stage builds FROM stage ${JSON.stringify(df.final.image)}, whose base is ${root.image})`;
      const out: DockerfileFinding[] = [];
      const line = df.final.line;
      if (root.image.toLowerCase() !== 'scratch') {
        const why = unpinnedReason(root.image);
        if (why) out.push({ line, stage: df.final.index, message: `the final image's base ${why}${via}${root.imageRaw !== root.image ? ` (FROM ${root.imageRaw} with the ARG defaults)` : ''}`, fix: unpinnedFix(root.image) });
      }
      if (opts.allowedBases?.length && !matchesPrefix(root.image, opts.allowedBases))
        out.push({ line, stage: df.final.index, message: `the final image's base ${JSON.stringify(root.image)} is not from an allowed base family (${opts.allowedBases.join(', ')})${via}`, fix: `build the final stage FROM ${opts.allowedBases[0]}<image>@sha256:<digest>` });
      return out;
    },
  },
  {
    id: 'DF002',
    title: 'builder stages are pinned by digest too (what they compile ends up in the image)',
    fix: 'write FROM <builder>@sha256:<digest> AS builder',
    check(df) {
      const finals = new Set(finalChain(df));
      const out: DockerfileFinding[] = [];
      for (const s of df.stages) {
        if (finals.has(s) || s.parent || s.image.toLowerCase() === 'scratch') continue;
        const why = unpinnedReason(s.image);
        if (why) out.push({ line: s.line, stage: s.index, message: `${stageLabel(df, s)}: its base ${why}`, fix: unpinnedFix(s.image) });
      }
      return out;
    },
  },
  {
    id: 'DF003',
    title: 'no RUN in the final stage (a shell-less image has no shell to run it)',
    fix: 'do the work in a builder stage and COPY --from=builder only the results',
    check(df) {
      return finalInstructions(df).filter(({ i }) => i.keyword === 'RUN').map(({ i, stage }) => {
        const cmd = i.json ? i.json.join(' ') : [i.raw, ...i.heredocs.map((h) => h.content)].join('\n');
        const fix = RUN_FIXES.find(([re]) => re.test(` ${cmd}`))?.[1];
        const short = cmd.replace(/\s+/g, ' ').trim();
        return { line: i.line, stage: stage.index, message: `RUN ${short.length > 60 ? `${short.slice(0, 57)}...` : short} runs in ${stageLabel(df, stage)}, which has no shell`, fix };
      });
    },
  },
  {
    id: 'DF004',
    title: 'no SHELL instruction in the final stage',
    fix: 'remove SHELL; use exec-form CMD/ENTRYPOINT (["/app/server"])',
    check(df) {
      return finalInstructions(df).filter(({ i }) => i.keyword === 'SHELL').map(({ i, stage }) => ({ line: i.line, stage: stage.index, message: `SHELL ${i.raw} names a shell the final image does not have` }));
    },
  },
  {
    id: 'DF005',
    title: 'CMD, ENTRYPOINT and HEALTHCHECK CMD use exec form (["/bin", "arg"]), never shell form',
    fix: 'write ENTRYPOINT ["/app/server", "--flag"] (shell form runs /bin/sh -c, which does not exist)',
    check(df) {
      const out: DockerfileFinding[] = [];
      for (const { i, stage } of finalInstructions(df)) {
        let text: string | undefined;
        if (i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT') text = i.raw;
        else if (i.keyword === 'HEALTHCHECK' && /^cmd\b/i.test(i.raw.trim())) text = i.raw.trim().slice(3);
        if (text === undefined || !text.trim()) continue;
        if (isShellForm(text)) {
          const words = text.trim().split(/\s+/);
          out.push({
            line: i.line, stage: stage.index,
            message: `${i.keyword}${i.keyword === 'HEALTHCHECK' ? ' CMD' : ''} ${text.trim()} is in shell form (runs /bin/sh -c)`,
            fix: `write ${i.keyword}${i.keyword === 'HEALTHCHECK' ? ' CMD' : ''} ${JSON.stringify(words)}`,
          });
        }
      }
      return out;
    },
  },
  {
    id: 'DF006',
    title: 'the final image does not run as root: the last USER is non-root (or the base is known to be non-root)',
    fix: 'end the final stage with USER 65532:65532 (or another non-root UID:GID)',
    check(df, opts) {
      const users = finalInstructions(df).filter(({ i }) => i.keyword === 'USER');
      const last = users[users.length - 1];
      if (last) {
        const u = userOf(last.i);
        if (!u) return [{ line: last.i.line, stage: last.stage.index, message: `USER ${last.i.raw} is empty with the ARG defaults` }];
        return isRootUser(u) ? [{ line: last.i.line, stage: last.stage.index, message: `USER ${u} is root${last.i.raw !== u ? ` (USER ${last.i.raw})` : ''}, and it is the user in effect at the end` }] : [];
      }
      const root = finalChain(df)[0]!;
      const nonRoot = opts.nonRootBases ?? ['cleanstart/'];
      if (root.image.toLowerCase() !== 'scratch' && matchesPrefix(root.image, nonRoot)) return [];
      return [{ line: df.final.line, stage: df.final.index, message: `no USER is set and the base ${JSON.stringify(root.image)} is not known to run as non-root${root.image.toLowerCase() === 'scratch' ? ' (scratch runs as root)' : ''}` }];
    },
  },
  {
    id: 'DF007',
    title: 'no ADD of remote URLs (in any stage), unless pinned with --checksum',
    fix: 'vendor the file into the context, or fetch it in a builder stage and verify its checksum; for http(s), ADD --checksum=sha256:<hex> pins the content',
    check(df) {
      const out: DockerfileFinding[] = [];
      for (const s of df.stages) {
        for (const i of s.instructions) {
          if (i.keyword !== 'ADD') continue;
          const { sources } = copyPaths(i);
          const checksum = i.flags.checksum;
          for (const src of sources) {
            if (!isRemote(src)) continue;
            if (/^https?:\/\//i.test(src) && checksum !== undefined && DIGEST.test(checksum)) continue;
            out.push({ line: i.line, stage: s.index, message: `ADD ${src} in ${stageLabel(df, s)} downloads content that can change${checksum !== undefined ? ` (--checksum=${checksum} is not sha256:<64 hex>${/^https?:/i.test(src) ? '' : ' and only pins http(s)'})` : ''}` });
          }
        }
      }
      return out;
    },
  },
  {
    id: 'DF008',
    title: 'no private keys, .env files or credentials are copied into the final image',
    fix: 'keep secrets out of images: mount them at run time (Kubernetes Secret as a file), and use RUN --mount=type=secret in the builder for build-time credentials; exclude them in .dockerignore',
    check: secretFindings,
  },
  {
    id: 'DF009',
    title: 'COPY --from names a stage defined earlier, or an image pinned by digest',
    fix: 'define the stage above (FROM ... AS name) or write --from=<image>@sha256:<digest>',
    check(df) {
      const out: DockerfileFinding[] = [];
      for (const s of df.stages) {
        for (const i of s.instructions) {
          const from = i.flags.from;
          if (i.keyword !== 'COPY' || from === undefined) continue;
          if (stageNamed(df, from, s.index)) continue;
          if (!/^\d+$/.test(from) && isDigestPinned(from)) continue;
          const later = /^\d+$/.test(from) ? df.stages[Number(from)] : df.stages.find((x) => x.name === from.toLowerCase());
          let message: string;
          if (later && later.index >= s.index) message = `--from=${from} names ${later.index === s.index ? 'the stage it is in' : `a stage defined later (line ${later.line})`}`;
          else if (/^\d+$/.test(from)) message = `--from=${from} names no stage (there are ${df.stages.length})`;
          else message = `--from=${from} is not a stage defined earlier, so it is pulled as an image: ${unpinnedReason(from) ?? 'unpinned'}`;
          out.push({ line: i.line, stage: s.index, message });
        }
      }
      return out;
    },
  },
];
