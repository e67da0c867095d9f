// (b) The guide's own Kubernetes examples (test/fixtures/guide/, transcribed as written)
// against a real API server: which ones it refuses and why (strict field validation, a
// missing selector, Pod Security "restricted"), and which ones it lets through.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_TOOLS } from './support/global-setup';
import { loadObjects, namespace, podFromTemplate, toYaml, type KObject } from './support/k8s';
import { sharedCluster, sharedClusterError, type SharedCluster } from './support/shared-cluster';
import { skipWithout } from './support/tools';

const GUIDE = join(__dirname, '..', 'fixtures', 'guide');
const guide = (f: string) => join(GUIDE, f);
const STRICT = ['--dry-run=server', '--warnings-as-errors', '--validate=strict'];
// The guide's examples name these namespaces; the guide never creates them.
const NAMESPACES = ['production', 'staging'];

/** What the server says about each file: the expected outcome, asserted below. */
interface Expectation {
  file: string;
  accepted: boolean;
  /** Substrings the server's refusal must contain. */
  reasons?: string[];
}

const SERVER: Expectation[] = [
  // Accepted: the server has no opinion on literal credentials in a Secret.
  { file: '01-python-config.yaml', accepted: true },
  {
    file: '02-python-deployment.yaml',
    accepted: false,
    reasons: ['spec.selector: Required value', 'spec.template.metadata.labels: Invalid value'],
  },
  { file: '03-nginx-configmaps.yaml', accepted: true },
  {
    file: '04-nginx-deployment-staging.yaml',
    accepted: false,
    reasons: ['spec.selector: Required value', 'spec.template.metadata.labels: Invalid value'],
  },
  {
    file: '05-nginx-deployment-production.yaml',
    accepted: false,
    reasons: ['unknown field "spec.volumes"'],
  },
  {
    file: '06-python-deployment-complete.yaml',
    accepted: false,
    reasons: [
      'unknown field "spec.template.spec.securityContext.allowPrivilegeEscalation"',
      'unknown field "spec.template.spec.securityContext.capabilities"',
      'unknown field "spec.template.spec.securityContext.readOnlyRootFilesystem"',
    ],
  },
  { file: '07-nginx-configmaps-envs.yaml', accepted: true },
  {
    file: '08-nginx-deployment-complete.yaml',
    accepted: false,
    reasons: ['unknown field "spec.template.spec.securityContext.readOnlyRootFilesystem"'],
  },
];

/**
 * Pods made from the guide's Deployment templates, as a controller would create them if the
 * Deployments were fixed to pass validation (unknown fields dropped, as a non-strict client
 * would): Pod Security "restricted" refuses every one, for these reasons.
 */
const PODS: { file: string; reasons: string[]; notReasons?: string[] }[] = [
  {
    file: '02-python-deployment.yaml',
    reasons: ['allowPrivilegeEscalation != false', 'unrestricted capabilities', 'runAsNonRoot != true', 'seccompProfile'],
  },
  {
    file: '04-nginx-deployment-staging.yaml',
    reasons: ['allowPrivilegeEscalation != false', 'unrestricted capabilities', 'runAsNonRoot != true', 'seccompProfile'],
  },
  {
    // The "complete, hardened" example: its container-level fields sit at pod level, are
    // dropped, and the Pod is refused for exactly the protections the guide meant to add.
    file: '06-python-deployment-complete.yaml',
    reasons: ['allowPrivilegeEscalation != false', 'unrestricted capabilities'],
    notReasons: ['runAsNonRoot != true', 'seccompProfile'],
  },
  {
    file: '08-nginx-deployment-complete.yaml',
    reasons: ['allowPrivilegeEscalation != false', 'unrestricted capabilities', 'seccompProfile'],
    notReasons: ['runAsNonRoot != true'],
  },
];

describe.skipIf(skipWithout(CLUSTER_TOOLS))("the guide's Kubernetes examples on a real API server", () => {
  let k: SharedCluster;

  beforeAll(async () => {
    const c = sharedCluster();
    if (!c) throw new Error(sharedClusterError() ?? 'no cluster');
    k = c;
    const r = await k.kubectl(['apply', '-f', '-'], { input: toYaml(NAMESPACES.map(namespace)) });
    expect(r.code, r.stderr).toBe(0);
  });

  // Namespaces are left in place: without kube-controller-manager a deleted namespace stays
  // Terminating and refuses new objects; the cluster is thrown away after the run anyway.

  it('every guide fixture has an expectation', () => {
    const files = readdirSync(GUIDE).filter((f) => f.endsWith('.yaml')).sort();
    expect(files).toEqual(SERVER.map((e) => e.file));
  });

  for (const e of SERVER) {
    it(`${e.file}: ${e.accepted ? 'accepted' : 'refused'} by apply --dry-run=server --validate=strict`, async () => {
      const r = await k.kubectl(['apply', ...STRICT, '-f', guide(e.file)]);
      if (e.accepted) {
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/created \(server dry run\)/);
      } else {
        expect(r.code).not.toBe(0);
        for (const reason of e.reasons ?? []) expect(r.stderr).toContain(reason);
      }
    });
  }

  it('06 and 08 without strict validation (unknown fields dropped): still refused, for the missing selector', async () => {
    for (const f of ['06-python-deployment-complete.yaml', '08-nginx-deployment-complete.yaml']) {
      const r = await k.kubectl(['apply', '--dry-run=server', '--validate=false', '-f', guide(f)]);
      expect(r.code, f).not.toBe(0);
      expect(r.stderr).toContain('spec.selector: Required value');
      expect(r.stderr).not.toContain('unknown field');
    }
  });

  it('02 given a selector and template labels: stored, but Pod Security warns, and --warnings-as-errors refuses it', async () => {
    const [d] = loadObjects(guide('02-python-deployment.yaml')) as [KObject];
    const spec = d.spec as { selector?: unknown; template: { metadata?: { labels?: Record<string, string> } } };
    spec.selector = { matchLabels: { app: 'python-app' } };
    spec.template.metadata = { labels: { app: 'python-app' } };
    const lenient = await k.kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], { input: toYaml([d]) });
    expect(lenient.code, lenient.stderr).toBe(0);
    expect(lenient.stderr).toContain('would violate PodSecurity "restricted:latest"');
    const strict = await k.kubectl(['apply', ...STRICT, '-f', '-'], { input: toYaml([d]) });
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toContain('would violate PodSecurity "restricted:latest"');
  });

  for (const p of PODS) {
    it(`${p.file}: a Pod from its template is refused by Pod Security restricted`, async () => {
      const [deployment] = loadObjects(guide(p.file)).filter((o) => o.kind === 'Deployment') as [KObject];
      const pod = podFromTemplate(deployment, 'guide-pod');
      pod.metadata!.namespace = 'staging';
      // --validate=false: unknown fields are dropped (what a non-strict client sends), so
      // the verdict is Pod Security's alone.
      const r = await k.kubectl(['create', '--dry-run=server', '--validate=false', '-f', '-'], { input: toYaml([pod]) });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('is forbidden: violates PodSecurity "restricted:latest"');
      for (const reason of p.reasons) expect(r.stderr).toContain(reason);
      for (const reason of p.notReasons ?? []) expect(r.stderr).not.toContain(reason);
    });
  }
});
