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
  '/etc/sudoers', '/etc/nsswitch.conf',
];
export const SYSTEM_FOLDERS: readonly string[] = ['/etc/ld.so.conf.d', '/etc/sudoers.d', '/etc/pam.d', '/etc/security'];

/**
 * The system file or folder `p` is or lies in (`p` absolute and normalised), else undefined. A path
 * under a system file counts too: writing it would turn that file into a folder.
 */
export function systemPathOf(p: string): string | undefined {
  return [...SYSTEM_FILES, ...SYSTEM_FOLDERS].find((d) => p === d || p.startsWith(`${d}/`));
}
