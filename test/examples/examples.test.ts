import { Testing } from 'cdk8s';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresCustomImageChart } from '../../examples/postgres/custom-image-chart';
import { describe, expect, it } from 'vitest';
import { GoApiChart } from '../../examples/go-api/chart';
import { NginxChart } from '../../examples/nginx/chart';
import { GatewayChart, PRODUCTION, STAGING } from '../../examples/per-env/chart';
import { PostgresChart } from '../../examples/postgres/chart';
import { PythonAppChart } from '../../examples/python-app/chart';
import { checkObjects } from '../../src/rules';

const synth = (make: (app: ReturnType<typeof Testing.app>) => unknown) => {
  const app = Testing.app();
  return Testing.synth(make(app) as never);
};

const charts = {
  postgres: () => synth((app) => new PostgresChart(app, 'postgres')),
  nginx: () => synth((app) => new NginxChart(app, 'nginx')),
  'gateway-staging': () => synth((app) => new GatewayChart(app, 'gateway-staging', STAGING)),
  'gateway-production': () => synth((app) => new GatewayChart(app, 'gateway-production', PRODUCTION)),
  'python-app': () => synth((app) => new PythonAppChart(app, 'python-app')),
  'go-api': () => synth((app) => new GoApiChart(app, 'go-api')),
};

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job', 'CronJob'];
const podSpecOf = (o: any) => (o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec);

describe.each(Object.entries(charts))('example %s', (_name, make) => {
  it('breaks no rule and matches its snapshot', () => {
    const objects = make();
    expect(checkObjects(objects)).toEqual([]);
    expect(objects).toMatchSnapshot();
  });

  it('puts no secret value and no Secret object in the manifest', () => {
    const objects = make();
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    // The admission policy names what it refuses (private keys, secretKeyRef): its CEL is not a value.
    const text = JSON.stringify(objects.filter((o) => o.kind !== 'ValidatingAdmissionPolicy'));
    expect(objects.some((o) => o.kind === 'ValidatingAdmissionPolicy')).toBe(true);
    expect(text).not.toMatch(/PRIVATE KEY|password@|secretKeyRef/);
  });

  it('runs its workloads in a HardenedNamespace, the guards emitted before them', () => {
    const objects = make();
    const index = (kind: string) => objects.findIndex((o) => o.kind === kind);
    const ns = objects[0];
    expect(ns.kind).toBe('Namespace');
    expect(ns.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'v1.33' });
    const binding = objects.find((o) => o.kind === 'ValidatingAdmissionPolicyBinding');
    expect(binding.spec).toMatchObject({ policyName: `cleanimg-hardening.${ns.metadata.name}`, validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.metadata.name } } } });
    const firstWorkload = objects.findIndex((o) => WORKLOAD_KINDS.includes(o.kind));
    for (const kind of ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']) expect(index(kind)).toBeLessThan(firstWorkload);
    expect(index('ValidatingAdmissionPolicy')).toBeLessThan(index('ValidatingAdmissionPolicyBinding'));
    if (index('ConfigMap') >= 0) expect(index('ValidatingAdmissionPolicyBinding')).toBeLessThan(index('ConfigMap'));
    const workloads = objects.filter((o) => WORKLOAD_KINDS.includes(o.kind));
    for (const o of objects.filter((x) => !['Namespace', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].includes(x.kind)))
      expect({ kind: o.kind, namespace: o.metadata.namespace }).toEqual({ kind: o.kind, namespace: ns.metadata.name });
    expect(objects.find((o) => o.kind === 'RoleBinding').subjects).toEqual(workloads.map((w) => ({ kind: 'ServiceAccount', name: podSpecOf(w).serviceAccountName, namespace: ns.metadata.name })));
    for (const w of workloads) {
      const declared = podSpecOf(w).containers.flatMap((c: any) => (c.ports ?? []).map((p: any) => p.containerPort));
      if (!declared.length) continue;
      const allow = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === `allow-${w.metadata.name}`);
      expect(allow.spec.ingress.flatMap((i: any) => i.ports.map((p: any) => p.port))).toEqual(declared);
    }
    expect(objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name)).toEqual(expect.arrayContaining(['default-deny', 'allow-dns']));
  });
});

