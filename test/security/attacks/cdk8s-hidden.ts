/**
 * Objects no guard used to look into, written beside the library's in a cdk8s chart: List wrappers
 * (nested, typed, kind-less items), custom resources that carry a pod template, bare pod-making
 * kinds, GitOps objects whose controller installs what no guard sees (Flux, Argo CD), ConfigMap
 * binaryData, literal Secrets inside Lists, and kinds named like Object.prototype members (which
 * once crashed the rules). Each constructs; HardenedApp, the synth plugin and
 * `check` must refuse what it writes.
 */
import { Include, type Chart } from 'cdk8s';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Cdk8sAttack } from '../cdk8s-harness';
import { hardenedObject, raw } from './common';

/** A hardened Deployment's pod template, bent. */
function template(edit: (spec: any, container: any) => void): any {
  const t = hardenedObject('t').spec.template;
  edit(t.spec, t.spec.containers[0]);
  return t;
}
const privileged = () => template((_s, c) => { c.securityContext.privileged = true; });
const deployment = (name: string, edit: (spec: any, container: any) => void) => {
  const d = hardenedObject(name);
  edit(d.spec.template.spec, d.spec.template.spec.containers[0]);
  return d;
};

const PEM_KEY = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----\n';

export const CDK8S_HIDDEN_ATTACKS: readonly Cdk8sAttack[] = [
  {
    name: 'a privileged Deployment inside a List', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD006',
    build: (c) => raw(c, 'l', { apiVersion: 'v1', kind: 'List', metadata: { name: 'bundle' }, items: [deployment('in-list', (_s, ct) => { ct.securityContext.privileged = true; })] }),
  },
  {
    name: 'a hostPID Deployment inside a DeploymentList inside a List', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD009',
    build: (c) => raw(c, 'l', { apiVersion: 'v1', kind: 'List', metadata: { name: 'outer' }, items: [{ apiVersion: 'apps/v1', kind: 'DeploymentList', items: [deployment('nested', (s) => { s.hostPID = true; })] }] }),
  },
  {
    name: 'a kind-less item in a typed DeploymentList', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD010',
    build: (c) => {
      const d = deployment('kindless', (s) => { s.volumes.push({ name: 'h', hostPath: { path: '/' } }); });
      delete d.kind;
      delete d.apiVersion;
      raw(c, 'l', { apiVersion: 'apps/v1', kind: 'DeploymentList', metadata: { name: 'typed' }, items: [d] });
    },
  },
  {
    name: 'a literal Secret inside a List', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD030',
    build: (c) => raw(c, 'l', { apiVersion: 'v1', kind: 'List', metadata: { name: 'extras' }, items: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 'hunter2' } }] }),
  },
  {
    name: 'a Deployment that also carries items (kubectl reads it as a List)', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD006',
    build: (c) => raw(c, 'd', { ...hardenedObject('decoy'), items: [deployment('carried', (_s, ct) => { ct.securityContext.privileged = true; })] }),
  },
  {
    name: 'an Argo Rollout with a privileged template', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD006',
    build: (c) => raw(c, 'r', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template: privileged() } }),
  },
  {
    name: 'a Knative Service with a hostPath volume', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD010',
    build: (c) => raw(c, 'k', { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'k' }, spec: { template: template((s) => { s.volumes.push({ name: 'h', hostPath: { path: '/var/run' } }); }) } }),
  },
  {
    name: 'a KEDA ScaledJob whose job template runs as root', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD002',
    build: (c) => raw(c, 's', { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledJob', metadata: { name: 's' }, spec: { jobTargetRef: { template: template((s, ct) => { s.securityContext.runAsUser = 0; ct.securityContext.runAsUser = 0; s.restartPolicy = 'Never'; }) } } }),
  },
  {
    name: 'an unknown custom kind with a pod spec deep inside', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD007',
    build: (c) => raw(c, 'x', { apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'x' }, spec: { a: { b: { worker: { podSpec: template((_s, ct) => { ct.securityContext.capabilities = { add: ['SYS_ADMIN'] }; }).spec } } } } }),
  },
  {
    name: 'a bare Pod with host networking', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD009',
    build: (c) => raw(c, 'p', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: template((s) => { s.hostNetwork = true; }).spec }),
  },
  {
    name: 'a ReplicationController with a privileged container', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD006',
    build: (c) => raw(c, 'rc', { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { selector: { app: 't' }, template: privileged() } }),
  },
  {
    name: 'a PodTemplate object with a shell', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD016',
    build: (c) => raw(c, 'pt', { apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: 'pt' }, template: template((_s, ct) => { ct.command = ['/bin/sh', '-c', 'id']; }) }),
  },
  {
    name: 'a DaemonSet with a host port', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD011',
    build: (c) => raw(c, 'ds', { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { selector: { matchLabels: { 'app.kubernetes.io/name': 't' } }, template: template((_s, ct) => { ct.ports = [{ containerPort: 9100, hostPort: 9100 }]; }) } }),
  },
  {
    name: 'a ConfigMap whose binaryData holds a private key', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD031',
    build: (c) => raw(c, 'cm', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tls' }, binaryData: { 'server.key': Buffer.from(PEM_KEY).toString('base64') } }),
  },
  ...(['constructor', 'toString', '__proto__', 'hasOwnProperty'] as const).map((kind): Cdk8sAttack => ({
    name: `an object of kind ${kind} wrapping a privileged template`, category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD006',
    build: (c: Chart) => raw(c, `k-${kind}`, { apiVersion: 'v1', kind, metadata: { name: 'odd' }, spec: { template: privileged() } }),
  })),
  {
    name: 'a YAML file brought in with Include, holding a privileged Deployment', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD006',
    build: (c) => {
      const file = join(mkdtempSync(join(tmpdir(), 'cleanimg-include-')), 'vendor.yaml');
      writeFileSync(file, stringify(deployment('vendored', (_s, ct) => { ct.securityContext.privileged = true; })));
      new Include(c, 'vendor', { url: file });
    },
  },
  {
    name: 'a Flux HelmRelease, whose chart Flux installs where no guard sees it', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD034',
    build: (c) => raw(c, 'hr', { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'hr' }, spec: {
      interval: '5m', chart: { spec: { chart: 'privileged-chart', sourceRef: { kind: 'HelmRepository', name: 'charts' } } }, values: { securityContext: { privileged: true }, hostNetwork: true },
    } }),
  },
  {
    name: 'an Argo CD Application syncing a Git path into kube-system', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD034',
    build: (c) => raw(c, 'app', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'app', namespace: 'argocd' }, spec: {
      project: 'default', source: { repoURL: 'https://git.example.com/ops.git', path: 'privileged', targetRevision: 'HEAD' },
      destination: { server: 'https://kubernetes.default.svc', namespace: 'kube-system' }, syncPolicy: { automated: {} },
    } }),
  },
  {
    name: 'an Argo CD ApplicationSet inside a List', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD034',
    build: (c) => raw(c, 'l', { apiVersion: 'v1', kind: 'List', metadata: { name: 'gitops' }, items: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'ApplicationSet', metadata: { name: 'apps' }, spec: {
      generators: [{ list: { elements: [{ name: 'a' }] } }],
      template: { metadata: { name: '{{name}}' }, spec: { project: 'default', source: { repoURL: 'https://git.example.com/ops.git', path: '{{name}}' }, destination: { namespace: 'kube-system' } } },
    } }] }),
  },
  {
    name: 'a Flux Kustomization applying a Git path', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD034',
    build: (c) => raw(c, 'ks', { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'ks' }, spec: { interval: '5m', path: './privileged', prune: true, sourceRef: { kind: 'GitRepository', name: 'ops' } } }),
  },
  {
    name: 'a second pod template in one object, where the admission policy would judge only the first', category: 'hidden-objects', target: 'raw', stage: 'synth', rule: 'HD034',
    build: (c) => raw(c, 'two', { apiVersion: 'example.com/v1', kind: 'Pair', metadata: { name: 'two' }, spec: { template: hardenedObject('a').spec.template, jobTemplate: { spec: { template: hardenedObject('b').spec.template } } } }),
  },
];
