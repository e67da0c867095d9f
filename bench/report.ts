/**
 * `npm run bench`: runs every benchmark under bench/ and writes what each printed, with the exact
 * command, the machine, its load and the tool versions, into BENCHMARKS.md (between markers; the
 * hand-written analysis around them is kept). Each benchmark measures its anchor in the same run and
 * prints medians and ratios; this only runs them one after the other and records them.
 *
 *   npm run bench                                   (= npm run build && tsx bench/report.ts)
 *   npx tsx bench/report.ts [--quick] [--only=synth,overlay,determinism,pulumi,preview,trust] [--file=BENCHMARKS.md]
 *
 * --quick runs fewer sizes and runs (a smoke run, minutes instead of most of an hour): its figures are
 * written too, and say so. A benchmark whose tools are missing (the overlay needs skopeo, umoci,
 * docker-registry and crane; the preview the Pulumi tools of test/e2e/provision.sh) is recorded as not
 * measured, with the reason. Exits 1 if any benchmark failed or was not measured.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { findTool as tool, missingTools } from '../test/e2e/support/tools';
import { renderSection, replaceSection, type SectionRun } from './report-markdown';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const file = args.find((a) => a.startsWith('--file='))?.slice('--file='.length) ?? join(__dirname, '..', 'BENCHMARKS.md');

function versionOf(cmd: string | undefined, argv: string[]): string {
  if (!cmd) return 'missing';
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 20_000 });
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '?';
}

interface Section {
  id: string;
  title: string;
  /** argv lists; the first word is the program. */
  commands: string[][];
  /** Tools that must exist, by name, with how to get them. */
  needs?: { names: string[]; how: string };
}

const tsx = (script: string, ...rest: string[]): string[] => ['npx', 'tsx', `bench/${script}`, ...rest];

const SECTIONS: Section[] = [
  {
    id: 'synth',
    title: 'Synth: HardenedDeployment + EnvConfig, and every kind mixed, against cdk8s-plus-28 and plain ApiObjects',
    commands: [quick ? tsx('synth.ts', '100,1000', '1') : tsx('synth.ts', '100,1000,3000', '3')],
  },
  {
    id: 'overlay',
    title: 'Overlay: build --push against skopeo copy, crane append and skopeo + umoci',
    commands: quick
      ? [tsx('overlay.ts', '1', '--skip-big', '--only=1k,50r')]
      : [tsx('overlay.ts', '3'), tsx('overlay.ts', '1', '--gib', '--only=none', '--skip-big')],
    needs: { names: ['skopeo', 'umoci', 'docker-registry', 'crane'], how: 'bash test/e2e/provision.sh apt crane' },
  },
  {
    id: 'determinism',
    title: 'Determinism: builds x Node 20 and 22 x two folders',
    commands: [tsx('determinism.ts', quick ? '2' : '10')],
  },
  {
    id: 'pulumi',
    title: 'Pulumi: registering 200 components against raw resources (mocks)',
    commands: [['node', '--expose-gc', '--import', 'tsx', 'bench/pulumi-register.ts', '200', quick ? '3' : '7']],
  },
  {
    id: 'preview',
    title: 'Pulumi: `pulumi preview` of the example stack against the same stack written raw (real CLI)',
    commands: [tsx('pulumi-preview.ts', quick ? '1' : '5')],
    needs: {
      names: ['pulumi', 'pulumi-language-nodejs', 'pulumi-resource-kubernetes', 'kube-apiserver', 'etcd'],
      how: 'bash test/e2e/provision.sh',
    },
  },
  {
    id: 'trust',
    title: 'trust_ca: reading the base CA bundle',
    commands: [tsx('trust-ca.ts', quick ? '1' : '3')],
    needs: { names: ['docker-registry', 'skopeo'], how: 'bash test/e2e/provision.sh apt' },
  },
];

const fmtLoad = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' ');

function machineLine(loadStart: number[], loadEnd: number[]): string {
  const cpu = cpus();
  return (
    `Machine: ${cpu.length} x ${cpu[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average ${fmtLoad(loadStart)} at start, ` +
    `${fmtLoad(loadEnd)} at end. Node ${process.version}.`
  );
}

/** Runs one command, stderr (progress) to the terminal, stdout captured and echoed. */
function runCommand(argv: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      process.stdout.write(d);
    });
    child.on('error', (e) => resolve({ code: 127, stdout: `${stdout}${String(e)}\n` }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout }));
  });
}

async function runSection(s: Section): Promise<SectionRun> {
  const loadStart = loadavg();
  const t0 = Date.now();
  const commands = s.commands.map((c) => c.join(' '));
  const missing = missingTools(s.needs?.names ?? []);
  let output = '';
  let problem: string | undefined;
  if (missing.length > 0) {
    problem = `${missing.join(', ')} missing; install with \`${s.needs!.how}\``;
  } else {
    for (const argv of s.commands) {
      process.stderr.write(`[bench] ${argv.join(' ')}\n`);
      const r = await runCommand(argv);
      output += r.stdout;
      if (r.code !== 0) {
        problem = `\`${argv.join(' ')}\` exited with ${r.code}`;
        break;
      }
    }
  }
  return {
    title: quick ? `${s.title} (--quick: fewer sizes and runs)` : s.title,
    commands,
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    seconds: (Date.now() - t0) / 1000,
    machine: machineLine(loadStart, loadavg()),
    output,
    problem,
  };
}

async function main(): Promise<void> {
  const unknown = only?.filter((id) => !SECTIONS.some((s) => s.id === id)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown section ${unknown.join(', ')} (sections: ${SECTIONS.map((s) => s.id).join(', ')})\n`);
    process.exit(2);
  }
  const versions = [
    `skopeo: ${versionOf(tool('skopeo'), ['--version'])}`,
    `umoci: ${versionOf(tool('umoci'), ['--version'])}`,
    `crane: ${versionOf(tool('crane'), ['version'])}`,
    `registry: ${versionOf(tool('docker-registry'), ['--version'])}`,
    `pulumi: ${versionOf(tool('pulumi'), ['version'])}`,
  ].join('; ');
  let failed = 0;
  for (const s of SECTIONS.filter((x) => !only || only.includes(x.id))) {
    const run = await runSection(s);
    if (run.problem) {
      failed++;
      process.stderr.write(`[bench] ${s.id}: not measured: ${run.problem}\n`);
    }
    const body = renderSection({ ...run, machine: `${run.machine} Versions: ${versions}.` });
    // Written after every section, atomically: an interrupted run keeps what it measured.
    const md = replaceSection(existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n', s.id, body);
    writeFileSync(`${file}.tmp`, md);
    renameSync(`${file}.tmp`, file);
    process.stderr.write(`[bench] ${s.id}: written to ${file} (${run.seconds.toFixed(0)} s)\n`);
  }
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
