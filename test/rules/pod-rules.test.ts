import { describe, expect, it } from 'vitest';
import { checkObject, checkObjects, RULES, type KubeObject } from '../../src/rules';
import { goodDeployment, IMAGE } from '../support/fixtures';

const codes = (o: KubeObject) => [...new Set(checkObject(o).map((v) => v.code))].sort();
const pod = (d: any) => d.spec.template.spec;
const c0 = (d: any) => pod(d).containers[0];

describe('the rule list', () => {
  it('has unique ids, titles and fixes', () => {
    const ids = RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of RULES) {
      expect(r.id).toMatch(/^HD\d{3}$/);
      expect(r.title.length).toBeGreaterThan(10);
      expect(r.fix.length).toBeGreaterThan(10);
    }
  });

  it('passes the hardened deployment the core builds', () => {
    expect(checkObject(goodDeployment())).toEqual([]);
  });
});

/** Each case breaks one rule on an otherwise good Deployment; exactly that rule must fire. */
const cases: Array<[string, string, (d: any) => void, string?]> = [
  ['HD001', 'runAsNonRoot false on the container', (d) => { c0(d).securityContext.runAsNonRoot = false; }, '/spec/template/spec/containers/0/securityContext/runAsNonRoot'],
  ['HD001', 'runAsNonRoot missing everywhere', (d) => { delete c0(d).securityContext.runAsNonRoot; delete pod(d).securityContext.runAsNonRoot; }],
  ['HD002', 'runAsUser 0', (d) => { c0(d).securityContext.runAsUser = 0; }, '/spec/template/spec/containers/0/securityContext/runAsUser'],
  ['HD002', 'runAsUser 1000', (d) => { c0(d).securityContext.runAsUser = 1000; }],
  ['HD002', 'runAsGroup missing everywhere', (d) => { delete c0(d).securityContext.runAsGroup; delete pod(d).securityContext.runAsGroup; }],
  ['HD002', 'fsGroup 0', (d) => { pod(d).securityContext.fsGroup = 0; }, '/spec/template/spec/securityContext/fsGroup'],
  ['HD002', 'supplementalGroups [0]', (d) => { pod(d).securityContext.supplementalGroups = [0]; }, '/spec/template/spec/securityContext/supplementalGroups/0'],
  ['HD003', 'a tag instead of a digest', (d) => { c0(d).image = 'nginx:1.25'; }, '/spec/template/spec/containers/0/image'],
  ['HD003', 'a malformed digest', (d) => { c0(d).image = 'nginx@sha256:abc123'; }],
  ['HD004', 'readOnlyRootFilesystem false', (d) => { c0(d).securityContext.readOnlyRootFilesystem = false; }],
  ['HD005', 'allowPrivilegeEscalation true', (d) => { c0(d).securityContext.allowPrivilegeEscalation = true; }],
  ['HD006', 'privileged', (d) => { c0(d).securityContext.privileged = true; }],
  ['HD007', 'drop not ALL', (d) => { c0(d).securityContext.capabilities.drop = ['NET_RAW']; }],
  ['HD007', 'SYS_ADMIN added', (d) => { c0(d).securityContext.capabilities.add = ['SYS_ADMIN']; }],
  ['HD007', 'NET_BIND_SERVICE without a low port', (d) => { c0(d).securityContext.capabilities.add = ['NET_BIND_SERVICE']; }],
  ['HD008', 'seccomp Unconfined', (d) => { c0(d).securityContext.seccompProfile = { type: 'Unconfined' }; }],
  ['HD008', 'no seccomp anywhere', (d) => { delete c0(d).securityContext.seccompProfile; delete pod(d).securityContext.seccompProfile; }],
  ['HD009', 'hostNetwork', (d) => { pod(d).hostNetwork = true; }],
  ['HD009', 'hostPID', (d) => { pod(d).hostPID = true; }],
  ['HD010', 'a hostPath volume', (d) => { pod(d).volumes.push({ name: 'h', hostPath: { path: '/var/run/docker.sock' } }); }],
  ['HD011', 'a hostPort', (d) => { c0(d).ports[0].hostPort = 80; }],
  ['HD012', 'an nfs volume', (d) => { pod(d).volumes.push({ name: 'n', nfs: { server: 'x', path: '/' } }); }],
  ['HD013', 'an unsized emptyDir', (d) => { pod(d).volumes[0].emptyDir = {}; }],
  ['HD014', 'no memory limit', (d) => { delete c0(d).resources.limits.memory; }],
  ['HD014', 'no ephemeral-storage request', (d) => { delete c0(d).resources.requests['ephemeral-storage']; }],
  ['HD015', 'token automounted', (d) => { pod(d).automountServiceAccountToken = true; }],
  ['HD016', 'sh -c command', (d) => { c0(d).command = ['/bin/sh', '-c', 'exec app']; }],
  ['HD016', 'bash in args without command', (d) => { c0(d).args = ['bash', '-c', 'x']; }],
  ['HD016', 'shell in an exec probe', (d) => { c0(d).livenessProbe = { exec: { command: ['sh', '-c', 'true'] } }; }],
  ['HD017', 'secretKeyRef env', (d) => { c0(d).env = [{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }]; }],
  ['HD017', 'envFrom secretRef', (d) => { c0(d).envFrom = [{ secretRef: { name: 's' } }]; }],
  ['HD018', 'a literal password env', (d) => { c0(d).env = [{ name: 'DB_PASSWORD', value: 'hunter2' }]; }],
  ['HD018', 'a URL with credentials', (d) => { c0(d).env = [{ name: 'DATABASE', value: 'postgresql://user:password@postgres:5432/mydb' }]; }],
  ['HD019', 'no readiness probe', (d) => { delete c0(d).readinessProbe; }],
  ['HD020', 'readOnlyRootFilesystem at pod level', (d) => { pod(d).securityContext.readOnlyRootFilesystem = true; }],
  ['HD022', 'no selector', (d) => { delete d.spec.selector; }, '/spec/selector'],
  ['HD022', 'template labels do not match the selector', (d) => { d.spec.template.metadata.labels = { app: 'other' }; }, '/spec/template/metadata/labels'],
  ['HD021', 'a ConfigMap mounted writable', (d) => {
    pod(d).volumes.push({ name: 'cfg', configMap: { name: 'c' } });
    c0(d).volumeMounts.push({ name: 'cfg', mountPath: '/etc/app' });
  }],
];

