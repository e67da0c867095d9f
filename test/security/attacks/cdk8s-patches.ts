/**
 * Escape hatches on the library's own objects: JSON patches that switch on, one by one, every
 * control the upstream Pod Security evaluator checks (and ours beyond it), at pod level and in
 * containers, init containers and ephemeral containers, on every kind; and changes to the objects
 * after construction (the result's objects, `toJson`, lazy values). Each constructs; HardenedApp, the
 * synth plugin and `check` must refuse what it writes.
 */
import { Chart, JsonPatch, Lazy, YamlOutputType, type App } from 'cdk8s';
import { expect } from 'vitest';
import type { KubeObject } from '../../../src/rules';
import type { Cdk8sAttack } from '../cdk8s-harness';
import { cdk8sWorkload, goodContainer, KINDS, POD_SPEC, raw, hardenedObject, type Kind } from './common';

type Patches = (pod: string, container: string) => JsonPatch[];

const add = JsonPatch.add;
const replace = JsonPatch.replace;
const remove = JsonPatch.remove;
const template = (pod: string) => pod.replace(/\/spec$/, '');

/** [what, patches, rule]: each on the first container (`c`) and the pod spec (`p`). */
const PATCHES: [string, Patches, string][] = [
  ['hostPID', (p) => [add(`${p}/hostPID`, true)], 'HD009'],
  ['hostNetwork', (p) => [add(`${p}/hostNetwork`, true)], 'HD009'],
  ['hostIPC', (p) => [add(`${p}/hostIPC`, true)], 'HD009'],
  ['shareProcessNamespace (containers read each other through /proc)', (p) => [add(`${p}/shareProcessNamespace`, true)], 'HD039'],
  ['nodeName (skips the scheduler and the control plane\'s NoSchedule taint)', (p) => [add(`${p}/nodeName`, 'control-plane-1')], 'HD040'],
  ['a toleration of every taint', (p) => [add(`${p}/tolerations`, [{ operator: 'Exists' }])], 'HD041'],
  ['a toleration of the control plane\'s taint', (p) => [add(`${p}/tolerations`, [{ key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' }])], 'HD041'],
  ['priority class system-cluster-critical', (p) => [add(`${p}/priorityClassName`, 'system-cluster-critical')], 'HD042'],
  ['pod SELinux type spc_t', (p) => [add(`${p}/securityContext/seLinuxOptions`, { type: 'spc_t' })], 'HD024'],
  ['pod SELinux user', (p) => [add(`${p}/securityContext/seLinuxOptions`, { user: 'system_u' })], 'HD024'],
  ['container SELinux role', (_p, c) => [add(`${c}/securityContext/seLinuxOptions`, { role: 'sysadm_r' })], 'HD024'],
  ['a safe sysctl (upstream baseline allows it; we allow none)', (p) => [add(`${p}/securityContext/sysctls`, [{ name: 'kernel.shm_rmid_forced', value: '1' }])], 'HD026'],
  ['an unsafe sysctl', (p) => [add(`${p}/securityContext/sysctls`, [{ name: 'kernel.core_pattern', value: '|/tmp/x' }])], 'HD026'],
  ['pod Windows hostProcess', (p) => [add(`${p}/securityContext/windowsOptions`, { hostProcess: true })], 'HD027'],
  ['container Windows hostProcess', (_p, c) => [add(`${c}/securityContext/windowsOptions`, { hostProcess: true })], 'HD027'],
  ['pod AppArmor Unconfined', (p) => [add(`${p}/securityContext/appArmorProfile`, { type: 'Unconfined' })], 'HD023'],
  ['container AppArmor Localhost', (_p, c) => [add(`${c}/securityContext/appArmorProfile`, { type: 'Localhost', localhostProfile: 'mine' })], 'HD023'],
  ['the beta AppArmor annotation unconfined', (p) => [add(`${template(p)}/metadata/annotations`, { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' })], 'HD023'],
  ['pod seccomp Unconfined', (p) => [replace(`${p}/securityContext/seccompProfile`, { type: 'Unconfined' })], 'HD008'],
  ['container seccomp Localhost', (_p, c) => [replace(`${c}/securityContext/seccompProfile`, { type: 'Localhost', localhostProfile: 'p.json' })], 'HD008'],
  ['seccomp removed everywhere', (p, c) => [remove(`${p}/securityContext/seccompProfile`), remove(`${c}/securityContext/seccompProfile`)], 'HD008'],
  ['pod runAsUser 0', (p) => [replace(`${p}/securityContext/runAsUser`, 0)], 'HD002'],
  ['the root group as a supplementary group', (p) => [add(`${p}/securityContext/supplementalGroups`, [0])], 'HD002'],
  ['container runAsUser 0', (_p, c) => [replace(`${c}/securityContext/runAsUser`, 0)], 'HD002'],
  ['runAsNonRoot removed everywhere', (p, c) => [remove(`${p}/securityContext/runAsNonRoot`), remove(`${c}/securityContext/runAsNonRoot`)], 'HD001'],
  ['container runAsNonRoot false', (_p, c) => [replace(`${c}/securityContext/runAsNonRoot`, false)], 'HD001'],
  ['privileged', (_p, c) => [replace(`${c}/securityContext/privileged`, true)], 'HD006'],
  ['allowPrivilegeEscalation', (_p, c) => [replace(`${c}/securityContext/allowPrivilegeEscalation`, true)], 'HD005'],
  ['allowPrivilegeEscalation removed', (_p, c) => [remove(`${c}/securityContext/allowPrivilegeEscalation`)], 'HD005'],
  ['capabilities add SYS_ADMIN', (_p, c) => [add(`${c}/securityContext/capabilities/add`, ['SYS_ADMIN'])], 'HD007'],
  ['capabilities add NET_RAW in lower case', (_p, c) => [add(`${c}/securityContext/capabilities/add`, ['net_raw'])], 'HD007'],
  ['capabilities drop emptied', (_p, c) => [replace(`${c}/securityContext/capabilities/drop`, [])], 'HD007'],
  ['readOnlyRootFilesystem false', (_p, c) => [replace(`${c}/securityContext/readOnlyRootFilesystem`, false)], 'HD004'],
  ['procMount Unmasked', (_p, c) => [add(`${c}/securityContext/procMount`, 'Unmasked')], 'HD025'],
  ['a hostPort', (_p, c) => [add(`${c}/ports`, [{ containerPort: 8080, hostPort: 8080 }])], 'HD011'],
  ['a hostPath volume', (p, c) => [add(`${p}/volumes/-`, { name: 'host', hostPath: { path: '/var/run/containerd/containerd.sock' } }), add(`${c}/volumeMounts/-`, { name: 'host', mountPath: '/run/containerd.sock' })], 'HD010'],
  ['an nfs volume', (p) => [add(`${p}/volumes/-`, { name: 'nfs', nfs: { server: '10.0.0.1', path: '/' } })], 'HD012'],
  ['a csi volume', (p) => [add(`${p}/volumes/-`, { name: 'csi', csi: { driver: 'secrets-store.csi.k8s.io' } })], 'HD012'],
  ['a projected serviceAccountToken', (p) => [add(`${p}/volumes/-`, { name: 'tok', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } })], 'HD032'],
  ['automountServiceAccountToken true', (p) => [replace(`${p}/automountServiceAccountToken`, true)], 'HD015'],
  ['automountServiceAccountToken removed', (p) => [remove(`${p}/automountServiceAccountToken`)], 'HD015'],
  ['a privileged init container', (p) => [add(`${p}/initContainers`, [{ ...hardenedContainer(), name: 'init', securityContext: { ...hardenedContainer().securityContext, privileged: true } }])], 'HD006'],
  ['an ephemeral container with SYS_PTRACE', (p) => [add(`${p}/ephemeralContainers`, [{ ...hardenedContainer(), name: 'debug', securityContext: { ...hardenedContainer().securityContext, capabilities: { drop: ['ALL'], add: ['SYS_PTRACE'] } } }])], 'HD007'],
  ['an ephemeral container as root', (p) => [add(`${p}/ephemeralContainers`, [{ ...hardenedContainer(), name: 'debug', securityContext: { ...hardenedContainer().securityContext, runAsUser: 0, runAsNonRoot: false } }])], 'HD001'],
  ['a postStart hook to another host', (_p, c) => [add(`${c}/lifecycle`, { postStart: { httpGet: { host: '169.254.169.254', path: '/latest/meta-data/', port: 80 } } })], 'HD028'],
  ['a readiness probe with tcpSocket.host', (_p, c) => [add(`${c}/readinessProbe`, { tcpSocket: { host: '10.0.0.1', port: 8080 } })], 'HD028'],
  ['a preStop hook running a shell', (_p, c) => [add(`${c}/lifecycle`, { preStop: { exec: { command: ['/bin/sh', '-c', 'sleep 5'] } } })], 'HD016'],
  ['a command replaced by a shell', (_p, c) => [add(`${c}/command`, ['sh', '-c', 'exec /app'])], 'HD016'],
  ['env from a Secret key', (_p, c) => [add(`${c}/env`, [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }])], 'HD017'],
  ['envFrom a Secret', (_p, c) => [add(`${c}/envFrom`, [{ secretRef: { name: 'db' } }])], 'HD017'],
  ['a literal token in env', (_p, c) => [add(`${c}/env`, [{ name: 'GITHUB_TOKEN', value: 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB' }])], 'HD018'],
  ['the /tmp emptyDir without its sizeLimit', (p) => [remove(`${p}/volumes/0/emptyDir/sizeLimit`)], 'HD013'],
  ['memory limit removed', (_p, c) => [remove(`${c}/resources/limits/memory`)], 'HD014'],
  ['memory limit "0"', (_p, c) => [replace(`${c}/resources/limits/memory`, '0')], 'HD035'],
  ['the image by tag', (_p, c) => [replace(`${c}/image`, 'nginx:latest')], 'HD003'],
  ['the image by a tag that looks like a digest', (_p, c) => [replace(`${c}/image`, 'registry.example.com/app:sha256-abc')], 'HD003'],
  ['a mount at /', (_p, c) => [replace(`${c}/volumeMounts/0/mountPath`, '/')], 'HD036'],
  ['a mount over the token path', (_p, c) => [replace(`${c}/volumeMounts/0/mountPath`, '/var/run/secrets/kubernetes.io/serviceaccount')], 'HD032'],
  ['a subPath with ..', (_p, c) => [add(`${c}/volumeMounts/0/subPath`, '../../')], 'HD036'],
  ['a liveness probe on an undeclared port name', (_p, c) => [add(`${c}/livenessProbe`, { httpGet: { path: '/', port: 'admin' } })], 'HD037'],
  ['securityContext removed from the container', (_p, c) => [remove(`${c}/securityContext`)], 'HD004'],
];

/** A hardened container, as the core writes it, for patches that add containers. */
function hardenedContainer(): any {
  return hardenedObject().spec.template.spec.containers[0];
}

const patchAttacks: Cdk8sAttack[] = PATCHES.map(([what, patches, rule], i) => {
  const kind: Kind = KINDS[i % KINDS.length]!;
  return {
    name: `a JSON patch on a ${kind}: ${what}`, category: 'pss-controls', target: kind, stage: 'synth', rule,
    build: (c: Chart) => {
      const w = cdk8sWorkload(c, kind);
      w.workload.addJsonPatch(...patches(POD_SPEC[kind], `${POD_SPEC[kind]}/containers/0`));
    },
  };
});

/** Changes to the library's objects after construction, not by patch. */
const afterConstruction: Cdk8sAttack[] = [
  {
    name: 'the core result\'s workload object edited after construction', category: 'patches', target: 'Deployment', stage: 'synth', rule: 'HD009',
    build: (c) => {
      const w = cdk8sWorkload(c, 'Deployment');
      (w.result.workload as any).spec.template.spec.hostPID = true;
      (w.workload as any).props?.spec && ((w.workload as any).props.spec.template.spec.hostPID = true);
    },
  },
  {
    name: 'toJson of the workload overridden to add hostNetwork', category: 'patches', target: 'StatefulSet', stage: 'synth', rule: 'HD009',
    build: (c) => {
      const w = cdk8sWorkload(c, 'StatefulSet');
      const original = w.workload.toJson.bind(w.workload);
      w.workload.toJson = () => {
        const o = original();
        o.spec.template.spec.hostNetwork = true;
        return o;
      };
    },
  },
  {
    // The `yaml` package calls an own toJSON and writes its result in place of the object the rules read.
    name: 'a raw Deployment whose pod spec carries its own toJSON returning a hostPID spec', category: 'raw-objects', target: 'raw', stage: 'synth', rule: 'HD034', fileRule: 'HD009',
    build: (c) => {
      const d = hardenedObject('tojson');
      const spec = d.spec.template.spec;
      const evil = { ...structuredClone(spec), hostPID: true };
      spec.toJSON = () => evil;
      raw(c, 'tojson', d);
    },
  },
  {
    // A getter answers each read anew: false to the check, true to the writer that reads it later.
    name: 'toJson overridden to return a getter that is false when checked and true when written', category: 'patches', target: 'Deployment', stage: 'synth', rule: 'HD034', fileRule: null,
    build: (c) => {
      const w = cdk8sWorkload(c, 'Deployment');
      const original = w.workload.toJson.bind(w.workload);
      let reads = 0;
      w.workload.toJson = () => {
        const o = original();
        Object.defineProperty(o.spec.template.spec, 'hostPID', { enumerable: true, get: () => reads++ > 0 });
        return o;
      };
    },
  },
  {
    name: 'a Map in the pod spec (cdk8s writes it as !!omap; the rules cannot read into it)', category: 'patches', target: 'StatefulSet', stage: 'synth', rule: 'HD034', fileRule: 'HD033',
    build: (c) => {
      const w = cdk8sWorkload(c, 'StatefulSet');
      const original = w.workload.toJson.bind(w.workload);
      w.workload.toJson = () => {
        const o = original();
        o.spec.template.spec.nodeSelector = new Map([['kubernetes.io/hostname', 'control-plane']]);
        return o;
      };
    },
  },
  {
    name: 'a Lazy value that turns privileged on at synth', category: 'patches', target: 'Job', stage: 'synth', rule: 'HD006',
    build: (c) => {
      const w = cdk8sWorkload(c, 'Job');
      w.workload.addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/securityContext/privileged', Lazy.any({ produce: () => true })));
    },
  },
  {
    name: 'the ServiceAccount patched to mount its token, and the pod patched to use it', category: 'patches', target: 'CronJob', stage: 'synth', rule: 'HD015',
    build: (c) => {
      const w = cdk8sWorkload(c, 'CronJob');
      w.serviceAccount.addJsonPatch(JsonPatch.replace('/automountServiceAccountToken', true));
      w.workload.addJsonPatch(JsonPatch.remove('/spec/jobTemplate/spec/template/spec/automountServiceAccountToken'));
    },
  },
  {
    name: 'a raw Deployment that copies a hardened one and flips one field', category: 'raw-objects', target: 'raw', stage: 'synth', rule: 'HD004',
    build: (c) => {
      const d = hardenedObject('copy');
      d.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
      raw(c, 'copy', d);
    },
  },
  {
    name: 'a raw object whose hostPID is a Lazy value', category: 'raw-objects', target: 'raw', stage: 'synth', rule: 'HD009',
    build: (c) => {
      const d = hardenedObject('lazy');
      d.spec.template.spec.hostPID = Lazy.any({ produce: () => true });
      raw(c, 'lazy', d);
    },
  },
  {
    name: 'a "<<" key in a raw object that cdk8s writes as a merge key (hostPID for Go)', category: 'yaml-text', target: 'raw', stage: 'synth', rule: 'HD033',
    build: (c) => {
      const d = hardenedObject('merge');
      d.spec.template.spec['<<'] = { hostPID: true };
      raw(c, 'merge', d);
    },
  },
  {
    name: 'a "<<" key added by a JSON patch to a workload\'s container securityContext', category: 'yaml-text', target: 'StatefulSet', stage: 'synth', rule: 'HD033',
    build: (c) => {
      const w = cdk8sWorkload(c, 'StatefulSet');
      w.workload.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/0/securityContext/<<', { procMount: 'Unmasked' }));
    },
  },
  {
    name: 'the workload\'s pod template replaced wholesale by one from another image', category: 'patches', target: 'Deployment', stage: 'synth', rule: 'HD001',
    build: (c) => {
      const w = cdk8sWorkload(c, 'Deployment');
      w.workload.addJsonPatch(JsonPatch.replace('/spec/template/spec', { containers: [{ name: 'app', image: goodContainer().image }] }));
    },
  },
];

/** A Lazy value that answers `first` the first time it is resolved and `later` every time after. */
const flipping = (first: unknown, later: unknown) => {
  let calls = 0;
  return Lazy.any({ produce: () => (calls++ === 0 ? first : later) });
};
/** Runs `act` from a construct validation, from its `nth` run on (cdk8s validates again inside synth, after the check). */
const inValidation = (c: Chart, nth: number, act: () => void) => {
  let runs = 0;
  let inside = false;
  c.node.addValidation({ validate: () => {
    if (inside || ++runs < nth) return [];
    inside = true;
    try { act(); } catch { /* a frozen object refuses the edit; the attack goes on */ } finally { inside = false; }
    return [];
  } });
};
const noHostPid = (objects: KubeObject[]) => {
  expect(objects.length).toBeGreaterThan(0);
  for (const o of objects) expect((o as any).spec?.template?.spec?.hostPID, `${o.kind}/${o.metadata?.name}`).not.toBe(true);
};
const ONE_FILE_PER_OBJECT = { yamlOutputType: YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE };

/** Things that happen during synth, between HardenedApp's check and the write. */
const duringSynth: Cdk8sAttack[] = [
  {
    name: 'a Lazy hostPID that is false when checked and true when resolved again (one file per object)', category: 'patches', target: 'App', stage: 'written', rule: 'HD009',
    appProps: ONE_FILE_PER_OBJECT,
    build: (c) => {
      const d = hardenedObject('flip');
      d.spec.template.spec.hostPID = flipping(false, true);
      raw(c, 'flip', d);
    },
    verify: noHostPid,
  },
  {
    name: 'a validation that edits the checked objects inside synth', category: 'patches', target: 'App', stage: 'written', rule: 'HD009',
    build: (c) => {
      raw(c, 'edited', hardenedObject('edited'));
      inValidation(c, 2, () => { for (const d of c.toJson()) if (d.kind === 'Deployment') d.spec.template.spec.hostPID = true; });
    },
    verify: noHostPid,
  },
  {
    name: 'a validation that adds a chart with a hostPID Deployment inside synth', category: 'hidden-objects', target: 'App', stage: 'synth', rule: 'HD034', fileRule: null,
    build: (c) => {
      raw(c, 'ok', hardenedObject('ok'));
      inValidation(c, 2, () => {
        const d = hardenedObject('late');
        d.spec.template.spec.hostPID = true;
        raw(new Chart(c.node.scope as App, 'late'), 'late', d);
      });
    },
  },
  {
    name: 'a validation that adds a hostPID Deployment to a checked chart inside synth', category: 'hidden-objects', target: 'App', stage: 'synth', rule: 'HD034', fileRule: 'HD009',
    build: (c) => {
      raw(c, 'ok', hardenedObject('ok'));
      inValidation(c, 2, () => {
        const d = hardenedObject('late');
        d.spec.template.spec.hostPID = true;
        raw(c, 'late', d);
      });
    },
  },
  {
    name: 'a validation that adds a chart inside synth, one file per object', category: 'hidden-objects', target: 'App', stage: 'synth', rule: 'HD034', fileRule: null,
    appProps: ONE_FILE_PER_OBJECT,
    build: (c) => {
      raw(c, 'ok', hardenedObject('ok'));
      inValidation(c, 2, () => {
        if ((c.node.scope as App).node.tryFindChild('late')) return;
        const d = hardenedObject('late');
        d.spec.template.spec.hostPID = true;
        raw(new Chart(c.node.scope as App, 'late'), 'late', d);
      });
    },
  },
  {
    name: 'a validation that adds a hostPID Deployment during the check itself', category: 'hidden-objects', target: 'App', stage: 'synth', rule: 'HD009',
    build: (c) => {
      raw(c, 'ok', hardenedObject('ok'));
      inValidation(c, 1, () => {
        if (c.node.tryFindChild('late')) return;
        const d = hardenedObject('late');
        d.spec.template.spec.hostPID = true;
        raw(c, 'late', d);
      });
    },
  },
];

export const CDK8S_PATCH_ATTACKS: readonly Cdk8sAttack[] = [...patchAttacks, ...afterConstruction, ...duringSynth];
