/**
 * HD029, HD032, HD034-HD038, HD018's `*_FILE` check and HD031 over binaryData: each case breaks one
 * thing on an otherwise hardened object, as someone trying to slip it past the guards would, and
 * must fire exactly that rule at that path. The objects the core builds must still pass untouched.
 */
import { describe, expect, it } from 'vitest';
import { envConfig, hardenedCronJob, hardenedDeployment, hardenedJob, hardenedNamespace, hardenedStatefulSet, type HardenedContainerProps } from '../../src/core';
import { checkObject, checkObjects, type KubeObject } from '../../src/rules';
import { quantityProblem } from '../../src/rules/shape-rules';
import { goodDeployment, IMAGE } from '../support/fixtures';

const codes = (o: unknown) => [...new Set(checkObject(o as KubeObject).map((v) => v.code))].sort();
const pod = (d: any) => d.spec.template.spec;
const c0 = (d: any) => pod(d).containers[0];
const C0 = '/spec/template/spec/containers/0';
const addVolume = (d: any, volume: object, mount: object) => { pod(d).volumes.push(volume); c0(d).volumeMounts.push(mount); };

type Case = [string, string, (d: any) => void, string?];
const CASES: Case[] = [
  // HD029: a workload in a system namespace borrows its identities
  ['HD029', 'a Deployment in kube-system', (d) => { d.metadata.namespace = 'kube-system'; }, '/metadata/namespace'],
  ['HD029', 'a Deployment in kube-node-lease', (d) => { d.metadata.namespace = 'kube-node-lease'; }, '/metadata/namespace'],
  // HD032: a service-account token by another route
  ['HD032', 'a projected serviceAccountToken', (d) => addVolume(d, { name: 'tok', projected: { sources: [{ configMap: { name: 'ca' } }, { serviceAccountToken: { path: 'token', audience: 'vault' } }] } }, { name: 'tok', mountPath: '/var/run/vault', readOnly: true }), '/spec/template/spec/volumes/1/projected/sources/1/serviceAccountToken'],
  ['HD032', 'a Secret mounted over the token directory', (d) => addVolume(d, { name: 'admin', secret: { secretName: 'admin-token' } }, { name: 'admin', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }), `${C0}/volumeMounts/1/mountPath`],
  ['HD032', 'the token directory spelt with // and /./', (d) => addVolume(d, { name: 'admin', secret: { secretName: 'admin-token' } }, { name: 'admin', mountPath: '//run/./secrets//kubernetes.io/', readOnly: true }), `${C0}/volumeMounts/1/mountPath`],
  ['HD032', 'an emptyDir over /run/secrets/kubernetes.io (a writer could plant a token)', (d) => { c0(d).volumeMounts[0].mountPath = '/run/secrets/kubernetes.io'; }, `${C0}/volumeMounts/0/mountPath`],
  ['HD032', 'a Secret key path landing on the token file', (d) => addVolume(d, { name: 'admin', secret: { secretName: 'admin-token', items: [{ key: 'token', path: 'kubernetes.io/serviceaccount/token' }] } }, { name: 'admin', mountPath: '/var/run/secrets', readOnly: true }), `${C0}/volumeMounts/1/mountPath`],
  ['HD032', 'a projected Secret key path landing on the token file', (d) => addVolume(d, { name: 'p', projected: { sources: [{ secret: { name: 'admin-token', items: [{ key: 'token', path: 'secrets/kubernetes.io/serviceaccount/token' }] } }] } }, { name: 'p', mountPath: '/run', readOnly: true }), `${C0}/volumeMounts/1/mountPath`],
  // HD035: values the API server refuses or misreads
  ['HD035', 'a memory limit of 0 (no limit at all)', (d) => { c0(d).resources.limits.memory = '0'; }, `${C0}/resources/limits/memory`],
  ['HD035', 'a memory limit of 0Gi', (d) => { c0(d).resources.limits.memory = '0Gi'; }, `${C0}/resources/limits/memory`],
  ['HD035', 'an ephemeral-storage limit of 0 as a number', (d) => { c0(d).resources.limits['ephemeral-storage'] = 0; }, `${C0}/resources/limits/ephemeral-storage`],
  ['HD035', 'a negative CPU request', (d) => { c0(d).resources.requests.cpu = '-500m'; }, `${C0}/resources/requests/cpu`],
  ['HD035', 'a malformed memory request ("64 MB")', (d) => { c0(d).resources.requests.memory = '64 MB'; }, `${C0}/resources/requests/memory`],
  ['HD035', 'a malformed limit ("lots")', (d) => { c0(d).resources.limits.memory = 'lots'; }, `${C0}/resources/limits/memory`],
  ['HD035', 'a null request', (d) => { c0(d).resources.requests.cpu = null; }, `${C0}/resources/requests/cpu`],
  ['HD035', 'a memory request above its limit', (d) => { c0(d).resources.requests.memory = '2Gi'; c0(d).resources.limits.memory = '1Gi'; }, `${C0}/resources/requests/memory`],
  ['HD035', 'a CPU request above its limit', (d) => { c0(d).resources.requests.cpu = '1500m'; c0(d).resources.limits.cpu = '1'; }, `${C0}/resources/requests/cpu`],
  ['HD035', 'an emptyDir sizeLimit of 0', (d) => { pod(d).volumes[0].emptyDir.sizeLimit = '0'; }, '/spec/template/spec/volumes/0/emptyDir/sizeLimit'],
  ['HD035', 'a negative emptyDir sizeLimit', (d) => { pod(d).volumes[0].emptyDir.sizeLimit = '-64Mi'; }, '/spec/template/spec/volumes/0/emptyDir/sizeLimit'],
  ['HD035', 'a pod-level memory limit of 0', (d) => { pod(d).resources = { limits: { memory: '0' } }; }, '/spec/template/spec/resources/limits/memory'],
  // HD036: mounts that cover the root or leave their volume
  ['HD036', 'a volume mounted at /', (d) => { c0(d).volumeMounts[0].mountPath = '/'; }, `${C0}/volumeMounts/0/mountPath`],
  ['HD036', 'a volume mounted at //.', (d) => { c0(d).volumeMounts[0].mountPath = '//.'; }, `${C0}/volumeMounts/0/mountPath`],
  ['HD036', 'a relative mountPath', (d) => { c0(d).volumeMounts[0].mountPath = 'tmp'; }, `${C0}/volumeMounts/0/mountPath`],
  ['HD036', 'a mountPath with ..', (d) => { c0(d).volumeMounts[0].mountPath = '/tmp/../etc'; }, `${C0}/volumeMounts/0/mountPath`],
  ['HD036', 'a subPath with ..', (d) => { c0(d).volumeMounts[0].subPath = 'a/../../b'; }, `${C0}/volumeMounts/0/subPath`],
  ['HD036', 'an absolute subPath', (d) => { c0(d).volumeMounts[0].subPath = '/etc'; }, `${C0}/volumeMounts/0/subPath`],
  ['HD036', 'a subPathExpr with ..', (d) => { c0(d).volumeMounts[0].subPathExpr = '$(POD_NAME)/..'; }, `${C0}/volumeMounts/0/subPathExpr`],
  // HD037: probes and hooks on undeclared port names never succeed
  ['HD037', 'a readiness probe on an undeclared port name', (d) => { c0(d).readinessProbe = { httpGet: { path: '/healthz', port: 'admin' } }; }, `${C0}/readinessProbe/httpGet/port`],
  ['HD037', 'a liveness probe on a port number written as a string', (d) => { c0(d).livenessProbe = { tcpSocket: { port: '8080' } }; }, `${C0}/livenessProbe/tcpSocket/port`],
  ['HD037', 'a preStop hook on an undeclared port name', (d) => { c0(d).lifecycle = { preStop: { httpGet: { path: '/drain', port: 'drain' } } }; }, `${C0}/lifecycle/preStop/httpGet/port`],
  // HD018: *_FILE variables hold a path inside a mounted Secret, ConfigMap or projected volume
  ['HD018', 'a *_FILE variable holding a password', (d) => { c0(d).env = [{ name: 'DB_PASSWORD_FILE', value: 'hunter2' }]; }, `${C0}/env/0/value`],
  ['HD018', 'a *_FILE variable pointing into the writable /tmp', (d) => { c0(d).env = [{ name: 'TLS_KEY_FILE', value: '/tmp/key.pem' }]; }, `${C0}/env/0/value`],
  ['HD018', 'a non-secret *_FILE variable holding a literal', (d) => { c0(d).env = [{ name: 'LOG_FILE', value: 'hunter2' }]; }, `${C0}/env/0/value`],
  ['HD018', 'a non-secret *_FILE variable escaping with ..', (d) => { c0(d).env = [{ name: 'LOG_FILE', value: '/tmp/../etc/passwd' }]; }, `${C0}/env/0/value`],
  ['HD018', 'a *_FILE variable escaping its Secret mount with ..', (d) => {
    addVolume(d, { name: 'db', secret: { secretName: 'db' } }, { name: 'db', mountPath: '/var/run/secrets/db', readOnly: true });
    c0(d).env = [{ name: 'DB_PASSWORD_FILE', value: '/var/run/secrets/db/../../../../etc/shadow' }];
  }, `${C0}/env/0/value`],
  ['HD018', 'a *_FILE variable into a Secret mounted by another container only', (d) => {
    pod(d).volumes.push({ name: 'db', secret: { secretName: 'db' } });
    pod(d).initContainers = [{ ...structuredClone(c0(d)), name: 'init', volumeMounts: [{ name: 'db', mountPath: '/var/run/secrets/db', readOnly: true }] }];
    delete pod(d).initContainers[0].readinessProbe;
    delete pod(d).initContainers[0].livenessProbe;
    c0(d).env = [{ name: 'db_password_file', value: '/var/run/secrets/db/password' }];
  }, `${C0}/env/0/value`],
];

