/**
 * The mixed synth benchmark's apps: N workloads of every kind (in each 20: 10 Deployments, half of
 * them autoscaled, all with a Service and a PodDisruptionBudget; 4 StatefulSets with 3 replicas, a
 * claim template, a headless Service and a PDB; 3 Jobs; 3 CronJobs), each with its own config
 * mounted read-only. Written three ways: with cleanimg's constructs; with cdk8s-plus-28 with every
 * security setting cleanimg writes written by hand (non-root 65532, read-only root, no escalation,
 * capabilities dropped, seccomp RuntimeDefault, no token, a sized /tmp, requests and limits, probes,
 * spread); and as the very objects cleanimg emits, as plain ApiObjects.
 */
import { ApiObject, Chart, Cron, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { EnvConfig, HardenedCronJob, HardenedDeployment, HardenedJob, HardenedStatefulSet } from '../lib/cdk8s';
import { envConfig, hardenedCronJob, hardenedDeployment, hardenedJob, hardenedStatefulSet } from '../lib/core';

const digest = `sha256:${'ab'.repeat(32)}` as `sha256:${string}`;
type Kind = 'Deployment' | 'StatefulSet' | 'Job' | 'CronJob';

/** The kind of the i-th workload (50% Deployments, 20% StatefulSets, 15% Jobs, 15% CronJobs). */
export function kindOf(i: number): Kind {
  const k = i % 20;
  return k < 10 ? 'Deployment' : k < 14 ? 'StatefulSet' : k < 17 ? 'Job' : 'CronJob';
}
const image = (i: number) => `registry.example.com/app${i}@${digest}` as const;
const configData = (i: number) => ({ 'app.env': `INDEX=${i}\nLOG_LEVEL=info\n` });
const autoscaled = (i: number) => kindOf(i) === 'Deployment' && i % 2 === 0;

/** Core props of the i-th workload, shared by the cleanimg and the plain-object variants. */
function props(i: number, config: unknown): Record<string, unknown> {
  const name = `w${i}`;
  const server = { name: 'app', image: image(i), ports: [{ containerPort: 8080 }], config: [config] };
  const task = { name: 'task', image: image(i), command: ['/app/run'], config: [config] };
  switch (kindOf(i)) {
    case 'Deployment': return { name, containers: [server], ...(autoscaled(i) ? { autoscaling: { minReplicas: 2, maxReplicas: 6 } } : { replicas: 2 }) };
    case 'StatefulSet': return { name, replicas: 3, containers: [{ ...server, writablePaths: [{ path: '/tmp', sizeLimit: '64Mi' }, { path: '/data', storage: { size: '1Gi' } }] }] };
    case 'Job': return { name, containers: [task] };
    case 'CronJob': return { name, schedule: '0 3 * * *', containers: [task] };
  }
}

export function mixedCleanimg(chart: Chart, count: number): void {
  for (let i = 0; i < count; i++) {
    const cfg = new EnvConfig(chart, `cfg${i}`, { name: `w${i}`, data: configData(i), mountPath: '/etc/app' });
    const p = props(i, cfg) as never;
    switch (kindOf(i)) {
      case 'Deployment': new HardenedDeployment(chart, `w${i}`, p).exposeViaService(); break;
      case 'StatefulSet': new HardenedStatefulSet(chart, `w${i}`, p); break;
      case 'Job': new HardenedJob(chart, `w${i}`, p); break;
      case 'CronJob': new HardenedCronJob(chart, `w${i}`, p); break;
    }
  }
}

/** The same objects, as the core emits them, serialized outside the timed part. */
export function mixedObjectsJson(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const cfg = envConfig({ name: `w${i}`, data: configData(i), mountPath: '/etc/app' });
    const p = props(i, cfg) as never;
    const r = kindOf(i) === 'Deployment' ? hardenedDeployment(p) : kindOf(i) === 'StatefulSet' ? hardenedStatefulSet(p) : kindOf(i) === 'Job' ? hardenedJob(p) : hardenedCronJob(p);
    const service = kindOf(i) === 'Deployment' ? [{ apiVersion: 'v1', kind: 'Service', metadata: { name: `w${i}`, labels: r.workload.metadata?.labels }, spec: { selector: r.selector, ports: [{ name: 'p8080', port: 8080, targetPort: 8080, protocol: 'TCP' }] } }] : [];
    return JSON.stringify([cfg.configMap, ...r.objects, ...service]);
  });
}

export function mixedSame(chart: Chart, json: readonly string[]): void {
  json.forEach((text, i) => (JSON.parse(text) as object[]).forEach((o, j) => new ApiObject(chart, `o${i}-${j}`, o as never)));
}

// ---- cdk8s-plus-28, with every setting by hand ----

