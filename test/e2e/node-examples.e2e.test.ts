// Every example runs on a real node: `cdk8s synth` writes the examples (with stand-in images that
// listen where the examples' probes look, built by cleanimg-customize on the embedded base), one
// `kubectl apply -f` puts them on an empty cluster, and every Deployment and StatefulSet must become
// Ready on a real kubelet, the backup CronJob's Job must complete, and every running container must
// report from inside that the hardening holds (uid 65532, read-only root, no capabilities,
// no_new_privs, seccomp, no service-account token).
//
// What the cluster's platform team provides is made first, as it would be: the Secrets the examples
// mount by reference (EnvConfig never writes secret values) and PersistentVolumes for their claims.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadObjects } from './support/k8s';
import { embeddedBaseLayout } from './support/node-images';
import { buildExampleStandins, podSpecOf, providePersistentVolumes, provideSecrets, type Obj } from './support/node-examples';
import { skipWithoutNode, startNode, type KubeNode } from './support/node';
import { REPO } from './support/pulumi';
import { run } from './support/tools';



type PodSpec = { volumes?: Array<{ secret?: { secretName: string; items?: Array<{ key: string }> } }>; containers: Array<{ name: string; ports?: Array<{ containerPort: number; name?: string }>; readinessProbe?: { httpGet?: { scheme?: string } } }> };

function readManifests(dir: string): Obj[] {
  return readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort().flatMap((f) => loadObjects(join(dir, f)) as Obj[]);
}

