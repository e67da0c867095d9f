/**
 * The workload kinds of the core: every kind wraps the same hardened pod template; each adds only
 * its own spec fields and the production shape (HPA instead of replicas, PDB and spread with 2+
 * pods, claims, Recreate for one replica with a claim). Bad props are refused with every problem.
 */
import { describe, expect, it } from 'vitest';
import {
  cronScheduleProblem, digestRef, hardenedCronJob, hardenedDeployment, hardenedJob, hardenedStatefulSet, httpRouteFor, ingressFor, sortForApply, timeZoneProblem,
  type HardenedContainerProps,
} from '../../src/core';
import { CleanimgError } from '../../src/errors';
import { checkObjects } from '../../src/rules';
import { IMAGE } from '../support/fixtures';

const web: HardenedContainerProps = { name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }] };
const worker: HardenedContainerProps = { name: 'job', image: IMAGE, command: ['/app/backup', '--once'] };

function codesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CleanimgError);
    return (e as CleanimgError).problems.map((p) => p.code);
  }
  throw new Error('expected a CleanimgError');
}

const podOf = (o: any) => (o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec);

describe('one pod template for every kind', () => {
  const kinds = {
    Deployment: hardenedDeployment({ name: 'w', containers: [web] }).workload,
    StatefulSet: hardenedStatefulSet({ name: 'w', containers: [web] }).workload,
    Job: hardenedJob({ name: 'w', containers: [worker] }).workload,
    CronJob: hardenedCronJob({ name: 'w', schedule: '30 2 * * *', containers: [worker] }).workload,
  };

  it('gives every kind the same hardened pod and container security', () => {
    for (const [kind, o] of Object.entries(kinds)) {
      const pod = podOf(o);
      expect(o.kind, kind).toBe(kind);
      expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.serviceAccountName).toBe('w');
      expect(pod.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } });
      expect(pod.volumes).toEqual([{ name: `${pod.containers[0].name}-tmp`, emptyDir: { sizeLimit: '64Mi' } }]);
      expect(checkObjects([o])).toEqual([]);
    }
  });

  it('adds default probes only to long-running kinds, and a restart policy only to Jobs', () => {
    expect(podOf(kinds.Deployment).containers[0].readinessProbe).toEqual({ tcpSocket: { port: 'http' } });
    expect(podOf(kinds.StatefulSet).containers[0].livenessProbe).toEqual({ tcpSocket: { port: 'http' }, periodSeconds: 20 });
    const withPort = hardenedJob({ name: 'j', containers: [{ ...worker, ports: [{ containerPort: 9000 }] }] }).workload;
    expect(podOf(withPort).containers[0].readinessProbe).toBeUndefined();
    expect(podOf(kinds.Job).restartPolicy).toBe('Never');
    expect(podOf(kinds.CronJob).restartPolicy).toBe('Never');
    expect(podOf(kinds.Deployment).restartPolicy).toBeUndefined();
  });
});

