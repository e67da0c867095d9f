// The real Pulumi engine (CLI, Node.js language host, Kubernetes provider, all built by
// provision.sh) against the tier's API server: preview, up and destroy of a small program that
// deploys the hand-written hardened Deployment, and an insecure Pod that Pod Security refuses
// (preview shows the refusal from its server-side dry run; up fails). Mandatory (CI) once the project
// depends on @pulumi/pulumi; until then skipped with a note.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_TOOLS } from './support/global-setup';
import { loadObjects, podFromTemplate, type KObject } from './support/k8s';
import { PULUMI_TOOLS, REPO, projectUsesPulumi, pulumiPackagesInstalled, pulumiWorkspace, type PulumiWorkspace } from './support/pulumi';
import { sharedCluster, sharedClusterError, type SharedCluster } from './support/shared-cluster';
import { inCI, recordSkip, skipWithout } from './support/tools';

const FIXTURE = join(__dirname, 'fixtures', 'hardened-deployment.yaml');

function skipPulumi(): boolean {
  if (!projectUsesPulumi()) {
    process.stderr.write('[e2e] skipping the Pulumi engine suite: package.json has no @pulumi/pulumi yet\n');
    recordSkip('npm ci (the Pulumi packages)');
    return true;
  }
  if (!pulumiPackagesInstalled() && !inCI()) {
    process.stderr.write('[e2e] skipping the Pulumi engine suite: run npm ci (no @pulumi/pulumi in node_modules)\n');
    recordSkip('npm ci (the Pulumi packages)');
    return true;
  }
  return skipWithout([...CLUSTER_TOOLS, ...PULUMI_TOOLS]);
}

/** A Pulumi program (plain JS, so it needs no build) that creates the given objects as-is. */
function program(objects: KObject[]): string {
  return `const k8s = require('@pulumi/kubernetes');
const objects = ${JSON.stringify(objects, null, 2)};
const skip = { 'pulumi.com/skipAwait': 'true' }; // no controllers in this cluster
const created = objects.map((o, i) => {
  const metadata = { ...o.metadata, annotations: { ...(o.metadata.annotations || {}), ...skip } };
  const args = { ...o, metadata };
  delete args.apiVersion; delete args.kind;
  const ctor = { Namespace: k8s.core.v1.Namespace, Deployment: k8s.apps.v1.Deployment, Pod: k8s.core.v1.Pod }[o.kind];
  return new ctor(o.kind.toLowerCase() + '-' + i, args, { deleteBeforeReplace: true });
});
exports.names = created.map((r) => r.metadata.name);
`;
}

describe.skipIf(skipPulumi())('the real Pulumi engine against the API server', () => {
  let k: SharedCluster;
  let ws: PulumiWorkspace;
  let dir: string;
  let deployment: KObject;

  const project = (name: string, objects: KObject[]) => {
    const p = join(dir, name);
    mkdirSync(p);
    symlinkSync(join(REPO, 'node_modules'), join(p, 'node_modules'));
    writeFileSync(join(p, 'Pulumi.yaml'), `name: ${name}\nruntime: nodejs\nmain: index.js\n`);
    writeFileSync(join(p, 'package.json'), JSON.stringify({ name, private: true, main: 'index.js' }));
    writeFileSync(join(p, 'index.js'), program(objects));
    return p;
  };

  beforeAll(async () => {
    const c = sharedCluster();
    if (!c) throw new Error(sharedClusterError() ?? 'no cluster');
    k = c;
    ws = pulumiWorkspace(k.kubeconfig);
    dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-pulumi-prog-'));
    [deployment] = loadObjects(FIXTURE) as [KObject];
    deployment.metadata!.namespace = 'pulumi-e2e';
  });

  afterAll(() => {
    ws?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('preview, up and destroy the hardened Deployment; the server stores its hardened fields', async () => {
    const p = project('hardened', [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'pulumi-e2e' } }, deployment]);
    const init = await ws.pulumi(['stack', 'init', 'e2e'], p);
    expect(init.code, init.stderr).toBe(0);
    const preview = await ws.pulumi(['preview'], p);
    expect(preview.code, preview.stdout + preview.stderr).toBe(0);
    expect(preview.stdout).toMatch(/\+ 3 to create|3 to create/);
    const up = await ws.pulumi(['up', '--yes'], p);
    expect(up.code, up.stdout + up.stderr).toBe(0);

    const got = await k.kubectl(['get', 'deployment', 'hardened-app', '-n', 'pulumi-e2e', '-o', 'json']);
    expect(got.code, got.stderr).toBe(0);
    const spec = (JSON.parse(got.stdout) as { spec: { template: { spec: any } } }).spec.template.spec;
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });

    const destroy = await ws.pulumi(['destroy', '--yes'], p);
    expect(destroy.code, destroy.stdout + destroy.stderr).toBe(0);
    // The provider deletes in the foreground; with no garbage collector in this cluster the
    // object stays, marked for deletion and held by the foregroundDeletion finalizer.
    const gone = await k.kubectl(['get', 'deployment', 'hardened-app', '-n', 'pulumi-e2e', '-o', 'json']);
    if (gone.code === 0) {
      const meta = (JSON.parse(gone.stdout) as { metadata: { deletionTimestamp?: string; finalizers?: string[] } }).metadata;
      expect(meta.deletionTimestamp).toBeDefined();
      expect(meta.finalizers).toContain('foregroundDeletion');
    } else {
      expect(gone.stderr).toContain('NotFound');
    }
    const stack = await ws.pulumi(['stack', 'export'], p);
    expect(stack.code, stack.stderr).toBe(0);
    const resources = (JSON.parse(stack.stdout) as { deployment: { resources?: { type: string }[] } }).deployment.resources ?? [];
    expect(resources.filter((r) => r.type.startsWith('kubernetes:'))).toEqual([]);
  });

  it('Pod Security refuses an insecure Pod: preview shows it (server-side dry run), up fails', async () => {
    const pod = podFromTemplate(deployment, 'insecure-pod');
    // Not pulumi-e2e: a destroyed namespace stays Terminating (no namespace controller).
    pod.metadata!.namespace = 'default';
    delete (pod.spec as any).containers[0].securityContext.allowPrivilegeEscalation;
    const p = project('insecure', [pod]);
    expect((await ws.pulumi(['stack', 'init', 'e2e'], p)).code).toBe(0);
    const reason = 'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false';
    // Found: the provider reports a refused dry run as a retryable create in preview, and
    // preview still exits 0. Gate on `up` (or a policy pack), not on preview's exit code.
    const preview = await ws.pulumi(['preview'], p);
    expect(preview.stdout + preview.stderr).toContain(reason);
    expect(preview.code).toBe(0);
    const up = await ws.pulumi(['up', '--yes'], p);
    expect(up.code).not.toBe(0);
    expect(up.stdout + up.stderr).toContain('was not successfully created by the Kubernetes API server');
    expect(up.stdout + up.stderr).toContain(reason);
    const stored = await k.kubectl(['get', 'pod', 'insecure-pod', '-n', 'default']);
    expect(stored.code).not.toBe(0);
    expect(stored.stderr).toContain('NotFound');
  });
});