describe.each(cases)('%s: %s', (rule, _what, mutate, path) => {
  it('fires exactly this rule', () => {
    const d = goodDeployment();
    mutate(d);
    expect(codes(d)).toEqual([rule]);
    const v = checkObject(d).find((x) => x.code === rule)!;
    expect(v.object).toBe('Deployment/web');
    expect(v.fix.length).toBeGreaterThan(10);
    if (path) expect(v.path).toBe(path);
  });
});

describe('effective values and other kinds', () => {
  it('accepts settings made at pod level only (runAsUser, runAsNonRoot, seccomp)', () => {
    const d = goodDeployment();
    for (const k of ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'seccompProfile']) delete c0(d).securityContext[k];
    expect(checkObject(d)).toEqual([]);
  });

  it('lets a container override the pod (container 0 over pod 65532)', () => {
    const d = goodDeployment();
    c0(d).securityContext.runAsUser = 0;
    pod(d).securityContext.runAsUser = 65532;
    expect(codes(d)).toEqual(['HD002']);
  });

  it('allows NET_BIND_SERVICE with a declared port below 1024', () => {
    const d = goodDeployment();
    c0(d).ports = [{ containerPort: 443 }];
    c0(d).securityContext.capabilities.add = ['NET_BIND_SERVICE'];
    c0(d).readinessProbe = { tcpSocket: { port: 443 } };
    c0(d).livenessProbe = { tcpSocket: { port: 443 } };
    expect(checkObject(d)).toEqual([]);
  });

  it('checks CronJob, Job, StatefulSet and Pod pod specs at their own paths', () => {
    const spec = goodDeployment().spec.template.spec;
    spec.containers[0].image = 'busybox:latest';
    const objects = [
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: { spec } } } } },
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec } } },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's' }, spec: { template: { spec } } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec },
    ];
    const found = checkObjects(objects).filter((v) => v.code === 'HD003').map((v) => `${v.object} ${v.path}`);
    expect(found).toEqual([
      'CronJob/c /spec/jobTemplate/spec/template/spec/containers/0/image',
      'Job/j /spec/template/spec/containers/0/image',
      'StatefulSet/s /spec/template/spec/containers/0/image',
      'Pod/p /spec/containers/0/image',
    ]);
  });

  it('does not ask Jobs for probes', () => {
    const spec = goodDeployment().spec.template.spec;
    delete spec.containers[0].readinessProbe;
    delete spec.containers[0].livenessProbe;
    spec.restartPolicy = 'Never';
    expect(checkObject({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { backoffLimit: 3, template: { spec } } })).toEqual([]);
  });

  it('checks init containers too', () => {
    const d = goodDeployment();
    pod(d).initContainers = [{ ...structuredClone(c0(d)), name: 'init', image: IMAGE.replace(/@.*/, ':1') }];
    expect(checkObject(d).map((v) => v.path)).toContain('/spec/template/spec/initContainers/0/image');
  });

  it('ignores objects without pod specs and garbage', () => {
    expect(checkObject({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: {} })).toEqual([]);
    expect(checkObject(null as never)).toEqual([]);
    expect(checkObject({ kind: 'Deployment' }).map((v) => v.code)).toEqual(['HD022']);
  });
});
