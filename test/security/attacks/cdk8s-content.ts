/**
 * Attacks through what typed props carry: strings that Go's YAML reads differently, shells behind
 * wrappers, and look-alike or bent EnvConfig attachments; every workload kind.
 */
import type { Chart } from 'cdk8s';
import { expect } from 'vitest';
import { EnvConfig, HardenedDeployment } from '../../../src/cdk8s';
import type { KubeObject } from '../../../src/rules';
import type { Cdk8sAttack } from '../cdk8s-harness';
import { cdk8sContainer, cdk8sWorkload, goodContainer, KINDS, type Kind } from './common';

const podSpecOf = (objects: KubeObject[]): any => {
  const w = objects.find((o) => ['Deployment', 'StatefulSet', 'Job', 'CronJob'].includes(String(o.kind))) as any;
  return w.kind === 'CronJob' ? w.spec.jobTemplate.spec.template.spec : w.spec.template.spec;
};

/** The pod spec has no host namespace, and the string came back exactly as given. */
const injectionFailed = (read: (pod: any) => unknown, given: string) => (objects: KubeObject[]) => {
  const pod = podSpecOf(objects);
  expect(pod.hostPID).toBeUndefined();
  expect(pod.hostNetwork).toBeUndefined();
  expect(read(pod)).toBe(given);
};

const INJECT = (sep: string) => `/srv${sep}      hostPID: true${sep}      hostNetwork: true`;

/** Separators Go's YAML treats as line breaks, or that break a plain scalar, in every string prop. */
const yamlAttacks: Cdk8sAttack[] = [
  ...([['U+2028', '\u2028'], ['U+2029', '\u2029'], ['U+0085 (NEL)', '\u0085'], ['CR LF', '\r\n'], ['LF', '\n'], ['CR', '\r']] as const).flatMap(([label, sep], i): Cdk8sAttack[] => {
    const kind = KINDS[i % KINDS.length]!;
    return [
      {
        name: `${label} in an env value writes hostPID on a ${kind}`, category: 'yaml-text', target: kind, stage: 'written', rule: 'HD033',
        build: (c) => cdk8sContainer(c, kind, { env: { GREETING: INJECT(sep) } }),
        verify: injectionFailed((pod) => pod.containers[0].env.find((e: any) => e.name === 'GREETING').value, INJECT(sep)),
      },
      {
        name: `${label} in an annotation value`, category: 'yaml-text', target: kind, stage: 'written', rule: 'HD033',
        build: (c) => cdk8sWorkload(c, kind, { annotations: { note: INJECT(sep) } }),
        verify: (objects) => {
          const w = objects.find((o) => o.kind === kind) as any;
          expect(w.metadata.annotations.note).toBe(INJECT(sep));
          expect(podSpecOf(objects).hostPID).toBeUndefined();
        },
      },
      {
        name: `${label} in an args element`, category: 'yaml-text', target: kind, stage: 'written', rule: 'HD033',
        build: (c) => cdk8sContainer(c, kind, { args: ['--greeting', INJECT(sep)] }),
        verify: injectionFailed((pod) => pod.containers[0].args[1], INJECT(sep)),
      },
    ];
  }),
  {
    name: 'U+2028 in workingDir', category: 'yaml-text', target: 'Deployment', stage: 'construct', rule: 'HD036',
    build: (c) => cdk8sContainer(c, 'Deployment', { workingDir: INJECT('\u2028') }),
  },
  {
    name: 'U+2029 in EnvConfig data (a ConfigMap value)', category: 'yaml-text', target: 'EnvConfig', stage: 'written', rule: 'HD033',
    build: (c) => new EnvConfig(c, 'cfg', { data: { 'app.conf': `level=info\u2029kind: Secret` } }),
    verify: (objects) => {
      const cm = objects.find((o) => o.kind === 'ConfigMap') as any;
      expect(cm.data['app.conf']).toBe('level=info\u2029kind: Secret');
      expect(objects.map((o) => o.kind)).toEqual(['ConfigMap']);
    },
  },
  {
    name: 'a lone surrogate in an env value (UTF-8 cannot carry it)', category: 'yaml-text', target: 'StatefulSet', stage: 'construct', rule: 'HD033',
    build: (c) => cdk8sContainer(c, 'StatefulSet', { env: { NOTE: 'a\ud800b' } }),
  },
  {
    name: 'a lone low surrogate in an annotation', category: 'yaml-text', target: 'CronJob', stage: 'construct', rule: 'HD033',
    build: (c) => cdk8sWorkload(c, 'CronJob', { annotations: { note: '\udc00' } }),
  },
  ...(['yes', 'on', 'off', 'no', 'y', 'n', '~', 'null', '0x1F', '0o17', '017', '1_000', '.inf', '2001-12-14', '<<', '=', '*alias', '&anchor x', '!!binary aGk=', '%TAG', '? key', '- item', '{"a":1}', '[a]'] as const).map((v, i): Cdk8sAttack => {
    const kind = KINDS[i % KINDS.length]!;
    return {
      name: `an env value ${JSON.stringify(v)} that YAML 1.1 or a tag could read as something else`, category: 'yaml-text', target: kind, stage: 'written', rule: 'HD033',
      build: (c) => cdk8sContainer(c, kind, { env: { VALUE: v } }),
      verify: injectionFailed((pod) => pod.containers[0].env.find((e: any) => e.name === 'VALUE').value, v),
    };
  }),
  {
    name: 'a BOM and a NUL in an env value', category: 'yaml-text', target: 'Job', stage: 'written', rule: 'HD033',
    build: (c) => cdk8sContainer(c, 'Job', { env: { RAW: '\ufeffa\u0000b\u001bc' } }),
    verify: injectionFailed((pod) => pod.containers[0].env.find((e: any) => e.name === 'RAW').value, '\ufeffa\u0000b\u001bc'),
  },
  {
    name: 'a document separator and a new object in an env value', category: 'yaml-text', target: 'Deployment', stage: 'written', rule: 'HD033',
    build: (c) => cdk8sContainer(c, 'Deployment', { env: { DOC: 'x\n---\napiVersion: v1\nkind: Pod\nspec:\n  hostPID: true\n' } }),
    verify: (objects) => {
      expect(objects.some((o) => o.kind === 'Pod')).toBe(false);
      expect(podSpecOf(objects).containers[0].env.find((e: any) => e.name === 'DOC').value).toBe('x\n---\napiVersion: v1\nkind: Pod\nspec:\n  hostPID: true\n');
    },
  },
  {
    name: 'a control character in a writable path', category: 'yaml-text', target: 'StatefulSet', stage: 'construct', rule: 'HD036',
    build: (c) => cdk8sContainer(c, 'StatefulSet', { writablePaths: [{ path: '/tmp\u2028hostPID', sizeLimit: '1Mi' }] }),
  },
];