describe('traffic between the scenarios', () => {
  const policy = (objs: any[], name: string) => objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name).spec;

  it('postgres admits only the python app and its backup job, which may reach only postgres (and DNS)', () => {
    const pg = policy(charts.postgres(), 'allow-postgres');
    expect(pg.ingress).toEqual([{ from: [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'python-app' } } },
      { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgres-backup' } } },
    ], ports: [{ port: 5432, protocol: 'TCP' }] }]);
    const backup = policy(charts.postgres(), 'allow-postgres-backup');
    expect(backup).toEqual({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgres-backup' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgres' } } }], ports: [{ port: 5432, protocol: 'TCP' }] }] });
    const app = policy(charts['python-app'](), 'allow-python-app');
    expect(app.egress).toEqual([{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'databases' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgres' } } }], ports: [{ port: 5432, protocol: 'TCP' }] }]);
  });

  it('each gateway environment is its own namespace, reaching its upstreams in it', () => {
    for (const [env, objs] of [['staging', charts['gateway-staging']()], ['production', charts['gateway-production']()]] as const) {
      expect(objs.find((o) => o.kind === 'Namespace').metadata.name).toBe(env);
      expect(policy(objs, 'allow-gateway').egress).toEqual([{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': env } } }], ports: [{ port: 8000, protocol: 'TCP' }] }]);
    }
  });
});

describe('per-environment config', () => {
  const staging = charts['gateway-staging']();
  const production = charts['gateway-production']();
  const deployment = (objs: any[]) => objs.find((o) => o.kind === 'Deployment');
  const configMap = (objs: any[]) => objs.find((o) => o.kind === 'ConfigMap');

  it('runs the same image digest in staging and production', () => {
    const image = (objs: any[]) => deployment(objs).spec.template.spec.containers[0].image;
    expect(image(staging)).toBe(image(production));
    expect(image(staging)).toMatch(/@sha256:[0-9a-f]{64}$/);
  });

  it('differs only in config (hashed name, upstreams), namespace and replicas', () => {
    expect(configMap(staging).metadata.name).not.toBe(configMap(production).metadata.name);
    expect(configMap(staging).data['nginx.conf']).toContain('backend-staging:8000');
    expect(configMap(production).data['nginx.conf']).toContain('backend-prod-3:8000');
    expect(deployment(staging).metadata.namespace).toBe('staging');
    expect(deployment(production).spec.replicas).toBe(3);
  });
});

describe('the guide, corrected', () => {
  it('nginx: the private key comes from a Secret reference, mounted read-only', () => {
    const d = charts.nginx().find((o) => o.kind === 'Deployment');
    const mount = d.spec.template.spec.containers[0].volumeMounts.find((m: any) => m.mountPath === '/etc/ssl/private');
    expect(mount.readOnly).toBe(true);
    const vol = d.spec.template.spec.volumes.find((v: any) => v.name === mount.name);
    expect(vol.secret).toMatchObject({ secretName: 'nginx-tls', items: [{ key: 'tls.key', path: 'tls.key' }] });
  });

  it('python app: the database URL is a file, not an env var', () => {
    const c = charts['python-app']().find((o) => o.kind === 'Deployment').spec.template.spec.containers[0];
    expect(c.env.map((e: any) => e.name)).not.toContain('DATABASE_URL');
    expect(c.volumeMounts.find((m: any) => m.mountPath === '/var/run/secrets/app').readOnly).toBe(true);
  });

  it('postgres: a StatefulSet with its data on a claim per pod, /tmp and the socket directory as sized emptyDirs', () => {
    const sts = charts.postgres().find((o) => o.kind === 'StatefulSet');
    const s = sts.spec.template.spec;
    const byMount = Object.fromEntries(s.containers[0].volumeMounts.map((m: any) => [m.mountPath, s.volumes.find((v: any) => v.name === m.name)]));
    expect(byMount['/var/lib/postgresql/data']).toBeUndefined();
    expect(sts.spec.volumeClaimTemplates.map((t: any) => [t.metadata.name, t.spec.resources.requests.storage])).toEqual([['postgres-var-lib-postgresql-data', '10Gi']]);
    expect(s.containers[0].volumeMounts).toContainEqual({ name: 'postgres-var-lib-postgresql-data', mountPath: '/var/lib/postgresql/data' });
    expect(byMount['/var/run/postgresql'].emptyDir.sizeLimit).toBe('16Mi');
    expect(byMount['/tmp'].emptyDir.sizeLimit).toBe('256Mi');
    expect(sts.spec.serviceName).toBe('postgres-headless');
  });

  it('postgres backup: a nightly CronJob, never two at once, the password as a file, dumps on a claim of its own', () => {
    const objects = charts.postgres();
    const cron = objects.find((o) => o.kind === 'CronJob');
    expect(cron.spec).toMatchObject({ schedule: '30 2 * * *', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid' });
    const pod = podSpecOf(cron);
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.containers[0].env).toEqual([{ name: 'POSTGRES_PASSWORD_FILE', value: '/var/run/secrets/postgres/password' }]);
    expect(pod.volumes.find((v: any) => v.persistentVolumeClaim)).toEqual({ name: 'dump-backups', persistentVolumeClaim: { claimName: 'postgres-backup-dump-backups' } });
    expect(objects.find((o) => o.kind === 'PersistentVolumeClaim').metadata.name).toBe('postgres-backup-dump-backups');
  });

  it('go api: autoscaled (no replicas), a PDB, spread over nodes and zones, a shared claim, an Ingress with TLS', () => {
    const objects = charts['go-api']();
    const d = objects.find((o) => o.kind === 'Deployment');
    expect(d.spec.replicas).toBeUndefined();
    expect(objects.find((o) => o.kind === 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 3, maxReplicas: 12 });
    expect(objects.find((o) => o.kind === 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
    expect(d.spec.template.spec.topologySpreadConstraints.map((c: any) => c.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    expect(objects.find((o) => o.kind === 'PersistentVolumeClaim').spec.accessModes).toEqual(['ReadWriteMany']);
    const ingress = objects.find((o) => o.kind === 'Ingress');
    expect(ingress.spec.tls).toEqual([{ hosts: ['api.example.com'], secretName: 'api-example-com-tls' }]);
    expect(ingress.spec.rules[0].http.paths[0].backend).toEqual({ service: { name: 'go-api', port: { number: 8080 } } });
    expect(objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name)).toEqual(['go-api']);
  });
});

describe('example postgres-custom-image (CustomizedImage built at synth, offline, on the embedded base)', () => {
  it('pins the Deployment to the digest of the layer it built, breaks no rule, and matches its snapshot', () => {
    const app = Testing.app({ outdir: mkdtempSync(join(tmpdir(), 'cleanimg-example-')) });
    const chart = new PostgresCustomImageChart(app, 'postgres-custom-image');
    const objects = Testing.synth(chart);
    expect(checkObjects(objects)).toEqual([]);
    const d = objects.find((o) => o.kind === 'StatefulSet');
    expect(d.spec.template.spec.containers[0].image).toBe(chart.image.imageRef);
    expect(chart.image.imageRef).toMatch(/^registry\.example\.com\/db\/postgres@sha256:[0-9a-f]{64}$/);
    expect(objects).toMatchSnapshot();
  });
});

describe('the examples together', () => {
  // The end-to-end tier runs every example at once on one real 2-CPU node (node-examples.e2e.test.ts);
  // the scheduler places a pod only where its CPU request fits. Replicas count as the cluster will
  // run them: an autoscaled Deployment at its HPA's minReplicas, the CronJob as one Job.
  it('request at most 1.8 CPUs, so they all run on one 2-CPU node', () => {
    const all = [...Object.values(charts).flatMap((make) => make())];
    const app = Testing.app({ outdir: mkdtempSync(join(tmpdir(), 'cleanimg-example-')) });
    all.push(...Testing.synth(new PostgresCustomImageChart(app, 'postgres-custom-image')));
    const millis = (q: string | undefined) => (q === undefined ? 0 : q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000);
    let total = 0;
    const parts: string[] = [];
    for (const o of all.filter((x) => WORKLOAD_KINDS.includes(x.kind))) {
      const hpa = all.find((h) => h.kind === 'HorizontalPodAutoscaler' && h.metadata.namespace === o.metadata.namespace && h.spec.scaleTargetRef.name === o.metadata.name);
      const replicas = o.kind === 'CronJob' || o.kind === 'Job' ? 1 : (hpa?.spec.minReplicas ?? o.spec.replicas ?? 1);
      const perPod = podSpecOf(o).containers.reduce((n: number, c: any) => n + millis(c.resources?.requests?.cpu), 0);
      total += replicas * perPod;
      parts.push(`${o.metadata.namespace}/${o.metadata.name} ${replicas}x${perPod}m`);
    }
    expect(total, parts.join(', ')).toBeLessThanOrEqual(1800);
  });
});
