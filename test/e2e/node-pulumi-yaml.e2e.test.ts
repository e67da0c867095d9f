// cleanimg's components in a Pulumi YAML program, through the plugin package (pulumi-plugin/), on the
// real node with the real CLI and the provider's await logic:
// - `pulumi package add <repo>/pulumi-plugin` (the engine starts the plugin through the Node.js
//   language host and reads its schema) records the package in Pulumi.yaml;
// - `pulumi preview --policy-pack policy-pack` with an insecure raw Deployment beside ours fails with
//   the rule ids, all of them the raw Deployment's; a bad arg fails with the TypeScript component's
//   rule ids and messages;
// - `pulumi up` deploys a HardenedNamespace, an EnvConfig and a HardenedDeployment of the test app
//   (the EnvConfig's attachment passed as `${appConfig.attachment}`): the pod is Ready on the
//   kubelet and reads its config file;
// - the Kubernetes objects the engine got equal those the TypeScript components make of the same args
//   (under Pulumi's mocks, in this process);
// - `pulumi destroy` leaves nothing.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../pulumi/policy-pack-client';
import { buildProbeImage, embeddedBaseLayout, type BuiltImage } from './support/node-images';
import { skipWithoutNode, startNode, type KubeNode } from './support/node';
import { PULUMI_TOOLS, REPO, projectUsesPulumi, pulumiWorkspace, seedPluginCache, type PulumiWorkspace } from './support/pulumi';
import { sleep, tool } from './support/tools';
import { kubeInputsOfTypeScript } from './support/pulumi-parity';

const NS = 'plugin-yaml';
const PLUGIN = join(REPO, 'pulumi-plugin');
const PACK = join(REPO, 'policy-pack');

/** The YAML program's resources: the same args the parity check gives the TypeScript components. */
export function programArgs(image: string) {
  return {
    namespace: { name: NS, allowedRegistries: ['registry.example.com'] },
    config: { name: 'app', namespace: NS, data: { 'app.env': 'MODE=yaml\n' }, mountPath: '/etc/app' },
    deployment: {
      name: 'app',
      namespace: NS,
      replicas: 1,
      containers: [{
        name: 'app',
        image,
        ports: [{ containerPort: 8080, name: 'http' }],
        writablePaths: [{ path: '/tmp', sizeLimit: '16Mi' }],
        probes: { readiness: { http: { path: '/healthz', port: 'http' } }, liveness: { http: { path: '/healthz', port: 'http' } } },
      }],
    },
  };
}

function program(image: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const a = programArgs(image);
  return {
    name: 'cleanimg-yaml',
    runtime: 'yaml',
    resources: {
      ns: { type: 'cleanimg:index:HardenedNamespace', properties: a.namespace },
      appConfig: { type: 'cleanimg:index:EnvConfig', properties: a.config, options: { dependsOn: ['${ns}'] } },
      app: {
        type: 'cleanimg:index:HardenedDeployment',
        properties: { ...a.deployment, containers: [{ ...a.deployment.containers[0], config: ['${appConfig.attachment}'] }] },
        options: { dependsOn: ['${ns}'] },
      },
      ...extra,
    },
    outputs: { deployment: '${app.name}', configMap: '${appConfig.configMapName}' },
  };
}

