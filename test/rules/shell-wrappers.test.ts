// HD016 as a skeptical user would attack it: shells behind wrappers and their options, nested
// wrappers, odd paths and spellings, a wrapper in `command` with the shell in `args`, in init and
// ephemeral containers, lifecycle hooks and exec probes. The generated CEL must refuse exactly what
// the JS rule refuses, and commands that only look alike must pass both.
import { describe, expect, it } from 'vitest';
import { checkObject } from '../../src/rules';
import { celChecks, POD_VARIABLES } from '../../src/rules/cel';
import { goodDeployment } from '../support/fixtures';
import { admit } from './cel/vap';

const POLICY = { variables: POD_VARIABLES, validations: celChecks().map((c) => c.validation) };
const T = '/spec/template/spec';

function hd016(o: any): string[] {
  return checkObject(o).filter((v) => v.code === 'HD016').map((v) => v.path);
}
function celRefuses(o: any): boolean {
  const r = admit(POLICY, o);
  expect(r.errors).toEqual([]);
  return r.ids.includes('HD016');
}
function withCommand(command?: string[], args?: string[]): any {
  const d = goodDeployment();
  const c = d.spec.template.spec.containers[0];
  if (command) c.command = command;
  if (args) c.args = args;
  return d;
}

/** argv (as `command`) that runs a shell, and the index of the element the finding names. */
const REFUSED: [string[], number][] = [
  // env and its options
  [['env', 'sh'], 1], [['env', '-i', 'sh', '-c', 'x'], 2], [['env', '-u', 'HOME', 'bash'], 3], [['env', 'FOO=bar', 'BAZ=1', 'sh'], 3],
  [['/usr/bin/env', 'bash'], 1], [['env', '--', 'sh'], 2], [['env', '-', 'zsh'], 2], [['env', '-C', '/tmp', '--ignore-signal=INT', 'dash'], 4],
  [['env', '-S', 'sh -c "exec /app"'], 2], [['env', '-Ssh -c x'], 1], [['env', '--split-string=sh -c x'], 1], [['env', '-S', "'bash' -c x"], 2],
  // the shell spelled so that no pattern reads it: refused because env -S turns a string into a command line
  [['env', '-S', "s''h -c x"], 1], [['env', '-iS', 's\\h'], 1], [['/usr/bin/env', '--split', '\\x73h'], 1],
  // init systems and process wrappers
  [['tini', '--', 'sh', '-c', 'x'], 2], [['/sbin/tini', '-s', '-g', '-p', 'SIGTERM', '--', '/bin/bash'], 6], [['dumb-init', '--single-child', 'sh'], 2],
  [['dumb-init', '-r', '15:2', '--', 'ash'], 4], [['nice', '-n', '5', 'sh'], 3], [['nice', '-5', 'sh'], 2], [['nice', '--adjustment=10', 'ksh'], 2],
  [['nohup', 'bash', '-c', 'x'], 1], [['timeout', '-s', 'KILL', '10s', 'sh'], 4], [['timeout', '--kill-after=5', '--preserve-status', '10', 'sh'], 4],
  [['setsid', '-f', '-w', 'sh'], 3], [['stdbuf', '-oL', '-e', 'L', 'sh'], 4], [['ionice', '-c', '3', '-n', '7', 'sh'], 5], [['taskset', '-c', '0,1', 'sh'], 3],
  [['taskset', '0x3', 'mksh'], 2], [['chrt', '-f', '10', 'sh'], 3], [['chrt', '--idle', '0', 'yash'], 3], [['flock', '/tmp/lock', 'sh'], 2],
  [['flock', '-w', '5', '-E', '3', '/tmp/lock', 'tcsh'], 6], [['xargs', '-0', '-n', '1', 'sh', '-c', 'x'], 4], [['xargs', '-I{}', 'bash', '-c', '{}'], 2],
  [['/usr/bin/time', '-f', '%e', 'csh'], 3], [['strace', '-f', 'fish'], 2], [['unknown-wrapper', '--opt', 'value', 'sh', '-c', 'x'], 3],
  // commands that run a string through sh
  [['flock', '/tmp/lock', '-c', '/app/server'], 2], [['flock', '-nc', 'x', '/tmp/l'], 1], [['flock', '--command=x', '/tmp/l'], 1],
  // programs that start a shell themselves
  [['su', '-c', '/app/server', 'app'], 0], [['su', '-', 'app'], 0], [['/bin/su'], 0], [['sudo', '-s'], 0], [['sudo', '-i'], 0], [['sudo', '-u', 'app', '/app/server'], 0],
  [['runuser', '-u', 'app', '--', '/app/server'], 0], [['doas', '-s'], 0], [['chroot', '/'], 0], [['unshare', '-r'], 0], [['nsenter', '-t', '1', '-m'], 0], [['newgrp', 'app'], 0],
  [['tini', '--', 'su', 'app'], 2], [['capsh', '--', '-c', 'x'], 0], [['/sbin/capsh', '--drop=cap_net_raw', '--'], 0], [['env', '-i', 'capsh'], 2],
  // busybox and toybox are shells and applet boxes at once
  [['busybox', 'sh'], 0], [['busybox', 'wget', '-q', 'http://x'], 0], [['/bin/busybox.static', 'ash'], 0], [['toybox', 'sh'], 0],
  // nested wrappers
  [['env', 'nice', '-n', '5', 'tini', '--', '/bin/sh', '-c', 'x'], 6],
  [['timeout', '10', 'nohup', 'setsid', 'stdbuf', '-o0', '/usr/bin/env', '-i', 'dash'], 8],
  // paths and spellings
  [['/bin/../bin/sh'], 0], [['//bin///bash'], 0], [['./sh'], 0], [['../../bin/zsh'], 0], [['/usr/local/bin/fish', '-c', 'x'], 0], [['SH'], 0],
  [['ksh93'], 0], [['bash5.2'], 0], [['zsh-5.9'], 0], [['rbash'], 0], [['pdksh'], 0],
  [['hush'], 0], [['/bin/oksh'], 0], [['loksh'], 0], [['lksh'], 0], [['posh'], 0], [['elvish', '-c', 'x'], 0], [['xonsh'], 0], [['/usr/bin/nu', '-c', 'x'], 0],
  [['C:\\Windows\\System32\\cmd.exe', '/c', 'x'], 0], [['pwsh', '-Command', 'x'], 0], [['PowerShell.EXE'], 0], [['/opt/microsoft/powershell/7/pwsh'], 0],
  [['sh -c "exec /app"'], 0], [['/app/launcher', '--exec=/bin/sh'], 1], [['/app/launcher', 'SHELL=/bin/bash'], 1],
];

