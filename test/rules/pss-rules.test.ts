// The Pod Security controls (HD023-HD028) and the corrections to older rules that the upstream
// evaluator showed (pod-level values, exact capability names, every volume source, null entries):
// each case breaks one control on an otherwise hardened object, at pod level or in a container,
// init container or ephemeral container, and exactly the expected rule must fire, at that path.
import { describe, expect, it } from 'vitest';
import { hardenedCronJob, hardenedDeployment, hardenedJob, hardenedStatefulSet } from '../../src/core';
import { checkObject, type KubeObject } from '../../src/rules';
import { goodDeployment, IMAGE } from '../support/fixtures';

const codes = (o: KubeObject) => [...new Set(checkObject(o).map((v) => v.code))].sort();
const paths = (o: KubeObject, id: string) => checkObject(o).filter((v) => v.code === id).map((v) => v.path);
const T = '/spec/template/spec';
const pod = (d: any) => d.spec.template.spec;
const c0 = (d: any) => pod(d).containers[0];

/** A Deployment with an init container and an ephemeral (debug) container, both hardened like the app. */
function withAllContainers(): any {
  const d = goodDeployment();
  const model = structuredClone(c0(d));
  delete model.readinessProbe;
  delete model.livenessProbe;
  pod(d).initContainers = [{ ...structuredClone(model), name: 'migrate' }];
  const debug = { ...structuredClone(model), name: 'debug' };
  delete debug.ports;
  delete debug.resources;
  pod(d).ephemeralContainers = [debug];
  return d;
}

const init = (d: any) => pod(d).initContainers[0];
const debug = (d: any) => pod(d).ephemeralContainers[0];

type Case = [rule: string, what: string, mutate: (d: any) => void, path?: string];

