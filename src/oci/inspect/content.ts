/**
 * What the inspection reads from file contents as the layers stream past (nothing is kept but what
 * is asked for): whether an ELF file is a shell whatever its name or folder, by strings each shell
 * binary carries; and the text of the few files the user check needs (`/etc/passwd`, `/etc/group`).
 */

/** Strings that name a shell binary: [what, every one of these strings]. */
const SHELL_SIGNATURES: readonly [string, readonly Buffer[]][] = [
  ['busybox', [Buffer.from('BusyBox v')]],
  ['bash', [Buffer.from('GNU bash, version')]],
  ['mksh', [Buffer.from('@(#)MIRBSD KSH')]],
  ['zsh', [Buffer.from('This is zsh')]],
  ['dash', [Buffer.from('Syntax error: %s'), Buffer.from('Illegal option -%c')]],
];
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const SEAM = 32;

/** Files whose text the inspection keeps (small, read by the user check). */
export const KEPT_FILES = new Set(['/etc/passwd', '/etc/group']);
const MAX_KEPT_BYTES = 1 << 20;

/** Sniffs one file's bytes, chunk by chunk. */
export class ContentSniffer {
  private elf: boolean | undefined;
  private carry = Buffer.alloc(0);
  private readonly seen = new Map<string, number>();
  private kept: Buffer[] | undefined;
  private keptSize = 0;

  constructor(keep: boolean) {
    if (keep) this.kept = [];
  }

  update(chunk: Buffer): void {
    if (this.kept) {
      this.keptSize += chunk.length;
      if (this.keptSize <= MAX_KEPT_BYTES) this.kept.push(chunk);
      else this.kept = undefined;
    }
    this.elf ??= chunk.subarray(0, 4).equals(ELF_MAGIC);
    if (!this.elf) return;
    const win = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    for (const [name, needles] of SHELL_SIGNATURES) {
      needles.forEach((n, i) => {
        if (win.includes(n)) this.seen.set(`${name}:${i}`, 1);
      });
    }
    this.carry = Buffer.from(win.subarray(Math.max(0, win.length - SEAM)));
  }

  /** The shell this ELF file is, by its strings; undefined for anything else. */
  shell(): string | undefined {
    return SHELL_SIGNATURES.find(([name, needles]) => needles.every((_, i) => this.seen.has(`${name}:${i}`)))?.[0];
  }

  /** The text of a kept file (undefined when it was not kept, or too large). */
  text(): string | undefined {
    return this.kept ? Buffer.concat(this.kept).toString('utf8') : undefined;
  }
}

/** The user and group an image's `User` names, resolved through its own /etc/passwd and /etc/group as a runtime would. */
export function resolveUser(user: string, passwd: string | undefined, group: string | undefined): { uid?: number; gid?: number; unresolved?: string } {
  const [u = '', g] = user.split(':').map((x) => x.trim());
  const lookup = (text: string | undefined, name: string) =>
    text?.split('\n').map((l) => l.split(':')).find((f) => f[0] === name && f.length >= 3);
  let uid: number | undefined;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) uid = Number(u);
  else if (u) {
    const entry = lookup(passwd, u);
    if (!entry) return { unresolved: `user ${JSON.stringify(u)} is not in the image's /etc/passwd` };
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const entry = lookup(group, g);
      if (!entry) return { uid, unresolved: `group ${JSON.stringify(g)} is not in the image's /etc/group` };
      gid = Number(entry[2]);
    }
  }
  return { uid, gid };
}