describe('Deployment production shape', () => {
  it('writes no replicas under an autoscaler, and an HPA, a PDB and soft spread instead', () => {
    const r = hardenedDeployment({ name: 'api', namespace: 'shop', containers: [web], autoscaling: { minReplicas: 3, maxReplicas: 10, memoryUtilization: 80 } });
    expect((r.workload as any).spec.replicas).toBeUndefined();
    expect(r.autoscaler).toMatchObject({
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'api', namespace: 'shop' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, minReplicas: 3, maxReplicas: 10,
        metrics: [{ type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } }] },
    });
    expect(r.disruptionBudget?.spec).toEqual({ selector: { matchLabels: { 'app.kubernetes.io/name': 'api' } }, maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
    expect(podOf(r.workload).topologySpreadConstraints).toEqual([{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'api' } } }]);
    expect(r.objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget']);
    const cpu = hardenedDeployment({ name: 'api', containers: [web], autoscaling: { maxReplicas: 4 } }).autoscaler as any;
    expect(cpu.spec.minReplicas).toBe(2);
    expect(cpu.spec.metrics[0].resource).toEqual({ name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } });
  });

  it('has no PDB and no spread with one replica, and takes them off or shapes them on request', () => {
    const one = hardenedDeployment({ name: 'one', replicas: 1, containers: [web] });
    expect(one.disruptionBudget).toBeUndefined();
    expect(podOf(one.workload).topologySpreadConstraints).toBeUndefined();
    const off = hardenedDeployment({ name: 'off', replicas: 4, containers: [web], disruptionBudget: false, spread: false });
    expect(off.disruptionBudget).toBeUndefined();
    expect(podOf(off.workload).topologySpreadConstraints).toBeUndefined();
    const shaped = hardenedDeployment({ name: 's', replicas: 4, containers: [web], disruptionBudget: { minAvailable: '50%' }, spread: { zones: true, maxSkew: 2 } });
    expect(shaped.disruptionBudget?.spec).toMatchObject({ minAvailable: '50%' });
    expect(podOf(shaped.workload).topologySpreadConstraints.map((c: any) => [c.topologyKey, c.maxSkew])).toEqual([['kubernetes.io/hostname', 2], ['topology.kubernetes.io/zone', 2]]);
  });

  it('creates a PVC for declared storage and updates a single replica with Recreate', () => {
    const r = hardenedDeployment({ name: 'db', replicas: 1, containers: [{ ...web, writablePaths: [{ path: '/data', storage: { size: '10Gi', storageClassName: 'fast' } }] }] });
    expect(r.claims).toEqual([{
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'db-app-data', labels: { 'app.kubernetes.io/name': 'db', 'app.kubernetes.io/managed-by': 'cleanimg' } },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '10Gi' } } },
    }]);
    expect(podOf(r.workload).volumes).toContainEqual({ name: 'app-data', persistentVolumeClaim: { claimName: 'db-app-data' } });
    expect((r.workload as any).spec.strategy).toEqual({ type: 'Recreate' });
    expect(r.objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'PersistentVolumeClaim', 'Deployment']);
    const existing = hardenedDeployment({ name: 'db', replicas: 1, containers: [{ ...web, writablePaths: [{ path: '/data', claimName: 'data' }] }] });
    expect((existing.workload as any).spec.strategy).toEqual({ type: 'Recreate' });
    const rolling = hardenedDeployment({ name: 'db', replicas: 1, strategy: { type: 'RollingUpdate', maxSurge: 0, maxUnavailable: 1 }, containers: [{ ...web, writablePaths: [{ path: '/data', claimName: 'data' }] }] });
    expect((rolling.workload as any).spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } });
    const shared = hardenedDeployment({ name: 'files', replicas: 3, containers: [{ ...web, writablePaths: [{ path: '/srv', storage: { size: '1Gi', accessMode: 'ReadWriteMany' } }] }] });
    expect((shared.workload as any).spec.strategy).toBeUndefined();
  });

  it('refuses what a cluster would fight or could not schedule, every problem at once', () => {
    const rwo = { ...web, writablePaths: [{ path: '/data', storage: { size: '1Gi' } }] };
    expect(codesOf(() => hardenedDeployment({ name: 'x', replicas: 3, containers: [rwo] }))).toEqual(['PROP008']);
    expect(codesOf(() => hardenedDeployment({ name: 'x', autoscaling: { maxReplicas: 3 }, containers: [rwo] }))).toEqual(['PROP008']);
    expect(codesOf(() => hardenedDeployment({ name: 'x', replicas: 2, autoscaling: { minReplicas: 5, maxReplicas: 3 }, containers: [web] }))).toEqual(['PROP008', 'PROP008']);
    expect(codesOf(() => hardenedDeployment({ name: 'x', containers: [web], disruptionBudget: { minAvailable: 1, maxUnavailable: 1 } }))).toEqual(['PROP002']);
  });
});

