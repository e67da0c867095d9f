/**
 * The shell-less check: does an image's final filesystem contain a shell, and which user does it run as?
 *
 * A shell is found when any of these resolves (following symlinks, as `execve` would) to a regular file:
 * the shell names below in the usual binary folders; or when any file is named `busybox*`/`toybox*` anywhere;
 * then every other path that reaches one of those files (a symlink anywhere, or a hardlink) is reported too.
 * Contents are checked too (content.ts): an ELF file that carries a shell's strings (busybox, bash,
 * dash, mksh, zsh) is a shell wherever it sits and whatever its name.
 *
 * The user is resolved through the image's own /etc/passwd and /etc/group (the final ones, across
 * all layers), as a runtime resolves a name: a name that maps to UID 0 is root. Setuid and setgid
 * files, world-writable files and folders (without the sticky bit), devices, FIFOs, a loader preload
 * list, and loader or account files replaced by a later layer are listed (SpecialEntry).
 */
import * as path from 'node:path';
import type { Descriptor, ImageConfig } from '../types';
import { resolveUser } from './content';
import { type Filesystem, type OpenLayer, readFilesystem } from './filesystem';
import { systemPathOf } from './system-files';

export const SHELL_NAMES: readonly string[] = ['sh', 'bash', 'rbash', 'ash', 'dash', 'zsh', 'ksh', 'mksh', 'lksh', 'oksh', 'yash', 'posh', 'csh', 'tcsh', 'fish'];
export const BIN_DIRS: readonly string[] = ['/bin', '/usr/bin', '/sbin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin'];

/** busybox and toybox (multi-call binaries with a shell applet), also as busybox.static, toybox-x86_64... */
const MULTICALL_RE = /^(busybox|toybox)([._-].*)?$/;

/**
 * What a path alone says (the one list for `verify` and for `build`'s destinations): `shell` for a
 * shell name in a binary folder, `busybox` for a busybox or toybox name anywhere; else undefined.
 * Contents are judged apart (content.ts), since a shell can have any name.
 */
export function shellByPath(p: string): 'shell' | 'busybox' | undefined {
  const name = path.posix.basename(p);
  if (MULTICALL_RE.test(name)) return 'busybox';
  return BIN_DIRS.includes(path.posix.dirname(p)) && SHELL_NAMES.includes(name) ? 'shell' : undefined;
}

export interface ShellFinding {
  /** The path in the image, e.g. `/bin/sh`. */
  path: string;
  /** `shell`: a shell binary at a shell path; `busybox`: a busybox binary; `content`: an ELF file that is a shell by its strings (`shell` names which); `symlink`/`hardlink`: another path reaching one of them. */
  kind: 'shell' | 'busybox' | 'content' | 'symlink' | 'hardlink';
  /** For `content`: the shell its strings name. */
  shell?: string;
  /** For links and for shell paths that resolve elsewhere: the real file reached. */
  target?: string;
  /** The layer (0-based) that wrote this path. */
  layer: number;
}

export interface UserInfo {
  /** The config's `User`, as written ('' when unset). */
  user: string;
  /** True for '', `0`, `root`, a name the image's /etc/passwd maps to UID 0, and those with `:<group>`: the container runs as root unless the runtime overrides it. */
  isRoot: boolean;
  /** The UID and GID the name resolves to, when known. */
  uid?: number;
  gid?: number;
  /** Why the name cannot be resolved (a runtime refuses to start such an image). */
  unresolved?: string;
}

/**
 * An entry a hardened image should not have: setuid/setgid files; world-writable files and folders;
 * device files and FIFOs (`device`, `fifo`); a preload list for the dynamic loader (`loader-preload`,
 * its very presence); a loader or account file (system-files.ts) that a later layer replaced
 * (`system-file-replaced`, with the layer it replaced).
 */
export interface SpecialEntry {
  path: string;
  what: 'setuid' | 'setgid' | 'world-writable' | 'device' | 'fifo' | 'loader-preload' | 'system-file-replaced';
  layer: number;
  /** For `system-file-replaced`: the layer (0-based) whose file it replaced. */
  replaces?: number;
}

export interface ShellCheckResult {
  /** True when no shell or busybox was found. */
  shellFree: boolean;
  findings: ShellFinding[];
  user: UserInfo;
  /** See SpecialEntry. */
  special: SpecialEntry[];
  layers: number;
  entries: number;
}

/** The user an image runs as, from its config (`config.User`), resolved through the image's own /etc/passwd and /etc/group when given. */
export function imageUser(config: Pick<ImageConfig, 'config'>, fsys?: Filesystem): UserInfo {
  const user = typeof config.config?.User === 'string' ? config.config.User : '';
  const name = user.split(':')[0]!.trim();
  if (name === '' || name === 'root' || /^0+$/.test(name)) return { user, isRoot: true, uid: 0 };
  const text = (p: string) => (fsys ? fsys.resolve(p)?.node.text : undefined);
  const r = resolveUser(user, text('/etc/passwd'), text('/etc/group'));
  if (!fsys && r.unresolved) return { user, isRoot: false };
  return { user, isRoot: r.uid === 0, ...(r.uid !== undefined ? { uid: r.uid } : {}), ...(r.gid !== undefined ? { gid: r.gid } : {}), ...(r.unresolved ? { unresolved: r.unresolved } : {}) };
}