describe.skipIf(skipWithoutNode())('every example runs on a real node', () => {
  let node: KubeNode;
  let work: string;
  let out: string;
  let objs: Obj[];
  const namespaces = new Set<string>();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-node-examples-'));
    node = await startNode();
    const base = await embeddedBaseLayout(work);
    writeFileSync(join(work, 'images.json'), JSON.stringify(await buildExampleStandins(node, work, base)));

    out = join(work, 'dist');
    const synth = await run('npx', ['cdk8s', 'synth', '--output', out], {
      cwd: REPO,
      env: { ...process.env, CLEANIMG_EXAMPLE_IMAGES: join(work, 'images.json'), CDK8S_CHECK_UPGRADE: 'false' },
      timeoutMs: 300_000,
    });
    if (synth.code !== 0) throw new Error(`cdk8s synth: ${synth.stdout}\n${synth.stderr}`);
    objs = readManifests(out);
    for (const o of objs) if (o.metadata.namespace) namespaces.add(o.metadata.namespace);

    // Publish the custom image exactly as synth pinned it (the chart's documented pipeline step).
    const sts = objs.find((o) => o.kind === 'StatefulSet' && o.metadata.namespace === 'databases-custom');
    const pinned = (podSpecOf(sts!)!.containers[0] as unknown as { image: string }).image;
    const digest = pinned.split('@')[1]!;
    const imagesDir = join(out, 'images');
    const layoutName = readdirSync(imagesDir).find((n) => n.startsWith('postgres-custom-image'))!;
    const push = await node.inNode('node', [join(REPO, 'lib/cli/bin.js'), 'push', '--layout', `${join(imagesDir, layoutName)}:15-custom`, '--tag', '127.0.0.1:5000/db/postgres:15-custom', '--expect-digest', digest]);
    if (push.code !== 0) throw new Error(`cleanimg-customize push: ${push.stdout}\n${push.stderr}`);

    await provideSecrets(node, work, objs);
    await providePersistentVolumes(node, work, objs);
  }, 900_000);

  afterAll(async () => {
    await node?.stop();
    if (work && process.env.E2E_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  });

  it('applies in one go, with no Pod Security warning', async () => {
    const r = await node.kubectl(['apply', '-f', out], { timeoutMs: 180_000 });
    expect(r.stderr, r.stderr).not.toMatch(/PodSecurity|would violate|denied|error/i);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }, 240_000);

  it('every Deployment and StatefulSet becomes Ready', async () => {
    const workloads = objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
    expect(workloads.length).toBeGreaterThanOrEqual(7);
    const failures: string[] = [];
    for (const w of workloads) {
      const r = await node.kubectl(['-n', w.metadata.namespace!, 'rollout', 'status', `${w.kind!.toLowerCase()}/${w.metadata.name}`, '--timeout=240s'], { timeoutMs: 260_000 });
      if (r.code !== 0) failures.push(`${w.kind} ${w.metadata.namespace}/${w.metadata.name}: ${r.stdout}${r.stderr}`);
      else process.stdout.write(`[node] Ready: ${w.kind} ${w.metadata.namespace}/${w.metadata.name}\n`);
    }
    if (failures.length > 0) throw new Error(`${failures.join('\n')}\n${await node.diagnose([...namespaces])}`);
  }, 900_000);

  it("the backup CronJob's Job completes, writing its dump to its claim", async () => {
    const cron = objs.find((o) => o.kind === 'CronJob')!;
    const ns = cron.metadata.namespace!;
    await node.kubectlOk(['-n', ns, 'create', 'job', '--from', `cronjob/${cron.metadata.name}`, 'backup-now']);
    const r = await node.kubectl(['-n', ns, 'wait', '--for=condition=complete', 'job/backup-now', '--timeout=180s'], { timeoutMs: 200_000 });
    if (r.code !== 0) throw new Error(`${r.stdout}${r.stderr}\n${await node.diagnose([ns])}`);
    // The stand-in writes --out=/backups/nightly.dump as uid 65532: it must be on the claim's volume.
    const volumes = (podSpecOf(cron)?.volumes ?? []) as Array<{ persistentVolumeClaim?: { claimName: string } }>;
    const claim = volumes.find((v) => v.persistentVolumeClaim)!.persistentVolumeClaim!.claimName;
    const pvs = JSON.parse(await node.kubectlOk(['get', 'pv', '-o', 'json'])) as { items: Array<{ spec: { claimRef?: { name: string }; hostPath: { path: string } } }> };
    const pv = pvs.items.find((p) => p.spec.claimRef?.name === claim)!;
    const dump = await run('nsenter', ['-t', String(node.pid), '--mount', '--', 'cat', join(pv.spec.hostPath.path, 'nightly.dump')]);
    expect(dump.stdout).toContain('cleanimg-probe job output, uid 65532');
    process.stdout.write(`[node] Complete: Job ${ns}/backup-now (from CronJob ${cron.metadata.name}), dump on claim ${claim}\n`);
  }, 240_000);

  it('every running container reports the hardening from inside', async () => {
    const reports: string[] = [];
    for (const ns of namespaces) {
      const pods = JSON.parse(await node.kubectlOk(['-n', ns, 'get', 'pods', '--field-selector=status.phase=Running', '-o', 'json'])) as { items: Array<{ metadata: { name: string }; spec: PodSpec }> };
      for (const p of pods.items) {
        const c = p.spec.containers[0]!;
        const port = c.ports?.[0]?.containerPort;
        if (!port) continue;
        const scheme = c.readinessProbe?.httpGet?.scheme === 'HTTPS' ? 'https:' : '';
        const raw = await node.kubectlOk(['get', '--raw', `/api/v1/namespaces/${ns}/pods/${scheme}${p.metadata.name}:${port}/proxy/report`]);
        const rep = JSON.parse(raw) as { uid: number; gid: number; rootWriteError: string; status: Record<string, string>; tokenPresent: boolean; groups: number[] };
        expect({ pod: `${ns}/${p.metadata.name}`, uid: rep.uid, gid: rep.gid, root: rep.rootWriteError, capEff: rep.status.CapEff, capBnd: rep.status.CapBnd, noNewPrivs: rep.status.NoNewPrivs, seccomp: rep.status.Seccomp, token: rep.tokenPresent })
          .toEqual({ pod: `${ns}/${p.metadata.name}`, uid: 65532, gid: 65532, root: 'EROFS', capEff: '0000000000000000', capBnd: '0000000000000000', noNewPrivs: '1', seccomp: '2', token: false });
        expect(rep.groups.every((g) => g >= 10000)).toBe(true);
        reports.push(`${ns}/${p.metadata.name}`);
      }
    }
    process.stdout.write(`[node] hardening reported from inside ${reports.length} containers: ${reports.join(', ')}\n`);
    expect(reports.length).toBeGreaterThanOrEqual(12);
  }, 300_000);
});
