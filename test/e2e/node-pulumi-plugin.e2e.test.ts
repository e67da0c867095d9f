// cleanimg's components in Pulumi YAML and Python programs, through the plugin package
// (pulumi-plugin/), on the real node with the real CLI and the provider's await logic. For each
// language:
// - `pulumi package add <repo>/pulumi-plugin` (the engine starts the plugin through the Node.js
//   language host and reads its schema) records the package in Pulumi.yaml; for Python it also
//   generates the SDK, adds it to requirements.txt and installs it into the program's virtualenv;
// - a bad arg fails preview with the TypeScript component's rule ids and messages;
// - `pulumi preview --policy-pack policy-pack` with an insecure raw Deployment beside ours fails with
//   the rule ids, all of them the raw Deployment's; without it, the pack passes ours;
// - `pulumi up` deploys a HardenedNamespace (with an allow for the app by its label), an EnvConfig and a HardenedDeployment of the test app
//   (the EnvConfig's attachment passed as its `attachment` output): the pod is Ready on the kubelet
//   and reads its config file;
// - the Kubernetes objects the engine got equal those the TypeScript components make of the same args
//   (under Pulumi's mocks, in this process);
// - `pulumi destroy` leaves nothing.
// And an attack only a program can make: a Python stack transform that edits our components' children
// (making the Deployment privileged) is refused by the policy pack.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../pulumi/policy-pack-client';
import { buildProbeImage, embeddedBaseLayout, type BuiltImage } from './support/node-images';
import { skipWithoutNode, startNode, type KubeNode } from './support/node';
import { kubeInputsOfTypeScript, type ParityArgs } from './support/pulumi-parity';
import { PULUMI_TOOLS, REPO, projectUsesPulumi, pulumiWorkspace, seedPluginCache, type PulumiWorkspace } from './support/pulumi';
import { sleep, tool } from './support/tools';

const PLUGIN = join(REPO, 'pulumi-plugin');
const PACK = join(REPO, 'policy-pack');
const PULUMI_PYTHON_VERSION = '3.248.0'; // the SDK from PyPI, as the CLI's version

