// The project's example Pulumi program (examples/pulumi, run through the repository's Pulumi.yaml
// runtime options: Node.js with `--import tsx`) under the real engine: preview, up, the objects
// on the API server with their hardened fields (checked with kubectl, and against what `cdk8s
// synth` makes from the same props), then destroy.
//
// Its own API server: the examples' namespaces (databases, web, apps, ...) are also created in
// the shared one by other files, and a destroyed Namespace stays Terminating here (no namespace
// controller). The e2e entry point calls the example's deployExamples() with one transformation
// that annotates every Kubernetes object, since this cluster has no controllers:
// `pulumi.com/skipAwait: "true"` (nothing ever makes a Deployment ready) and
// `pulumi.com/deletionPropagationPolicy: background` (the provider deletes in the foreground by
// default, and only the garbage collector would clear the foregroundDeletion finalizer; skipAwait
// covers deletion only for a few legacy kinds, not Services: found when destroy hung on them).
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../pulumi/policy-pack-client';
import { startCluster, type Cluster } from './support/cluster';
import { EXAMPLES } from './support/examples';
import { CLUSTER_TOOLS } from './support/global-setup';
import type { KObject } from './support/k8s';
import { PULUMI_TOOLS, REPO, projectUsesPulumi, pulumiWorkspace, type PulumiWorkspace } from './support/pulumi';
import { run, skipWithout, tool } from './support/tools';

const ENTRY = `// e2e entry: the example program; every Kubernetes object annotated for a cluster without controllers.
import * as pulumi from '@pulumi/pulumi';
import { deployExamples } from ${JSON.stringify(join(REPO, 'examples', 'pulumi', 'program'))};

const skipAwait: pulumi.ResourceTransformation = (a) => {
  if (!a.type.startsWith('kubernetes:')) return undefined;
  const metadata = pulumi.output(a.props.metadata ?? {}).apply((m: any) => ({ ...m, annotations: { ...(m.annotations ?? {}), 'pulumi.com/skipAwait': 'true', 'pulumi.com/deletionPropagationPolicy': 'background' } }));
  return { props: { ...a.props, metadata }, opts: a.opts };
};

const stack = deployExamples({ transformations: [skipAwait] });
export const workloads = Object.fromEntries(Object.entries(stack.deployments).map(([k, d]) => [k, d.name]));
export const configMaps = Object.fromEntries(Object.entries(stack.configs).map(([k, c]) => [k, c.configMapName]));
export const namespaces = Object.fromEntries(Object.entries(stack.namespaces).map(([k, n]) => [k, n.namespace.metadata.name]));
`;

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job', 'CronJob'];
const podSpecOf = (o: any) => (o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec);

/** What cdk8s synth makes from the same props: workloads of every kind by Kind/namespace/name, ConfigMap names. */
function synthesized(): { deployments: Map<string, KObject>; configMaps: Set<string>; namespaces: Set<string> } {
  const deployments = new Map<string, KObject>();
  const configMaps = new Set<string>();
  const namespaces = new Set<string>();
  for (const make of Object.values(EXAMPLES)) {
    for (const o of make()) {
      if (WORKLOAD_KINDS.includes(o.kind!)) deployments.set(`${o.kind}/${o.metadata!.namespace}/${o.metadata!.name}`, o);
      if (o.kind === 'ConfigMap') configMaps.add(`${o.metadata!.namespace}/${o.metadata!.name}`);
      if (o.kind === 'Namespace') namespaces.add(o.metadata!.name!);
    }
  }
  return { deployments, configMaps, namespaces };
}

