// A real Kubernetes API server for the end-to-end tier: etcd (Debian) and
// kube-apiserver (built by test/e2e/provision.sh) on 127.0.0.1, free ports, data in a
// temp dir, Pod Security "restricted" enforced for the whole cluster, token auth with
// a token generated per run. No scheduler, no controllers: objects are stored, Pods stay Pending.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, waitFor, type Server } from './process';
import { freePort, run, tool, type RunOptions, type RunResult } from './tools';

export interface Cluster {
  /** https://127.0.0.1:<port> */
  server: string;
  /** Path of a kubeconfig for the admin user (token auth, CA from the server's cert dir). */
  kubeconfig: string;
  /** Temp dir holding etcd data, certs, logs, kubeconfig; removed by stop(). */
  dir: string;
  etcd: Server;
  apiserver: Server;
  /** Run kubectl against this cluster; never throws on a non-zero exit. */
  kubectl(args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Stop kube-apiserver and etcd by PID and remove the temp dir. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Keep the temp dir after stop() (for debugging). Default: env E2E_KEEP=1. */
  keep?: boolean;
  /** How long to wait for /readyz. Default 120 s (two busy cores). */
  readyTimeoutMs?: number;
}

function httpGet(url: string, opts: { ca?: Buffer; token?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method: 'GET',
        ca: opts.ca,
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
        timeout: 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The AdmissionConfiguration that enforces Pod Security "restricted" (latest) cluster-wide. */
export const ADMISSION_CONFIG = `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
  - name: PodSecurity
    configuration:
      apiVersion: pod-security.admission.config.k8s.io/v1
      kind: PodSecurityConfiguration
      defaults:
        enforce: restricted
        enforce-version: latest
        audit: restricted
        audit-version: latest
        warn: restricted
        warn-version: latest
      exemptions:
        usernames: []
        runtimeClasses: []
        namespaces: []
`;

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const etcdBin = tool('etcd');
  const apiserverBin = tool('kube-apiserver');
  const kubectlBin = tool('kubectl');
  const keep = options.keep ?? process.env.E2E_KEEP === '1';
  const dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-cluster-'));
  const servers: Server[] = [];
  const cleanup = async () => {
    for (const s of servers.reverse()) await s.stop();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    // etcd
    const clientPort = await freePort();
    const peerPort = await freePort();
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = startServer(
      'etcd',
      etcdBin,
      [
        '--name=e2e',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=e2e=${peerUrl}`,
        '--initial-cluster-state=new',
        '--log-level=warn',
      ],
      join(dir, 'etcd.log'),
    );
    servers.push(etcd);
    await waitFor(etcd, 'health', async () => {
      const r = await httpGet(`${etcdUrl}/health`);
      return r.status === 200 && r.body.includes('true');
    }, 30_000);

    // kube-apiserver
    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},e2e-admin,e2e-admin-uid,"system:masters"\n`, { mode: 0o600 });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'admission.yaml'), ADMISSION_CONFIG);
    const certDir = join(dir, 'certs');
    mkdirSync(certDir);
    const apiserver = startServer(
      'kube-apiserver',
      apiserverBin,
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${certDir}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        `--service-account-issuer=${server}`,
        `--service-account-key-file=${join(dir, 'sa.key')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--authorization-mode=RBAC',
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        // No controller-manager: nothing creates ServiceAccounts or their tokens, and nothing would
        // remove the pvc-protection finalizer StorageObjectInUseProtection puts on every claim (a
        // deleted PersistentVolumeClaim would stay Terminating, and `pulumi destroy` wait forever).
        '--disable-admission-plugins=ServiceAccount,StorageObjectInUseProtection',
        `--admission-control-config-file=${join(dir, 'admission.yaml')}`,
        '--profiling=false',
        '--v=1',
      ],
      join(dir, 'kube-apiserver.log'),
    );
    servers.push(apiserver);
    const certFile = join(certDir, 'apiserver.crt');
    let ca: Buffer | undefined;
    await waitFor(apiserver, '/readyz', async () => {
      if (!ca) {
        if (!existsSync(certFile)) return false;
        ca = readFileSync(certFile);
      }
      const r = await httpGet(`${server}/readyz`, { ca, token });
      return r.status === 200;
    }, options.readyTimeoutMs ?? 120_000);

    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '  - name: e2e',
        '    cluster:',
        `      server: ${server}`,
        `      certificate-authority-data: ${readFileSync(certFile).toString('base64')}`,
        'users:',
        '  - name: e2e-admin',
        '    user:',
        `      token: ${token}`,
        'contexts:',
        '  - name: e2e',
        '    context: {cluster: e2e, user: e2e-admin, namespace: default}',
        'current-context: e2e',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const kubectl = (args: readonly string[], opts: RunOptions = {}) =>
      run(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], {
        ...opts,
        env: { ...(opts.env ?? process.env), KUBECONFIG: kubeconfig, HOME: dir },
      });
    // The "default" namespace is made by the server's own bootstrap controller, shortly after readyz.
    await waitFor(apiserver, 'namespace default', async () => (await kubectl(['get', 'namespace', 'default'])).code === 0, 30_000);
    return { server, kubeconfig, dir, etcd, apiserver, kubectl, stop: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
