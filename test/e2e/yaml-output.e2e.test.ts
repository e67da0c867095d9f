// What `cdk8s synth` writes is read by Go's YAML reader (kubectl, the API server): a label value that
// cdk8s's own writer leaves plain, such as `672.e_-6` or `0o17`, reaches the cluster as a number and
// the object is refused. HardenedApp's writer quotes those (src/cdk8s/yaml-writer.ts); this applies
// its output, unchanged, to the real API server, and shows the refusal of cdk8s's writer's output.
import { App, Chart } from 'cdk8s';
import { beforeAll, describe, expect, it } from 'vitest';
import { HardenedApp, HardenedDeployment } from '../../src/cdk8s';
import { STRICT_DRY_RUN } from './support/admission';
import { CLUSTER_TOOLS } from './support/global-setup';
import { namespace, toYaml } from './support/k8s';
import { sharedCluster, sharedClusterError, type SharedCluster } from './support/shared-cluster';
import { skipWithout } from './support/tools';

const NS = 'yaml-output';

/** The app written by HardenedApp (either writer), or by a plain cdk8s App (the control). */
function manifest(writer: 'fast' | 'cdk8s' | 'plain-app'): string {
  const app = writer === 'plain-app' ? new App() : new HardenedApp({ yamlWriter: writer });
  const chart = new Chart(app, 'quoting', { namespace: NS });
  new HardenedDeployment(chart, 'api', {
    name: 'api',
    labels: { build: '672.e_-6', mode: '0o17', release: '1_0' },
    containers: [{ name: 'api', image: `registry.example.com/api@sha256:${'ab'.repeat(32)}`, ports: [{ containerPort: 8080 }] }],
  });
  return app.synthYaml();
}

describe.skipIf(skipWithout(CLUSTER_TOOLS))('synthesized YAML read by the real API server', () => {
  let k: SharedCluster;

  beforeAll(async () => {
    const c = sharedCluster();
    if (!c) throw new Error(sharedClusterError() ?? 'no cluster');
    k = c;
    const r = await k.kubectl(['apply', '-f', '-'], { input: toYaml([namespace(NS)]) });
    expect(r.code, r.stderr).toBe(0);
  });

  it('accepts labels that look like numbers to Go, exactly as HardenedApp writes them', async () => {
    const text = manifest('fast');
    expect(text).toContain('build: "672.e_-6"');
    const r = await k.kubectl(['apply', ...STRICT_DRY_RUN, '-o', 'json', '-f', '-'], { input: text });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const items = (JSON.parse(r.stdout) as { items: Array<{ kind: string; metadata: { labels?: Record<string, string> } }> }).items;
    const deployment = items.find((o) => o.kind === 'Deployment');
    expect(deployment?.metadata.labels).toMatchObject({ build: '672.e_-6', mode: '0o17', release: '1_0' });
  });

  it('accepts them from HardenedApp with cdk8s\'s writer too', async () => {
    const text = manifest('cdk8s');
    expect(text).toContain('build: "672.e_-6"');
    const r = await k.kubectl(['apply', ...STRICT_DRY_RUN, '-f', '-'], { input: text });
    expect([r.code, r.stderr]).toEqual([0, '']);
  });

  it('refuses the same app written by a plain cdk8s App (the control)', async () => {
    const text = manifest('plain-app');
    expect(text).toContain('build: 672.e_-6');
    const r = await k.kubectl(['apply', ...STRICT_DRY_RUN, '-f', '-'], { input: text });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/labels|cannot unmarshal number|json: cannot/i);
  });
});