const RAW = {
  raw: {
    type: 'kubernetes:apps/v1:Deployment',
    properties: {
      metadata: { name: 'raw', namespace: NS },
      spec: {
        selector: { matchLabels: { app: 'raw' } },
        template: { metadata: { labels: { app: 'raw' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25', securityContext: { privileged: true } }] } },
      },
    },
  },
};

describe.skipIf(!projectUsesPulumi() || skipWithoutNode([...PULUMI_TOOLS, 'pulumi-language-yaml']))('cleanimg in a Pulumi YAML program (plugin package) on the real node', () => {
  let node: KubeNode;
  let ws: PulumiWorkspace;
  let work: string;
  let dir: string;
  let image: BuiltImage;
  let packages: unknown;
  const pulumi = (args: string[], timeoutMs = 600_000) => node.inNode(tool('pulumi'), [...args, '--non-interactive'], { cwd: dir, env: ws.env, timeoutMs });
  const writeProgram = (p: Record<string, unknown>) => writeFileSync(join(dir, 'Pulumi.yaml'), stringify(packages ? { ...p, packages } : p));

  beforeAll(async () => {
    ensureBuilt(); // the plugin and the policy pack run the compiled lib/
    work = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-pulumi-yaml-'));
    node = await startNode();
    const base = await embeddedBaseLayout(work);
    image = await buildProbeImage(node, work, base, { repository: 'plugin-yaml' });
    ws = pulumiWorkspace(node.kubeconfig);
    seedPluginCache(ws);
    dir = join(work, 'program');
    mkdirSync(dir);
    writeProgram(program(image.example));
    const init = await pulumi(['stack', 'init', 'yaml'], 60_000);
    expect(init.code, init.stderr).toBe(0);
  }, 600_000);

  afterAll(async () => {
    ws?.dispose();
    await node?.stop();
    if (work && process.env.E2E_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  });

  it('pulumi package add takes the plugin from its folder and records it in Pulumi.yaml', async () => {
    const add = await pulumi(['package', 'add', PLUGIN], 300_000);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(add.stdout + add.stderr).toContain('Added package cleanimg');
    const project = parse(readFileSync(join(dir, 'Pulumi.yaml'), 'utf8')) as { packages?: Record<string, string> };
    expect(project.packages).toEqual({ cleanimg: PLUGIN });
    packages = project.packages;
  }, 300_000);

  it('a bad arg fails preview with the rule ids and messages of the TypeScript component', async () => {
    const bad = program('nginx:1.25');
    writeProgram(bad);
    const preview = await pulumi(['preview']);
    writeProgram(program(image.example));
    const out = preview.stdout + preview.stderr;
    expect(preview.code, out).not.toBe(0);
    expect(out).toContain(`HardenedDeployment "app": 1 invalid prop:`);
    expect(out).toContain('HD003 containers[0].image: image "nginx:1.25" is not pinned by digest');
  }, 600_000);

  it('preview with the policy pack refuses an insecure raw Deployment beside ours, and only it', async () => {
    writeProgram(program(image.example, RAW));
    const preview = await pulumi(['preview', '--policy-pack', PACK]);
    writeProgram(program(image.example));
    const out = preview.stdout + preview.stderr;
    expect(preview.code, out).not.toBe(0);
    for (const [policy, rule] of [['cleanimg-hd006', 'HD006'], ['cleanimg-hd003', 'HD003']]) {
      expect(out).toContain(`[mandatory] [severity: high]  ${policy}  (kubernetes:apps/v1:Deployment: raw)`);
      expect(out).toContain(`Deployment/${NS}/raw ${rule} /spec/template/spec/containers/0/`);
    }
    const flagged = [...out.matchAll(/\[mandatory\][^\n]*\(([^)]+)\)/g)].map((m) => m[1]);
    expect(new Set(flagged)).toEqual(new Set(['kubernetes:apps/v1:Deployment: raw']));
    // Without the raw Deployment the same pack passes our components' objects.
    const clean = await pulumi(['preview', '--policy-pack', PACK]);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).not.toContain('[mandatory]');
  }, 600_000);

  it('pulumi up deploys them: the pod is Ready on the kubelet and reads its config; the objects equal the TypeScript components\'', async () => {
    const up = await pulumi(['up', '--yes', '--skip-preview'], 900_000);
    if (up.code !== 0) throw new Error(`${up.stdout}\n${up.stderr}\n${await node.diagnose([NS])}`);
    const d = JSON.parse(await node.kubectlOk(['-n', NS, 'get', 'deployment', 'app', '-o', 'json']));
    expect(d.status.readyReplicas).toBe(1);
    const pod = (await node.kubectlOk(['-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/name=app', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
    expect(await node.kubectlOk(['get', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}:8080/proxy/read?path=/etc/app/app.env`])).toBe('MODE=yaml\n');

    // Parity: the inputs the engine stored for each Kubernetes object, against the TypeScript components' under mocks.
    const exported = JSON.parse((await pulumi(['stack', 'export'], 60_000)).stdout) as { deployment: { resources: Array<{ type: string; urn: string; inputs: Record<string, unknown> }> } };
    const yamlSide = Object.fromEntries(exported.deployment.resources.filter((r) => r.type.startsWith('kubernetes:') && !r.type.startsWith('pulumi:providers:'))
      .map((r) => [`${r.type}::${r.urn.split('::').pop()}`, r.inputs]));
    const tsSide = await kubeInputsOfTypeScript(programArgs(image.example));
    expect(Object.keys(yamlSide).sort()).toEqual(Object.keys(tsSide).sort());
    for (const [k, v] of Object.entries(tsSide)) expect(yamlSide[k], k).toEqual(v);
  }, 900_000);

  it('pulumi destroy leaves nothing', async () => {
    const destroy = await pulumi(['destroy', '--yes', '--skip-preview']);
    expect(destroy.code, destroy.stdout + destroy.stderr).toBe(0);
    const exported = JSON.parse((await pulumi(['stack', 'export'], 60_000)).stdout) as { deployment: { resources?: { type: string }[] } };
    expect((exported.deployment.resources ?? []).filter((r) => r.type.startsWith('kubernetes:') || r.type.startsWith('cleanimg:'))).toEqual([]);
    let left = '';
    for (const deadline = Date.now() + 180_000; Date.now() < deadline; await sleep(2000)) {
      left = (await node.kubectl(['get', 'namespace', NS, '--ignore-not-found', '-o', 'name'])).stdout.trim();
      if (!left) break;
    }
    expect(left, `namespace ${NS} still there (Terminating?)`).toBe('');
  }, 600_000);
});