describe.skipIf(!projectUsesPulumi() || skipWithout([...CLUSTER_TOOLS, ...PULUMI_TOOLS]))('the example Pulumi program under the real engine', () => {
  let cluster: Cluster;
  let ws: PulumiWorkspace;
  let dir: string;
  const want = synthesized();

  beforeAll(async () => {
    ensureBuilt(); // the program imports the compiled cleanimg/pulumi
    cluster = await startCluster();
    ws = pulumiWorkspace(cluster.kubeconfig);
    dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-example-program-'));
    // The repository's Pulumi.yaml (runtime, nodeargs --import tsx), with the e2e entry as main.
    const project = parse(readFileSync(join(REPO, 'Pulumi.yaml'), 'utf8')) as Record<string, unknown>;
    expect((project.runtime as { options: { nodeargs: string } }).options.nodeargs).toContain('--import tsx');
    writeFileSync(join(dir, 'Pulumi.yaml'), stringify({ ...project, main: 'e2e.ts' }));
    writeFileSync(join(dir, 'e2e.ts'), ENTRY);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'cleanimg-examples-e2e', private: true }));
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
    const init = await ws.pulumi(['stack', 'init', 'e2e'], dir);
    expect(init.code, init.stderr).toBe(0);
  });

  afterAll(async () => {
    ws?.dispose();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const kubectlJson = async (args: string[]): Promise<any> => {
    const r = await cluster.kubectl([...args, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  it('preview plans every object; up creates them; the server holds the hardened fields', async () => {
    const preview = await ws.pulumi(['preview'], dir);
    expect(preview.code, preview.stdout + preview.stderr).toBe(0);
    expect(preview.stdout).toMatch(/\+ (\d+) to create/);

    const up = await ws.pulumi(['up', '--yes'], dir);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const outputs = JSON.parse((await ws.pulumi(['stack', 'output', '--json'], dir)).stdout) as {
      workloads: Record<string, string>; configMaps: Record<string, string | null>; namespaces: Record<string, string>;
    };

    // Namespaces: Pod Security restricted enforced.
    expect(new Set(Object.values(outputs.namespaces))).toEqual(want.namespaces);
    for (const ns of want.namespaces) {
      const n = await kubectlJson(['get', 'namespace', ns]);
      expect([ns, n.metadata.labels['pod-security.kubernetes.io/enforce']]).toEqual([ns, 'restricted']);
    }

    // Workloads of every kind: the same as cdk8s synth makes, as stored by the server.
    const stored = await kubectlJson(['get', 'deployments,statefulsets,jobs,cronjobs', '-A']);
    const got = new Map<string, any>(stored.items.map((d: any) => [`${d.kind}/${d.metadata.namespace}/${d.metadata.name}`, d]));
    expect(new Set(got.keys())).toEqual(new Set(want.deployments.keys()));
    for (const [key, synth] of want.deployments) {
      const d = got.get(key);
      const s = podSpecOf(synth);
      const pod = podSpecOf(d);
      expect([key, pod.automountServiceAccountToken]).toEqual([key, false]);
      expect([key, pod.securityContext]).toEqual([key, s.securityContext]);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const [i, c] of pod.containers.entries()) {
        expect([key, c.name, c.securityContext]).toEqual([key, s.containers[i].name, s.containers[i].securityContext]);
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } });
        expect(c.image).toBe(s.containers[i].image);
        expect(c.image).toMatch(/@sha256:[0-9a-f]{64}$/);
        expect(c.resources).toEqual(s.containers[i].resources);
      }
      for (const v of pod.volumes ?? []) if (v.emptyDir) expect([key, v.name, v.emptyDir.sizeLimit]).not.toEqual([key, v.name, undefined]);
      expect(d.metadata.annotations['pulumi.com/skipAwait']).toBe('true');
    }

    // ConfigMaps: content-hashed names (the stack's outputs), immutable.
    const cms = await kubectlJson(['get', 'configmaps', '-A', '-l', 'app.kubernetes.io/managed-by=cleanimg']);
    const cmNames = new Set<string>(cms.items.map((c: any) => `${c.metadata.namespace}/${c.metadata.name}`));
    expect(cmNames).toEqual(want.configMaps);
    for (const c of cms.items) expect([c.metadata.name, c.immutable]).toEqual([c.metadata.name, true]);
    for (const name of Object.values(outputs.configMaps).filter((n): n is string => !!n)) {
      expect([...cmNames].some((k) => k.endsWith(`/${name}`))).toBe(true);
    }
  });

  it('destroy removes every object from the stack (the cluster keeps only what its missing controllers would finish)', { timeout: 240_000 }, async () => {
    // Bounded, so a hang shows the engine's output instead of a bare test timeout.
    const destroy = await run(tool('pulumi'), ['destroy', '--yes', '--non-interactive'], { cwd: dir, env: ws.env, timeoutMs: 150_000 });
    expect(destroy.code, destroy.stdout + destroy.stderr).toBe(0);
    const exported = JSON.parse((await ws.pulumi(['stack', 'export'], dir)).stdout) as { deployment: { resources?: { type: string }[] } };
    expect((exported.deployment.resources ?? []).filter((r) => r.type.startsWith('kubernetes:') || r.type.startsWith('cleanimg:'))).toEqual([]);
    // Without a namespace controller, deleted Namespaces stay Terminating (their `kubernetes`
    // finalizer); everything else deleted in the background is gone.
    for (const ns of want.namespaces) {
      const r = await cluster.kubectl(['get', 'namespace', ns, '-o', 'json']);
      if (r.code !== 0) {
        expect(r.stderr).toContain('NotFound');
        continue;
      }
      const n = JSON.parse(r.stdout);
      expect([ns, n.status.phase]).toEqual([ns, 'Terminating']);
    }
    const left = await kubectlJson(['get', 'deployments,statefulsets,cronjobs,horizontalpodautoscalers,poddisruptionbudgets,ingresses,services,configmaps,serviceaccounts,networkpolicies', '-A', '-l', 'app.kubernetes.io/managed-by=cleanimg']);
    expect(left.items.map((o: any) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([]);
    const policies = await kubectlJson(['get', 'validatingadmissionpolicies']);
    expect(policies.items.map((o: any) => o.metadata.name)).toEqual([]);
  });
});
