import { describe, expect, it } from 'vitest';
import { CleanimgError } from '../../src/errors';
import { envConfig, hardenedDeployment, nonRootId, serviceFor } from '../../src/core';
import { baseProps, IMAGE } from '../support/fixtures';

function problemsOf(fn: () => unknown): Array<[string, string]> {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CleanimgError);
    return (e as CleanimgError).problems.map((p) => [p.code, p.path]);
  }
  throw new Error('expected a CleanimgError');
}

describe('hardenedDeployment', () => {
  const { deployment, serviceAccount } = hardenedDeployment(baseProps());
  const spec = (deployment as any).spec.template.spec;
  const c = spec.containers[0];

  it('hardens every container', () => {
    expect(c.securityContext).toEqual({
      runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.serviceAccountName).toBe('web');
    expect(serviceAccount).toMatchObject({ kind: 'ServiceAccount', metadata: { name: 'web' }, automountServiceAccountToken: false });
  });

  it('gives a sized /tmp, resources and TCP probes on the first port by default', () => {
    expect(spec.volumes).toEqual([{ name: 'app-tmp', emptyDir: { sizeLimit: '64Mi' } }]);
    expect(c.volumeMounts).toEqual([{ name: 'app-tmp', mountPath: '/tmp' }]);
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi', 'ephemeral-storage': '64Mi' }, limits: { memory: '256Mi', 'ephemeral-storage': '1Gi' } });
    expect(c.readinessProbe.tcpSocket).toEqual({ port: 'http' });
    expect(c.livenessProbe.tcpSocket).toEqual({ port: 'http' });
  });

  it('selects pods by app.kubernetes.io/name', () => {
    expect((deployment as any).spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'web' } });
    expect((deployment as any).spec.template.metadata.labels['app.kubernetes.io/name']).toBe('web');
  });

  it('takes another UID/GID >= 10000 and sets it everywhere', () => {
    const d = hardenedDeployment(baseProps({ runAsUser: nonRootId(10001), runAsGroup: nonRootId(20000) })).deployment as any;
    expect(d.spec.template.spec.securityContext).toMatchObject({ runAsUser: 10001, runAsGroup: 20000, fsGroup: 20000 });
    expect(d.spec.template.spec.containers[0].securityContext).toMatchObject({ runAsUser: 10001, runAsGroup: 20000 });
    expect(() => nonRootId(0)).toThrow(/HD002/);
    expect(() => nonRootId(9999)).toThrow(/HD002/);
  });

  it('mounts PVCs and sized emptyDirs where the app writes, keeping a user-sized /tmp', () => {
    const d = hardenedDeployment(baseProps({
      containers: [{ name: 'db', image: IMAGE, ports: [{ containerPort: 5432 }], writablePaths: [
        { path: '/var/lib/data', claimName: 'data' }, { path: '/tmp', sizeLimit: '1Gi' }, { path: '/run', sizeLimit: '1Mi', medium: 'Memory' }] }],
    })).deployment as any;
    const s = d.spec.template.spec;
    expect(s.volumes).toEqual([
      { name: 'db-var-lib-data', persistentVolumeClaim: { claimName: 'data' } },
      { name: 'db-tmp', emptyDir: { sizeLimit: '1Gi' } },
      { name: 'db-run', emptyDir: { sizeLimit: '1Mi', medium: 'Memory' } },
    ]);
  });

  it('adds NET_BIND_SERVICE only when asked, and only with a port below 1024', () => {
    const ok = hardenedDeployment(baseProps({ containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 443 }], netBindService: true }] })).deployment as any;
    expect(ok.spec.template.spec.containers[0].securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_BIND_SERVICE'] });
    expect(problemsOf(() => hardenedDeployment(baseProps({ containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 8443 }], netBindService: true }] }))))
      .toEqual([['HD007', 'Deployment/web /spec/template/spec/containers/0/securityContext/capabilities/add/0']]);
  });

  it('requires probes for a container without ports', () => {
    expect(problemsOf(() => hardenedDeployment(baseProps({ containers: [{ name: 'worker', image: IMAGE }] })))).toEqual([
      ['HD019', 'Deployment/web /spec/template/spec/containers/0/readinessProbe'],
    ]);
    const d = hardenedDeployment(baseProps({ containers: [{ name: 'worker', image: IMAGE, probes: { readiness: { exec: { command: ['/app/healthcheck'] } }, liveness: { exec: { command: ['/app/healthcheck'] } } } }] }));
    expect((d.deployment as any).spec.template.spec.containers[0].readinessProbe.exec.command).toEqual(['/app/healthcheck']);
  });

  it('refuses, from JavaScript, every insecure setting at once, naming rule and prop', () => {
    const props: any = {
      name: 'web',
      runAsUser: 0,
      hostNetwork: true,
      containers: [{
        name: 'app', image: 'nginx:1.25', privileged: true, readOnlyRootFilesystem: false, allowPrivilegeEscalation: true,
        capabilities: { add: ['SYS_ADMIN'] }, seccompProfile: { type: 'Unconfined' }, writablePaths: [{ path: '/data', hostPath: '/srv' }],
      }],
    };
    expect(problemsOf(() => hardenedDeployment(props)).sort()).toEqual([
      ['HD002', 'runAsUser'],
      ['HD003', 'containers[0].image'],
      ['HD004', 'containers[0].readOnlyRootFilesystem'],
      ['HD005', 'containers[0].allowPrivilegeEscalation'],
      ['HD006', 'containers[0].privileged'],
      ['HD007', 'containers[0].capabilities'],
      ['HD008', 'containers[0].seccompProfile'],
      ['HD009', 'hostNetwork'],
      ['PROP002', 'containers[0].writablePaths[0]'],
    ]);
  });

  it('refuses a shell command, a secret-looking env and a tag-only image known only at run time', () => {
    const image = ['nginx', '1.25'].join(':') as any;
    expect(problemsOf(() => hardenedDeployment(baseProps({ containers: [{ name: 'app', image }] })))).toEqual([['HD003', 'containers[0].image']]);
    expect(problemsOf(() => hardenedDeployment(baseProps({ containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 80 }], command: ['sh', '-c', 'nginx'], env: { API_TOKEN: 'abc' } }] })))).toEqual([
      ['HD016', 'Deployment/web /spec/template/spec/containers/0/command/0'],
      ['HD018', 'Deployment/web /spec/template/spec/containers/0/env/0/value'],
    ]);
  });

  it('refuses unknown props, bad names and quantities', () => {
    expect(problemsOf(() => hardenedDeployment({ ...baseProps(), replica: 3 } as any))).toEqual([['PROP001', 'replica']]);
    expect(problemsOf(() => hardenedDeployment(baseProps({ name: 'Web_App' })))).toEqual([['PROP002', 'name']]);
    expect(problemsOf(() => hardenedDeployment(baseProps({ containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 80 }], writablePaths: [{ path: 'tmp', sizeLimit: 'lots' }] }] }))))
      .toEqual([['HD036', 'containers[0].writablePaths[0].path'], ['HD035', 'containers[0].writablePaths[0].sizeLimit']]);
  });

  it('refuses scratch space larger than the ephemeral-storage limit, and duplicate mounts', () => {
    expect(problemsOf(() => hardenedDeployment(baseProps({ containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 80 }], writablePaths: [{ path: '/tmp', sizeLimit: '2Gi' }] }] }))))
      .toEqual([['PROP005', 'containers[0].resources.ephemeralStorage.limit']]);
    const cfg = envConfig({ name: 'c', data: { a: 'b' }, mountPath: '/tmp' });
    expect(problemsOf(() => hardenedDeployment(baseProps({ containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 80 }], config: [cfg] }] }))))
      .toEqual([['PROP004', 'containers[0].mounts']]);
  });

  it('wires EnvConfig files, env keys and secrets read-only', () => {
    const cfg = envConfig({ name: 'app', data: { 'app.env': 'A=1', LOG_LEVEL: 'info' }, mountPath: '/etc/app', envKeys: { LOG_LEVEL: 'LOG_LEVEL' }, secrets: [{ secretName: 'db', mountPath: '/var/run/secrets/db' }] });
    const d = hardenedDeployment(baseProps({ containers: [{ name: 'app', image: IMAGE, ports: [{ containerPort: 80 }], config: [cfg] }] })).deployment as any;
    const s = d.spec.template.spec;
    expect(s.volumes.map((v: any) => v.name)).toEqual(['app-tmp', 'app-config', 'app-secret-0']);
    expect(s.containers[0].volumeMounts.filter((m: any) => m.readOnly).map((m: any) => m.mountPath)).toEqual(['/etc/app', '/var/run/secrets/db']);
    expect(s.containers[0].env).toEqual([{ name: 'LOG_LEVEL', valueFrom: { configMapKeyRef: { name: cfg.configMapName, key: 'LOG_LEVEL' } } }]);
  });

  it('exposes declared ports through a ClusterIP Service selecting its pods', () => {
    const r = hardenedDeployment(baseProps({ namespace: 'shop' }));
    expect(serviceFor(r)).toEqual({
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: 'web', namespace: 'shop', labels: { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/managed-by': 'cleanimg' } },
      spec: { type: 'ClusterIP', selector: { 'app.kubernetes.io/name': 'web' }, ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }] },
    });
  });

  it('is deterministic', () => {
    expect(JSON.stringify(hardenedDeployment(baseProps()))).toBe(JSON.stringify(hardenedDeployment(baseProps())));
  });
});