describe('StatefulSet', () => {
  it('claims storage per pod, is governed by a headless Service, and takes its own update settings', () => {
    const r = hardenedStatefulSet({
      name: 'redis', namespace: 'cache', replicas: 3, podManagementPolicy: 'Parallel', updateStrategy: { type: 'RollingUpdate', partition: 1 },
      claimRetention: { whenDeleted: 'Delete' },
      containers: [{ name: 'redis', image: IMAGE, ports: [{ containerPort: 6379, name: 'redis' }], writablePaths: [{ path: '/data', storage: { size: '5Gi' } }] }],
    });
    const spec = r.workload.spec as any;
    expect(spec).toMatchObject({ replicas: 3, serviceName: 'redis-headless', podManagementPolicy: 'Parallel', updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } }, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } });
    expect(spec.volumeClaimTemplates).toEqual([{ metadata: { name: 'redis-data', labels: r.workload.metadata!.labels }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } } }]);
    expect(spec.template.spec.volumes.map((v: any) => v.name)).toEqual(['redis-tmp']);
    expect(spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'redis-data', mountPath: '/data' });
    expect(r.headlessService.spec).toEqual({ clusterIP: 'None', selector: { 'app.kubernetes.io/name': 'redis' }, ports: [{ name: 'redis', port: 6379, targetPort: 'redis', protocol: 'TCP' }] });
    expect(r.claims).toEqual([]);
    expect(r.objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'StatefulSet', 'Service', 'PodDisruptionBudget']);
    expect(checkObjects(r.objects)).toEqual([]);
  });

  it('defaults to one replica, so no PDB and no spread', () => {
    const r = hardenedStatefulSet({ name: 'pg', containers: [web] });
    expect((r.workload.spec as any).replicas).toBe(1);
    expect(r.disruptionBudget).toBeUndefined();
  });
});

