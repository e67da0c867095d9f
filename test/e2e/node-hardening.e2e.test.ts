// The hardening, proven from inside a running container on a real node. The test app
// (cleanimg-probe) is added to the embedded shell-less base with `cleanimg-customize build --push`,
// and that exact image runs (the pod names its command; nothing else changes the image). A
// HardenedDeployment with an EnvConfig (config files and a Secret by reference) runs it; the app
// reports what it sees, and the test asserts it:
// - uid/gid 65532, EROFS on `/`, CapEff 0, NoNewPrivs 1, Seccomp 2, no service-account token,
//   the config files and the secret readable and not writable, /tmp writable;
// - filling /tmp past its sizeLimit gets the pod evicted by the kubelet, and a new one takes its place;
// - a CA added with `trust_ca` is trusted by a real TLS client (Go's crypto/tls with the system
//   roots) against a server on the node; without the CA the handshake fails; copied only (the
//   guide's way) Go still trusts it, OpenSSL's lookup in the image's trust store does not;
// - changing EnvConfig data gives a new ConfigMap name, a rollout, and new pods reading the new
//   config, while the old ConfigMap stays for a rollback;
// - admission on the live cluster: a raw insecure Pod, and the pods of a raw insecure Deployment,
//   are refused by Pod Security and by the namespace's ValidatingAdmissionPolicy, rule id included.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chart, Testing } from 'cdk8s';
import type { Construct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvConfig, HardenedDeployment, HardenedNamespace } from '../../src/cdk8s';
import { toYaml } from './support/k8s';
import { buildProbeImage, embeddedBaseLayout, PROBE_PATH, type BuiltImage } from './support/node-images';
import { skipWithoutNode, startNode, type KubeNode } from './support/node';
import { startServer, type Server } from './support/process';
import { run, runOk, sleep, tool } from './support/tools';

const NS = 'probe';
const GATEWAY = '10.88.0.1'; // the CNI bridge: the node, as pods see it
const TLS_PORT = 9443;


interface ProbeReport {
  uid: number;
  gid: number;
  groups: number[];
  rootWriteError: string;
  tmpWriteError: string;
  status: Record<string, string>;
  tokenPresent: boolean;
  paths: Array<{ path: string; readable: boolean; writeError: string; files: number }>;
  env: Record<string, string>;
}

/** The test app's workloads: one Deployment per image variant, config and secret from one EnvConfig. */
class ProbeChart extends Chart {
  constructor(scope: Construct, id: string, images: Record<string, string>, settings: string) {
    super(scope, id, { namespace: NS });
    const ns = new HardenedNamespace(this, 'namespace', { name: NS, allowedRegistries: ['registry.example.com'] });
    const config = new EnvConfig(this, 'config', {
      name: 'probe',
      namespace: NS,
      data: { 'settings.yaml': settings },
      mountPath: '/etc/probe',
      secrets: [{ secretName: 'probe-secret', mountPath: '/var/run/secrets/probe', keys: ['token'] }],
    });
    config.node.addDependency(ns);
    for (const [name, image] of Object.entries(images)) {
      const d = new HardenedDeployment(this, name, {
        name,
        namespace: NS,
        replicas: 1,
        containers: [{
          name: 'probe',
          image: image as never,
          command: [PROBE_PATH],
          ports: [{ containerPort: 8080, name: 'http' }],
          writablePaths: [{ path: '/tmp', sizeLimit: '16Mi' }],
          probes: { readiness: { http: { path: '/healthz', port: 'http' } }, liveness: { http: { path: '/healthz', port: 'http' } } },
          config: [config],
        }],
      });
      // The namespace denies egress by default (enforced on this node): the TLS server on the node is allowed.
      ns.addDeployment(d, { egressTo: [{ to: [{ cidr: `${GATEWAY}/32` }], ports: [{ port: TLS_PORT }] }] });
    }
  }
}

