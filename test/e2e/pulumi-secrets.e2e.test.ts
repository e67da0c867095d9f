// Pulumi secrets stay secret under the real engine: a value set with `pulumi config set --secret`
// and given to EnvConfig's managedSecret reaches the cluster only inside a Secret, never in the
// state in plain text (nor base64), never in any other object; given to a container's env or to
// EnvConfig data instead, `pulumi preview` fails with the rule id and nothing is created.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_TOOLS } from './support/global-setup';
import { PULUMI_TOOLS, REPO, pulumiPackagesInstalled, pulumiWorkspace, type PulumiWorkspace } from './support/pulumi';
import { sharedCluster, sharedClusterError, type SharedCluster } from './support/shared-cluster';
import { inCI, recordSkip, skipWithout } from './support/tools';

function skipSuite(): boolean {
  if (!pulumiPackagesInstalled() && !inCI()) {
    process.stderr.write('[e2e] skipping the Pulumi secrets suite: run npm ci\n');
    recordSkip('npm ci (the Pulumi packages)');
    return true;
  }
  return skipWithout([...CLUSTER_TOOLS, ...PULUMI_TOOLS]);
}

const IMAGE = `registry.example.com/app@sha256:${'ab'.repeat(32)}`;
const NS = 'default';

/** Object names per route, so one route's leftovers cannot pass for another's. */
const prefix = (route: string) => `secrets-${route.toLowerCase()}`;

/** The program: the compiled package, a secret from config, and where the secret goes (`route`). */
function program(route: 'managedSecret' | 'env' | 'data'): string {
  return `const pulumi = require('@pulumi/pulumi');
const { EnvConfig, HardenedDeployment } = require(${JSON.stringify(join(REPO, 'lib', 'pulumi'))});
const password = new pulumi.Config().requireSecret('dbPassword');
const skipAwait = (a) => {
  if (!a.type.startsWith('kubernetes:')) return undefined;
  // No controllers here: no rollout to wait for, and no garbage collector to lift a foreground deletion's finalizer.
  const metadata = pulumi.output(a.props.metadata).apply((m) => ({ ...m, annotations: { ...((m && m.annotations) || {}), 'pulumi.com/skipAwait': 'true', 'pulumi.com/deletionPropagationPolicy': 'background' } }));
  return { props: { ...a.props, metadata }, opts: a.opts };
};
const route = ${JSON.stringify(route)};
const db = new EnvConfig('db', {
  name: ${JSON.stringify(`${prefix(route)}-db`)}, namespace: ${JSON.stringify(NS)},
  data: { 'app.conf': route === 'data' ? password : 'mode=prod\\n' },
  ...(route === 'managedSecret' ? { managedSecret: { mountPath: '/var/run/secrets/db', data: { password } } } : {}),
}, { transformations: [skipAwait] });
new HardenedDeployment('app', {
  name: ${JSON.stringify(`${prefix(route)}-app`)}, namespace: ${JSON.stringify(NS)}, replicas: 1,
  containers: [{ name: 'app', image: ${JSON.stringify(IMAGE)}, ports: [{ containerPort: 8080 }], config: [db],
    ...(route === 'env' ? { env: { DB_PASSWORD: password } } : {}) }],
}, { transformations: [skipAwait] });
`;
}

describe.skipIf(skipSuite())('Pulumi secrets under the real engine', () => {
  let k: SharedCluster;
  let ws: PulumiWorkspace;
  let dir: string;
  const canary = `canary-${Math.random().toString(36).slice(2)}-s3cr3t`;
  const canary64 = Buffer.from(canary).toString('base64');

  const project = async (route: 'managedSecret' | 'env' | 'data') => {
    const p = join(dir, route);
    mkdirSync(p);
    symlinkSync(join(REPO, 'node_modules'), join(p, 'node_modules'));
    writeFileSync(join(p, 'Pulumi.yaml'), `name: secrets-${route.toLowerCase()}\nruntime: nodejs\nmain: index.js\n`);
    writeFileSync(join(p, 'package.json'), JSON.stringify({ name: `secrets-${route.toLowerCase()}`, private: true, main: 'index.js' }));
    writeFileSync(join(p, 'index.js'), program(route));
    expect((await ws.pulumi(['stack', 'init', 'e2e'], p)).code).toBe(0);
    const set = await ws.pulumi(['config', 'set', '--secret', 'dbPassword', canary], p);
    expect(set.code, set.stderr).toBe(0);
    return p;
  };

  beforeAll(() => {
    const c = sharedCluster();
    if (!c) throw new Error(sharedClusterError() ?? 'no cluster');
    k = c;
    execFileSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.json')], { cwd: REPO, stdio: 'inherit' });
    ws = pulumiWorkspace(k.kubeconfig);
    dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-pulumi-secrets-'));
  }, 300_000);

  afterAll(() => {
    ws?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('managedSecret: the value is in the Secret only; the state and every other object hold neither it nor its base64', async () => {
    const p = await project('managedSecret');
    const up = await ws.pulumi(['up', '--yes'], p);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.stdout + up.stderr).not.toContain(canary);

    const state = await ws.pulumi(['stack', 'export'], p);
    expect(state.code, state.stderr).toBe(0);
    expect(state.stdout).toContain('"kubernetes:core/v1:Secret"');
    expect(state.stdout).not.toContain(canary);
    expect(state.stdout).not.toContain(canary64);

    const secret = await k.kubectl(['get', 'secret', 'secrets-managedsecret-db-secret', '-n', NS, '-o', 'json']);
    expect(secret.code, secret.stderr).toBe(0);
    expect((JSON.parse(secret.stdout) as { data: Record<string, string> }).data.password).toBe(canary64);

    const others = await k.kubectl(['get', 'deployments,configmaps,serviceaccounts,services,poddisruptionbudgets', '-n', NS, '-o', 'json']);
    expect(others.code, others.stderr).toBe(0);
    expect(others.stdout).toContain('secrets-managedsecret-app');
    expect(others.stdout).not.toContain(canary);
    expect(others.stdout).not.toContain(canary64);

    const destroy = await ws.pulumi(['destroy', '--yes'], p);
    expect(destroy.code, destroy.stdout + destroy.stderr).toBe(0);
    expect((await k.kubectl(['get', 'secret', 'secrets-managedsecret-db-secret', '-n', NS])).code).not.toBe(0);
  }, 900_000);

  for (const [route, rule] of [['env', 'HD018'], ['data', 'HD031']] as const) {
    it(`a secret given to ${route === 'env' ? "a container's env" : 'EnvConfig data (a ConfigMap)'}: preview fails with ${rule}, nothing is created, the value is not printed`, async () => {
      const p = await project(route);
      const preview = await ws.pulumi(['preview'], p);
      expect(preview.code).not.toBe(0);
      expect(preview.stdout + preview.stderr).toContain(rule);
      expect(preview.stdout + preview.stderr).not.toContain(canary);
      const up = await ws.pulumi(['up', '--yes'], p);
      expect(up.code).not.toBe(0);
      const made = await k.kubectl(['get', 'deployments,configmaps,secrets,serviceaccounts,services,poddisruptionbudgets', '-n', NS, '-o', 'name']);
      expect(made.code, made.stderr).toBe(0);
      expect(made.stdout.split('\n').filter((n) => n.includes(`/${prefix(route)}-`))).toEqual([]);
    }, 900_000);
  }
});
