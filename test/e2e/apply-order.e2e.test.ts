// `npx cdk8s synth` then `kubectl apply -f dist/` in one go on an EMPTY cluster (its own API server,
// so nothing another test made can help): every object the examples write must be accepted in the
// order the files hold them (Namespace and its guards first, workloads after their ServiceAccounts,
// claims and Services), as a user's first apply would be. Then every object is there, once.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ApiObject, App, Chart } from 'cdk8s';
import { HardenedApp, HardenedDeployment, HardenedNamespace } from '../../src/cdk8s';
import { IMAGE } from '../support/fixtures';
import { startCluster, type Cluster } from './support/cluster';
import { CLUSTER_TOOLS } from './support/global-setup';
import { run, skipWithout } from './support/tools';

const ROOT = join(__dirname, '..', '..');

describe.skipIf(skipWithout(CLUSTER_TOOLS))('kubectl apply -f dist/ as cdk8s synth wrote it, in one go, on an empty cluster', () => {
  let cluster: Cluster;
  let out: string;
  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-dist-'));
    const synth = await run('npx', ['cdk8s', 'synth', '--output', out], { cwd: ROOT, env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' }, timeoutMs: 300_000 });
    if (synth.code !== 0) throw new Error(`cdk8s synth failed: ${synth.stderr}`);
    cluster = await startCluster();
  }, 360_000);
  afterAll(async () => {
    await cluster?.stop();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('accepts every file, creates every object, and leaves nothing to a second pass', async () => {
    const applied = await cluster.kubectl(['apply', '-f', out]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const written = readdirSync(out).filter((f) => f.endsWith('.k8s.yaml')).flatMap((f) => parseAllDocuments(readFileSync(join(out, f), 'utf8')).map((d) => d.toJS()));
    expect(written.length).toBeGreaterThan(50);
    const lines = applied.stdout.trim().split('\n');
    expect(lines.filter((l) => / created$/.test(l))).toHaveLength(written.length);
    for (const o of written) {
      const got = await cluster.kubectl(['get', o.kind, o.metadata.name, ...(o.metadata.namespace ? ['-n', o.metadata.namespace] : []), '-o', 'name']);
      expect([o.kind, o.metadata.name, got.code]).toEqual([o.kind, o.metadata.name, 0]);
    }
    // Nothing left to a second pass: the server holds exactly what the files say (kubectl diff is
    // empty and exits 0; a second client-side apply may still print "configured" for fields the
    // server normalises, such as a Role's empty `rules: []`, while changing nothing).
    const diff = await cluster.kubectl(['diff', '-f', out]);
    expect([diff.code, diff.stdout, diff.stderr]).toEqual([0, '', '']);
  }, 300_000);

  it('a claim written by hand before the HardenedNamespace: HardenedApp puts it after the Namespace; a plain App does not, and the apply fails', async () => {
    const build = (app: App, ns: string) => {
      const chart = new Chart(app, ns, { namespace: ns });
      new ApiObject(chart, 'data', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
      const web = new HardenedDeployment(chart, 'web', { name: 'web', containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 8080 }], writablePaths: [{ path: '/data', claimName: 'data' }] }], replicas: 1 });
      new HardenedNamespace(chart, 'ns', { workloads: [web] });
    };
    const hardened = new HardenedApp({ outdir: mkdtempSync(join(tmpdir(), 'cleanimg-order-hardened-')) });
    build(hardened, 'order-hardened');
    hardened.synth();
    const plain = new App({ outdir: mkdtempSync(join(tmpdir(), 'cleanimg-order-plain-')) });
    build(plain, 'order-plain');
    plain.synth();
    try {
      const ok = await cluster.kubectl(['apply', '-f', hardened.outdir]);
      expect([ok.code, ok.stderr]).toEqual([0, '']);
      const control = await cluster.kubectl(['apply', '-f', plain.outdir]);
      expect(control.code).not.toBe(0);
      expect(control.stderr).toMatch(/namespaces? "order-plain" not found/);
    } finally {
      for (const d of [hardened.outdir, plain.outdir]) rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);
});
