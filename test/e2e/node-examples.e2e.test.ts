// Every example runs on a real node: `cdk8s synth` writes the examples (with stand-in images that
// listen where the examples' probes look, built by cleanimg-customize on the embedded base), one
// `kubectl apply -f` puts them on an empty cluster, and every Deployment and StatefulSet must become
// Ready on a real kubelet, the backup CronJob's Job must complete, and every running container must
// report from inside that the hardening holds (uid 65532, read-only root, no capabilities,
// no_new_privs, seccomp, no service-account token).
//
// What the cluster's platform team provides is made first, as it would be: the Secrets the examples
// mount by reference (EnvConfig never writes secret values) and PersistentVolumes for their claims.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProbeImage, embeddedBaseLayout, type BuiltImage } from './support/node-images';
import { nodeUnavailable, startNode, type KubeNode } from './support/node';
import { inCI, recordSkip, run, runOk, skipWithout } from './support/tools';

const ROOT = resolve(__dirname, '../..');
const NODE_TOOLS = ['kube-apiserver', 'kubelet', 'kube-scheduler', 'kube-controller-manager', 'kubectl', 'crane', 'distribution-registry', 'cleanimg-probe'];

function shouldSkip(): boolean {
  if (skipWithout(NODE_TOOLS)) return true;
  const why = nodeUnavailable();
  if (why && !inCI()) {
    process.stderr.write(`[e2e] skipping the real node: ${why}\n`);
    recordSkip(why);
    return true;
  }
  return false;
}

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: Record<string, unknown> };
type PodSpec = { volumes?: Array<{ secret?: { secretName: string; items?: Array<{ key: string }> } }>; containers: Array<{ name: string; ports?: Array<{ containerPort: number; name?: string }>; readinessProbe?: { httpGet?: { scheme?: string } } }> };

function readManifests(dir: string): Obj[] {
  const objs: Obj[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const o = d.toJSON() as Obj | null;
      if (o) objs.push(o);
    }
  }
  return objs;
}

function podSpecOf(o: Obj): PodSpec | undefined {
  const spec = o.spec as Record<string, any> | undefined;
  if (o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'Job') return spec?.template?.spec;
  if (o.kind === 'CronJob') return spec?.jobTemplate?.spec?.template?.spec;
  return undefined;
}