describe.each(CASES)('%s: %s', (rule, _what, mutate, path) => {
  it('fires exactly this rule, at this path', () => {
    const d = goodDeployment();
    mutate(d);
    expect(codes(d)).toEqual([rule]);
    const v = checkObject(d).filter((x) => x.code === rule);
    expect(v.length).toBeGreaterThan(0);
    if (path) expect(v.map((x) => x.path)).toContain(path);
    expect(v.every((x) => x.object.startsWith('Deployment/'))).toBe(true);
  });
});

describe('what the rules let through', () => {
  const passes = (mutate: (d: any) => void) => {
    const d = goodDeployment();
    mutate(d);
    expect(checkObject(d)).toEqual([]);
  };

  it('HD029: any namespace but the system ones', () => passes((d) => { d.metadata.namespace = 'kube-systems'; }));

  it('HD032: Secrets mounted beside the token directory, and key paths elsewhere', () => {
    passes((d) => addVolume(d, { name: 'db', secret: { secretName: 'db' } }, { name: 'db', mountPath: '/var/run/secrets/db', readOnly: true }));
    passes((d) => addVolume(d, { name: 'db', secret: { secretName: 'db', items: [{ key: 'p', path: 'db/password' }] } }, { name: 'db', mountPath: '/var/run/secrets', readOnly: true }));
    passes((d) => addVolume(d, { name: 'db', secret: { secretName: 'db' } }, { name: 'db', mountPath: '/srv/var/run/secrets/kubernetes.io', readOnly: true }));
  });

  it('HD035: a CPU limit of 0 with a request of 0 (CPU limits are optional), numbers, equal requests and limits in other spellings', () => {
    passes((d) => { c0(d).resources.limits.cpu = '0'; c0(d).resources.requests.cpu = '0'; });
    passes((d) => { c0(d).resources.requests.memory = 134217728; c0(d).resources.limits.memory = '128Mi'; });
    passes((d) => { c0(d).resources.requests.cpu = '1100m'; c0(d).resources.limits.cpu = '1.1'; });
    passes((d) => { c0(d).resources.requests.memory = '1Gi'; c0(d).resources.limits.memory = '1073741824'; });
    passes((d) => { c0(d).resources.requests.cpu = '0'; });
    expect(quantityProblem('1e3', true)).toBeUndefined();
    expect(quantityProblem('-0', true)).toMatch(/zero/);
    expect(quantityProblem('+1.5Gi', true)).toBeUndefined();
    expect(quantityProblem('1.5 Gi', false)).toMatch(/not a quantity/);
  });

  it('HD036: relative subPaths, and ".." only as part of a name', () => {
    passes((d) => { c0(d).volumeMounts[0].subPath = 'a/b..c'; });
    passes((d) => { c0(d).volumeMounts[0].subPathExpr = '$(POD_NAME)'; });
    passes((d) => { c0(d).volumeMounts[0].mountPath = '/var/cache/app..old'; });
  });

  it('HD037: declared port names, and port numbers', () => {
    passes((d) => { c0(d).readinessProbe = { httpGet: { path: '/healthz', port: 'http' } }; });
    passes((d) => { c0(d).livenessProbe = { tcpSocket: { port: 9999 } }; });
    passes((d) => { c0(d).lifecycle = { preStop: { httpGet: { path: '/drain', port: 'http' } } }; });
  });

  it('HD018: *_FILE paths inside a Secret, ConfigMap or projected mount of the same container, and from valueFrom', () => {
    passes((d) => {
      addVolume(d, { name: 'db', secret: { secretName: 'db' } }, { name: 'db', mountPath: '/var/run/secrets/db/', readOnly: true });
      c0(d).env = [{ name: 'POSTGRES_PASSWORD_FILE', value: '/var/run/secrets/db/password' }];
    });
    passes((d) => {
      addVolume(d, { name: 'cfg', configMap: { name: 'cfg' } }, { name: 'cfg', mountPath: '/etc/app/app.conf', subPath: 'app.conf', readOnly: true });
      c0(d).env = [{ name: 'CONFIG_FILE', value: '/etc/app/app.conf' }];
    });
    passes((d) => {
      addVolume(d, { name: 'p', projected: { sources: [{ secret: { name: 'tls' } }] } }, { name: 'p', mountPath: '/etc/tls', readOnly: true });
      c0(d).env = [{ name: 'SSL_KEY_FILE', value: '/etc/tls/tls.key' }];
    });
    passes((d) => { c0(d).env = [{ name: 'DB_PASSWORD_FILE', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]; });
    // A *_FILE variable that names no secret only needs to be a path: a log file, the image's CA bundle.
    passes((d) => { c0(d).env = [{ name: 'LOG_FILE', value: '/tmp/app.log' }, { name: 'SSL_CERT_FILE', value: '/etc/ssl/certs/ca-certificates.crt' }]; });
  });
});

describe('HD038: Jobs give up', () => {
  const spec = () => {
    const s = goodDeployment().spec.template.spec;
    delete s.containers[0].readinessProbe;
    delete s.containers[0].livenessProbe;
    return s;
  };
  const job = (over: { restartPolicy?: unknown; backoffLimit?: unknown }) => {
    const s = { ...spec(), ...(over.restartPolicy !== undefined ? { restartPolicy: over.restartPolicy } : {}) };
    return { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { ...(over.backoffLimit !== undefined ? { backoffLimit: over.backoffLimit } : {}), template: { spec: s } } };
  };
  const at = (o: unknown) => checkObject(o as KubeObject).map((v) => `${v.code} ${v.path}`);

  it('refuses a Job that restarts its pod forever or retries without a limit anyone chose', () => {
    expect(at(job({ restartPolicy: 'Never', backoffLimit: 2 }))).toEqual([]);
    expect(at(job({ restartPolicy: 'OnFailure', backoffLimit: 0 }))).toEqual([]);
    expect(at(job({ backoffLimit: 2 }))).toEqual(['HD038 /spec/template/spec/restartPolicy']);
    expect(at(job({ restartPolicy: 'Always', backoffLimit: 2 }))).toEqual(['HD038 /spec/template/spec/restartPolicy']);
    expect(at(job({ restartPolicy: 'Never' }))).toEqual(['HD038 /spec/backoffLimit']);
    expect(at(job({ restartPolicy: 'Never', backoffLimit: -1 }))).toEqual(['HD038 /spec/backoffLimit']);
    expect(at(job({ restartPolicy: 'Never', backoffLimit: '3' }))).toEqual(['HD038 /spec/backoffLimit']);
  });

  it('checks a CronJob\'s jobTemplate, and leaves alone other kinds and Jobs of other API groups', () => {
    const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { schedule: '@daily', jobTemplate: { spec: { template: { spec: { ...spec(), restartPolicy: 'OnFailure' } } } } } };
    expect(at(cron)).toEqual(['HD038 /spec/jobTemplate/spec/backoffLimit']);
    const other = { ...job({}), apiVersion: 'example.com/v1' };
    expect(at(other)).toEqual([]);
  });
});