describe.skipIf(skipWithoutNode())('the hardening holds inside a running container (real node)', () => {
  let node: KubeNode;
  let work: string;
  let tlsServer: Server | undefined;
  const images: Record<string, BuiltImage> = {};
  let chartImages: Record<string, string>;

  const report = async (deployment: string, paths: string[] = []): Promise<ProbeReport> =>
    JSON.parse(await proxy(deployment, `/report?paths=${paths.join(',')}`)) as ProbeReport;
  const proxy = async (deployment: string, path: string): Promise<string> => {
    const pod = await readyPod(deployment);
    return node.kubectlOk(['get', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}:8080/proxy${path}`]);
  };
  const readyPod = async (deployment: string): Promise<string> => {
    const out = await node.kubectlOk(['-n', NS, 'get', 'pods', '-l', `app.kubernetes.io/name=${deployment}`, '-o', 'json']);
    const pods = (JSON.parse(out) as { items: Array<{ metadata: { name: string; deletionTimestamp?: string }; status: { conditions?: Array<{ type: string; status: string }> } }> }).items;
    const ready = pods.find((p) => !p.metadata.deletionTimestamp && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    if (!ready) throw new Error(`no Ready pod of ${deployment}\n${await node.diagnose([NS])}`);
    return ready.metadata.name;
  };
  const apply = async (settings: string) => {
    const app = Testing.app();
    const objs = Testing.synth(new ProbeChart(app, 'probe', chartImages, settings));
    const file = join(work, `probe-${Date.now()}.yaml`);
    writeFileSync(file, toYaml(objs));
    const r = await node.kubectl(['apply', '-f', file]);
    if (r.code !== 0 || /PodSecurity|would violate/.test(r.stderr)) throw new Error(`apply: ${r.stdout}\n${r.stderr}`);
    for (const name of Object.keys(chartImages)) {
      const s = await node.kubectl(['-n', NS, 'rollout', 'status', `deployment/${name}`, '--timeout=180s'], { timeoutMs: 200_000 });
      if (s.code !== 0) throw new Error(`${s.stdout}${s.stderr}\n${await node.diagnose([NS])}`);
    }
    return objs;
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-node-hardening-'));
    node = await startNode();
    // A test CA and a server certificate for the node's address on the bridge.
    const pki = join(work, 'pki');
    mkdirSync(pki);
    await runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=cleanimg e2e test CA', '-keyout', join(pki, 'ca.key'), '-out', join(pki, 'ca.crt')]);
    await runOk('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=node.e2e', '-keyout', join(pki, 'server.key'), '-out', join(pki, 'server.csr')]);
    writeFileSync(join(pki, 'ext.cnf'), `subjectAltName=IP:${GATEWAY}\n`);
    await runOk('openssl', ['x509', '-req', '-in', join(pki, 'server.csr'), '-CA', join(pki, 'ca.crt'), '-CAkey', join(pki, 'ca.key'), '-CAcreateserial', '-days', '1', '-extfile', join(pki, 'ext.cnf'), '-out', join(pki, 'server.crt')]);
    tlsServer = startServer('tls-server', tool('nsenter'), ['-t', String(node.pid), '--net', '--', 'openssl', 's_server', '-accept', String(TLS_PORT), '-cert', join(pki, 'server.crt'), '-key', join(pki, 'server.key'), '-www', '-quiet'], join(work, 'tls-server.log'));

    const base = await embeddedBaseLayout(work);
    const ca = { 'corporate-ca.crt': join(pki, 'ca.crt') };
    // The pod names the command: the image that runs is exactly the one cleanimg-customize pushed.
    images.trusted = await buildProbeImage(node, work, base, { repository: 'probe-trusted', entrypoint: false, files: ca, extra: { trust_ca: ['corporate-ca.crt'], trust_env: true } });
    images.copied = await buildProbeImage(node, work, base, {
      repository: 'probe-copied', entrypoint: false, files: ca,
      extra: { copy_files: [{ source: 'corporate-ca.crt', destination: '/etc/ssl/certs/corporate-ca.crt', mode: '0644' }] },
    });
    images.plain = await buildProbeImage(node, work, base, { repository: 'probe-plain', entrypoint: false });
    chartImages = { trusted: images.trusted!.example, copied: images.copied!.example, plain: images.plain!.example };
    await node.kubectlOk(['create', 'namespace', NS]);
    await node.kubectlOk(['-n', NS, 'create', 'secret', 'generic', 'probe-secret', '--from-literal=token=s3cr3t-e2e']);
    await apply('greeting: hello\n');
  }, 600_000);

  afterAll(async () => {
    await tlsServer?.stop();
    await node?.stop();
    if (work && process.env.E2E_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  });

  it('runs as 65532 with a read-only root, no capabilities, no_new_privs, seccomp and no token', async () => {
    const r = await report('trusted');
    process.stdout.write(`[node] from inside the container: ${JSON.stringify(r)}\n`);
    expect({ uid: r.uid, gid: r.gid, root: r.rootWriteError, tmp: r.tmpWriteError, token: r.tokenPresent }).toEqual({ uid: 65532, gid: 65532, root: 'EROFS', tmp: '', token: false });
    expect(r.status).toMatchObject({ CapEff: '0000000000000000', CapPrm: '0000000000000000', CapBnd: '0000000000000000', CapAmb: '0000000000000000', NoNewPrivs: '1', Seccomp: '2' });
    expect(r.groups.every((g) => g >= 10000)).toBe(true);
  });

  it('reads its config files and its secret, and cannot write to either', async () => {
    const r = await report('trusted', ['/etc/probe', '/etc/probe/settings.yaml', '/var/run/secrets/probe', '/var/run/secrets/probe/token']);
    const byPath = Object.fromEntries(r.paths.map((p) => [p.path, p]));
    expect(byPath['/etc/probe/settings.yaml']).toMatchObject({ readable: true });
    expect(byPath['/var/run/secrets/probe/token']).toMatchObject({ readable: true });
    for (const p of r.paths) expect(['EROFS', 'EACCES'], `${p.path}: ${p.writeError}`).toContain(p.writeError);
    expect(byPath['/etc/probe']!.files).toBe(1);
    expect(await proxy('trusted', '/read?path=/var/run/secrets/probe/token')).toBe('s3cr3t-e2e');
    expect(await proxy('trusted', '/read?path=/etc/probe/settings.yaml')).toBe('greeting: hello\n');
  });

  it('trusts the CA added with trust_ca in a real TLS handshake; fails without it', async () => {
    const dial = async (d: string) => JSON.parse(await proxy(d, `/tls?addr=${GATEWAY}:${TLS_PORT}`)) as { ok: boolean; error?: string };
    const trusted = await dial('trusted');
    const plain = await dial('plain');
    const copied = await dial('copied');
    process.stdout.write(`[node] TLS from the pod to ${GATEWAY}:${TLS_PORT}: trust_ca ${JSON.stringify(trusted)}; no CA ${JSON.stringify(plain)}; copied only ${JSON.stringify(copied)}\n`);
    expect(trusted).toMatchObject({ ok: true, peer: 'CN=node.e2e' });
    expect(plain.ok).toBe(false);
    expect(plain.error).toMatch(/unknown authority/);
    // Go reads every file in /etc/ssl/certs, so a copied CA works for Go programs...
    expect(copied.ok).toBe(true);
  });

  it("...but OpenSSL's lookup in the image's trust store finds the CA only when trust_ca added it", async () => {
    const verdicts: Record<string, number | null> = {};
    for (const variant of ['trusted', 'copied'] as const) {
      const root = join(work, `rootfs-${variant}`);
      mkdirSync(root);
      const exported = join(work, `${variant}.tar`);
      const e = await node.inNode(tool('crane'), ['export', '--insecure', images[variant]!.local, exported]);
      expect(e.code, e.stderr).toBe(0);
      await runOk('tar', ['-C', root, '-xf', exported, 'etc/ssl']);
      // As OpenSSL in the image would look: its CA file (SSL_CERT_FILE, which trust_env sets), and
      // hashed names in the certificate folder.
      const args = ['verify', '-no-CAfile', '-CApath', join(root, 'etc/ssl/certs')];
      const bundle = join(root, 'etc/ssl/certs/ca-certificates.crt');
      if (readdirSync(join(root, 'etc/ssl/certs')).includes('ca-certificates.crt') && variant === 'trusted') args.push('-CAfile', bundle);
      verdicts[variant] = (await run('openssl', [...args, join(work, 'pki/server.crt')])).code;
    }
    expect(verdicts).toEqual({ trusted: 0, copied: 2 });
  });

  it('filling /tmp past its sizeLimit gets the pod evicted, and a new pod takes its place', async () => {
    const before = await readyPod('plain');
    const fill = JSON.parse(await proxy('plain', '/fill?mib=40')) as { writtenMiB: number; error?: string };
    expect(fill.writtenMiB).toBe(40); // an emptyDir on disk: the limit is enforced by eviction, not by ENOSPC
    const deadline = Date.now() + 180_000;
    let evicted: { reason?: string; message?: string } | undefined;
    while (Date.now() < deadline) {
      const r = await node.kubectl(['-n', NS, 'get', 'pod', before, '-o', 'jsonpath={.status.reason}|{.status.message}']);
      if (r.code !== 0) break; // already gone
      const [reason, message] = r.stdout.split('|');
      if (reason === 'Evicted') {
        evicted = { reason, message };
        break;
      }
      await sleep(2000);
    }
    if (!evicted) throw new Error(`pod ${before} was not evicted\n${await node.diagnose([NS])}`);
    process.stdout.write(`[node] evicted: ${evicted.message}\n`);
    expect(evicted.message).toMatch(/tmp|emptyDir|ephemeral|exceeds/i);
    const s = await node.kubectl(['-n', NS, 'rollout', 'status', 'deployment/plain', '--timeout=120s'], { timeoutMs: 140_000 });
    expect(s.code, s.stderr).toBe(0);
    expect(await readyPod('plain')).not.toBe(before);
  }, 300_000);

  it('new EnvConfig data: a new ConfigMap name, a rollout, new pods read it; the old ConfigMap stays', async () => {
    const configMaps = async () => (await node.kubectlOk(['-n', NS, 'get', 'configmaps', '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ').filter((n) => n.startsWith('probe'));
    const before = await configMaps();
    const podBefore = await readyPod('trusted');
    await apply('greeting: bonjour\n');
    const after = await configMaps();
    expect(after.length).toBe(before.length + 1);
    for (const n of before) expect(after).toContain(n);
    expect(await readyPod('trusted')).not.toBe(podBefore);
    expect(await proxy('trusted', '/read?path=/etc/probe/settings.yaml')).toBe('greeting: bonjour\n');
  }, 300_000);

  it('admission on the live cluster refuses a raw insecure Pod, with the rule id', async () => {
    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'raw-insecure', namespace: NS },
      spec: { containers: [{ name: 'c', image: images.plain!.example, command: [PROBE_PATH], securityContext: { privileged: true } }] },
    };
    const file = join(work, 'raw-pod.json');
    writeFileSync(file, JSON.stringify(pod));
    const r = await node.kubectl(['create', '-f', file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/violates PodSecurity "restricted:v1\.\d+": privileged/); // the namespace's pinned level
    // Pod Security answers first; with Pod Security satisfied, the namespace's policy refuses what
    // it adds (here an image from a registry the namespace does not allow).
    const compliant = JSON.parse(await node.kubectlOk(['-n', NS, 'get', 'deployment', 'plain', '-o', 'json'])).spec.template.spec;
    compliant.containers[0].image = images.plain!.local; // 127.0.0.1:5000, not registry.example.com
    writeFileSync(file, JSON.stringify({ ...pod, spec: compliant }));
    const v = await node.kubectl(['create', '-f', file]);
    expect(v.code).not.toBe(0);
    expect(v.stderr).toMatch(/ValidatingAdmissionPolicy.*denied request: NS001 .*allowed registry/s);
    process.stdout.write(`[node] refused: ${r.stderr.trim()}\n[node] refused: ${v.stderr.trim()}\n`);
  });

  it('a raw insecure Deployment: refused by the namespace policy; in a namespace without it, Pod Security refuses its pods', async () => {
    const deployment = (namespace: string) => ({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'raw-insecure', namespace },
      spec: {
        replicas: 1, selector: { matchLabels: { app: 'raw-insecure' } },
        template: { metadata: { labels: { app: 'raw-insecure' } }, spec: { containers: [{ name: 'c', image: images.plain!.example, command: [PROBE_PATH], securityContext: { runAsUser: 0 } }] } },
      },
    });
    const file = join(work, 'raw-deployment.json');
    writeFileSync(file, JSON.stringify(deployment(NS)));
    const refused = await node.kubectl(['create', '-f', file]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/ValidatingAdmissionPolicy.*denied request: HD\d{3}/s);
    process.stdout.write(`[node] refused: ${refused.stderr.trim()}\n`);

    // A namespace that is not a HardenedNamespace still has the cluster-wide Pod Security level:
    // the Deployment is stored (Pod Security only warns for it), its pods are not.
    await node.kubectlOk(['create', 'namespace', 'unguarded']);
    writeFileSync(file, JSON.stringify(deployment('unguarded')));
    const stored = await node.kubectl(['create', '-f', file]);
    expect(stored.code, stored.stderr).toBe(0);
    expect(stored.stderr).toMatch(/would violate PodSecurity/);
    let message = '';
    for (let i = 0; i < 60 && !message; i++) {
      const ev = await node.kubectl(['-n', 'unguarded', 'get', 'events', '--field-selector=reason=FailedCreate', '-o', 'jsonpath={.items[*].message}']);
      message = ev.stdout;
      if (!message) await sleep(1000);
    }
    process.stdout.write(`[node] ReplicaSet FailedCreate: ${message.slice(0, 400)}\n`);
    expect(message).toMatch(/violates PodSecurity "restricted:latest"/);
    expect((await node.kubectlOk(['-n', 'unguarded', 'get', 'pods', '-o', 'name'])).trim()).toBe('');
  });
});
