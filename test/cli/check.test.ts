import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { goodDeployment } from '../support/fixtures';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cleanimg-check-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

describe('cleanimg-customize check', () => {
  it('passes hardened manifests (exit 0)', async () => {
    const dir = tree({ 'ok.yaml': stringify(goodDeployment()) });
    const r = await runCli(['check', dir]);
    expect(r.out).toMatch(/1 object in 1 file: no rule broken/);
    expect(r.code).toBe(0);
  });

  it('lists every violation with its fix and exits 1, walking folders and multi-document files', async () => {
    const bad = goodDeployment();
    bad.metadata.name = 'legacy';
    bad.spec.template.spec.containers[0].image = 'nginx:1.25';
    bad.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
    const dir = tree({
      'k8s/app.yaml': `${stringify(goodDeployment())}---\n${stringify(bad)}`,
      'k8s/secret.yml': stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { secret_key: 'x' } }),
      'k8s/notes.txt': 'not yaml, skipped in folders',
    });
    const r = await runCli(['check', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('Deployment/legacy');
    expect(r.out).toMatch(/HD003 \/spec\/template\/spec\/containers\/0\/image: image "nginx:1.25" is not pinned by digest\n\s+fix: use nginx:1.25@sha256:<digest>/);
    expect(r.out).toMatch(/HD004/);
    expect(r.out).toMatch(/HD030 \/stringData/);
    expect(r.out).toMatch(/3 objects in 2 files: 2 break 3 rules \(3 findings\)/);
  });

  it('reads what kubectl apply -f reads (.json, hidden files and folders) and skips .git and node_modules', async () => {
    const bad = stringify({ ...goodDeployment(), metadata: { name: 'bad' }, spec: { ...goodDeployment().spec, template: { ...goodDeployment().spec.template, spec: { ...goodDeployment().spec.template.spec, hostPID: true } } } });
    const dir = tree({
      'a.json': JSON.stringify(goodDeployment()),
      '.hidden.yaml': bad,
      '.overlay/x.yml': bad,
      '.git/config.yaml': bad,
      'node_modules/pkg/k8s.yaml': bad,
    });
    const r = await runCli(['check', '--json', dir]);
    const report = JSON.parse(r.out);
    expect(report.files).toBe(3);
    expect([...new Set(report.violations.map((v: { file: string }) => v.file.slice(dir.length + 1)))].sort()).toEqual(['.hidden.yaml', '.overlay/x.yml']);
  });

  it('does not report how Go reads a file that holds no Kubernetes object (a CI workflow\'s on: key)', async () => {
    const dir = tree({ '.github/workflows/ci.yml': 'on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n', 'ok.yaml': stringify(goodDeployment()) });
    const r = await runCli(['check', dir]);
    expect(r.out).toMatch(/no rule broken/);
    expect(r.code).toBe(0);
  });

  it('prints a JSON report with --json', async () => {
    const bad = goodDeployment();
    bad.spec.template.spec.hostPID = true;
    const r = await runCli(['check', '--json', tree({ 'a.yaml': stringify(bad) })]);
    const report = JSON.parse(r.out);
    expect(report.ok).toBe(false);
    expect(report.violations.map((v: any) => [v.code, v.object, v.path])).toEqual([['HD009', 'Deployment/web', '/spec/template/spec/hostPID']]);
    expect(r.code).toBe(1);
  });

  it('reads a List kind', async () => {
    const r = await runCli(['check', tree({ 'l.yaml': stringify({ apiVersion: 'v1', kind: 'List', items: [goodDeployment(), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } }] }) })]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Pod\/p/);
  });

  it('reports malformed YAML and missing paths as errors (exit 2) without a stack trace', async () => {
    const r = await runCli(['check', tree({ 'bad.yaml': 'a: [1, 2\nb: c' })]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/CLI002 .*bad.yaml:\d+/);
    expect(r.err).not.toMatch(/\n\s+at /);
    const m = await runCli(['check', '/nonexistent/path']);
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/CLI001/);
  });

  it('has help that lists the rules, and a rules command', async () => {
    const h = await runCli(['check', '--help']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/HD003\s+images are pinned by digest/);
    const r = await runCli(['rules', '--json']);
    expect(JSON.parse(r.out).length).toBeGreaterThan(20);
    expect((await runCli(['no-such-command'])).code).toBe(2);
  });
});

