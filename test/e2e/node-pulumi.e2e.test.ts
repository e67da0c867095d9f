// The example Pulumi program (examples/pulumi) on the real node, with the provider's await logic:
// no skipAwait, so `pulumi up` succeeds only when every Deployment and StatefulSet is Ready on a
// real kubelet. Stand-in images and the platform's part (Secrets by reference, PersistentVolumes)
// as for the cdk8s run (node-examples.e2e.test.ts); here the program makes the namespaces, so the
// Secrets are created while `pulumi up` runs, as soon as each namespace exists. `pulumi destroy` must then leave nothing: the
// namespaces and everything in them are gone (the node has the controllers that finish deletion).
//
// One stand-in for a controller the node does not run: an ingress controller. The provider waits
// for an Ingress to get a load-balancer address; the test gives go-api's Ingress one, as a
// controller would, while `pulumi up` waits for it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../pulumi/policy-pack-client';
import { EXAMPLES } from './support/examples';
import { autoscalerMinimum, buildExampleStandins, podSpecOf, settledWorkload, providePersistentVolumes, provideSecrets, type Obj } from './support/node-examples';
import { embeddedBaseLayout } from './support/node-images';
import { skipWithoutNode, startNode, type KubeNode } from './support/node';
import { PULUMI_TOOLS, REPO, projectUsesPulumi, pulumiWorkspace, type PulumiWorkspace } from './support/pulumi';
import { sleep, tool } from './support/tools';



describe.skipIf(!projectUsesPulumi() || skipWithoutNode(PULUMI_TOOLS))('the example Pulumi program on the real node, with await', () => {
  let node: KubeNode;
  let ws: PulumiWorkspace;
  let work: string;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const objs: Obj[] = Object.values(EXAMPLES).flatMap((make) => make()) as Obj[];
  const namespaces = [...new Set(objs.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name))];
  const pulumi = (args: string[], timeoutMs = 900_000) => node.inNode(tool('pulumi'), [...args, '--non-interactive'], { cwd: dir, env, timeoutMs });

  beforeAll(async () => {
    ensureBuilt(); // the program imports the compiled cleanimg/pulumi
    work = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-node-pulumi-'));
    node = await startNode();
    const base = await embeddedBaseLayout(work);
    writeFileSync(join(work, 'images.json'), JSON.stringify(await buildExampleStandins(node, work, base)));
    await providePersistentVolumes(node, work, objs);
    ws = pulumiWorkspace(node.kubeconfig);
    env = { ...ws.env, CLEANIMG_EXAMPLE_IMAGES: join(work, 'images.json') };
    dir = join(work, 'program');
    const project = parse(readFileSync(join(REPO, 'Pulumi.yaml'), 'utf8')) as Record<string, unknown>;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, 'Pulumi.yaml'), stringify({ ...project, main: 'index.ts' }));
    writeFileSync(join(dir, 'index.ts'), `export * from ${JSON.stringify(join(REPO, 'examples/pulumi/index'))};\n`);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'cleanimg-examples-node', private: true }));
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
    const init = await pulumi(['stack', 'init', 'node'], 60_000);
    expect(init.code, init.stderr).toBe(0);
  }, 600_000);

  afterAll(async () => {
    ws?.dispose();
    await node?.stop();
    if (work && process.env.E2E_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  });

  it('pulumi up waits for every workload to be Ready on the kubelet, and succeeds', async () => {
    // The platform's part while the program makes the namespaces: the Secrets the examples mount by
    // reference, created as soon as their namespace exists. And the ingress controller's part: give
    // each Ingress an address once it exists.
    let upDone = false;
    const platform = (async () => {
      while (!upDone && (await provideSecrets(node, work, objs, { existingNamespacesOnly: true })) > 0) await sleep(500);
    })();
    const ingressController = (async () => {
      while (!upDone) {
        const r = await node.kubectl(['get', 'ingress', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}/{.status.loadBalancer.ingress}{"\\n"}{end}']);
        for (const line of r.stdout.split('\n').filter(Boolean)) {
          const [ns, name, status] = line.split('/');
          if (!status) {
            await node.kubectl(['-n', ns!, 'patch', 'ingress', name!, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: '10.99.0.1' }] } } })]);
          }
        }
        await sleep(2000);
      }
    })();
    const started = Date.now();
    const up = await pulumi(['up', '--yes', '--skip-preview']);
    upDone = true;
    await Promise.all([platform, ingressController]);
    if (up.code !== 0) throw new Error(`${up.stdout}\n${up.stderr}\n${await node.diagnose(namespaces)}`);
    process.stdout.write(`[node] pulumi up with await: ${((Date.now() - started) / 1000).toFixed(0)} s\n${up.stdout.split('\n').filter((l) => /Resources:|\+ \d+ created|warning/i.test(l)).join('\n')}\n`);
    expect(up.stdout).not.toMatch(/skipAwait/);

    // What the engine waited for is what runs: every workload's pods Ready.
    for (const o of objs.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
      // An HPA may raise replicas to its minimum after the engine's await (go-api: 1 -> 3): wait until that is in the spec and Ready.
      const w = await settledWorkload(node, o, objs);
      expect([o.metadata.namespace, o.metadata.name, w.status.readyReplicas]).toEqual([o.metadata.namespace, o.metadata.name, w.spec.replicas]);
      expect(w.spec.replicas ?? 1).toBeGreaterThanOrEqual(autoscalerMinimum(o, objs));
      expect(w.metadata.annotations?.['pulumi.com/skipAwait']).toBeUndefined();
      expect(podSpecOf(w)!.containers[0]!.image).toMatch(/^registry\.example\.com\/.*@sha256:[0-9a-f]{64}$/);
    }
  }, 1_200_000);

  it('pulumi destroy leaves nothing: the namespaces and everything in them are gone', async () => {
    const destroy = await pulumi(['destroy', '--yes', '--skip-preview']);
    expect(destroy.code, destroy.stdout + destroy.stderr).toBe(0);
    const exported = JSON.parse((await pulumi(['stack', 'export'], 60_000)).stdout) as { deployment: { resources?: { type: string }[] } };
    expect((exported.deployment.resources ?? []).filter((r) => r.type.startsWith('kubernetes:') || r.type.startsWith('cleanimg:'))).toEqual([]);
    const deadline = Date.now() + 180_000;
    let left = '';
    do {
      left = (await node.kubectl(['get', 'namespaces', ...namespaces, '--ignore-not-found', '-o', 'name'])).stdout.trim();
      if (left) await sleep(2000);
    } while (left && Date.now() < deadline);
    expect(left, 'example namespaces still there (Terminating?)').toBe('');
    const pods = await node.kubectlOk(['get', 'pods', '-A', '-o', 'name']);
    expect(pods.trim()).toBe('');
  }, 600_000);
});