const CASES: Case[] = [
  // HD023 AppArmor
  ['HD023', 'container profile Unconfined', (d) => { c0(d).securityContext.appArmorProfile = { type: 'Unconfined' }; }, `${T}/containers/0/securityContext/appArmorProfile`],
  ['HD023', 'init container profile Localhost (upstream allows it; we do not)', (d) => { init(d).securityContext.appArmorProfile = { type: 'Localhost', localhostProfile: 'p' }; }, `${T}/initContainers/0/securityContext/appArmorProfile`],
  ['HD023', 'ephemeral container profile with no type', (d) => { debug(d).securityContext.appArmorProfile = {}; }, `${T}/ephemeralContainers/0/securityContext/appArmorProfile`],
  ['HD023', 'pod profile Unconfined', (d) => { pod(d).securityContext.appArmorProfile = { type: 'Unconfined' }; }, `${T}/securityContext/appArmorProfile`],
  ['HD023', 'pod profile of the wrong case', (d) => { pod(d).securityContext.appArmorProfile = { type: 'runtimedefault' }; }],
  ['HD023', 'beta annotation unconfined', (d) => { d.spec.template.metadata.annotations = { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' }; },
    '/spec/template/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1app'],
  ['HD023', 'beta annotation localhost/* (upstream allows it; we do not)', (d) => { d.spec.template.metadata.annotations = { 'container.apparmor.security.beta.kubernetes.io/debug': 'localhost/k8s' }; }],
  ['HD023', 'beta annotation empty', (d) => { d.spec.template.metadata.annotations = { 'container.apparmor.security.beta.kubernetes.io/app': '' }; }],
  ['HD023', 'beta annotation with an upper-case prefix', (d) => { d.spec.template.metadata.annotations = { 'Container.AppArmor.security.beta.kubernetes.io/app': 'unconfined' }; }],
  // HD024 SELinux
  ['HD024', 'pod user', (d) => { pod(d).securityContext.seLinuxOptions = { user: 'system_u' }; }, `${T}/securityContext/seLinuxOptions/user`],
  ['HD024', 'container role', (d) => { c0(d).securityContext.seLinuxOptions = { role: 'system_r', type: 'container_t' }; }, `${T}/containers/0/securityContext/seLinuxOptions/role`],
  ['HD024', 'init container type spc_t', (d) => { init(d).securityContext.seLinuxOptions = { type: 'spc_t' }; }, `${T}/initContainers/0/securityContext/seLinuxOptions/type`],
  ['HD024', 'ephemeral container type unconfined_t', (d) => { debug(d).securityContext.seLinuxOptions = { type: 'unconfined_t', level: 's0' }; }],
  ['HD024', 'a type with a trailing space', (d) => { c0(d).securityContext.seLinuxOptions = { type: 'container_t ' }; }],
  // HD025 procMount
  ['HD025', 'Unmasked', (d) => { c0(d).securityContext.procMount = 'Unmasked'; }, `${T}/containers/0/securityContext/procMount`],
  ['HD025', 'empty string (not Default, as Go reads it)', (d) => { init(d).securityContext.procMount = ''; }, `${T}/initContainers/0/securityContext/procMount`],
  ['HD025', 'lower-case default in an ephemeral container', (d) => { debug(d).securityContext.procMount = 'default'; }],
  // HD026 sysctls
  ['HD026', 'a sysctl upstream calls safe', (d) => { pod(d).securityContext.sysctls = [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]; }, `${T}/securityContext/sysctls`],
  ['HD026', 'an unsafe sysctl', (d) => { pod(d).securityContext.sysctls = [{ name: 'kernel.msgmax', value: '65536' }]; }],
  ['HD026', 'a sysctl with no name', (d) => { pod(d).securityContext.sysctls = [{}]; }],
  // HD027 Windows HostProcess
  ['HD027', 'pod hostProcess', (d) => { pod(d).securityContext.windowsOptions = { hostProcess: true }; }, `${T}/securityContext/windowsOptions/hostProcess`],
  ['HD027', 'container hostProcess', (d) => { c0(d).securityContext.windowsOptions = { hostProcess: true, runAsUserName: 'NT AUTHORITY\\SYSTEM' }; }, `${T}/containers/0/securityContext/windowsOptions/hostProcess`],
  ['HD027', 'ephemeral container hostProcess', (d) => { debug(d).securityContext.windowsOptions = { hostProcess: true }; }],
  // HD028 probe and hook hosts
  ['HD028', 'readiness httpGet host', (d) => { c0(d).readinessProbe = { httpGet: { port: 8080, host: '169.254.169.254' } }; }, `${T}/containers/0/readinessProbe/httpGet/host`],
  ['HD028', 'liveness tcpSocket host', (d) => { c0(d).livenessProbe = { tcpSocket: { port: 8080, host: 'db' } }; }, `${T}/containers/0/livenessProbe/tcpSocket/host`],
  ['HD028', 'startup probe host in an init container', (d) => { init(d).startupProbe = { httpGet: { port: 8080, host: 'x' } }; }, `${T}/initContainers/0/startupProbe/httpGet/host`],
  ['HD028', 'postStart httpGet host', (d) => { c0(d).lifecycle = { postStart: { httpGet: { port: 80, host: 'metadata.google.internal' } } }; }, `${T}/containers/0/lifecycle/postStart/httpGet/host`],
  ['HD028', 'preStop tcpSocket host in an ephemeral container', (d) => { debug(d).lifecycle = { preStop: { tcpSocket: { port: 80, host: '10.0.0.1' } } }; }],
  ['HD028', 'a host of one space', (d) => { c0(d).readinessProbe = { httpGet: { port: 8080, host: ' ' } }; }],
  // Older rules, corrected where upstream refuses what they let through
  ['HD001', 'runAsNonRoot false on the pod, every container true', (d) => { pod(d).securityContext.runAsNonRoot = false; }, `${T}/securityContext/runAsNonRoot`],
  ['HD002', 'runAsUser 0 on the pod, every container 65532', (d) => { pod(d).securityContext.runAsUser = 0; }, `${T}/securityContext/runAsUser`],
  ['HD002', 'runAsGroup 0 on the pod, every container 65532', (d) => { pod(d).securityContext.runAsGroup = 0; }, `${T}/securityContext/runAsGroup`],
  ['HD007', 'CAP_NET_BIND_SERVICE with a low port', (d) => { c0(d).ports = [{ containerPort: 80 }]; c0(d).readinessProbe = c0(d).livenessProbe = { tcpSocket: { port: 80 } }; c0(d).securityContext.capabilities.add = ['CAP_NET_BIND_SERVICE']; },
    `${T}/containers/0/securityContext/capabilities/add/0`],
  ['HD007', 'net_bind_service in lower case with a low port', (d) => { c0(d).ports = [{ containerPort: 80 }]; c0(d).readinessProbe = c0(d).livenessProbe = { tcpSocket: { port: 80 } }; c0(d).securityContext.capabilities.add = ['net_bind_service']; }],
  ['HD007', 'an empty capability name', (d) => { debug(d).securityContext.capabilities.add = ['']; }],
  ['HD008', 'seccomp Unconfined on the pod, every container RuntimeDefault', (d) => { pod(d).securityContext.seccompProfile = { type: 'Unconfined' }; }, `${T}/securityContext/seccompProfile/type`],
  ['HD008', 'seccomp with no type on the pod', (d) => { pod(d).securityContext.seccompProfile = {}; }],
  ['HD012', 'a volume that is emptyDir and nfs at once', (d) => { pod(d).volumes.push({ name: 'two', emptyDir: { sizeLimit: '1Mi' }, nfs: { server: 'n', path: '/' } }); }, `${T}/volumes/1/nfs`],
  ['HD012', 'a volume with no source', (d) => { pod(d).volumes.push({ name: 'none' }); }, `${T}/volumes/1`],
  ['HD012', 'a volume whose only source is null', (d) => { pod(d).volumes.push({ name: 'nil', emptyDir: null }); }, `${T}/volumes/1`],
  ['HD012', 'a null volume', (d) => { pod(d).volumes.push(null); }, `${T}/volumes/1`],
  ['HD012', 'csi (upstream allows it; we do not)', (d) => { pod(d).volumes.push({ name: 'c', csi: { driver: 'x' } }); }],
  ['HD021', 'a volume whose second source is a Secret, mounted writable', (d) => {
    pod(d).volumes.push({ name: 'mix', emptyDir: { sizeLimit: '1Mi' }, secret: { secretName: 's' } });
    c0(d).volumeMounts.push({ name: 'mix', mountPath: '/mix' });
  }, `${T}/containers/0/volumeMounts/1/readOnly`],
];

describe.each(CASES)('%s: %s', (rule, _what, mutate, path) => {
  it('fires this rule, and no other but HD012 where a volume has two sources', () => {
    const d = withAllContainers();
    expect(checkObject(d)).toEqual([]);
    mutate(d);
    const ids = codes(d).filter((id) => !(rule === 'HD021' && id === 'HD012'));
    expect(ids).toEqual([rule]);
    const v = checkObject(d).find((x) => x.code === rule)!;
    expect(v.object).toBe('Deployment/web');
    expect(v.fix.length).toBeGreaterThan(10);
    if (path) expect(paths(d, rule)).toContain(path);
  });
});

describe('what the Pod Security rules accept', () => {
  const accepted: [string, (d: any) => void][] = [
    ['AppArmor RuntimeDefault on the pod and every container', (d) => {
      for (const sc of [pod(d).securityContext, c0(d).securityContext, init(d).securityContext, debug(d).securityContext]) sc.appArmorProfile = { type: 'RuntimeDefault' };
    }],
    ['AppArmor null (unset, as Go reads it)', (d) => { c0(d).securityContext.appArmorProfile = null; pod(d).securityContext.appArmorProfile = null; }],
    ['the beta annotation runtime/default, and unrelated annotations', (d) => {
      d.spec.template.metadata.annotations = { 'container.apparmor.security.beta.kubernetes.io/app': 'runtime/default', 'example.com/unconfined': 'yes' };
    }],
    ['SELinux level only, and each allowed type', (d) => {
      pod(d).securityContext.seLinuxOptions = { level: 's0:c123,c456' };
      c0(d).securityContext.seLinuxOptions = { type: 'container_t', user: '', role: null };
      init(d).securityContext.seLinuxOptions = { type: 'container_init_t' };
      debug(d).securityContext.seLinuxOptions = { type: 'container_engine_t' };
    }],
    ['procMount Default and null', (d) => { c0(d).securityContext.procMount = 'Default'; init(d).securityContext.procMount = null; }],
    ['sysctls empty or null', (d) => { pod(d).securityContext.sysctls = []; }],
    ['hostProcess false and windowsOptions without it', (d) => { pod(d).securityContext.windowsOptions = { hostProcess: false }; c0(d).securityContext.windowsOptions = { runAsUserName: 'x' }; }],
    ['probe and hook hosts empty or null', (d) => {
      c0(d).readinessProbe = { httpGet: { port: 8080, host: '' } };
      c0(d).livenessProbe = { tcpSocket: { port: 8080, host: null } };
      c0(d).lifecycle = { preStop: { httpGet: { port: 8080 } }, postStart: null };
    }],
    ['pod-level values that are null (unset)', (d) => { Object.assign(pod(d).securityContext, { runAsNonRoot: null, seccompProfile: null, fsGroup: null }); for (const c of [c0(d), init(d), debug(d)]) c.securityContext.runAsNonRoot = true; }],
  ];
  it.each(accepted)('%s', (_what, mutate) => {
    const d = withAllContainers();
    mutate(d);
    expect(checkObject(d)).toEqual([]);
  });

  it('passes every workload kind the core builds', () => {
    const c = { name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }] };
    const built = [
      ...hardenedDeployment({ name: 'a', containers: [c], initContainers: [{ name: 'i', image: IMAGE }] }).objects,
      ...hardenedDeployment({ name: 'b', containers: [{ ...c, ports: [{ containerPort: 80, name: 'http' }], netBindService: true }] }).objects,
      ...hardenedStatefulSet({ name: 'c', containers: [c] }).objects,
      ...hardenedJob({ name: 'd', containers: [{ name: 'app', image: IMAGE }] }).objects,
      ...hardenedCronJob({ name: 'e', schedule: '@daily', containers: [{ name: 'app', image: IMAGE }] }).objects,
    ];
    for (const o of built) expect({ o: `${o.kind}/${o.metadata?.name}`, v: checkObject(o as KubeObject) }).toEqual({ o: `${o.kind}/${o.metadata?.name}`, v: [] });
  });

  it('reads the beta annotation where the pod is: a bare Pod\'s own metadata, a CronJob\'s template', () => {
    const spec = pod(goodDeployment());
    const annotations = { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' };
    const bare = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations }, spec };
    expect(paths(bare, 'HD023')).toEqual(['/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1app']);
    const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { schedule: '@daily', jobTemplate: { spec: { template: { metadata: { annotations }, spec: { ...spec, restartPolicy: 'Never' } } } } } };
    expect(paths(cron, 'HD023')).toEqual(['/spec/jobTemplate/spec/template/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1app']);
    // On the Deployment's own metadata it does not reach the pods: not the pod's annotation.
    const d = goodDeployment();
    d.metadata.annotations = annotations;
    expect(codes(d)).toEqual([]);
  });

  it('judges a null container as the empty container Go decodes it to', () => {
    for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
      const d = goodDeployment();
      (pod(d)[list] ??= []).push(null);
      // runAsNonRoot, UID, GID and seccomp it inherits from the pod, as upstream reads it too.
      expect({ list, ids: codes(d) }).toEqual({ list, ids: expect.arrayContaining(['HD003', 'HD005', 'HD007']) });
    }
  });

  it('names every problem of one object at once, with its fix', () => {
    const d = withAllContainers();
    pod(d).securityContext.sysctls = [{ name: 'kernel.msgmax', value: '1' }];
    c0(d).securityContext.procMount = 'Unmasked';
    init(d).securityContext.seLinuxOptions = { user: 'u', role: 'r', type: 'spc_t' };
    debug(d).securityContext.appArmorProfile = { type: 'Unconfined' };
    const v = checkObject(d);
    expect(v.map((x) => x.code)).toEqual(['HD023', 'HD024', 'HD024', 'HD024', 'HD025', 'HD026']);
    expect(v.find((x) => x.code === 'HD024')!.message).toMatch(/container "migrate" sets the SELinux type "spc_t"/);
  });
});