describe('HD034: objects the guards cannot see into', () => {
  it('refuses a Pulumi helm.v3.Release, pointing to helm.v4.Chart', () => {
    const v = checkObject({ apiVersion: 'helm.sh/v3', kind: 'Release', metadata: { name: 'ingress' }, chart: 'ingress-nginx' } as KubeObject);
    expect(v.map((x) => [x.code, x.path])).toEqual([['HD034', '/kind']]);
    expect(v[0]!.fix).toMatch(/helm\.v4\.Chart/);
  });

  it('refuses Flux and Argo CD objects that install what no guard sees, in any version, and only those kinds', () => {
    const installers = [
      ['helm.toolkit.fluxcd.io/v2', 'HelmRelease', 'spec.chart'], ['helm.toolkit.fluxcd.io/v2beta1', 'HelmRelease', 'spec.chart'],
      ['kustomize.toolkit.fluxcd.io/v1', 'Kustomization', 'spec.sourceRef'],
      ['argoproj.io/v1alpha1', 'Application', 'spec.source'], ['argoproj.io/v1alpha1', 'ApplicationSet', 'spec.template'],
    ];
    for (const [apiVersion, kind, field] of installers) {
      const v = checkObject({ apiVersion, kind, metadata: { name: 'x' }, spec: {} } as KubeObject);
      expect(v.map((x) => [x.code, x.path]), kind).toEqual([['HD034', '/kind']]);
      expect(v[0]!.message, kind).toContain(field);
      expect(v[0]!.fix, kind).toMatch(/render it first/);
    }
    // Same kinds in other groups (kustomize's own config file, an Argo Workflow's group for another kind) are not installers.
    expect(codes({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['a.yaml'] })).toEqual([]);
    expect(codes({ apiVersion: 'example.com/v1', kind: 'HelmRelease', metadata: { name: 'x' }, spec: {} })).toEqual([]);
    expect(codes({ apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { name: 'x' }, spec: {} })).toEqual([]);
  });
});