/** The args of a program's three components: also what the parity check gives the TypeScript ones. */
function programArgs(ns: string, image: string, mode: string): ParityArgs {
  return {
    namespace: { name: ns, allowedRegistries: ['registry.example.com'], allows: [{ name: 'app', pods: { 'app.kubernetes.io/name': 'app' }, ports: [{ port: 8080 }] }] },
    config: { name: 'app', namespace: ns, data: { 'app.env': `MODE=${mode}\n` }, mountPath: '/etc/app' },
    deployment: {
      name: 'app',
      namespace: ns,
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

function rawDeployment(ns: string) {
  return {
    metadata: { name: 'raw', namespace: ns },
    spec: {
      selector: { matchLabels: { app: 'raw' } },
      template: { metadata: { labels: { app: 'raw' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25', securityContext: { privileged: true } }] } },
    },
  };
}

/** A Pulumi YAML program of the three components; `raw` adds the insecure Deployment. */
function yamlProgram(a: ParityArgs, opts: { raw?: boolean; packages?: unknown } = {}): string {
  return stringify({
    name: 'cleanimg-yaml',
    runtime: 'yaml',
    ...(opts.packages ? { packages: opts.packages } : {}),
    resources: {
      ns: { type: 'cleanimg:index:HardenedNamespace', properties: a.namespace },
      appConfig: { type: 'cleanimg:index:EnvConfig', properties: a.config, options: { dependsOn: ['${ns}'] } },
      app: {
        type: 'cleanimg:index:HardenedDeployment',
        properties: { ...a.deployment, containers: [{ ...a.deployment.containers[0], config: ['${appConfig.attachment}'] }] },
        options: { dependsOn: ['${ns}'] },
      },
      ...(opts.raw ? { raw: { type: 'kubernetes:apps/v1:Deployment', properties: rawDeployment(String(a.namespace['name'])) } } : {}),
    },
    outputs: { deployment: '${app.name}', configMap: '${appConfig.configMapName}' },
  });
}

/**
 * The same program in Python, written as a user would with the generated SDK's classes. Config
 * `image` is the image; `raw: true` adds the insecure Deployment.
 */
function pythonProgram(a: ParityArgs): string {
  const c = a.deployment.containers[0]!;
  const py = (v: unknown) => JSON.stringify(v);
  return `import json
import pulumi
import pulumi_cleanimg as cleanimg
import pulumi_kubernetes as k8s

config = pulumi.Config()
if config.get_bool("transform"):
    # The attack: a stack transform that makes every Deployment privileged, our components' included.
    def privileged(args):
        if args.type_ != "kubernetes:apps/v1:Deployment":
            return None
        props = json.loads(json.dumps(args.props))
        for c in props["spec"]["template"]["spec"]["containers"]:
            c.setdefault("securityContext", {})["privileged"] = True
        return pulumi.ResourceTransformResult(props=props, opts=args.opts)
    pulumi.runtime.register_stack_transform(privileged)
ns = cleanimg.HardenedNamespace("ns", name=${py(a.namespace['name'])}, allowed_registries=${py(a.namespace['allowedRegistries'])},
    allows=[cleanimg.NamespaceAllowArgs(name="app", pods={"app.kubernetes.io/name": "app"}, ports=[cleanimg.NetworkPortArgs(port=8080)])])
app_config = cleanimg.EnvConfig("appConfig", name=${py(a.config['name'])}, namespace=${py(a.config['namespace'])},
    data=${py(a.config['data'])}, mount_path=${py(a.config['mountPath'])},
    opts=pulumi.ResourceOptions(depends_on=[ns]))
http = cleanimg.ProbeArgs(http=cleanimg.ProbeHttpArgs(path="/healthz", port="http"))
app = cleanimg.HardenedDeployment("app", name=${py(a.deployment['name'])}, namespace=${py(a.deployment['namespace'])}, replicas=${py(a.deployment['replicas'])},
    containers=[cleanimg.HardenedContainerArgs(
        name=${py(c['name'])},
        image=config.require("image"),
        ports=[cleanimg.ContainerPortArgs(container_port=8080, name="http")],
        writable_paths=[cleanimg.WritableEmptyDirArgs(path="/tmp", size_limit="16Mi")],
        probes=cleanimg.ProbesArgs(readiness=http, liveness=http),
        config=[app_config.attachment],
    )],
    opts=pulumi.ResourceOptions(depends_on=[ns]))
if config.get_bool("raw"):
    k8s.apps.v1.Deployment("raw", **json.loads(${py(JSON.stringify(rawDeployment(String(a.namespace['name']))))}))
pulumi.export("deployment", app.name)
`;
}

interface Language {
  name: 'yaml' | 'python';
  ns: string;
  args: ParityArgs;
  dir: string;
}

describe.skipIf(!projectUsesPulumi() || skipWithoutNode([...PULUMI_TOOLS, 'pulumi-language-yaml', 'pulumi-language-python', 'pulumi-language-python-real']))('cleanimg in Pulumi YAML and Python programs (plugin package) on the real node', () => {
  let node: KubeNode;
  let ws: PulumiWorkspace;
  let work: string;
  let image: BuiltImage;
  const langs: Record<'yaml' | 'python', Language> = {} as never;
  const pulumi = (l: Language, args: string[], timeoutMs = 600_000) => node.inNode(tool('pulumi'), [...args, '--non-interactive'], { cwd: l.dir, env: ws.env, timeoutMs });
  const packagesOf = (l: Language) => (parse(readFileSync(join(l.dir, 'Pulumi.yaml'), 'utf8')) as { packages?: Record<string, string> }).packages;
  /** Runs `fn` with the program changed (YAML: the file; Python: config), then puts it back. */
  const withVariant = async <T>(l: Language, variant: { raw?: boolean; image?: string; transform?: boolean }, fn: () => Promise<T>): Promise<T> => {
    if (l.name === 'yaml') {
      const a = variant.image ? { ...l.args, deployment: { ...l.args.deployment, containers: [{ ...l.args.deployment.containers[0]!, image: variant.image }] } } : l.args;
      writeFileSync(join(l.dir, 'Pulumi.yaml'), yamlProgram(a, { raw: variant.raw, packages: packagesOf(l) }));
    } else {
      if (variant.image) await pulumi(l, ['config', 'set', 'image', variant.image]);
      if (variant.raw) await pulumi(l, ['config', 'set', 'raw', 'true']);
      if (variant.transform) await pulumi(l, ['config', 'set', 'transform', 'true']);
    }
    try {
      return await fn();
    } finally {
      if (l.name === 'yaml') writeFileSync(join(l.dir, 'Pulumi.yaml'), yamlProgram(l.args, { packages: packagesOf(l) }));
      else {
        await pulumi(l, ['config', 'set', 'image', image.example]);
        await pulumi(l, ['config', 'rm', 'raw']);
        await pulumi(l, ['config', 'rm', 'transform']);
      }
    }
  };

  beforeAll(async () => {
    ensureBuilt(); // the plugin and the policy pack run the compiled lib/
    work = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-pulumi-plugin-'));
    node = await startNode();
    const base = await embeddedBaseLayout(work);
    image = await buildProbeImage(node, work, base, { repository: 'plugin-app' });
    ws = pulumiWorkspace(node.kubeconfig);
    seedPluginCache(ws);
    for (const name of ['yaml', 'python'] as const) {
      const ns = `plugin-${name}`;
      const l: Language = { name, ns, args: programArgs(ns, image.example, name), dir: join(work, name) };
      mkdirSync(l.dir);
      if (name === 'yaml') writeFileSync(join(l.dir, 'Pulumi.yaml'), yamlProgram(l.args));
      else {
        writeFileSync(join(l.dir, 'Pulumi.yaml'), stringify({ name: 'cleanimg-python', runtime: { name: 'python', options: { virtualenv: 'venv' } } }));
        writeFileSync(join(l.dir, 'requirements.txt'), `pulumi==${PULUMI_PYTHON_VERSION}\n`);
        writeFileSync(join(l.dir, '__main__.py'), pythonProgram(l.args));
      }
      const init = await pulumi(l, ['stack', 'init', name], 60_000);
      expect(init.code, init.stderr).toBe(0);
      if (name === 'python') expect((await pulumi(l, ['config', 'set', 'image', image.example])).code).toBe(0);
      langs[name] = l;
    }
  }, 600_000);

  afterAll(async () => {
    ws?.dispose();
    await node?.stop();
    if (work && process.env.E2E_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  });

  for (const name of ['yaml', 'python'] as const) {
    describe(name, () => {
      it('pulumi package add takes the plugin from its folder and records it in Pulumi.yaml', async () => {
        const l = langs[name];
        // On the host, not in the node's network namespace: Python's SDK and its dependencies come from PyPI.
        const add = await ws.pulumi(['package', 'add', PLUGIN], l.dir);
        expect(add.code, add.stdout + add.stderr).toBe(0);
        expect(add.stdout + add.stderr).toContain('Added package cleanimg');
        expect(packagesOf(l)).toEqual({ cleanimg: PLUGIN });
        if (name === 'python') {
          expect(readFileSync(join(l.dir, 'requirements.txt'), 'utf8')).toBe(`pulumi==${PULUMI_PYTHON_VERSION}\n./sdks/cleanimg\n`);
          expect(add.stdout + add.stderr).toContain('import pulumi_cleanimg as cleanimg');
        }
      }, 600_000);

      it('a bad arg fails preview with the rule ids and messages of the TypeScript component', async () => {
        const l = langs[name];
        const preview = await withVariant(l, { image: 'nginx:1.25' }, () => pulumi(l, ['preview']));
        const out = preview.stdout + preview.stderr;
        expect(preview.code, out).not.toBe(0);
        expect(out).toContain(`HardenedDeployment "app": 1 invalid prop:`);
        expect(out).toContain('HD003 containers[0].image: image "nginx:1.25" is not pinned by digest');
      }, 600_000);

      it('preview with the policy pack refuses an insecure raw Deployment beside ours, and only it', async () => {
        const l = langs[name];
        const preview = await withVariant(l, { raw: true }, () => pulumi(l, ['preview', '--policy-pack', PACK]));
        const out = preview.stdout + preview.stderr;
        expect(preview.code, out).not.toBe(0);
        for (const [policy, rule] of [['cleanimg-hd006', 'HD006'], ['cleanimg-hd003', 'HD003']]) {
          expect(out).toContain(`[mandatory] [severity: high]  ${policy}  (kubernetes:apps/v1:Deployment: raw)`);
          expect(out).toContain(`Deployment/${l.ns}/raw ${rule} /spec/template/spec/containers/0/`);
        }
        const flagged = [...out.matchAll(/\[mandatory\][^\n]*\(([^)]+)\)/g)].map((m) => m[1]);
        expect(new Set(flagged)).toEqual(new Set(['kubernetes:apps/v1:Deployment: raw']));
        const clean = await pulumi(l, ['preview', '--policy-pack', PACK]);
        expect(clean.code, clean.stdout + clean.stderr).toBe(0);
        expect(clean.stdout).not.toContain('[mandatory]');
      }, 600_000);

      it.runIf(name === 'python')('a stack transform that makes our Deployment privileged is refused by the policy pack', async () => {
        const l = langs[name];
        const preview = await withVariant(l, { transform: true }, () => pulumi(l, ['preview', '--policy-pack', PACK]));
        const out = preview.stdout + preview.stderr;
        expect(preview.code, out).not.toBe(0);
        expect(out).toContain('[mandatory] [severity: high]  cleanimg-hd006  (kubernetes:apps/v1:Deployment: app)');
        expect(out).toContain(`Deployment/${l.ns}/app HD006 /spec/template/spec/containers/0/securityContext/privileged`);
      }, 600_000);

      it('pulumi up deploys them: the pod is Ready on the kubelet and reads its config; the objects equal the TypeScript components\'', async () => {
        const l = langs[name];
        const up = await pulumi(l, ['up', '--yes', '--skip-preview'], 900_000);
        if (up.code !== 0) throw new Error(`${up.stdout}\n${up.stderr}\n${await node.diagnose([l.ns])}`);
        const d = JSON.parse(await node.kubectlOk(['-n', l.ns, 'get', 'deployment', 'app', '-o', 'json']));
        expect(d.status.readyReplicas).toBe(1);
        const pod = (await node.kubectlOk(['-n', l.ns, 'get', 'pods', '-l', 'app.kubernetes.io/name=app', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
        expect(await node.kubectlOk(['get', '--raw', `/api/v1/namespaces/${l.ns}/pods/${pod}:8080/proxy/read?path=/etc/app/app.env`])).toBe(`MODE=${name}\n`);
        // The workload's allow, from the namespace's allows (the other languages' way to it).
        const allow = JSON.parse(await node.kubectlOk(['-n', l.ns, 'get', 'networkpolicy', 'allow-app', '-o', 'json']));
        expect(allow.spec).toMatchObject({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'app' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 8080, protocol: 'TCP' }] }] });

        // Parity: the inputs the engine stored for each Kubernetes object, against the TypeScript components' under mocks.
        const exported = JSON.parse((await pulumi(l, ['stack', 'export'], 60_000)).stdout) as { deployment: { resources: Array<{ type: string; urn: string; inputs: Record<string, unknown> }> } };
        const programSide = Object.fromEntries(exported.deployment.resources.filter((r) => r.type.startsWith('kubernetes:') && !r.type.startsWith('pulumi:providers:'))
          .map((r) => [`${r.type}::${r.urn.split('::').pop()}`, r.inputs]));
        const tsSide = await kubeInputsOfTypeScript(l.args);
        expect(Object.keys(programSide).sort()).toEqual(Object.keys(tsSide).sort());
        for (const [k, v] of Object.entries(tsSide)) expect(programSide[k], k).toEqual(v);
      }, 900_000);

      it('pulumi destroy leaves nothing', async () => {
        const l = langs[name];
        const destroy = await pulumi(l, ['destroy', '--yes', '--skip-preview']);
        expect(destroy.code, destroy.stdout + destroy.stderr).toBe(0);
        const exported = JSON.parse((await pulumi(l, ['stack', 'export'], 60_000)).stdout) as { deployment: { resources?: { type: string }[] } };
        expect((exported.deployment.resources ?? []).filter((r) => r.type.startsWith('kubernetes:') || r.type.startsWith('cleanimg:'))).toEqual([]);
        let left = '';
        for (const deadline = Date.now() + 180_000; Date.now() < deadline; await sleep(2000)) {
          left = (await node.kubectl(['get', 'namespace', l.ns, '--ignore-not-found', '-o', 'name'])).stdout.trim();
          if (!left) break;
        }
        expect(left, `namespace ${l.ns} still there (Terminating?)`).toBe('');
      }, 600_000);
    });
  }
});
