// (a) A hand-written hardened Deployment is accepted by a real API server with strict
// field validation and warnings as errors, and a Pod made from its template is admitted
// under Pod Security "restricted" (enforced cluster-wide). Controls: the same fixture with
// one hardening field removed, or a field misplaced, is refused: the checks can fail.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { admitPodsFromTemplates, applyStrict, ensureNamespaces } from './support/admission';
import { CLUSTER_TOOLS } from './support/global-setup';
import { loadObjects, namespace, podFromTemplate, toYaml, type KObject } from './support/k8s';
import { sharedCluster, sharedClusterError, type SharedCluster } from './support/shared-cluster';
import { skipWithout } from './support/tools';

const FIXTURE = join(__dirname, 'fixtures', 'hardened-deployment.yaml');
const STRICT = ['--dry-run=server', '--warnings-as-errors', '--validate=strict'];

type Spec = Record<string, any>;
const podSpecOf = (o: KObject): Spec => (o.spec as Spec).template.spec as Spec;

describe.skipIf(skipWithout(CLUSTER_TOOLS))('hardened Deployment on a real API server', () => {
  let k: SharedCluster;
  let deployment: KObject;

  beforeAll(async () => {
    const c = sharedCluster();
    if (!c) throw new Error(sharedClusterError() ?? 'no cluster');
    k = c;
    [deployment] = loadObjects(FIXTURE) as [KObject];
    const r = await k.kubectl(['apply', '-f', '-'], { input: toYaml([namespace('hardened')]) });
    expect(r.code, r.stderr).toBe(0);
  });

  // Namespaces are left in place: without kube-controller-manager a deleted namespace stays
  // Terminating and refuses new objects; the cluster is thrown away after the run anyway.

  it('is accepted by kubectl apply --dry-run=server --warnings-as-errors --validate=strict', async () => {
    const r = await k.kubectl(['apply', ...STRICT, '-o', 'json', '-f', '-'], { input: toYaml([deployment]) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as KObject;
    // What the server would store keeps every hardening field.
    const spec = podSpecOf(out);
    const c0 = spec.containers[0];
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c0.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c0.image).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(spec.volumes[0].emptyDir.sizeLimit).toBe('64Mi');
  });

  it('a Pod made from its template is admitted under restricted and stored as written', async () => {
    const pod = podFromTemplate(deployment, 'hardened-app-e2e');
    const r = await k.kubectl(['create', '--warnings-as-errors', '--validate=strict', '-o', 'json', '-f', '-'], { input: toYaml([pod]) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const got = await k.kubectl(['get', 'pod', 'hardened-app-e2e', '-n', 'hardened', '-o', 'json']);
    expect(got.code, got.stderr).toBe(0);
    const stored = JSON.parse(got.stdout) as KObject;
    expect((stored.spec as Spec).containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    expect((stored.spec as Spec).containers[0].resources.limits['ephemeral-storage']).toBe('128Mi');
    const del = await k.kubectl(['delete', 'pod', 'hardened-app-e2e', '-n', 'hardened', '--wait=false']);
    expect(del.code, del.stderr).toBe(0);
  });

  it('passes the helpers later tests use for synthesized objects (applyStrict, admitPodsFromTemplates)', async () => {
    await ensureNamespaces(k, [deployment]);
    const applied = await applyStrict(k, [deployment]);
    expect(applied.code, applied.stderr).toBe(0);
    const pods = await admitPodsFromTemplates(k, [deployment, namespace('ignored-no-template')]);
    expect(pods.map((p) => p.workload)).toEqual(['Deployment/hardened/hardened-app']);
    expect(pods[0]!.result.code, pods[0]!.result.stderr).toBe(0);
    expect(pods[0]!.result.stdout).toContain('pod/hardened-app-e2e created (server dry run)');
  });

  it('control: without allowPrivilegeEscalation=false the Pod is refused by Pod Security', async () => {
    const pod = podFromTemplate(deployment, 'hardened-app-ape');
    delete (pod.spec as Spec).containers[0].securityContext.allowPrivilegeEscalation;
    const r = await k.kubectl(['apply', ...STRICT, '-f', '-'], { input: toYaml([pod]) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('violates PodSecurity "restricted:latest"');
    expect(r.stderr).toContain('allowPrivilegeEscalation != false');
  });

  it('control: the Deployment template without capabilities.drop only warns, and --warnings-as-errors refuses it', async () => {
    const d = structuredClone(deployment);
    delete podSpecOf(d).containers[0].securityContext.capabilities;
    const r = await k.kubectl(['apply', ...STRICT, '-f', '-'], { input: toYaml([d]) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('would violate PodSecurity "restricted:latest"');
    expect(r.stderr).toContain('unrestricted capabilities');
  });

  it('control: a container-only field in the pod securityContext is refused by strict validation', async () => {
    const d = structuredClone(deployment);
    podSpecOf(d).securityContext.readOnlyRootFilesystem = true;
    const r = await k.kubectl(['apply', ...STRICT, '-f', '-'], { input: toYaml([d]) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown field "spec.template.spec.securityContext.readOnlyRootFilesystem"');
  });
});
