// The examples on the real node: stand-in images for the examples' repositories, and what the
// cluster's platform team provides before an app arrives (the Secrets the examples mount by
// reference, PersistentVolumes for their claims). Shared by the cdk8s and Pulumi runs.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { podTemplateOf, type KObject } from './k8s';
import { buildProbeImage, type BuiltImage, type EmbeddedBase } from './node-images';
import type { KubeNode } from './node';
import { REPO } from './pulumi';
import { runOk } from './tools';

export type Obj = { apiVersion?: string; kind?: string; metadata: { name: string; namespace?: string }; spec?: Record<string, unknown> };
type Volume = { secret?: { secretName: string; items?: Array<{ key: string }> }; persistentVolumeClaim?: { claimName: string } };

/** The pod spec of a workload (podTemplateOf in k8s.ts), or undefined for other kinds. */
export function podSpecOf(o: Obj): { volumes?: Volume[]; containers: Array<Record<string, any>> } | undefined {
  return podTemplateOf(o as KObject)?.spec as ReturnType<typeof podSpecOf>;
}

/**
 * One stand-in per example repository (cleanimg-probe listening where the example's probes look,
 * with the files its arguments name), pushed to the node's registry; returns the contents of a
 * CLEANIMG_EXAMPLE_IMAGES file (see examples/images.ts).
 */
export async function buildExampleStandins(node: KubeNode, work: string, base: EmbeddedBase): Promise<Record<string, unknown>> {
  const pgConf = join(REPO, 'examples/postgres/image/config/custom.conf');
  const images: Record<string, BuiltImage> = {};
  const standins = [
    { repository: 'nginx', config: { listen: [{ port: 8080 }, { port: 8443, tls: true }] } },
    { repository: 'python-app', config: { listen: [{ port: 8000 }] } },
    { repository: 'go-api', config: { listen: [{ port: 8080 }] } },
    { repository: 'pg-backup', config: { job: true }, binaryPath: '/usr/local/bin/pg-backup' },
    {
      repository: 'postgres', config: { listen: [{ port: 5432 }] }, files: { 'custom.conf': pgConf },
      extra: { copy_files: [{ source: 'custom.conf', destination: '/etc/postgresql/custom.conf', mode: '0640', owner: '0:65532' }] },
    },
  ];
  for (const s of standins) images[s.repository] = await buildProbeImage(node, work, base, s);
  // The custom PostgreSQL image: the example's own layer (config, CA) on a stand-in base.
  const pgBaseLayout = join(work, 'postgres-base-layout');
  const pgBase = await buildProbeImage(node, work, base, { repository: 'postgres-base', config: { listen: [{ port: 5432 }] }, layout: pgBaseLayout });
  const overrides = Object.fromEntries(Object.entries(images).map(([k, v]) => [k, v.example]));
  return { ...overrides, 'postgres-custom-base': { ref: `registry.example.com/postgres-base:e2e@${pgBase.digest}`, layout: pgBaseLayout } };
}

/**
 * The Secrets the examples mount by reference. With `existingNamespacesOnly`, only those whose
 * namespace exists now (for a deployment that makes the namespaces itself, run it in a loop);
 * otherwise the examples' Namespaces are applied first. Returns how many are still missing.
 */
