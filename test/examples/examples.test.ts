import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
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
};

describe.each(Object.entries(charts))('example %s', (_name, make) => {
  it('breaks no rule and matches its snapshot', () => {
    const objects = make();
    expect(checkObjects(objects)).toEqual([]);
    expect(objects).toMatchSnapshot();
  });

  it('puts no secret value and no Secret object in the manifest', () => {
    const objects = make();
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const text = JSON.stringify(objects);
    expect(text).not.toMatch(/PRIVATE KEY|password@|secretKeyRef/);
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

  it('postgres: data on a PVC, /tmp and the socket directory as sized emptyDirs', () => {
    const s = charts.postgres().find((o) => o.kind === 'Deployment').spec.template.spec;
    const byMount = Object.fromEntries(s.containers[0].volumeMounts.map((m: any) => [m.mountPath, s.volumes.find((v: any) => v.name === m.name)]));
    expect(byMount['/var/lib/postgresql/data'].persistentVolumeClaim).toEqual({ claimName: 'postgres-data' });
    expect(byMount['/var/run/postgresql'].emptyDir.sizeLimit).toBe('16Mi');
    expect(byMount['/tmp'].emptyDir.sizeLimit).toBe('256Mi');
  });
});
