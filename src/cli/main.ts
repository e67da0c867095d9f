#!/usr/bin/env node
/**
 * cleanimg-customize: build reproducible overlay images on digest-pinned bases, and check
 * manifests against the hardening rules.
 */
import { Command, CommanderError } from 'commander';
import { RULES } from '../rules';
import { runCheck } from './commands/check';
import { EXIT, processIo, reportError, type Io } from './output';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../package.json') as { version: string };

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('cleanimg-customize')
    .description('Customize shell-less images at build time (one reproducible, signed overlay layer), and check manifests against the hardening rules.')
    .version(version)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError();

  program.command('check')
    .description('Check Kubernetes YAML files (or folders of them) against the hardening rules; exit 1 when any rule is broken.')
    .argument('<paths...>', 'files or directories')
    .option('--json', 'print a JSON report')
    .addHelpText('after', `\nRules:\n${RULES.map((r) => `  ${r.id}  ${r.title}`).join('\n')}\n\nExample:\n  cleanimg-customize check dist/ k8s/legacy.yaml`)
    .action((paths: string[], opts: { json?: boolean }) => {
      try {
        setExit(runCheck(paths, opts, io));
      } catch (e) {
        setExit(reportError(io, e, !!opts.json));
      }
    });

  program.command('rules')
    .description('List the hardening rules with their fixes.')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      if (opts.json) io.out(JSON.stringify(RULES.map(({ id, title, fix }) => ({ id, title, fix })), null, 2));
      else for (const r of RULES) io.out(`${r.id}  ${r.title}\n       fix: ${r.fix}`);
      setExit(EXIT.ok);
    });

  return program;
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => { code = c; });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.error;
    return reportError(io, e, argv.includes('--json'));
  }
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
