/**
 * Pulumi.yaml's program loads as the Node.js language host loads it (node with the nodeargs of
 * Pulumi.yaml, require of `main` from the project directory, the compiled cleanimg/pulumi by package
 * self-reference) and registers every scenario, under mocks instead of an engine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from './policy-pack-client';

describe('Pulumi.yaml', () => {
  const project = parse(readFileSync(join(ROOT, 'Pulumi.yaml'), 'utf8'));

  it('names a nodejs program whose entry file exists', () => {
    expect(project.runtime.name).toBe('nodejs');
    expect(existsSync(join(ROOT, project.main))).toBe(true);
  });

  it('runs: registers the components and Kubernetes objects of every scenario', () => {
    ensureBuilt();
    const nodeargs = String(project.runtime.options?.nodeargs ?? '').split(/\s+/).filter(Boolean);
    const r = spawnSync(process.execPath, [...nodeargs, join(__dirname, 'fixtures', 'run-program.cjs'), project.main], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { exports: string[]; registered: { type: string; name: string; metadata?: { name?: string; namespace?: string } }[] };
    expect(out.exports.sort()).toEqual(['configMaps', 'namespaces', 'workloads']);
    const count = (t: string) => out.registered.filter((x) => x.type === t).length;
    expect(count('cleanimg:index:HardenedDeployment')).toBe(5);
    expect(count('cleanimg:index:HardenedStatefulSet')).toBe(1);
    expect(count('cleanimg:index:HardenedCronJob')).toBe(1);
    expect(count('cleanimg:index:EnvConfig')).toBe(6);
    expect(count('kubernetes:apps/v1:Deployment')).toBe(5);
    expect(count('kubernetes:apps/v1:StatefulSet')).toBe(1);
    expect(count('kubernetes:batch/v1:CronJob')).toBe(1);
    expect(count('kubernetes:core/v1:ServiceAccount')).toBe(7);
    expect(count('kubernetes:core/v1:Service')).toBe(6); // four exposed, the go api's for its Ingress, postgres's headless
    expect(count('kubernetes:networking.k8s.io/v1:Ingress')).toBe(1);
    expect(count('kubernetes:autoscaling/v2:HorizontalPodAutoscaler')).toBe(1);
    expect(count('kubernetes:core/v1:PersistentVolumeClaim')).toBe(2);
    expect(count('kubernetes:core/v1:ConfigMap')).toBe(4);
    expect(count('cleanimg:index:HardenedNamespace')).toBe(6);
    expect(count('kubernetes:core/v1:Namespace')).toBe(6);
    expect(count('kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy')).toBe(6);
    expect(count('kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding')).toBe(6);
    expect(count('kubernetes:rbac.authorization.k8s.io/v1:RoleBinding')).toBe(6);
    expect(out.registered.filter((x) => x.type === 'kubernetes:core/v1:Namespace').map((x) => x.metadata?.name).sort()).toEqual(['api', 'apps', 'databases', 'production', 'staging', 'web']);
    const workloads = out.registered.filter((x) => ['kubernetes:apps/v1:Deployment', 'kubernetes:apps/v1:StatefulSet', 'kubernetes:batch/v1:CronJob'].includes(x.type)).map((x) => `${x.type.split(':').pop()}/${x.metadata?.namespace}/${x.metadata?.name}`).sort();
    expect(workloads).toEqual(['CronJob/databases/postgres-backup', 'Deployment/api/go-api', 'Deployment/apps/python-app', 'Deployment/production/gateway', 'Deployment/staging/gateway', 'Deployment/web/nginx', 'StatefulSet/databases/postgres']);
  }, 180_000);
});
