// HardenedNamespace's NetworkPolicies, enforced on a real node. The node runs kube-router's
// firewall (the CNI bridge plugin alone enforces nothing); pods of the test app (cleanimg-probe)
// dial each other, and a "metadata service" on the node at 169.254.169.254, from inside:
//
//   namespace np (HardenedNamespace: default deny, one allow per workload)
//     server  port 8080, ingress only from the client's pods, no egress
//     client  port 8080 open to anyone, egress to 0.0.0.0/0 on port 8080 (NS017 cuts the
//             metadata block out of it)
//   namespace np-open (no NetworkPolicy: the control)
//     outsider  ports 8080 and 9090
//
// Each refusal is checked twice: the dial fails, and the packet counter of kube-router's REJECT
// rule for the policed pod went up (so it was the NetworkPolicy, not a missing listener or a broken
// route); and against a control showing that the same path works where the policy allows it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HardenedDeployment, HardenedNamespace } from '../../src/cdk8s';
import { toYaml } from './support/k8s';
import { buildProbeImage, embeddedBaseLayout, PROBE_PATH } from './support/node-images';
import { skipWithoutNode, startNode, type KubeNode } from './support/node';
import { startServer, type Server } from './support/process';
import { tool } from './support/tools';

const NS = 'np';
const OPEN = 'np-open';
const METADATA = '169.254.169.254';

interface Dial {
  addr: string;
  ok: boolean;
  error?: string;
}

function probeDeployment(chart: Chart, name: string, namespace: string, image: string, ports: number[]): HardenedDeployment {
  return new HardenedDeployment(chart, name, {
    name,
    namespace,
    replicas: 1,
    containers: [{
      name: 'probe',
      image: image as never,
      command: [PROBE_PATH],
      ports: ports.map((p) => ({ containerPort: p, name: `p${p}` })),
      probes: { readiness: { http: { path: '/healthz', port: 'p8080' } }, liveness: { http: { path: '/healthz', port: 'p8080' } } },
    }],
  });
}

function synthCharts(image: string): string {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cleanimg-e2e-np-synth-')) });
  const guarded = new Chart(app, 'np', { namespace: NS });
  const ns = new HardenedNamespace(guarded, 'namespace', { name: NS, allowedRegistries: ['registry.example.com'] });
  const server = probeDeployment(guarded, 'server', NS, image, [8080]);
  const client = probeDeployment(guarded, 'client', NS, image, [8080]);
  ns.addWorkload(server, { ingressFrom: [{ pods: { 'app.kubernetes.io/name': 'client' } }] });
  ns.addWorkload(client, { egressTo: [{ to: [{ cidr: '0.0.0.0/0' }], ports: [{ port: 8080 }] }] });
  const open = new Chart(app, 'np-open', { namespace: OPEN });
  probeDeployment(open, 'outsider', OPEN, image, [8080, 9090]);
  const docs = app.charts.flatMap((c) => c.toJson() as object[]);
  rmSync(app.outdir, { recursive: true, force: true });
  return toYaml(docs);
}

