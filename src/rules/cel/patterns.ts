/**
 * Regular expressions the CEL validations share with the JavaScript rules, written in the syntax
 * both engines accept: RE2 (what CEL's `matches` runs in the API server) and JavaScript. No
 * look-around, no back-references; case-insensitivity as a leading `(?i)` for RE2.
 *
 * They restate `oci/reference.ts` and `secret-patterns.ts` (which keep theirs private); the tests in
 * `test/rules/cel/patterns.test.ts` run both sides over the same samples so they cannot drift apart.
 */

const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const HOST = `${HOST_LABEL}(?:\\.${HOST_LABEL})*`;
const IPV6 = '\\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9]+)?\\]';
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
/** A first path component without a dot: with a dot (and a `/` after it) the parser reads a registry. */
const FIRST_COMPONENT = '[a-z0-9]+(?:(?:_|__|-+)[a-z0-9]+)*';
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';

/**
 * A well-formed reference pinned by a sha256 digest, in the grammar of `src/oci/reference.ts`
 * (`isDigestPinned`): `[registry[:port]/]repository[:tag]@sha256:<64 hex>`. Two edges are looser
 * than the parser and cannot matter in a cluster: a port is any 1-5 digits (the parser wants
 * 1-65535), and the 255-character name limit is not counted.
 */
export const DIGEST_PINNED = `^(?:(?:(?:${HOST}|${IPV6})(?::[0-9]{1,5})?|${FIRST_COMPONENT})/${COMPONENT}(?:/${COMPONENT})*|${COMPONENT})(?::${TAG})?@sha256:[a-f0-9]{64}$`;

/** The shells HD016 knows by name (with a version or `-static` suffix, and `.exe`, as below). */
export const SHELL_NAMES = [
  'sh', 'bash', 'rbash', 'ash', 'dash', 'hush', 'zsh', 'ksh', 'mksh', 'lksh', 'pdksh', 'oksh', 'loksh', 'posh', 'yash', 'csh', 'tcsh', 'fish',
  'elvish', 'xonsh', 'nu', 'busybox', 'toybox', 'pwsh', 'powershell',
] as const;

/** White space as `env -S` and shells split words (RE2's `\s` is ASCII only, JavaScript's is not: spelled out for both). */
const SPACE = ' \\t\\n\\r\\f\\v';
const NOT_SPACE = `[^${SPACE}]`;
/** A shell's base name: `bash`, `ksh93`, `zsh-5.9`, `busybox.static`, `pwsh.exe`, and Windows' `cmd.exe`. */
const SHELL_NAME = `(?:(?:${SHELL_NAMES.join('|')})(?:[-_.]?[0-9][0-9.]*)?(?:[-.]static)?(?:\\.exe)?|cmd\\.exe)`;

/**
 * An argv element that names a shell, anywhere in it: the whole element (`sh`, `/bin/../bin/sh`,
 * `C:\\...\\pwsh.exe`), a word of it (`sh -c x` as one element, as `env -S` and Windows command
 * lines read it; `'sh'` in quotes) or a path inside it (`--shell=/bin/bash`, `SHELL=/bin/sh`).
 * Any element counts, not only the first, so a wrapper in front (`env -i`, `tini --`, `nice -n 5`,
 * `timeout 10`, `xargs`, `busybox`, or one nobody listed) cannot hide the shell: argv is `command`
 * followed by `args`. Case-insensitive (`PowerShell.EXE`).
 */
export const SHELL_WORD = `(?i)(?:^|[${SPACE}/\\\\"'=;&|(\`])${SHELL_NAME}(?:$|[${SPACE}"';&|)\`])`;

/**
 * An argv element that is a program which starts a shell of its own: `su` and `runuser` run the
 * user's shell, `sudo -s`/`-i` and `doas -s` too, and `chroot`, `unshare` and `nsenter` run
 * `$SHELL` when given no command. The whole element, as a name or a path. None of them can work in
 * a hardened pod anyway (they need setuid or capabilities the pod drops), except `capsh`, which
 * needs nothing to run `/bin/bash` after `--` (`capsh -- -c x`).
 */
// The folder part holds no "=": `--opt=/su` is an option's value, not a program (`/usr/bin/su` is one).
export const SHELL_STARTER = `(?i)^(?:[^${SPACE}=]*[/\\\\])?(?:su|runuser|sudo|doas|chroot|unshare|nsenter|newgrp|capsh)(?:\\.exe)?$`;

/** Every prefix of a long option from its first `min` letters on, as GNU getopt accepts it: `--split`, `--split-string`. */
function longOption(name: string, min: number): string {
  const prefixes = Array.from({ length: name.length - min + 1 }, (_, i) => name.slice(0, min + i));
  return `--(?:${prefixes.reverse().join('|')})(?:=|$)`;
}

/** `env` (or a path to it), whose `-S` splits a string into a command line (`env -S 'sh -c x'`). */
export const ENV_PROGRAM = `^(?:${NOT_SPACE}*[/\\\\])?env$`;
/** `env`'s `-S STRING` / `--split-string=STRING`, also inside a cluster (`-iS`) or joined (`-Ssh`). */
export const ENV_SPLIT_FLAG = `^(?:-[A-Za-z0-9]*S|${longOption('split-string', 1)})`;
/** `flock` (or a path to it), whose `-c COMMAND` runs the command through `sh -c`. */
export const FLOCK_PROGRAM = `^(?:${NOT_SPACE}*[/\\\\])?flock$`;
/** `flock`'s `-c` / `--command`, also inside a cluster (`-nc`). */
export const FLOCK_COMMAND_FLAG = `^(?:-[A-Za-z0-9]*c|${longOption('command', 3)})`;

/** A name that holds a secret (`DB_PASSWORD`, `api-key`), case-insensitive. */
export const SECRET_NAME = '(?i)(?:pass(?:word|wd|phrase)?|secret|token|api[-_.]?key|private[-_.]?key|credential|auth[-_.]?key|access[-_.]?key|client[-_.]?secret|dsn)$';
/** A name with a secret word as one of its parts (`password_hash`). */
export const SECRET_NAME_PART = '(?i)(?:^|[-_.])(?:password|passwd|secret|token|apikey|api[-_.]key|private[-_.]key|credentials?)(?:[-_.]|$)';
/** A name that points at a secret rather than holding one: `*_FILE`, `*_PATH`. */
export const REFERENCE_SUFFIX = '(?i)[-_.](?:file|path|dir|ref|name|secret[-_.]?name)$';
/** A PEM or OpenSSH private key. */
export const PRIVATE_KEY = '-----BEGIN (?:[A-Z0-9 ]+ )?PRIVATE KEY-----';
/** A URL carrying a password: `scheme://user:password@host`. */
export const URL_WITH_PASSWORD = '(?i)\\b[a-z][a-z0-9+.-]*://[^\\s/:@]+:[^\\s/@]+@';

/** A JavaScript RegExp for one of these patterns (for tests and tools): `(?i)` becomes the `i` flag. */
export function toJsRegExp(pattern: string): RegExp {
  return pattern.startsWith('(?i)') ? new RegExp(pattern.slice(4), 'i') : new RegExp(pattern);
}
