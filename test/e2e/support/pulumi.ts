// The real Pulumi engine against the tier's API server, fully offline: a local file backend,
// a passphrase secrets provider, no update checks, no plugin downloads; the language host and
// the Kubernetes provider are found on PATH (provision.sh links them into $CLEANIMG_TOOLS/bin).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run, tool, type RunResult } from './tools';

/** `pulumi-language-nodejs` is provision.sh's front (policy packs, runtime options); `-real` is the host behind it. */
export const PULUMI_TOOLS = ['pulumi', 'pulumi-language-nodejs', 'pulumi-language-nodejs-real', 'pulumi-resource-kubernetes'] as const;

export const REPO = join(__dirname, '..', '..', '..');

/** Whether package.json lists @pulumi/pulumi: the Pulumi suites are mandatory from then on. */
export function projectUsesPulumi(): boolean {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  return ['dependencies', 'devDependencies', 'peerDependencies'].some((k) => pkg[k]?.['@pulumi/pulumi'] !== undefined);
}

/** Whether @pulumi/pulumi and @pulumi/kubernetes resolve from the repository. */
export function pulumiPackagesInstalled(): boolean {
  return ['@pulumi/pulumi', '@pulumi/kubernetes'].every((p) => existsSync(join(REPO, 'node_modules', p, 'package.json')));
}

export interface PulumiWorkspace {
  home: string;
  env: NodeJS.ProcessEnv;
  pulumi(args: readonly string[], cwd: string): Promise<RunResult>;
  dispose(): void;
}

/** A throwaway PULUMI_HOME with a file backend, aimed at the cluster behind `kubeconfig`. */
export function pulumiWorkspace(kubeconfig: string): PulumiWorkspace {
  const bin = tool('pulumi');
  const home = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-pulumi-'));
  mkdirSync(join(home, 'home'));
  mkdirSync(join(home, 'backend'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Ambient plugins: pulumi-language-nodejs and pulumi-resource-kubernetes from PATH.
    PATH: [dirname(tool('pulumi-language-nodejs')), dirname(tool('pulumi-resource-kubernetes')), process.env.PATH].join(':'),
    PULUMI_HOME: join(home, 'home'),
    PULUMI_BACKEND_URL: `file://${join(home, 'backend')}`,
    PULUMI_CONFIG_PASSPHRASE: `e2e-${Math.random().toString(36).slice(2)}`,
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: 'true',
    KUBECONFIG: kubeconfig,
  };
  return {
    home,
    env,
    pulumi: (args, cwd) => run(bin, [...args, '--non-interactive'], { cwd, env, timeoutMs: 600_000 }),
    dispose: () => rmSync(home, { recursive: true, force: true }),
  };
}

/**
 * A plugin package from source (`pulumi package add DIR`, a program's `packages:` entry) makes the
 * CLI install every provider named by the packages in the plugin's node_modules, and it looks only in
 * PULUMI_HOME's plugin cache, not on PATH: offline, it would try to download them. Each is put there:
 * the Kubernetes provider (the tier's build, linked), and for a provider the tier does not build
 * (docker-build, which only DockerfileImage uses and no plugin program here does) an empty folder,
 * which the CLI counts as installed. A program that used it would fail to start it, and say so.
 */
export function seedPluginCache(ws: PulumiWorkspace): void {
  const plugins = join(ws.env.PULUMI_HOME!, 'plugins');
  const scope = join(REPO, 'node_modules', '@pulumi');
  for (const pkg of readdirSync(scope)) {
    const meta = (JSON.parse(readFileSync(join(scope, pkg, 'package.json'), 'utf8')) as { pulumi?: { resource?: boolean; name?: string; version?: string } }).pulumi;
    if (!meta?.resource || !meta.name || !meta.version) continue;
    const dir = join(plugins, `resource-${meta.name}-v${meta.version}`);
    mkdirSync(dir, { recursive: true });
    if (meta.name === 'kubernetes') symlinkSync(tool('pulumi-resource-kubernetes'), join(dir, 'pulumi-resource-kubernetes'));
  }
}