describe.skipIf(skipWithoutNode())("HardenedNamespace's NetworkPolicies hold on a real node (kube-router's firewall)", () => {
  let node: KubeNode;
  let work: string;
  let metadataServer: Server | undefined;
  const pods: Record<string, { name: string; namespace: string; ip: string }> = {};

  /** `from`'s pod dials addr (through the API server's pod proxy, from the node). */
  const dial = async (from: string, addr: string): Promise<Dial> => {
    const p = pods[from]!;
    return JSON.parse(await node.kubectlOk(['get', '--raw', `/api/v1/namespaces/${p.namespace}/pods/${p.name}:8080/proxy/dial?addr=${addr}`])) as Dial;
  };
  const expectOpen = async (from: string, addr: string) => {
    const r = await dial(from, addr);
    expect(r, `${from} -> ${addr}`).toMatchObject({ ok: true });
  };
  /** Packets kube-router's firewall rejected for each pod (`iptables-save -c` in the node). */
  const rejected = async (): Promise<Record<string, number>> => {
    const out = await node.inNode('iptables-save', ['-c', '-t', 'filter']);
    if (out.code !== 0) throw new Error(`iptables-save: ${out.stderr}`);
    const counts: Record<string, number> = {};
    for (const m of out.stdout.matchAll(/^\[(\d+):\d+\] -A KUBE-POD-FW-\S+ .*rule to REJECT traffic destined for POD name:(\S+) namespace: (\S+?)"? .*-j REJECT/gm)) {
      counts[m[2]!] = (counts[m[2]!] ?? 0) + Number(m[1]);
    }
    return counts;
  };
  /** The dial fails, refused by the firewall rule of `policed` (the pod whose policy says no). */
  const expectRejected = async (from: string, addr: string, policed: string) => {
    const before = await rejected();
    const r = await dial(from, addr);
    const after = await rejected();
    expect(r.ok, `${from} -> ${addr} should be refused`).toBe(false);
    expect(r.error, `${from} -> ${addr}`).toMatch(/connection refused/);
    const pod = pods[policed]!.name;
    expect((after[pod] ?? 0) - (before[pod] ?? 0), `REJECT packets for ${policed} (${from} -> ${addr})`).toBeGreaterThan(0);
  };
  const at = (name: string, port: number) => `${pods[name]!.ip}:${port}`;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-node-np-'));
    node = await startNode();
    const base = await embeddedBaseLayout(work);
    const image = await buildProbeImage(node, work, base, { repository: 'probe-np', entrypoint: false, config: { listen: [{ port: 8080 }, { port: 9090 }] } });
    // A stand-in for a cloud metadata service: the same app, on the node, at 169.254.169.254:8080.
    const r = await node.inNode('ip', ['addr', 'add', `${METADATA}/32`, 'dev', 'e2e0']);
    if (r.code !== 0) throw new Error(`ip addr add: ${r.stderr}`);
    writeFileSync(join(work, 'metadata.json'), JSON.stringify({ listen: [{ port: 8080 }] }));
    metadataServer = startServer('metadata', tool('nsenter'), ['-t', String(node.pid), '--net', '--', tool('cleanimg-probe'), `--probe-config=${join(work, 'metadata.json')}`], join(work, 'metadata.log'));

    await node.kubectlOk(['create', 'namespace', OPEN]);
    const file = join(work, 'np.yaml');
    writeFileSync(file, synthCharts(image.example));
    const applied = await node.kubectl(['apply', '-f', file]);
    if (applied.code !== 0 || /would violate/.test(applied.stderr)) throw new Error(`apply: ${applied.stdout}\n${applied.stderr}`);
    for (const [ns, names] of [[NS, ['server', 'client']], [OPEN, ['outsider']]] as const) {
      for (const name of names) {
        const s = await node.kubectl(['-n', ns, 'rollout', 'status', `deployment/${name}`, '--timeout=180s'], { timeoutMs: 200_000 });
        if (s.code !== 0) throw new Error(`${s.stdout}${s.stderr}\n${await node.diagnose([ns])}`);
        const list = JSON.parse(await node.kubectlOk(['-n', ns, 'get', 'pods', '-l', `app.kubernetes.io/name=${name}`, '-o', 'json'])) as { items: Array<{ metadata: { name: string; deletionTimestamp?: string }; status: { podIP?: string } }> };
        const pod = list.items.find((p) => !p.metadata.deletionTimestamp && p.status.podIP);
        if (!pod) throw new Error(`no pod of ${name}`);
        pods[name] = { name: pod.metadata.name, namespace: ns, ip: pod.status.podIP! };
      }
    }
    process.stdout.write(`[node] pods: ${JSON.stringify(pods)}\n`);
  }, 600_000);

  afterAll(async () => {
    await metadataServer?.stop();
    await node?.stop();
    if (work && process.env.E2E_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  });

  it('ingress: only the allowed pods reach the server; the same outsider reaches an open port', async () => {
    await expectOpen('client', at('server', 8080));
    await expectRejected('outsider', at('server', 8080), 'server');
    await expectOpen('outsider', at('client', 8080)); // control: the outsider's packets do reach the namespace
  });

  it('egress: default deny for the server; the client only on its allowed port', async () => {
    await expectRejected('server', at('outsider', 8080), 'server');
    await expectOpen('client', at('outsider', 8080)); // control: the outsider answers on 8080
    await expectRejected('client', at('outsider', 9090), 'client');
    await expectOpen('outsider', at('outsider', 9090)); // control: and listens on 9090
  });

  it('egress to 0.0.0.0/0 does not reach the metadata address (NS017 cut it out)', async () => {
    const policy = JSON.parse(await node.kubectlOk(['-n', NS, 'get', 'networkpolicies', '-o', 'json'])) as { items: Array<{ spec: { egress?: Array<{ to?: Array<{ ipBlock?: { cidr: string; except?: string[] } }> }> } }> };
    const blocks = policy.items.flatMap((p) => (p.spec.egress ?? []).flatMap((e) => (e.to ?? []).map((t) => t.ipBlock).filter(Boolean)));
    expect(blocks).toEqual([{ cidr: '0.0.0.0/0', except: ['169.254.0.0/16', '100.100.100.200/32'] }]);
    await expectOpen('outsider', `${METADATA}:8080`); // control: a pod without policies reaches it
    await expectRejected('client', `${METADATA}:8080`, 'client');
  });
});