describe('HD031 over binaryData', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const cm = (binaryData: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, binaryData });

  it('decodes binaryData and applies the ConfigMap checks to keys and values', () => {
    const at = (o: unknown) => checkObject(o as KubeObject).map((v) => `${v.code} ${v.path}`);
    expect(at(cm({ 'tls.bin': b64('-----BEGIN EC PRIVATE KEY-----\nMHcCAQ...\n-----END EC PRIVATE KEY-----\n') }))).toEqual(['HD031 /binaryData/tls.bin']);
    expect(at(cm({ 'db.url': b64('postgres://app:s3cret@db:5432/app') }))).toEqual(['HD031 /binaryData/db.url']);
    expect(at(cm({ 'app.env': b64('LOG_LEVEL=info\nexport API_TOKEN=abc\n') }))).toEqual(['HD031 /binaryData/app.env']);
    expect(at(cm({ api_key: b64('\x00\x01') }))).toEqual(['HD031 /binaryData/api_key']);
    expect(checkObject(cm({ 'x/secret': b64('a') }) as KubeObject)[0]!.path).toBe('/binaryData/x~1secret');
    expect(checkObject(cm({ 'k.pem': b64('-----BEGIN PRIVATE KEY-----') }) as KubeObject)[0]!.message).toMatch(/base64-decoded\) contains a private key/);
  });

  it('passes binary configuration and public certificates', () => {
    expect(checkObject(cm({ 'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]).toString('base64'), 'ca.crt': b64('-----BEGIN CERTIFICATE-----\nMII...\n') }) as KubeObject)).toEqual([]);
  });
});

describe('objects the core builds pass every rule, untouched', () => {
  const web: HardenedContainerProps = { name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }] };
  const worker: HardenedContainerProps = { name: 'job', image: IMAGE, command: ['/app/backup', '--once'] };

  it('hardenedDeployment, hardenedStatefulSet, hardenedJob, hardenedCronJob, envConfig, hardenedNamespace', () => {
    const config = envConfig({
      name: 'app', namespace: 'shop', data: { 'app.conf': 'a=b\n', LOG_LEVEL: 'info' }, fileMounts: { 'app.conf': '/etc/app/app.conf' }, envKeys: { LOG_LEVEL: 'LOG_LEVEL' },
      secrets: [{ secretName: 'db', mountPath: '/var/run/secrets/db', keys: ['password'] }],
    });
    const results = [
      hardenedDeployment({ name: 'web', namespace: 'shop', containers: [{ ...web, config: [config], env: { DB_PASSWORD_FILE: '/var/run/secrets/db/password' }, writablePaths: [{ path: '/var/cache/app', sizeLimit: '128Mi' }] }], autoscaling: { maxReplicas: 4 } }),
      hardenedStatefulSet({ name: 'db', namespace: 'shop', containers: [{ ...web, writablePaths: [{ path: '/var/lib/data', storage: { size: '1Gi' } }] }] }),
      hardenedJob({ name: 'migrate', namespace: 'shop', containers: [worker] }),
      hardenedCronJob({ name: 'backup', namespace: 'shop', schedule: '30 2 * * *', containers: [worker] }),
    ];
    const objects = [...results.flatMap((r) => r.objects), ...(config.configMap ? [config.configMap as KubeObject] : [])];
    const ns = hardenedNamespace({ name: 'shop', workloads: results.map((r) => ({ workload: r })) });
    expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['Deployment', 'StatefulSet', 'Job', 'CronJob', 'ConfigMap']));
    expect(checkObjects([...objects, ...ns.objects])).toEqual([]);
    // ... also when shipped as one List, as `kubectl get -o yaml` would print them.
    expect(checkObject({ apiVersion: 'v1', kind: 'List', metadata: { name: 'all' }, items: [...objects, ...ns.objects] } as KubeObject)).toEqual([]);
  });
});