describe.skipIf(shouldSkip())('every example runs on a real node', () => {
  let node: KubeNode;
  let work: string;
  let out: string;
  let objs: Obj[];
  const namespaces = new Set<string>();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-node-examples-'));
    node = await startNode();
    const base = await embeddedBaseLayout(work);
    // One stand-in per example repository: where its probes look, with the files its args name.
    const pgConf = join(ROOT, 'examples/postgres/image/config/custom.conf');
    const images: Record<string, BuiltImage> = {};
    const standins = [
      { repository: 'nginx', config: { listen: [{ port: 8080 }, { port: 8443, tls: true }] } },
      { repository: 'python-app', config: { listen: [{ port: 8000 }] } },
      { repository: 'go-api', config: { listen: [{ port: 8080 }] } },
      { repository: 'pg-backup', config: { job: true }, binaryPath: '/usr/local/bin/pg-backup' },
      {
        repository: 'postgres', config: { listen: [{ port: 5432 }] }, files: { 'custom.conf': pgConf },
        extra: { copy_files: [{ source: 'custom.conf', destination: '/etc/postgresql/custom.conf', mode: '0640', owner: '0:65532' }] },
      },
    ];
    for (const s of standins) images[s.repository] = await buildProbeImage(node, work, base, s);
    // The custom PostgreSQL image: the example's own layer (config, CA) on a stand-in base.
    const pgBaseLayout = join(work, 'postgres-base-layout');
    const pgBase = await buildProbeImage(node, work, base, { repository: 'postgres-base', config: { listen: [{ port: 5432 }] }, layout: pgBaseLayout });
    const overrides = Object.fromEntries(Object.entries(images).map(([k, v]) => [k, v.example]));
    writeFileSync(join(work, 'images.json'), JSON.stringify({ ...overrides, 'postgres-custom-base': { ref: `registry.example.com/postgres-base:e2e@${pgBase.digest}`, layout: pgBaseLayout } }));

    out = join(work, 'dist');
    const synth = await run('npx', ['cdk8s', 'synth', '--output', out], {
      cwd: ROOT,
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
    const push = await node.inNode('node', [join(ROOT, 'lib/cli/main.js'), 'push', '--layout', `${join(imagesDir, layoutName)}:15-custom`, '--tag', '127.0.0.1:5000/db/postgres:15-custom', '--expect-digest', digest]);
    if (push.code !== 0) throw new Error(`cleanimg-customize push: ${push.stdout}\n${push.stderr}`);

    await providePlatform(node, work, objs);
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
      const r = await node.kubectl(['-n', w.metadata.namespace!, 'rollout', 'status', `${w.kind.toLowerCase()}/${w.metadata.name}`, '--timeout=240s'], { timeoutMs: 260_000 });
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

/** The Secrets the examples mount by reference, and a PersistentVolume for every claim. */
async function providePlatform(node: KubeNode, work: string, objs: Obj[]): Promise<void> {
  const nsDocs = objs.filter((o) => o.kind === 'Namespace');
  writeFileSync(join(work, 'namespaces.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nsDocs }));
  await node.kubectlOk(['apply', '-f', join(work, 'namespaces.json')]);
  await runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=nginx.example', '-keyout', join(work, 'tls.key'), '-out', join(work, 'tls.crt')]);
  const secrets = new Map<string, { ns: string; name: string; keys: Set<string> }>();
  for (const o of objs) {
    for (const v of podSpecOf(o)?.volumes ?? []) {
      if (!v.secret) continue;
      const id = `${o.metadata.namespace}/${v.secret.secretName}`;
      const s = secrets.get(id) ?? { ns: o.metadata.namespace!, name: v.secret.secretName, keys: new Set<string>() };
      for (const i of v.secret.items ?? []) s.keys.add(i.key);
      secrets.set(id, s);
    }
  }
  for (const s of secrets.values()) {
    const args = s.keys.has('tls.crt')
      ? ['-n', s.ns, 'create', 'secret', 'tls', s.name, `--cert=${join(work, 'tls.crt')}`, `--key=${join(work, 'tls.key')}`]
      : ['-n', s.ns, 'create', 'secret', 'generic', s.name, ...[...s.keys].map((k) => `--from-literal=${k}=e2e-${k}-value`)];
    await node.kubectlOk(args);
  }
  const claims: Array<{ ns: string; name: string; spec: { accessModes: string[]; resources: { requests: { storage: string } }; storageClassName?: string } }> = [];
  for (const o of objs) {
    if (o.kind === 'PersistentVolumeClaim') claims.push({ ns: o.metadata.namespace!, name: o.metadata.name, spec: o.spec as never });
    if (o.kind === 'StatefulSet') {
      const spec = o.spec as { replicas?: number; volumeClaimTemplates?: Array<{ metadata: { name: string }; spec: never }> };
      for (const t of spec.volumeClaimTemplates ?? []) {
        for (let i = 0; i < (spec.replicas ?? 1); i++) claims.push({ ns: o.metadata.namespace!, name: `${t.metadata.name}-${o.metadata.name}-${i}`, spec: t.spec });
      }
    }
  }
  const pvs = claims.map((c, i) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `e2e-pv-${i}` },
    spec: {
      capacity: { storage: c.spec.resources.requests.storage },
      accessModes: c.spec.accessModes,
      storageClassName: c.spec.storageClassName ?? '',
      persistentVolumeReclaimPolicy: 'Delete',
      claimRef: { namespace: c.ns, name: c.name },
      hostPath: { path: `/var/lib/e2e-pv/${i}`, type: 'Directory' },
    },
  }));
  for (let i = 0; i < pvs.length; i++) {
    // In the node's mount namespace (a tmpfs), writable by the pods' non-root user.
    await runOk('nsenter', ['-t', String(node.pid), '--mount', '--', 'install', '-d', '-m', '0777', `/var/lib/e2e-pv/${i}`]);
  }
  writeFileSync(join(work, 'pvs.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pvs }));
  await node.kubectlOk(['apply', '-f', join(work, 'pvs.json')]);
}
