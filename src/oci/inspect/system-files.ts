/**
 * Files and folders that decide what every process of an image loads and who it is: the dynamic
 * loader's configuration (a library named in /etc/ld.so.preload is loaded into every dynamically
 * linked program) and the account and login files (a line in /etc/passwd can make the configured
 * user name UID 0). The overlay refuses to write them without a loudly named override (INPUT013),
 * and `verify` reports them when a later layer replaced them, or when a preload list exists at all.
 */
export const SYSTEM_FILES: readonly string[] = [
  '/etc/ld.so.preload', '/etc/ld.so.conf', '/etc/ld.so.cache',
  '/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow', '/etc/subuid', '/etc/subgid',
  '/etc/sudoers', '/etc/sudo.conf', '/etc/doas.conf', '/etc/nsswitch.conf',
  '/etc/pam.conf', '/etc/login.defs', '/etc/environment',
];
export const SYSTEM_FOLDERS: readonly string[] = ['/etc/ld.so.conf.d', '/etc/sudoers.d', '/etc/doas.d', '/etc/pam.d', '/etc/security'];
/** musl's loader search path, /etc/ld-musl-<arch>.path (its ld.so.conf): one name per architecture. */
const MUSL_PATH_RE = /^\/etc\/ld-musl-[^/]+\.path(?=\/|$)/;

/** The protected paths as a person reads them (for messages). */
export const SYSTEM_PATHS_SHOWN: readonly string[] = [...SYSTEM_FILES, '/etc/ld-musl-*.path', ...SYSTEM_FOLDERS];

/**
 * The system file or folder `p` is or lies in (`p` absolute and normalised), else undefined. A path
 * under a system file counts too: writing it would turn that file into a folder.
 */
export function systemPathOf(p: string): string | undefined {
  return MUSL_PATH_RE.exec(p)?.[0] ?? [...SYSTEM_FILES, ...SYSTEM_FOLDERS].find((d) => p === d || p.startsWith(`${d}/`));
}

/**
 * Folders of the base whose entries the system trusts: the image root, /etc (which holds the files
 * above), the program and library folders (the loader's search path, the PATH), and the usual top
 * levels. Whoever may write one can replace or add what it holds (a new /etc/passwd, an
 * /etc/ld.so.preload), so the overlay keeps them root's and not writable by group or others.
 */
const SYSTEM_DIRS: readonly string[] = [
  '/', '/etc', '/etc/ssl', '/etc/ssl/certs', '/usr', '/usr/bin', '/usr/sbin', '/usr/local', '/usr/local/bin', '/usr/local/sbin',
  '/usr/share', '/var', '/var/lib', '/tmp', '/var/tmp', '/opt', '/home', '/root', '/run', '/srv', '/mnt', '/media',
];
/** /usr/lib, /usr/lib64, /usr/libexec, /usr/local/lib... and a multiarch folder such as /usr/lib/x86_64-linux-gnu. */
const LIBRARY_DIR_RE = /^\/usr(\/local)?\/lib[a-z0-9]*(\/[a-z0-9_]+-linux-[a-z0-9_]+)?$/;
/** Scratch folders that may be shared by everyone (1777, sticky), as the base has them. */
export const SCRATCH_DIRS: readonly string[] = ['/tmp', '/var/tmp'];

/** True when `p` (absolute, normalised, no trailing "/") is a system folder (see SYSTEM_DIRS). */
export function isSystemFolder(p: string): boolean {
  return SYSTEM_DIRS.includes(p) || LIBRARY_DIR_RE.test(p);
}

/**
 * Why folder metadata for system folder `p` would let a user change the system, or undefined: an
 * owner other than root, or group or others allowed to write (a scratch folder may be 1777, root's).
 */
export function systemFolderProblem(p: string, mode: number, uid: number, gid: number): string | undefined {
  if (!isSystemFolder(p)) return undefined;
  const m = mode.toString(8).padStart(4, '0');
  if (uid !== 0) return `owner ${uid}:${gid} would own ${p}, a system folder, and could replace what it holds`;
  if (SCRATCH_DIRS.includes(p) && (mode & 0o7777) === 0o1777) return undefined;
  if (mode & 0o022) return `mode ${m} would let ${mode & 0o002 ? 'every user' : `group ${gid}`} add or replace files in ${p}, a system folder`;
  return undefined;
}