describe('Job and CronJob', () => {
  it('runs to completion with a backoff limit, and only the fields asked for', () => {
    const j = hardenedJob({ name: 'migrate', containers: [worker], restartPolicy: 'OnFailure', backoffLimit: 1, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 3600, completions: 2, parallelism: 2 });
    const spec = j.workload.spec as any;
    expect({ ...spec, template: undefined }).toEqual({ backoffLimit: 1, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 3600, completions: 2, parallelism: 2, template: undefined });
    expect(spec.selector).toBeUndefined();
    expect(spec.template.spec.restartPolicy).toBe('OnFailure');
    expect(hardenedJob({ name: 'j', containers: [worker] }).workload.spec).toMatchObject({ backoffLimit: 3 });
  });

  it('schedules jobs, never two at once by default', () => {
    const c = hardenedCronJob({ name: 'backup', namespace: 'db', schedule: '@daily', timeZone: 'Europe/Berlin', containers: [worker] });
    const spec = c.workload.spec as any;
    expect({ ...spec, jobTemplate: undefined }).toEqual({ schedule: '@daily', timeZone: 'Europe/Berlin', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 300, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1, jobTemplate: undefined });
    expect(spec.jobTemplate.spec.backoffLimit).toBe(3);
    expect(spec.jobTemplate.metadata.labels['app.kubernetes.io/name']).toBe('backup');
    expect(c.objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'CronJob']);
  });

  it('refuses schedules and time zones the API server would refuse', () => {
    for (const s of ['* * * *', '60 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '* * * * 7', '*/0 * * * *', '5-1 * * * *', 'TZ=UTC 0 * * * *', '@every 1h', '@sometimes', 'a b c d e'])
      expect(cronScheduleProblem(s), s).toBeDefined();
    for (const s of ['30 2 * * *', '*/15 * * * *', '0 0 1 jan,jul *', '0 9 * * mon-fri', '0 0 ? * SUN', '@hourly', '@yearly', '0-30/10 1,2,3 * * *'])
      expect(cronScheduleProblem(s), s).toBeUndefined();
    for (const tz of ['Mars/Olympus', 'Local', 'europe/berlin', '../etc/passwd', '']) expect(timeZoneProblem(tz), tz).toBeDefined();
    for (const tz of ['UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5']) expect(timeZoneProblem(tz), tz).toBeUndefined();
    expect(codesOf(() => hardenedCronJob({ name: 'c', schedule: '61 * * * *', timeZone: 'Nowhere/City', containers: [worker] }))).toEqual(['PROP002', 'PROP002']);
  });
});

describe('props refused for every kind', () => {
  it('refuses system namespaces (HD029), look-alike config (PROP007), bad shapes and quantities', () => {
    const make = [
      (p: any) => hardenedDeployment(p), (p: any) => hardenedStatefulSet(p), (p: any) => hardenedJob(p), (p: any) => hardenedCronJob({ schedule: '@hourly', ...p }),
    ];
    for (const m of make) {
      expect(codesOf(() => m({ name: 'x', namespace: 'kube-system', containers: [web] }))).toEqual(['HD029']);
      const lookAlike = { volumes: [{ name: 't', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }], volumeMounts: [], env: [], seal: 'x' };
      expect(codesOf(() => m({ name: 'x', containers: [{ ...web, config: [lookAlike] }] }))).toEqual(['PROP007']);
      expect(codesOf(() => m({ name: 'x', containers: [{ ...web, writablePaths: [{ path: '/', sizeLimit: '1Mi' }] }] }))).toEqual(['HD036']);
      expect(codesOf(() => m({ name: 'x', containers: [{ ...web, resources: { memory: { request: '1Gi', limit: '0' } } }] }))).toEqual(['HD035', 'HD035']);
      expect(codesOf(() => m({ name: 'x', containers: [{ ...web, ports: [{ containerPort: 80, name: 'http--x' }] }] }))).toEqual(['PROP002']);
      expect(codesOf(() => m({ name: 'x', containers: [{ ...web, writablePaths: [{ path: '/d', claimName: 'c', subPath: '../etc' }] }] }))).toEqual(['HD036']);
      expect(codesOf(() => m({ name: 'x', containers: [web], privileged: true }))).toEqual(['HD006']);
    }
  });
});

describe('exposure', () => {
  const r = hardenedDeployment({ name: 'api', namespace: 'shop', containers: [{ ...web, ports: [{ containerPort: 8080, name: 'http' }, { containerPort: 9090, name: 'metrics' }] }] });

  it('routes an Ingress with TLS from a Secret to the Service port', () => {
    const ing = ingressFor(r, { hosts: ['api.example.com'], tls: { secretName: 'api-tls' }, className: 'nginx' });
    expect(ing).toMatchObject({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'api', namespace: 'shop' } });
    expect(ing.spec).toEqual({
      ingressClassName: 'nginx', tls: [{ hosts: ['api.example.com'], secretName: 'api-tls' }],
      rules: [{ host: 'api.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 8080 } } } }] } }],
    });
  });

  it('routes an HTTPRoute from a Gateway to a chosen declared port', () => {
    const route = httpRouteFor(r, { parentRefs: [{ name: 'public', namespace: 'gateways' }], hostnames: ['api.example.com'], port: 9090, path: '/metrics' });
    expect(route.spec).toEqual({
      parentRefs: [{ name: 'public', namespace: 'gateways' }], hostnames: ['api.example.com'],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/metrics' } }], backendRefs: [{ name: 'api', port: 9090 }] }],
    });
  });

  it('refuses an undeclared port, a bad host and unknown options', () => {
    expect(codesOf(() => ingressFor(r, { hosts: ['api.example.com'], port: 7000 }))).toEqual(['PROP006']);
    expect(codesOf(() => ingressFor(r, { hosts: ['Api_Example'] }))).toEqual(['PROP002']);
    expect(codesOf(() => httpRouteFor(r, { parentRefs: [], annotations: {} } as any))).toEqual(['PROP002', 'PROP001']);
  });
});

describe('digestRef and apply order', () => {
  it('types a reference from CI, or refuses it with HD003', () => {
    expect(digestRef(IMAGE, 'IMAGE')).toBe(IMAGE);
    expect(codesOf(() => digestRef('nginx:1.25', 'IMAGE'))).toEqual(['HD003']);
    expect(codesOf(() => digestRef(undefined, 'IMAGE'))).toEqual(['HD003']);
  });

  it('puts Namespaces first and custom resources last, keeping the order within a kind', () => {
    const o = (kind: string, name = kind) => ({ kind, metadata: { name } });
    const sorted = sortForApply([o('Deployment'), o('PersistentVolumeClaim'), o('Rollout'), o('ConfigMap', 'a'), o('Namespace'), o('ConfigMap', 'b'), o('ValidatingAdmissionPolicyBinding'), o('ValidatingAdmissionPolicy'), o('HorizontalPodAutoscaler')]);
    expect(sorted.map((x) => `${x.kind}/${x.metadata.name}`)).toEqual([
      'Namespace/Namespace', 'ValidatingAdmissionPolicy/ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding/ValidatingAdmissionPolicyBinding',
      'ConfigMap/a', 'ConfigMap/b', 'PersistentVolumeClaim/PersistentVolumeClaim', 'Deployment/Deployment', 'HorizontalPodAutoscaler/HorizontalPodAutoscaler', 'Rollout/Rollout',
    ]);
  });
});