/** Shells, directly or behind a wrapper, in command, args, init containers and exec probes. */
const SHELL_COMMANDS: [string, string[], string[]?][] = [
  ['sh -c', ['sh', '-c', 'id']],
  ['/bin/bash', ['/bin/bash']],
  ['/usr/bin/env bash -c', ['/usr/bin/env', 'bash', '-c', 'id']],
  ['env -S "sh -c id"', ['env', '-S', 'sh -c id']],
  ['env with a variable then sh', ['env', 'A=1', 'sh', '-c', 'id']],
  ['tini -- sh', ['tini', '--', 'sh', '-c', 'id']],
  ['dumb-init /bin/ash', ['dumb-init', '/bin/ash']],
  ['nice -n 5 dash', ['nice', '-n', '5', 'dash', '-c', 'id']],
  ['nohup zsh', ['nohup', 'zsh']],
  ['timeout 10 ksh', ['timeout', '10', 'ksh', '-c', 'id']],
  ['setsid sh', ['setsid', 'sh']],
  ['stdbuf -oL sh', ['stdbuf', '-oL', 'sh', '-c', 'id']],
  ['busybox sh', ['busybox', 'sh']],
  ['/bin/busybox ash', ['/bin/busybox', 'ash', '-c', 'id']],
  ['su -c', ['su', '-c', 'id']],
  ['sudo sh', ['sudo', 'sh']],
  ['capsh -- -c', ['capsh', '--', '-c', 'id']],
  ['flock -c', ['flock', '/tmp/lock', '-c', 'id']],
  ['/bin//sh (a doubled slash)', ['/bin//sh', '-c', 'id']],
  ['/usr/bin/../bin/sh', ['/usr/bin/../bin/sh', '-c', 'id']],
  ['./sh relative', ['./sh', '-c', 'id']],
  ['tini wrapper in command, sh in args', ['tini', '--'], ['sh', '-c', 'id']],
  ['sh in args after the image entrypoint', [], ['sh', '-c', 'id']],
  ['pwsh -c', ['pwsh', '-c', 'id']],
];
const shellAttacks: Cdk8sAttack[] = SHELL_COMMANDS.map(([label, command, args], i) => {
  const kind: Kind = KINDS[i % KINDS.length]!;
  const container: Record<string, unknown> = { ...(command.length ? { command } : {}), ...(args ? { args } : {}) };
  return { name: `a shell: ${label}`, category: 'shells', target: kind, stage: 'construct', rule: 'HD016', build: (c: Chart) => cdk8sContainer(c, kind, container) };
});
shellAttacks.push(
  {
    name: 'a shell in an init container', category: 'shells', target: 'StatefulSet', stage: 'construct', rule: 'HD016',
    build: (c) => cdk8sWorkload(c, 'StatefulSet', { initContainers: [{ ...goodContainer('Job'), name: 'init', command: ['/bin/sh', '-c', 'chmod 777 /data'] }] }),
  },
  {
    name: 'a shell in an exec readiness probe', category: 'shells', target: 'Deployment', stage: 'construct', rule: 'HD016',
    build: (c) => cdk8sContainer(c, 'Deployment', { probes: { readiness: { exec: { command: ['sh', '-c', 'curl localhost'] } }, liveness: { tcp: { port: 8080 } } } }),
  },
  {
    name: 'env -S behind tini in an exec liveness probe', category: 'shells', target: 'StatefulSet', stage: 'construct', rule: 'HD016',
    build: (c) => cdk8sContainer(c, 'StatefulSet', { probes: { liveness: { exec: { command: ['tini', '--', 'env', '-S', 'bash -c true'] } }, readiness: { tcp: { port: 8080 } } } }),
  },
  {
    name: 'a shell in a startup probe of a CronJob-like worker', category: 'shells', target: 'Job', stage: 'construct', rule: 'HD016',
    build: (c) => cdk8sContainer(c, 'Job', { probes: { startup: { exec: { command: ['busybox', 'sh', '-c', 'test -f /tmp/ready'] } } } }),
  },
);