/** See SpecialEntry (a world-writable folder with the sticky bit, like /tmp, is fine). */
export function findSpecialEntries(fsys: Filesystem): SpecialEntry[] {
  const out: SpecialEntry[] = [];
  for (const [p, node] of fsys.walk()) {
    if (node.type === 'other' && (node.tarType === 'character-device' || node.tarType === 'block-device')) out.push({ path: p, what: 'device', layer: node.layer });
    if (node.type === 'other' && node.tarType === 'fifo') out.push({ path: p, what: 'fifo', layer: node.layer });
    if (p === '/etc/ld.so.preload' && node.type !== 'dir') out.push({ path: p, what: 'loader-preload', layer: node.layer });
    if (node.type === 'file' && node.replaces !== undefined && systemPathOf(p)) out.push({ path: p, what: 'system-file-replaced', layer: node.layer, replaces: node.replaces });
    if (node.type === 'file' && node.mode & 0o4000) out.push({ path: p, what: 'setuid', layer: node.layer });
    if (node.type === 'file' && node.mode & 0o2000) out.push({ path: p, what: 'setgid', layer: node.layer });
    if ((node.type === 'file' || node.type === 'dir') && node.mode & 0o002 && !(node.type === 'dir' && node.mode & 0o1000)) out.push({ path: p, what: 'world-writable', layer: node.layer });
  }
  return out;
}

/** Find shells and busybox in a filesystem. */
export function findShells(fsys: Filesystem): ShellFinding[] {
  const findings = new Map<string, ShellFinding>();
  /** real path of each shell file → its inode, for the link pass */
  const shellFiles = new Map<string, number>();
  const shellInodes = new Set<number>();

  const addReal = (realPath: string, inode: number) => {
    shellFiles.set(realPath, inode);
    shellInodes.add(inode);
  };

  for (const dir of BIN_DIRS) {
    for (const name of SHELL_NAMES) {
      const p = `${dir}/${name}`;
      const real = fsys.resolve(p);
      if (!real || real.node.type !== 'file') continue; // missing, dangling link or not a file: nothing to run
      addReal(real.path, real.node.inode);
      const node = fsys.lget(p);
      if (node?.type === 'file') {
        findings.set(p, { path: p, kind: 'shell', layer: node.layer });
      } else {
        // a symlink, or a path through a symlinked folder (e.g. /bin -> usr/bin)
        findings.set(p, { path: p, kind: 'symlink', target: real.path, layer: (node ?? real.node).layer });
      }
    }
  }

  for (const [p, node] of fsys.walk()) {
    if (node.type === 'file' && shellByPath(p) === 'busybox') {
      addReal(p, node.inode);
      if (!findings.has(p)) findings.set(p, { path: p, kind: 'busybox', layer: node.layer });
    }
  }

  // ELF files that are shells by their contents, wherever they are and whatever they are called.
  for (const [p, node] of fsys.walk()) {
    if (node.type !== 'file' || !node.shell || shellFiles.has(p)) continue;
    addReal(p, node.inode);
    if (!findings.has(p)) findings.set(p, { path: p, kind: 'content', shell: node.shell, layer: node.layer });
  }

  // Every other path that reaches a shell file: symlinks anywhere, hardlinks (same inode).
  for (const [p, node] of fsys.walk()) {
    if (findings.has(p) || shellFiles.has(p)) continue;
    if (node.type === 'symlink') {
      const real = fsys.resolve(p);
      if (real && real.node.type === 'file' && shellFiles.has(real.path)) {
        findings.set(p, { path: p, kind: 'symlink', target: real.path, layer: node.layer });
      }
    } else if (node.type === 'file' && shellInodes.has(node.inode)) {
      const target = [...shellFiles].find(([, ino]) => ino === node.inode)?.[0];
      findings.set(p, { path: p, kind: 'hardlink', target, layer: node.layer });
    }
  }
  return [...findings.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Stream the image's layers (never holding one in memory), build its final filesystem and report
 * shells, busybox and the user. `openLayer` opens a layer blob by descriptor, over a registry or a layout.
 */
export async function checkShellFree(
  image: { layers: readonly Descriptor[]; config: Pick<ImageConfig, 'config'> },
  openLayer: OpenLayer,
): Promise<ShellCheckResult> {
  const fsys = await readFilesystem(image.layers, openLayer);
  const findings = findShells(fsys);
  return { shellFree: findings.length === 0, findings, user: imageUser(image.config, fsys), special: findSpecialEntries(fsys), layers: image.layers.length, entries: fsys.entries };
}