const hardenedSecurity: kplus.ContainerSecurityContextProps = {
  ensureNonRoot: true, user: 65532, group: 65532, privileged: false, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
  capabilities: { drop: [kplus.Capability.ALL] }, seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
};
const resources: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(100) },
  memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
  // cdk8s-plus-28 writes ephemeral storage in whole GiB only (64Mi cannot be said), and turns a patched-in
  // string into null: a 1Gi request stands in for cleanimg's 64Mi (the same fields, a different value).
  ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(1) },
};

function plusContainer(i: number, server: boolean): kplus.ContainerProps {
  return {
    name: server ? 'app' : 'task', image: image(i), securityContext: hardenedSecurity, resources,
    ...(server
      ? { portNumber: 8080, readiness: kplus.Probe.fromTcpSocket({ port: 8080, periodSeconds: Duration.seconds(10) }), liveness: kplus.Probe.fromTcpSocket({ port: 8080, periodSeconds: Duration.seconds(20) }) }
      : { command: ['/app/run'] }),
  };
}

const podSecurity: kplus.PodSecurityContextProps = { ensureNonRoot: true, user: 65532, group: 65532, fsGroup: 65532 };

/** What cdk8s-plus-28 has no prop for, added by hand: pod-level seccomp and, for replicated kinds, the spread. */
function byHand(workload: kplus.AbstractPod | kplus.Workload, podSpecPath: string, name: string, spread: boolean): void {
  const o = ApiObject.of(workload);
  o.addJsonPatch(JsonPatch.add(`${podSpecPath}/securityContext/seccompProfile`, { type: 'RuntimeDefault' }));
  if (spread) o.addJsonPatch(JsonPatch.add(`${podSpecPath}/topologySpreadConstraints`, [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { 'app.kubernetes.io/name': name } } }]));
}

function pdb(chart: Chart, i: number): void {
  new ApiObject(chart, `pdb${i}`, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: `w${i}` }, spec: { maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow', selector: { matchLabels: { 'app.kubernetes.io/name': `w${i}` } } } } as never);
}

export function mixedPlus(chart: Chart, count: number): void {
  for (let i = 0; i < count; i++) {
    const name = `w${i}`;
    const kind = kindOf(i);
    const cm = new kplus.ConfigMap(chart, `cfg${i}`, { data: configData(i) });
    const tmp = kplus.Volume.fromEmptyDir(chart, `tmp${i}`, 'tmp', { sizeLimit: Size.mebibytes(64) });
    const config = kplus.Volume.fromConfigMap(chart, `vol${i}`, cm);
    const serviceAccount = new kplus.ServiceAccount(chart, `sa${i}`, { automountToken: false });
    const common = { serviceAccount, automountServiceAccountToken: false, securityContext: podSecurity, metadata: { labels: { 'app.kubernetes.io/name': name } } };
    const server = kind === 'Deployment' || kind === 'StatefulSet';
    const containers = [plusContainer(i, server)];
    let w: kplus.Workload;
    if (kind === 'Deployment') {
      const d = new kplus.Deployment(chart, name, { ...common, containers, ...(autoscaled(i) ? {} : { replicas: 2 }) });
      d.exposeViaService({ ports: [{ port: 8080 }] });
      if (autoscaled(i)) new kplus.HorizontalPodAutoscaler(chart, `hpa${i}`, { target: d, minReplicas: 2, maxReplicas: 6, metrics: [kplus.Metric.resourceCpu(kplus.MetricTarget.averageUtilization(70))] });
      pdb(chart, i);
      w = d;
    } else if (kind === 'StatefulSet') {
      const headless = new kplus.Service(chart, `headless${i}`, { clusterIP: 'None', ports: [{ port: 8080 }] });
      const s = new kplus.StatefulSet(chart, name, { ...common, containers, replicas: 3, service: headless });
      // No claim templates in cdk8s-plus-28: written by hand, with the container's mount of the claim.
      ApiObject.of(s).addJsonPatch(
        JsonPatch.add('/spec/volumeClaimTemplates', [{ metadata: { name: 'app-data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }]),
        JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', { name: 'app-data', mountPath: '/data' }),
      );
      pdb(chart, i);
      w = s;
    } else if (kind === 'Job') {
      w = new kplus.Job(chart, name, { ...common, containers, backoffLimit: 3 });
    } else {
      w = new kplus.CronJob(chart, name, { ...common, containers, schedule: Cron.schedule({ minute: '0', hour: '3' }), concurrencyPolicy: kplus.ConcurrencyPolicy.FORBID, startingDeadline: Duration.seconds(300), successfulJobsRetained: 3, failedJobsRetained: 1, backoffLimit: 3 });
    }
    w.containers[0]!.mount('/tmp', tmp);
    w.containers[0]!.mount('/etc/app', config, { readOnly: true });
    byHand(w, kind === 'CronJob' ? '/spec/jobTemplate/spec/template/spec' : '/spec/template/spec', name, server);
  }
}
