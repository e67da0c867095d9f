// Issue 7 in the cluster: a HardenedNamespace (Pod Security restricted + the ValidatingAdmissionPolicy
// generated from the rule list) installed on a real kube-apiserver refuses what people do after
// deploy — `kubectl create deployment` as root, `kubectl set image` to a tag, `kubectl patch` turning
// readOnlyRootFilesystem off, `kubectl set env` with a literal secret or from a Secret — each with a
// message naming the rule, and admits our hardened objects.
import { waitForPolicy } from './support/admission';
import { beforeAll, describe, expect, it } from 'vitest';
import { hardenedDeployment, hardenedNamespace } from '../../src/core';
import { CLUSTER_TOOLS } from './support/global-setup';
import { toYaml } from './support/k8s';
import { sharedCluster, sharedClusterError, type SharedCluster } from './support/shared-cluster';
import { skipWithout } from './support/tools';

const NS = 'guarded';
const IMAGE = `registry.example.com/app@sha256:${'ab'.repeat(32)}` as const;

describe.skipIf(skipWithout(CLUSTER_TOOLS))('HardenedNamespace on a real API server', () => {
  let k: SharedCluster;
  const web = hardenedDeployment({ name: 'web', namespace: NS, replicas: 1, containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }] }] });
  const guards = hardenedNamespace({ name: NS, allowedRegistries: ['registry.example.com'], workloads: [{ workload: web }] });

  beforeAll(async () => {
    const c = sharedCluster();
    if (!c) throw new Error(sharedClusterError() ?? 'no cluster');
    k = c;
    const r = await k.kubectl(['apply', '-f', '-'], { input: toYaml(guards.objects) });
    expect(r.code, r.stderr).toBe(0);
    // The policy takes effect shortly after its binding is stored: wait until a root Deployment is refused.
    const probe = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'probe', namespace: NS },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } };
    await waitForPolicy(k, probe);
  }, 120_000);

  it('admits our hardened ServiceAccount and Deployment, and a Pod from its template', async () => {
    const r = await k.kubectl(['apply', '--warnings-as-errors', '--validate=strict', '-f', '-'], { input: toYaml(web.objects) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('refuses `kubectl create deployment` (root, tag, no limits) with the rule id', async () => {
    const r = await k.kubectl(['create', 'deployment', 'legacy', '-n', NS, '--image=nginx:1.25']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ValidatingAdmissionPolicy 'cleanimg-hardening\.guarded'.*denied request: HD0\d\d/);
  });

  it('refuses `kubectl set image` to a tag (HD003)', async () => {
    const r = await k.kubectl(['set', 'image', 'deployment/web', '-n', NS, 'app=registry.example.com/app:latest']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/HD003/);
  });

  it('refuses an image from another registry (NS001)', async () => {
    const r = await k.kubectl(['set', 'image', 'deployment/web', '-n', NS, `app=docker.io/library/app@sha256:${'cd'.repeat(32)}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/NS001/);
  });

  it('refuses `kubectl patch` turning readOnlyRootFilesystem off (HD004)', async () => {
    const patch = JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem', value: false }]);
    const r = await k.kubectl(['patch', 'deployment/web', '-n', NS, '--type=json', '-p', patch]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/HD004/);
  });

  it('refuses `kubectl set env` of a literal secret (HD018) and of a Secret as env vars (HD017)', async () => {
    const literal = await k.kubectl(['set', 'env', 'deployment/web', '-n', NS, 'DB_PASSWORD=hunter2']);
    expect(literal.code).not.toBe(0);
    expect(literal.stderr).toMatch(/HD018/);
    const secret = await k.kubectl(['create', 'secret', 'generic', 'db', '-n', NS, '--from-literal=password=generated-in-test']);
    expect(secret.code, secret.stderr).toBe(0);
    const fromSecret = await k.kubectl(['set', 'env', 'deployment/web', '-n', NS, '--from=secret/db']);
    expect(fromSecret.code).not.toBe(0);
    expect(fromSecret.stderr).toMatch(/HD017/);
  });

  it('refuses placement that skips the scheduler or the taints: nodeName (HD040), a toleration of every taint (HD041), a system priority class (HD042)', async () => {
    const pinned = (edit: (spec: any) => void) => {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'placed', namespace: NS }, spec: structuredClone((web.deployment as any).spec.template.spec) };
      edit(pod.spec);
      return k.kubectl(['create', '--dry-run=server', '-f', '-'], { input: toYaml([pod]) });
    };
    for (const [id, edit] of [
      ['HD040', (s: any) => { s.nodeName = 'control-plane-1'; }],
      ['HD041', (s: any) => { s.tolerations = [{ operator: 'Exists' }]; }],
      ['HD041', (s: any) => { s.tolerations = [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }]; }],
      ['HD042', (s: any) => { s.priorityClassName = 'system-node-critical'; }],
    ] as const) {
      const r = await pinned(edit);
      expect(r.code, `${id}: ${r.stdout}`).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`denied request: ${id}`));
    }
  });

  it('lets the scheduler\'s binding stand: a bound Pod\'s later change is judged without HD040', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bound', namespace: NS }, spec: structuredClone((web.deployment as any).spec.template.spec) };
    const c = await k.kubectl(['create', '-f', '-'], { input: toYaml([pod]) });
    expect(c.code, c.stderr).toBe(0);
    // What the scheduler does: POST the pods/binding subresource, which sets spec.nodeName.
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bound', namespace: NS }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' } };
    const b = await k.kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/bound/binding`, '-f', '-'], { input: JSON.stringify(binding) });
    expect(b.code, b.stderr).toBe(0);
    // A change of the pod spec (an image swap, which a Pod allows) is judged again: a pinned image passes, a tag is HD003 alone.
    const ok = await k.kubectl(['set', 'image', 'pod/bound', '-n', NS, `app=registry.example.com/app@sha256:${'ef'.repeat(32)}`]);
    expect(ok.code, ok.stderr).toBe(0);
    const tag = await k.kubectl(['set', 'image', 'pod/bound', '-n', NS, 'app=registry.example.com/app:latest']);
    expect(tag.code).not.toBe(0);
    expect(tag.stderr).toMatch(/denied request: HD003/);
    expect(tag.stderr).not.toMatch(/HD040/);
    await k.kubectl(['delete', 'pod/bound', '-n', NS, '--wait=false']);
  });

  it('left our Deployment as it was', async () => {
    const r = await k.kubectl(['get', 'deployment/web', '-n', NS, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const c0 = JSON.parse(r.stdout).spec.template.spec.containers[0];
    expect(c0.image).toBe(IMAGE);
    expect(c0.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c0.env).toBeUndefined();
  });
});
