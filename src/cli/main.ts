#!/usr/bin/env node
/**
 * cleanimg-customize: build reproducible overlay images on digest-pinned bases, and check
 * manifests against the hardening rules.
 */
import { Command, CommanderError } from 'commander';
import { CleanimgError } from '../errors';
import type { BuildFlags } from './commands/build';
import type { VerifyFlags } from './commands/verify';
import type { SignFlags } from './commands/sign';
import type { BaseFlags, PullFlags, PushLayoutFlags } from './commands/base';
import { addRegistryOptions } from './commands/registry-options';
import { EXIT, processIo, reportError, type Io } from './output';
import { VERSION as version } from '../version';

// Each command loads its modules when it runs (start-up time counts in a re-push): `build` does not
// load the Dockerfile parser or the rules, `--version` loads nothing but commander.

type Rule = { id: string; title: string; fix: string };
/** Kubernetes, Dockerfile and overlay rules, as `rules` and `check --help` list them. */
async function loadRules(): Promise<readonly Rule[]> {
  const [{ RULES }, { DOCKERFILE_RULES }, { OVERLAY_RULES }] = await Promise.all([import('../rules/index.js'), import('../dockerfile/index.js'), import('../customize/overlay-rules.js')]);
  return [...RULES, ...DOCKERFILE_RULES, ...OVERLAY_RULES];
}

/** Commands that need neither the rules nor the Dockerfile generator. */
const LIGHT_COMMANDS = new Set(['build', 'verify', 'sign', 'generate-key-pair', 'base', 'push', 'pull']);

const collect = (v: string, prev: string[] = []) => [...prev, v];
/** Overlay rules (build), which `check` does not apply. */
const OVERLAY_ID = /^(SPEC|INPUT|LAYER)\d{3}$/;

/**
 * The program. `mods` holds the modules loaded up front for help texts (the rules list and the
 * Dockerfile command); without them those parts are left out (see main(), which loads them unless a
 * command that needs neither runs).
 */