describe('cleanimg-customize check: what hides objects from a guard', () => {
  const privileged = () => { const d = goodDeployment(); d.spec.template.spec.containers[0].securityContext.privileged = true; return d; };
  const report = async (objects: unknown[]) => {
    const r = await runCli(['check', '--json', tree({ 'm.yaml': objects.map((o) => stringify(o)).join('---\n') })]);
    const json = JSON.parse(r.out);
    return { code: r.code, found: json.violations.map((v: any) => `${v.code} ${v.object} ${v.path}`) as string[], messages: json.violations.map((v: any) => v.message) as string[], objects: json.objects as number };
  };

  it('walks Lists inside Lists, a typed DeploymentList whose items carry no kind, and a Secret in a List', async () => {
    const { metadata, spec } = privileged();
    const r = await report([{
      apiVersion: 'v1', kind: 'List', metadata: { name: 'all' },
      items: [
        goodDeployment(),
        { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'apps/v1', kind: 'DeploymentList', items: [{ metadata, spec }] }] },
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 'hunter2' } },
      ],
    }]);
    expect(r.code).toBe(1);
    expect(r.found).toEqual([
      'HD006 List/all /items/1/items/0/items/0/spec/template/spec/containers/0/securityContext/privileged',
      'HD030 List/all /items/2/stringData',
    ]);
    expect(r.messages[0]).toMatch(/^Deployment\/web: /);
    expect(r.objects).toBe(3);
  });

  it('reads any object with items as kubectl does: a Deployment carrying items is a List', async () => {
    const wrapper = { ...goodDeployment(), items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: privileged().spec.template.spec }] };
    const r = await report([wrapper]);
    expect(r.found).toEqual(['HD006 Deployment/web /items/0/spec/containers/0/securityContext/privileged']);
  });

  it('judges a CronJob inside a List, with HD038 when it never gives up', async () => {
    const spec = goodDeployment().spec.template.spec;
    delete spec.containers[0].readinessProbe;
    delete spec.containers[0].livenessProbe;
    const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly' }, spec: { schedule: '@daily', jobTemplate: { spec: { template: { spec: { ...spec, restartPolicy: 'Always' } } } } } };
    const r = await report([{ apiVersion: 'v1', kind: 'List', metadata: { name: 'jobs' }, items: [cron] }]);
    expect(r.found).toEqual([
      'HD038 List/jobs /items/0/spec/jobTemplate/spec/template/spec/restartPolicy',
      'HD038 List/jobs /items/0/spec/jobTemplate/spec/backoffLimit',
    ]);
  });

  it('finds the pod spec of custom resources by shape: an Argo Rollout, a Knative Service, a Kubeflow job', async () => {
    const hostPath = goodDeployment().spec.template;
    hostPath.spec.volumes.push({ name: 'docker', hostPath: { path: '/var/run/docker.sock' } });
    const r = await report([
      { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'r' }, spec: { template: privileged().spec.template } },
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'k' }, spec: { template: hostPath } },
      { apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob', metadata: { name: 't' }, spec: { pytorchReplicaSpecs: { Master: { template: goodDeployment().spec.template }, Worker: { template: privileged().spec.template } } } },
    ]);
    const docker = hostPath.spec.volumes.length - 1;
    expect(r.found).toEqual([
      'HD006 Rollout/r /spec/template/spec/containers/0/securityContext/privileged',
      `HD010 Service/k /spec/template/spec/volumes/${docker}/hostPath`,
      'HD006 PyTorchJob/t /spec/pytorchReplicaSpecs/Worker/template/spec/containers/0/securityContext/privileged',
    ]);
  });

  it('refuses what it cannot judge (HD034): a container outside any pod spec', async () => {
    const r = await report([{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { name: 'w' }, spec: { templates: [{ name: 'main', container: { image: 'alpine:3', command: ['sh', '-c', 'id'], securityContext: { privileged: true } } }] } }]);
    expect(r.found).toEqual(['HD034 Workflow/w /spec/templates/0/container']);
  });

  it('decodes ConfigMap binaryData (a PEM private key) and checks *_FILE variables (a password instead of a path)', async () => {
    const pem = Buffer.from('-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----\n').toString('base64');
    const d = goodDeployment();
    d.spec.template.spec.containers[0].env = [{ name: 'DB_PASSWORD_FILE', value: 'hunter2' }];
    const r = await report([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tls' }, binaryData: { 'server.bin': pem } }, d]);
    expect(r.found).toEqual(['HD031 ConfigMap/tls /binaryData/server.bin', 'HD018 Deployment/web /spec/template/spec/containers/0/env/0/value']);
    expect(r.messages[0]).toMatch(/base64-decoded.*private key/);
  });
});
