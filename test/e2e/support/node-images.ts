// Images for the real node, built the way users build them: cleanimg-customize adds
// cleanimg-probe (the tier's test app, test/tools/probe) to the embedded shell-less base as one
// layer and pushes it to the node's registry. The embedded base has no entrypoint (it is a base),
// so crane then sets one where a pod spec does not name a command.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NODE_REGISTRY, type KubeNode } from './node';
import { runOk, tool } from './tools';

const CLI = resolve(__dirname, '../../../lib/cli/bin.js');
export const PROBE_PATH = '/usr/local/bin/cleanimg-probe';

export interface ProbeImageSpec {
  /** Repository in the node's registry (also served as registry.example.com/<repository>). */
  repository: string;
  /** cleanimg-probe's config (/etc/cleanimg-probe/config.json): ports to listen on, or a job. */
  config?: { listen?: Array<{ port: number; tls?: boolean }>; job?: boolean };
  /** Where the binary goes. @default PROBE_PATH */
  binaryPath?: string;
  /** More spec fields (trust_ca, trust_env, copy_files), merged in; copy_files sources relative to `files`. */
  extra?: { copy_files?: unknown[]; trust_ca?: string[]; trust_env?: boolean };
  /** Files to put in the spec folder: name -> absolute source path. */
  files?: Record<string, string>;
  /** Set the image's entrypoint to the binary. @default true */
  entrypoint?: boolean;
  /** Also write the result as an OCI layout (for a CustomizedImage base). */
  layout?: string;
}

export interface BuiltImage {
  /** 127.0.0.1:5000/<repository>@sha256:… (as the node's containerd pulls it). */
  local: string;
  digest: string;
  /** registry.example.com/<repository>@sha256:… (the examples' registry, mirrored to the node's). */
  example: string;
}

/** The embedded base: its pinned reference, and an OCI layout that holds it. */
export interface EmbeddedBase {
  ref: string;
  layout: string;
}

/** Writes the embedded base as an OCI layout into `dir` (`cleanimg-customize base` prints its reference). */
export async function embeddedBaseLayout(dir: string): Promise<EmbeddedBase> {
  const layout = join(dir, 'embedded-base');
  const out = await runOk('node', [CLI, 'base', '--output-layout', layout]);
  const ref = out.stdout.split('\n')[0]!.trim();
  if (!/@sha256:[0-9a-f]{64}$/.test(ref)) throw new Error(`cleanimg-customize base printed no pinned reference: ${out.stdout}`);
  return { ref, layout };
}

export async function buildProbeImage(node: KubeNode, workDir: string, base: EmbeddedBase, spec: ProbeImageSpec): Promise<BuiltImage> {
  const dir = join(workDir, `image-${spec.repository.replace(/\//g, '-')}`);
  mkdirSync(dir, { recursive: true });
  copyFileSync(tool('cleanimg-probe'), join(dir, 'cleanimg-probe'));
  for (const [name, src] of Object.entries(spec.files ?? {})) copyFileSync(src, join(dir, name));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec.config ?? { listen: [{ port: 8080 }] }));
  const binaryPath = spec.binaryPath ?? PROBE_PATH;
  const fields = {
    base_image: base.ref,
    arch: 'amd64',
    copy_files: [
      { source: 'cleanimg-probe', destination: binaryPath, mode: '0755' },
      { source: 'config.json', destination: '/etc/cleanimg-probe/config.json', mode: '0644' },
      ...(spec.extra?.copy_files ?? []),
    ],
    ...(spec.extra?.trust_ca ? { trust_ca: spec.extra.trust_ca } : {}),
    ...(spec.extra?.trust_env ? { trust_env: true } : {}),
  };
  writeFileSync(join(dir, 'spec.yaml'), JSON.stringify(fields, null, 2)); // JSON is YAML
  const tag = `${NODE_REGISTRY}/${spec.repository}:e2e`;
  const built = await node.inNode('node', [CLI, 'build', '--spec', join(dir, 'spec.yaml'), '--tag', tag, '--push', '--base-layout', base.layout, '--json'], { cwd: dir });
  if (built.code !== 0) throw new Error(`cleanimg-customize build ${spec.repository}: ${built.stdout}\n${built.stderr}`);
  let digest = (JSON.parse(built.stdout) as { digest: string }).digest;
  if (spec.entrypoint ?? true) {
    const m = await node.inNode(tool('crane'), ['mutate', '--insecure', `${NODE_REGISTRY}/${spec.repository}@${digest}`, `--entrypoint=${binaryPath}`, '-t', tag]);
    if (m.code !== 0) throw new Error(`crane mutate ${spec.repository}: ${m.stderr}`);
    digest = m.stdout.trim().split('@')[1] ?? '';
  }
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`${spec.repository}: no digest (${digest})`);
  if (spec.layout) {
    const p = await node.inNode(tool('crane'), ['pull', '--insecure', '--format=oci', `${NODE_REGISTRY}/${spec.repository}@${digest}`, spec.layout]);
    if (p.code !== 0) throw new Error(`crane pull ${spec.repository}: ${p.stderr}`);
  }
  return { local: `${NODE_REGISTRY}/${spec.repository}@${digest}`, digest, example: `registry.example.com/${spec.repository}@${digest}` };
}
