/** Registry connection options shared by `build`, `verify` and `push`. */
import type { Command } from 'commander';
import type { RegistryClientOptions } from '../../oci/registry';

export interface RegistryFlags {
  caFile?: string[];
  insecure?: boolean;
  username?: string;
  passwordStdin?: boolean;
  timeout?: string;
}

export function addRegistryOptions(cmd: Command): Command {
  return cmd
    .option('--ca-file <pem>', 'trust this CA bundle too (repeatable), e.g. a corporate CA', (v: string, prev: string[] = []) => [...prev, v])
    .option('--insecure', 'skip TLS verification and allow plain HTTP (plain HTTP is always allowed for localhost/127.0.0.1)')
    .option('--username <name>', 'registry user (else CLEANIMG_REGISTRY_USERNAME, else ~/.docker/config.json)')
    .option('--password-stdin', 'read the registry password from standard input (else CLEANIMG_REGISTRY_PASSWORD)')
    .option('--timeout <seconds>', 'per-request timeout', '60');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function registryOptions(f: RegistryFlags): Promise<RegistryClientOptions> {
  return {
    ...(f.caFile?.length ? { caFile: f.caFile } : {}),
    ...(f.insecure ? { insecure: true } : {}),
    ...(f.username ? { username: f.username } : {}),
    ...(f.passwordStdin ? { password: await readStdin() } : {}),
    ...(f.timeout ? { timeoutMs: Math.max(1, Number(f.timeout)) * 1000 } : {}),
  };
}