/** argv that only looks alike: no shell runs. */
const ACCEPTED: string[][] = [
  ['/app/server', '--port', '8080'], ['/app/server', '--config=/etc/app/config.yaml'], ['postgres', '-c', 'config_file=/etc/postgresql/postgresql.conf'],
  ['/usr/bin/tini', '--', '/app/server'], ['env', '-i', 'PATH=/app', '/app/server'], ['nice', '-n', '5', '/app/worker'], ['timeout', '30', '/app/job'],
  ['/ko-app/ssh-proxy'], ['/app/bashful'], ['/app/server', '--hash', 'sha256'], ['/app/envoy', '-c', '/etc/envoy/envoy.yaml'], ['/app/server', '-S', 'x'],
  ['/usr/bin/env', '/app/server', '-s'], ['/app/fisher'], ['/app/pushd'], ['/app/crash-reporter'], ['/app/server', '--cmd', 'run'],
  ['/app/shell-less', '--mode=ashen'], ['/usr/local/bin/envoy', '--split-string'], ['/app/nuke'], ['/app/hushd'], ['/app/capshd'], ['/app/menu', '--posh'],
];

describe('HD016: shells behind wrappers', () => {
  it.each(REFUSED)('refuses %j (element %i), in JS and CEL alike', (argv, at) => {
    const d = withCommand(argv);
    expect(hd016(d)).toEqual([`${T}/containers/0/command/${at}`]);
    expect(celRefuses(d)).toBe(true);
  });

  it.each(ACCEPTED.map((a) => [a]))('accepts %j, in JS and CEL alike', (argv) => {
    const d = withCommand(argv);
    expect(checkObject(d)).toEqual([]);
    expect(celRefuses(d)).toBe(false);
  });

  it('reads command and args as one argv: a wrapper in command, the shell in args', () => {
    for (const [command, args, path] of [
      [['tini', '--'], ['bash', '-c', 'x'], `${T}/containers/0/args/0`],
      [['env'], ['-i', 'sh'], `${T}/containers/0/args/1`],
      [['/usr/bin/env', '-S'], ['sh -c x'], `${T}/containers/0/args/0`],
      [undefined, ['sh', '-c', 'x'], `${T}/containers/0/args/0`],
      [undefined, ['--', '/bin/sh'], `${T}/containers/0/args/1`],
      [[], ['nice', 'sh'], `${T}/containers/0/args/1`],
    ] as const) {
      const d = withCommand(command as string[] | undefined, [...args]);
      expect({ command, args, paths: hd016(d) }).toEqual({ command, args, paths: [path] });
      expect(celRefuses(d)).toBe(true);
    }
  });

  it('looks in init containers, ephemeral containers, lifecycle hooks and exec probes', () => {
    const places: [string, (ps: any) => void, string][] = [
      ['init container', (ps) => { ps.initContainers = [{ ...structuredClone(ps.containers[0]), name: 'init', command: ['env', 'bash', '-c', 'x'] }]; }, `${T}/initContainers/0/command/1`],
      ['ephemeral container', (ps) => { ps.ephemeralContainers = [{ name: 'debug', image: ps.containers[0].image, securityContext: ps.containers[0].securityContext, command: ['tini', '--'], args: ['sh'] }]; }, `${T}/ephemeralContainers/0/args/0`],
      ['postStart hook', (ps) => { ps.containers[0].lifecycle = { postStart: { exec: { command: ['nohup', 'sh', '-c', 'x'] } } }; }, `${T}/containers/0/lifecycle/postStart/exec/command/1`],
      ['preStop hook', (ps) => { ps.containers[0].lifecycle = { preStop: { exec: { command: ['timeout', '5', '/bin/dash', '-c', 'sleep 5'] } } }; }, `${T}/containers/0/lifecycle/preStop/exec/command/2`],
      ['readiness probe', (ps) => { ps.containers[0].readinessProbe = { exec: { command: ['env', '-i', 'sh', '-c', 'test -f /ready'] } }; }, `${T}/containers/0/readinessProbe/exec/command/2`],
      ['liveness probe', (ps) => { ps.containers[0].livenessProbe = { exec: { command: ['busybox', 'wget', '-q', 'http://localhost:8080'] } }; }, `${T}/containers/0/livenessProbe/exec/command/0`],
      ['startup probe', (ps) => { ps.containers[0].startupProbe = { exec: { command: ['flock', '/tmp/l', '-c', 'true'] } }; }, `${T}/containers/0/startupProbe/exec/command/2`],
    ];
    for (const [where, put, path] of places) {
      const d = goodDeployment();
      put(d.spec.template.spec);
      expect({ where, paths: hd016(d) }).toEqual({ where, paths: [path] });
      expect({ where, cel: celRefuses(d) }).toEqual({ where, cel: true });
    }
  });

  it('says who runs the shell and which element names it', () => {
    const d = goodDeployment();
    d.spec.template.spec.containers[0].readinessProbe = { exec: { command: ['env', 'nice', '-n', '5', 'tini', '--', '/bin/sh', '-c', 'x'] } };
    const [v] = checkObject(d);
    expect(v!.code).toBe('HD016');
    expect(v!.message).toBe('the readinessProbe runs a shell: "/bin/sh" names a shell');
    expect(v!.fix).toMatch(/exec form/);
    const s = withCommand(['su', 'app']);
    expect(checkObject(s)[0]!.message).toBe('the container runs a shell: "su" starts a shell of its own');
    const e = withCommand(['env', '-S', 'x y']);
    expect(checkObject(e)[0]!.message).toBe('the container runs a shell: "-S": env -S splits a string into a command line that no rule can read');
  });

  it('takes an option\'s value for a value, not a program: --a=/Su starts nothing, /usr/bin/su does', () => {
    expect(checkObject(withCommand(['/app/server', '--a=/Su', '--home=/opt/sudo'])).filter((v) => v.code === 'HD016')).toEqual([]);
    expect(checkObject(withCommand(['/usr/bin/su', 'app'])).map((v) => v.code)).toContain('HD016');
    expect(checkObject(withCommand(['/app/server', '--shell=/bin/sh'])).map((v) => v.code)).toContain('HD016');
  });
});
