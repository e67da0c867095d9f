/**
 * A source file's identity as the checks saw it, so that the layer holds the very bytes that were
 * checked: the inode (device, number) and its size, mtime and ctime in nanoseconds. A file swapped for
 * another (or for a symlink) has another inode; a file written in place usually has another ctime, which
 * an unprivileged user cannot set back. Not always: a store into a MAP_SHARED page that is already dirty
 * changes the bytes without touching the times, so the layer builder also compares the sha256 of the
 * bytes it writes with the one the checks took (LayerEntry.sourceSha256). Sources are opened without following a symlink in the last
 * component, and on Linux the kernel's own name of the opened file (/proc/self/fd) is what the
 * folder check judges.
 */
import { constants, type BigIntStats } from 'node:fs';
import { open, readlink, type FileHandle } from 'node:fs/promises';
import { CleanimgError } from '../errors';

export interface SourceStat {
  readonly dev: string;
  readonly ino: string;
  readonly size: string;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
}

export function sourceStatOf(st: BigIntStats): SourceStat {
  return { dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
}

export function sameSourceStat(a: SourceStat, b: SourceStat): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** Opens `file` for reading; a symlink as its last component fails (ELOOP) instead of being followed. */
export function openNoFollow(file: string): Promise<FileHandle> {
  return open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
}

/** Where the kernel says an open file is (Linux), or undefined where that cannot be asked. */
export async function openedPath(fh: FileHandle): Promise<string | undefined> {
  try {
    return await readlink(`/proc/self/fd/${fh.fd}`);
  } catch {
    return undefined;
  }
}

/** LAYER004: the file at `file` is not the one the input checks read, or changed since. */
export function sourceChangedError(file: string, what: string): CleanimgError {
  return new CleanimgError('a source file changed while the layer was built', [
    { code: 'LAYER004', path: file, message: what, fix: 'do not modify the inputs during a build, then run it again' },
  ]);
}