export function buildProgram(io: Io, setExit: (code: number) => void, mods?: { rules: readonly Rule[]; dockerfile: typeof import('./commands/dockerfile') }): Command {
  const ALL_RULES = mods?.rules ?? [];
  const program = new Command('cleanimg-customize')
    .description('Customize shell-less images at build time (one reproducible, signed overlay layer), and check manifests against the hardening rules.')
    .version(version)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError();

  program.command('check')
    .description('Check Kubernetes YAML files and Dockerfiles (or folders of them) against the hardening rules; exit 1 when any rule is broken.')
    .argument('<paths...>', 'files or directories (Dockerfile, *.Dockerfile, Dockerfile.*, Containerfile are read as Dockerfiles)')
    .option('--json', 'print a JSON report')
    .option('--allowed-base <prefix>', 'Dockerfiles: the final base must start with this prefix, e.g. cleanstart/ (repeatable)', collect)
    .option('--non-root-base <prefix>', 'Dockerfiles: bases known to run as non-root, so no USER is needed (repeatable; default cleanstart/)', collect)
    .option('--context <dir>', 'Dockerfiles: the build context, to look into copied files for private keys')
    .addHelpText('after', `\nRules:\n${ALL_RULES.filter((r) => !OVERLAY_ID.test(r.id)).map((r) => `  ${r.id}  ${r.title}`).join('\n')}\n\nExample:\n  cleanimg-customize check dist/ k8s/legacy.yaml Dockerfile`)
    .action(async (paths: string[], opts: { json?: boolean; allowedBase?: string[]; nonRootBase?: string[]; context?: string }) => {
      try {
        const { runCheck } = await import('./commands/check.js');
        setExit(runCheck(paths, { json: opts.json, allowedBases: opts.allowedBase, nonRootBases: opts.nonRootBase, context: opts.context }, io));
      } catch (e) {
        setExit(reportError(io, e, !!opts.json));
      }
    });

  program.command('rules')
    .description('List the rules with their fixes: Kubernetes manifests, Dockerfiles, and what an image overlay may hold (SPEC, INPUT, LAYER).')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      if (opts.json) io.out(JSON.stringify(ALL_RULES.map(({ id, title, fix }) => ({ id, title, fix })), null, 2));
      else for (const r of ALL_RULES) io.out(`${r.id}  ${r.title}\n       fix: ${r.fix}`);
      setExit(EXIT.ok);
    });

  mods?.dockerfile.addDockerfileCommand(program, io, setExit);

  const guarded = (json: boolean | undefined, run: () => Promise<number>) => run().then(setExit, (e) => setExit(reportError(io, e, !!json)));

  addRegistryOptions(program.command('build')
    .description('Add the spec\'s files to a digest-pinned base as one reproducible layer; optionally push, sign and write an OCI layout. Prints the image pinned by digest.')
    .requiredOption('--spec <file>', 'the spec (base_image, arch, variant, copy_files)')
    .requiredOption('--tag <ref>', 'the image to produce, e.g. registry.example.com/postgres:15-custom')
    .option('--push', 'push the image (only the blobs the registry lacks), then move the tag')
    .option('--output-layout <dir>', 'also write an OCI image layout (skopeo copy oci:DIR:TAG ..., umoci unpack)')
    .option('--sign-key <file>', 'sign the pushed digest (cosign key file, password in COSIGN_PASSWORD, or a PEM EC P-256 key); the tag moves only after the signature is pushed')
    .option('--signature-format <format>', 'with --sign-key: legacy (the .sig tag; default), bundle (a Sigstore bundle referrer, cosign v3\'s default) or both')
    .option('--attest', 'with --sign-key: also attach a CycloneDX SBOM and a SLSA provenance v1 statement of the overlay, signed, in the signature format(s)')
    .option('--format <format>', 'manifest format: base (the base\'s own) or oci', 'base')
    .option('--base-layout <dir>', 'read the base from an OCI layout instead of its registry (offline)')
    .option('--source-date-epoch <seconds>', 'timestamp for files and history (default SOURCE_DATE_EPOCH, else 0)')
    .option('--no-cache', 'build the layer even when the local layer cache has it, and do not store it (the digest is the same either way)')
    .option('--cache-dir <dir>', 'cache folder; layers go to its layers/ (default $CLEANIMG_CACHE_DIR/layers, else $XDG_CACHE_HOME/cleanimg/layers, else ~/.cache/cleanimg/layers)')
    .option('--allow-private-keys', 'DANGEROUS: allow private keys in the image (anyone who can pull it can read them; use EnvConfig secrets instead)')
    .option('--json', 'print a JSON report on stdout'))
    .addHelpText('after', `
Spec (paths relative to the spec's folder):
  base_image: "cleanstart/postgresql:15-prod@sha256:<64 hex>"
  arch: amd64
  variant: prod
  copy_files:
    - source: certs/corporate-ca.crt
      destination: /etc/ssl/certs/corporate-ca.crt
      mode: "0644"        # optional; owner: "0:0" optional
  trust_ca: [certs/corporate-ca.crt]   # optional: appended to the base's CA bundle, with its hashed link
  trust_env: true                      # optional: SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE
  unsafe_allow_system_files: [/etc/nsswitch.conf]   # DANGEROUS, optional: loader/account files it may write

Refused: setuid/setgid and world-writable modes (a folder may be 1777), shells, hard-linked sources,
fifos/sockets/devices, and the loader's and account files (/etc/ld.so.preload, /etc/ld.so.conf*,
/etc/passwd, /etc/group, /etc/shadow, /etc/sudoers*, /etc/pam.d/, ...) unless listed as above.

Examples:
  cleanimg-customize build --spec postgres-spec.yaml --tag myregistry/postgres:15-custom --push
  COSIGN_PASSWORD=... cleanimg-customize build --spec s.yaml --tag reg/app:1 --push --sign-key cosign.key --json
  COSIGN_PASSWORD=... cleanimg-customize build --spec s.yaml --tag reg/app:1 --push --sign-key cosign.key --signature-format both --attest`)
    .action((opts: BuildFlags) => guarded(opts.json, async () => (await import('./commands/build.js')).runBuild(opts, io)));

  program.command('base')
    .description('The embedded default base cleanimg.dev/base/static:1 (shell-less, user 65532, built deterministically): print its pinned reference, or write it as an OCI layout for --base-layout.')
    .option('--output-layout <dir>', 'write the base as an OCI layout (tags 1, 1-amd64, 1-arm64)')
    .option('--cache', 'write it once into the content-addressed cache (.cache/cleanimg, or CLEANIMG_CACHE_DIR)')
    .option('--cache-dir <dir>', 'the cache folder for --cache')
    .option('--json', 'print a JSON report')
    .action((opts: BaseFlags) => guarded(opts.json, async () => (await import('./commands/base.js')).runBase(opts, io)));

  addRegistryOptions(program.command('push')
    .description('Push an image from an OCI layout with its bytes unchanged (the digest synth pinned): blobs the registry lacks, manifests, then the tag.')
    .requiredOption('--layout <dir[:tag]>', 'the OCI layout and the tag in it (default latest), e.g. dist/images/postgres:custom')
    .requiredOption('--tag <ref>', 'where to publish, e.g. registry.example.com/postgres:15-custom')
    .option('--expect-digest <digest>', 'refuse (before any upload) unless the layout image has this digest')
    .option('--mount-from <repository>', 'try cross-repository mounts from this repository of the same registry')
    .option('--json', 'print a JSON report'))
    .action((opts: PushLayoutFlags) => guarded(opts.json, async () => (await import('./commands/base.js')).runPushLayout(opts, io)));

  addRegistryOptions(program.command('pull')
    .description('Copy a digest-pinned base image into the content-addressed cache (.cache/cleanimg/images/sha256-<hex>), once, so builds and cdk8s synth read it offline.')
    .argument('<ref>', 'the base as the spec pins it: name[:tag]@sha256:<digest>')
    .option('--cache-dir <dir>', 'the cache folder (default CLEANIMG_CACHE_DIR, else .cache/cleanimg)')
    .option('--arch <arch>', 'for an index: only this architecture\'s image (repeatable; default all)', collect)
    .option('--json', 'print a JSON report'))
    .action((refText: string, opts: PullFlags) => guarded(opts.json, async () => (await import('./commands/base.js')).runPull(refText, opts, io)));

  addRegistryOptions(program.command('verify')
    .description('Check a pushed image: its cosign signature (with --key), no shell or busybox in any layer, not running as root, and (with --trusts) that its CA bundle and hashed CA folder trust a server certificate. Exit 1 when a check fails, 2 on bad input.')
    .argument('[ref]', 'image reference (tag or digest); or use --layout')
    .option('--key <file>', 'cosign public key (PEM)')
    .option('--attestations', 'with --key: also require the SBOM (CycloneDX) and provenance (SLSA v1) attestations that build --attest attaches')
    .option('--trusts <cert>', 'PEM server certificate (intermediates may follow it) that the image\'s trust store must verify')
    .option('--layout <dir[:tag]>', 'read the image from an OCI layout instead of a registry')
    .option('--arch <arch>', 'for a multi-platform image: the platform to inspect', 'amd64')
    .option('--json', 'print a JSON report'))
    .action((refText: string | undefined, opts: VerifyFlags) => guarded(opts.json, async () => (await import('./commands/verify.js')).runVerify(refText, opts, io)));

  addRegistryOptions(program.command('sign')
    .description('Sign an image already in a registry, by digest, in the formats cosign reads (no tag moves). Exit 2 on bad input.')
    .argument('<ref>', 'registry/repository@sha256:<digest>')
    .requiredOption('--key <file>', 'cosign key file (password in COSIGN_PASSWORD) or a PEM EC P-256 key')
    .option('--signature-format <format>', 'legacy (the .sig tag; default), bundle (a Sigstore bundle referrer, cosign v3\'s default) or both')
    .option('--json', 'print a JSON report'))
    .addHelpText('after', `
Verify with: cleanimg-customize verify --key cosign.pub REF, or cosign verify --key cosign.pub --insecure-ignore-tlog REF
(no transparency-log entry is made: the signature is offline, by key). Offline, cosign v2 needs
--trusted-root FILE once a bundle is attached (a file holding only
{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"} will do with --key).`)
    .action((refText: string, opts: SignFlags) => guarded(opts.json, async () => (await import('./commands/sign.js')).runSign(refText, opts, io)));

  program.command('generate-key-pair')
    .description('Write cosign.key (encrypted with COSIGN_PASSWORD) and cosign.pub, compatible with cosign.')
    .option('--output-prefix <prefix>', 'file name prefix', 'cosign')
    .option('--dir <dir>', 'folder to write into', '.')
    .action((opts: { outputPrefix: string; dir: string }) => guarded(false, async () => {
      const password = process.env.COSIGN_PASSWORD;
      if (password === undefined) throw new CleanimgError('no password for the key', [{ code: 'SIG005', path: 'COSIGN_PASSWORD', message: 'COSIGN_PASSWORD is not set', fix: 'export COSIGN_PASSWORD (an empty value makes an unencrypted-password key, as cosign does)' }]);
      const { writeKeyPair } = await import('../oci/signing/index.js');
      const { keyPath, pubPath } = await writeKeyPair(opts.dir, password, opts.outputPrefix);
      io.out(`wrote ${keyPath} and ${pubPath}`);
      return EXIT.ok;
    }));

  return program;
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const first = argv[0];
  const light = first !== undefined && (LIGHT_COMMANDS.has(first) || first === '--version' || first === '-V') && !argv.includes('--help') && !argv.includes('-h');
  const mods = light ? undefined : { rules: await loadRules(), dockerfile: await import('./commands/dockerfile.js') };
  const program = buildProgram(io, (c) => { code = c; }, mods);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.error;
    return reportError(io, e, argv.includes('--json'));
  }
  return code;
}

/** Runs the CLI on this process's arguments and sets its exit code (bin.ts runs it from the bundle). */
export function runAsProcess(): void {
  // `cleanimg-customize ... | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw e; });
  void main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}

if (require.main === module) runAsProcess();
