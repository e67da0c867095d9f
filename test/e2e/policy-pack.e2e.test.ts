// The cleanimg policy pack (policy-pack/, the one rule list) under the real Pulumi CLI:
// `pulumi preview --policy-pack policy-pack` blocks a stack that has a raw insecure
// k8s.apps.v1.Deployment beside our components (non-zero exit, the rule ids in the output), and
// passes a stack of only our components; `pulumi up` of the blocked stack creates nothing.
//
// The pack needs no install of its own: it loads the compiled rule list (lib/, built here when
// stale) and @pulumi/policy and @pulumi/pulumi/cmd/run-policy-pack from the repository's
// node_modules. The CLI starts it through the language host's RunPlugin, which the front built by
// provision.sh (test/tools/pulumi-langhost-front) adds to the old host the tier can build.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../pulumi/policy-pack-client';
import { CLUSTER_TOOLS } from './support/global-setup';
import { PULUMI_TOOLS, REPO, projectUsesPulumi, pulumiWorkspace, type PulumiWorkspace } from './support/pulumi';
import { sharedCluster, sharedClusterError, type SharedCluster } from './support/shared-cluster';
import { skipWithout } from './support/tools';

const PACK = join(REPO, 'policy-pack');
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** Our components: a HardenedDeployment with an EnvConfig and a Service. */
const OURS = `
const { HardenedDeployment, EnvConfig } = require(${JSON.stringify(join(REPO, 'lib', 'pulumi'))});
const config = new EnvConfig('web-config', { namespace: 'policy-e2e', data: { 'app.conf': 'log_level=info\\n' } });
new HardenedDeployment('web', {
  namespace: 'policy-e2e',
  containers: [{ name: 'app', image: 'registry.example.com/web@${DIGEST}', ports: [{ containerPort: 8080, name: 'http' }], config: [config] }],
  service: true,
});
`;

/** A raw Deployment written beside them, with a privileged container, an image by tag, no hardening. */
const RAW = `
const k8s = require('@pulumi/kubernetes');
new k8s.apps.v1.Deployment('raw', {
  metadata: { name: 'raw', namespace: 'policy-e2e' },
  spec: {
    selector: { matchLabels: { app: 'raw' } },
    template: { metadata: { labels: { app: 'raw' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.25', securityContext: { privileged: true } }] } },
  },
});
`;

describe.skipIf(!projectUsesPulumi() || skipWithout([...CLUSTER_TOOLS, ...PULUMI_TOOLS]))('the policy pack under the real Pulumi CLI', () => {
  let k: SharedCluster;
  let ws: PulumiWorkspace;
  let dir: string;

  const project = async (name: string, source: string) => {
    const p = join(dir, name);
    mkdirSync(p);
    symlinkSync(join(REPO, 'node_modules'), join(p, 'node_modules'));
    writeFileSync(join(p, 'Pulumi.yaml'), `name: ${name}\nruntime: nodejs\nmain: index.js\n`);
    writeFileSync(join(p, 'package.json'), JSON.stringify({ name, private: true, main: 'index.js' }));
    writeFileSync(join(p, 'index.js'), source);
    const init = await ws.pulumi(['stack', 'init', 'e2e'], p);
    expect(init.code, init.stderr).toBe(0);
    return p;
  };

  beforeAll(async () => {
    const c = sharedCluster();
    if (!c) throw new Error(sharedClusterError() ?? 'no cluster');
    k = c;
    ensureBuilt(); // the pack loads lib/pulumi/policy.js
    ws = pulumiWorkspace(k.kubeconfig);
    dir = mkdtempSync(join(tmpdir(), 'cleanimg-e2e-policy-'));
    const ns = await k.kubectl(['create', 'namespace', 'policy-e2e']);
    expect(ns.code, ns.stderr).toBe(0);
  });

  afterAll(() => {
    ws?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('blocks a raw insecure Deployment beside our components: non-zero exit, rule ids, nothing created', async () => {
    const p = await project('mixed', OURS + RAW);
    const preview = await ws.pulumi(['preview', '--policy-pack', PACK], p);
    const out = preview.stdout + preview.stderr;
    expect(preview.code, out).not.toBe(0);
    expect(out).toContain('cleanimg-hardening');
    for (const [policy, rule] of [['cleanimg-hd006', 'HD006'], ['cleanimg-hd003', 'HD003'], ['cleanimg-hd004', 'HD004'], ['cleanimg-hd001', 'HD001']]) {
      expect(out).toContain(`[mandatory] [severity: high]  ${policy}  (kubernetes:apps/v1:Deployment: raw)`);
      expect(out).toContain(`Deployment/policy-e2e/raw ${rule} /spec/template/spec/containers/0/`);
    }
    expect(out).toContain('image "nginx:1.25" is not pinned by digest');
    // Every violation is the raw Deployment's: none of ours.
    const flagged = [...out.matchAll(/\[mandatory\][^\n]*\(([^)]+)\)/g)].map((m) => m[1]);
    expect(flagged.length).toBeGreaterThan(5);
    expect(new Set(flagged)).toEqual(new Set(['kubernetes:apps/v1:Deployment: raw']));

    // `up` runs the same policies before any change: nothing of the stack reaches the cluster.
    const up = await ws.pulumi(['up', '--yes', '--policy-pack', PACK], p);
    expect(up.code, up.stdout + up.stderr).not.toBe(0);
    expect(up.stdout + up.stderr).toContain('cleanimg-hd006');
    const got = await k.kubectl(['get', 'deployments,configmaps,serviceaccounts', '-n', 'policy-e2e', '-o', 'name']);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout.split('\n').filter((l) => /raw|web/.test(l))).toEqual([]);
  });

  it('passes a stack of only our components', async () => {
    const p = await project('ours', OURS);
    const preview = await ws.pulumi(['preview', '--policy-pack', PACK], p);
    const out = preview.stdout + preview.stderr;
    expect(preview.code, out).toBe(0);
    expect(out).toContain('cleanimg-hardening');
    expect(out).not.toContain('[mandatory]');
    expect(out).toMatch(/\+\s+kubernetes:apps\/v1:Deployment\s+web\s+create/);
  });
});