export async function provideSecrets(node: KubeNode, work: string, objs: readonly Obj[], opts: { existingNamespacesOnly?: boolean } = {}): Promise<number> {
  if (!opts.existingNamespacesOnly) {
    const nsDocs = objs.filter((o) => o.kind === 'Namespace');
    writeFileSync(join(work, 'namespaces.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nsDocs }));
    await node.kubectlOk(['apply', '-f', join(work, 'namespaces.json')]);
  }
  if (!existsSync(join(work, 'tls.key'))) {
    await runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=nginx.example', '-keyout', join(work, 'tls.key'), '-out', join(work, 'tls.crt')]);
  }
  const secrets = new Map<string, { ns: string; name: string; keys: Set<string> }>();
  for (const o of objs) {
    for (const v of podSpecOf(o)?.volumes ?? []) {
      if (!v.secret) continue;
      const id = `${o.metadata.namespace}/${v.secret.secretName}`;
      const s = secrets.get(id) ?? { ns: o.metadata.namespace!, name: v.secret.secretName, keys: new Set<string>() };
      for (const i of v.secret.items ?? []) s.keys.add(i.key);
      secrets.set(id, s);
    }
  }
  let missing = 0;
  for (const s of secrets.values()) {
    if ((await node.kubectl(['-n', s.ns, 'get', 'secret', s.name])).code === 0) continue;
    if (opts.existingNamespacesOnly && (await node.kubectl(['get', 'namespace', s.ns])).code !== 0) {
      missing++;
      continue;
    }
    const args = s.keys.has('tls.crt')
      ? ['-n', s.ns, 'create', 'secret', 'tls', s.name, `--cert=${join(work, 'tls.crt')}`, `--key=${join(work, 'tls.key')}`]
      : ['-n', s.ns, 'create', 'secret', 'generic', s.name, ...[...s.keys].map((k) => `--from-literal=${k}=e2e-${k}-value`)];
    await node.kubectlOk(args);
  }
  return missing;
}

/** A PersistentVolume (hostPath in the node's private /var/lib, pre-bound) for every claim of the examples. */
export async function providePersistentVolumes(node: KubeNode, work: string, objs: readonly Obj[]): Promise<void> {
  const claims: Array<{ ns: string; name: string; spec: { accessModes: string[]; resources: { requests: { storage: string } }; storageClassName?: string } }> = [];
  for (const o of objs) {
    if (o.kind === 'PersistentVolumeClaim') claims.push({ ns: o.metadata.namespace!, name: o.metadata.name, spec: o.spec as never });
    if (o.kind === 'StatefulSet') {
      const spec = o.spec as { replicas?: number; volumeClaimTemplates?: Array<{ metadata: { name: string }; spec: never }> };
      for (const t of spec.volumeClaimTemplates ?? []) {
        for (let i = 0; i < (spec.replicas ?? 1); i++) claims.push({ ns: o.metadata.namespace!, name: `${t.metadata.name}-${o.metadata.name}-${i}`, spec: t.spec });
      }
    }
  }
  const pvs = claims.map((c, i) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `e2e-pv-${i}` },
    spec: {
      capacity: { storage: c.spec.resources.requests.storage },
      accessModes: c.spec.accessModes,
      storageClassName: c.spec.storageClassName ?? '',
      persistentVolumeReclaimPolicy: 'Retain', // the platform's volumes: no deleter for hostPath
      claimRef: { namespace: c.ns, name: c.name },
      hostPath: { path: `/var/lib/e2e-pv/${i}`, type: 'Directory' },
    },
  }));
  for (let i = 0; i < pvs.length; i++) {
    // In the node's mount namespace (a tmpfs), writable by the pods' non-root user.
    await runOk('nsenter', ['-t', String(node.pid), '--mount', '--', 'install', '-d', '-m', '0777', `/var/lib/e2e-pv/${i}`]);
  }
  writeFileSync(join(work, 'pvs.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pvs }));
  await node.kubectlOk(['apply', '-f', join(work, 'pvs.json')]);
}

/** The replicas an HPA in `objs` holds `o` at, at least (0 when no HPA targets it). */
export function autoscalerMinimum(o: Obj, objs: readonly Obj[]): number {
  const hpa = objs.find((h) => {
    const ref = h.spec?.scaleTargetRef as { kind?: string; name?: string } | undefined;
    return h.kind === 'HorizontalPodAutoscaler' && h.metadata.namespace === o.metadata.namespace && ref?.kind === o.kind && ref?.name === o.metadata.name;
  });
  return hpa ? Number(hpa.spec?.minReplicas ?? 1) : 0;
}

type WorkloadState = Obj & { metadata: { generation?: number; annotations?: Record<string, string> }; spec: { replicas?: number }; status: { observedGeneration?: number; replicas?: number; readyReplicas?: number; updatedReplicas?: number } };

/**
 * Polls a Deployment or StatefulSet until its controller has seen the newest spec, every replica is
 * updated and Ready, and an HPA's minimum (if one targets it) is in the spec. `rollout status` alone
 * races the HPA: it can succeed at 1 replica moments before the HPA raises the spec to 3. Returns the
 * last state read, settled or not (the caller's expectations then show what was missing).
 */
export async function settledWorkload(node: KubeNode, o: Obj, objs: readonly Obj[], timeoutMs = 200_000): Promise<WorkloadState> {
  const minimum = autoscalerMinimum(o, objs);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const w = JSON.parse(await node.kubectlOk(['-n', o.metadata.namespace!, 'get', o.kind!.toLowerCase(), o.metadata.name, '-o', 'json'])) as WorkloadState;
    const want = w.spec.replicas ?? 1;
    const settled = (w.status.observedGeneration ?? 0) >= (w.metadata.generation ?? 1) && want >= minimum
      && w.status.replicas === want && w.status.readyReplicas === want && w.status.updatedReplicas === want;
    if (settled || Date.now() > deadline) return w;
    await new Promise((r) => setTimeout(r, 2000));
  }
}