const realAttachment = (c: Chart) => new EnvConfig(c, 'cfg', { name: 'app', data: { 'app.conf': 'level=info\n' } });
const tokenVolume = { name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token', audience: 'api' } }] } };

const attachmentAttacks: Cdk8sAttack[] = [
  {
    name: 'a plain object shaped like an attachment that projects a token', category: 'attachments', target: 'Deployment', stage: 'construct', rule: 'PROP007',
    build: (c) => cdk8sContainer(c, 'Deployment', { config: [{ volumes: [tokenVolume], volumeMounts: [{ name: 'token', mountPath: '/var/run/secrets/tokens', readOnly: true }], env: [] }] }),
  },
  {
    name: 'a look-alike with a forged seal', category: 'attachments', target: 'StatefulSet', stage: 'construct', rule: 'PROP007',
    build: (c) => cdk8sContainer(c, 'StatefulSet', { config: [{ volumes: [{ name: 'h', hostPath: { path: '/' } }], volumeMounts: [{ name: 'h', mountPath: '/host' }], env: [], seal: 'a'.repeat(64) }] }),
  },
  {
    name: 'a real attachment spread with a hostPath volume added (the seal copied)', category: 'attachments', target: 'Job', stage: 'construct', rule: 'PROP007',
    build: (c) => {
      const cfg = realAttachment(c);
      cdk8sContainer(c, 'Job', { config: [{ ...cfg, volumes: [...cfg.volumes, { name: 'h', hostPath: { path: '/var/run/docker.sock' } }], seal: cfg.seal }] });
    },
  },
  {
    name: 'a real attachment whose env list is pushed to after creation', category: 'attachments', target: 'CronJob', stage: 'construct', rule: 'PROP007',
    build: (c) => {
      const cfg = realAttachment(c);
      try {
        (cfg.env as unknown as unknown[]).push({ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'admin-token', key: 'token' } } });
      } catch { /* frozen: the push itself is refused */ }
      cdk8sContainer(c, 'CronJob', { config: [cfg] });
    },
  },
  {
    name: 'a real attachment whose mount is made writable after creation', category: 'attachments', target: 'Deployment', stage: 'construct', rule: 'PROP007',
    build: (c) => {
      const cfg = realAttachment(c);
      try {
        (cfg.volumeMounts[0] as Record<string, unknown>).readOnly = false;
      } catch { /* frozen */ }
      cdk8sContainer(c, 'Deployment', { config: [cfg] });
    },
  },
  {
    name: 'an attachment env that reads a Secret key by secretKeyRef', category: 'attachments', target: 'StatefulSet', stage: 'construct', rule: 'PROP007',
    build: (c) => cdk8sContainer(c, 'StatefulSet', { config: [{ volumes: [], volumeMounts: [], env: [{ name: 'DB', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }], seal: '' }] }),
  },
  {
    // The seal binds the content: an exact copy of what the library made is that attachment, no more.
    name: 'an attachment given as a JSON round trip of a real one', category: 'attachments', target: 'Job', stage: 'written', rule: 'PROP007',
    build: (c) => {
      const cfg = realAttachment(c);
      cdk8sContainer(c, 'Job', { config: [JSON.parse(JSON.stringify({ volumes: cfg.volumes, volumeMounts: cfg.volumeMounts, env: cfg.env, seal: cfg.seal }))] });
    },
    verify: (objects) => {
      const pod = podSpecOf(objects);
      expect(pod.volumes.map((v: any) => Object.keys(v).sort().join(',')).sort()).toEqual(['configMap,name', 'emptyDir,name']);
      expect(pod.containers[0].volumeMounts.filter((m: any) => m.mountPath !== '/tmp').every((m: any) => m.readOnly === true)).toBe(true);
    },
  },
  {
    name: 'an EnvConfig secret mounted over the token directory', category: 'attachments', target: 'EnvConfig', stage: 'construct', rule: 'HD032',
    build: (c) => new EnvConfig(c, 'cfg', { secrets: [{ secretName: 'stolen-token', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] }),
  },
  {
    name: 'an EnvConfig file mounted at /run/secrets/kubernetes.io/serviceaccount/token', category: 'attachments', target: 'EnvConfig', stage: 'construct', rule: 'HD032',
    build: (c) => new EnvConfig(c, 'cfg', { data: { 'app.conf': 'x\n' }, fileMounts: { 'app.conf': '/run/secrets/kubernetes.io/serviceaccount/token' } }),
  },
  {
    name: 'an EnvConfig mounted at / (over the whole root filesystem)', category: 'attachments', target: 'EnvConfig', stage: 'construct', rule: 'HD036',
    build: (c) => new EnvConfig(c, 'cfg', { data: { 'app.conf': 'x\n' }, mountPath: '/' }),
  },
  {
    name: 'a workload named like a privileged ServiceAccount, to borrow it', category: 'attachments', target: 'Deployment', stage: 'written', rule: 'HD015',
    build: (c) => new HardenedDeployment(c, 'w', { name: 'argocd-application-controller', namespace: 'argocd', containers: [goodContainer()] }),
    verify: (objects) => {
      // It may name the identity, but it never holds its token: not mounted, not projected.
      const pod = podSpecOf(objects);
      expect(pod.serviceAccountName).toBe('argocd-application-controller');
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(JSON.stringify(pod.volumes ?? [])).not.toContain('serviceAccountToken');
      expect(objects.find((o) => o.kind === 'ServiceAccount')).toMatchObject({ automountServiceAccountToken: false });
    },
  },
  {
    name: 'an EnvConfig file mounted over /etc/passwd mapping the user name to UID 0', category: 'attachments', target: 'StatefulSet', stage: 'written', rule: 'HD002',
    build: (c) => {
      const cfg = new EnvConfig(c, 'users', { data: { users: 'nonroot:x:0:0::/home/nonroot:/sbin/nologin\n' }, fileMounts: { users: '/etc/passwd' } });
      cdk8sContainer(c, 'StatefulSet', { config: [cfg] });
    },
    verify: (objects) => {
      // The kubelet runs the numeric UID the pod names: a passwd entry cannot make it root.
      const pod = podSpecOf(objects);
      expect(pod.securityContext.runAsUser).toBe(65532);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.containers[0].volumeMounts.find((m: any) => m.mountPath === '/etc/passwd')).toMatchObject({ readOnly: true });
    },
  },
];

export const CDK8S_CONTENT_ATTACKS: readonly Cdk8sAttack[] = [...yamlAttacks, ...shellAttacks, ...attachmentAttacks];
