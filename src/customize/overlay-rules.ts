/**
 * What an overlay may put into an image, and how a spec must be written: the rule ids that
 * `cleanimg-customize build` (and CustomizedImage in both faces) report, with the usual fix. Listed
 * by `cleanimg-customize rules` beside the Kubernetes and Dockerfile rules; each check's own message
 * names the offending field and, where it differs, a more precise fix.
 */
export interface OverlayRule {
  readonly id: string;
  readonly title: string;
  readonly fix: string;
}

export const OVERLAY_RULES: readonly OverlayRule[] = [
  { id: 'SPEC001', title: 'the spec file is missing, unreadable, empty or not one YAML document', fix: 'pass one readable YAML document' },
  { id: 'SPEC002', title: 'a spec field is missing or has the wrong type', fix: 'write base_image, arch and copy_files (or trust_ca) as the help shows' },
  { id: 'SPEC003', title: 'unknown spec field (a typo is never ignored)', fix: 'use the suggested field name' },
  { id: 'SPEC004', title: 'base_image is not pinned by digest', fix: 'write base_image: "name[:tag]@sha256:<64 hex>"' },
  { id: 'SPEC005', title: 'a mode that is not octal, out of range, or sets setuid/setgid', fix: 'write an octal mode such as "0644" or "0755"' },
  { id: 'SPEC006', title: 'an owner that is not numeric uid:gid', fix: 'write owner: "65532:65532"' },
  { id: 'SPEC007', title: 'an unknown architecture', fix: 'use amd64, arm64, ...' },
  { id: 'SPEC008', title: 'trust_env names a variable cleanimg does not set', fix: 'use true or the listed names' },
  { id: 'SPEC009', title: 'a world-writable mode (a folder may be 1777: sticky)', fix: 'drop the "others may write" bit, e.g. "0644"' },
  { id: 'SPEC010', title: 'unsafe_allow_system_files names a path that is no loader or account file', fix: 'list only the system files the image must change' },
  { id: 'INPUT001', title: 'a source path that is absolute or uses ".."', fix: 'give a path relative to the spec folder' },
  { id: 'INPUT002', title: 'a source that resolves outside the spec folder (symlink, or moved during the build)', fix: 'copy the file into the spec folder' },
  { id: 'INPUT003', title: 'a source that does not exist, or a dangling symlink', fix: 'create the file or correct the path' },
  { id: 'INPUT004', title: 'a source that is no regular file or folder (FIFO, socket, device), or a symlink loop', fix: 'copy regular files and folders only' },
  { id: 'INPUT005', title: 'a destination that is not absolute and normalised, is under /proc, /sys or /dev, replaces a system folder, or starts with ".wh."', fix: 'write a normalised absolute path such as /etc/app/config.yaml' },
  { id: 'INPUT006', title: 'a shell, by the rules verify uses: a shell name in a binary folder, busybox/toybox anywhere, or an ELF file that carries a shell\'s strings', fix: 'keep the image shell-less' },
  { id: 'INPUT007', title: 'a private key in the inputs', fix: 'mount keys at runtime from a Secret (EnvConfig); allow_private_keys only for a truly public key' },
  { id: 'INPUT008', title: 'a file at a certificate location that is not a valid certificate', fix: 'copy PEM certificates there, or choose another destination' },
  { id: 'INPUT009', title: 'an expired certificate at a certificate location', fix: 'renew the certificate' },
  { id: 'INPUT010', title: 'two entries for one destination, or a file where a folder is needed', fix: 'give each destination once' },
  { id: 'INPUT011', title: 'a destination under a folder that is a symlink on merged-/usr bases (/bin, /lib, /var/run, ...)', fix: 'use the /usr path or /run' },
  { id: 'INPUT012', title: 'an input changed while the build checked it', fix: 'do not change the inputs during a build' },
  { id: 'INPUT013', title: "a write to the dynamic loader's or the account and login files (/etc/ld.so.preload, /etc/ld.so.conf*, /etc/ld-musl-*.path, /etc/passwd, /etc/group, /etc/shadow, /etc/sudoers*, /etc/pam.d/, /etc/pam.conf, ...)", fix: 'leave them to the base; if the image truly needs one, list it under unsafe_allow_system_files' },
  { id: 'INPUT014', title: 'a source file with more than one hard link (it may be a file outside the spec folder)', fix: 'copy the file (cp, not ln)' },
  { id: 'INPUT015', title: 'a system folder (/, /etc, /usr, /usr/bin, /usr/lib*, /usr/local/bin, ...) given a non-root owner or a group/world-writable mode (only /tmp and /var/tmp may be 1777)', fix: 'copy into a folder of your own, e.g. /etc/app/, and give that folder the owner and mode' },
  { id: 'LAYER001', title: 'SOURCE_DATE_EPOCH is not a whole number of seconds in the tar range', fix: 'set SOURCE_DATE_EPOCH to seconds since 1970, or leave it unset' },
  { id: 'LAYER002', title: 'an invalid layer entry (path, source or id out of range)', fix: 'pass normalised absolute paths and ids up to 2097151' },
  { id: 'LAYER003', title: 'a layer path listed twice, or a file where a folder is needed', fix: 'give each path once' },
  { id: 'LAYER004', title: 'an input changed while the layer was written', fix: 'do not change the inputs during a build' },
  { id: 'LAYER005', title: 'a layer source that is not a regular file', fix: 'copy regular files and folders only' },
];
