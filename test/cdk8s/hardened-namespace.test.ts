import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart, JsonPatch, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { HardenedApp, HardenedDeployment, HardenedNamespace } from '../../src/cdk8s';
import { CleanimgError } from '../../src/errors';
import { hardenedDeployment, hardenedNamespace } from '../../src/core';
import { checkObjects } from '../../src/rules';
import { IMAGE } from '../support/fixtures';
import { admit } from '../rules/cel/vap';

const container = { name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }] } as const;

describe('HardenedNamespace (cdk8s)', () => {
  it('emits exactly the core objects, guards before the deployments', () => {
    const chart = Testing.chart();
    const web = new HardenedDeployment(chart, 'web', { name: 'web', namespace: 'shop', containers: [container] });
    new HardenedNamespace(chart, 'ns', { name: 'shop', deployments: [web] });
    const out = Testing.synth(chart);
    const core = hardenedNamespace({ name: 'shop', workloads: [{ workload: hardenedDeployment({ name: 'web', namespace: 'shop', containers: [container] }) }] });
    expect(out.slice(0, core.objects.length)).toEqual(core.objects);
    expect(out.slice(core.objects.length).map((o) => o.kind)).toEqual(['ServiceAccount', 'Deployment', 'PodDisruptionBudget']);
    expect(checkObjects(out)).toEqual([]);
  });

  it('takes the chart namespace, keeps it off cluster-scoped objects, and derives its name from the path', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'shop', { namespace: 'test-ns' });
    const web = new HardenedDeployment(chart, 'web', { name: 'web', containers: [container] });
    const ns = new HardenedNamespace(chart, 'ns', { deployments: [web] });
    expect(ns.name).toBe('test-ns');
    const out = Testing.synth(chart);
    for (const o of out) {
      if (['Namespace', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].includes(o.kind)) expect(o.metadata.namespace).toBeUndefined();
      else expect({ kind: o.kind, ns: o.metadata.namespace }).toEqual({ kind: o.kind, ns: 'test-ns' });
    }
    expect(new HardenedNamespace(Testing.chart(), 'Shop_NS').name).toBe('test-shop-ns');
    // a deployment given a namespace other than the chart's is refused
    const stray = new HardenedDeployment(chart, 'stray', { name: 'stray', namespace: 'elsewhere', containers: [container] });
    expect(() => ns.addDeployment(stray)).toThrow(/NS014 .*Deployment stray is in namespace elsewhere, not test-ns/);
  });

  it('refuses a deployment that would land outside the namespace', () => {
    const chart = Testing.chart();
    const loose = new HardenedDeployment(chart, 'loose', { name: 'loose', containers: [container] });
    const ns = new HardenedNamespace(chart, 'ns', { name: 'shop' });
    expect(() => ns.addDeployment(loose)).toThrow(/NS014.*has no namespace|no namespace[\s\S]*NS014/);
    const other = new HardenedDeployment(chart, 'other', { name: 'other', namespace: 'other', containers: [container] });
    expect(() => ns.addDeployment(other)).toThrow(/NS014/);
    // nothing was added by the failed calls
    expect(ns.result.roleBinding).toBeUndefined();
    expect(Testing.synth(chart).filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name)).toEqual(['default-deny', 'allow-dns']);
  });

  it('refuses dangerous grants and bad props at construction, naming the code', () => {
    const chart = Testing.chart();
    expect(() => new HardenedNamespace(chart, 'a', { name: 'shop', grants: [{ apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }] })).toThrow(/NS011 grants\[0\]: pods\/exec/);
    expect(() => new HardenedNamespace(chart, 'b', { name: 'shop', podSecurityVersion: 'v1' })).toThrow(/NS013/);
    const ns = new HardenedNamespace(chart, 'c', { name: 'shop', grants: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] });
    expect(Testing.synth(chart).find((o) => o.kind === 'Role').rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }]);
    expect(ns.policy.kind).toBe('ValidatingAdmissionPolicy');
  });

  it('allowFrom and allowTo derive peers and ports from HardenedDeployments', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { namespace: 'shop' });
    const web = new HardenedDeployment(chart, 'web', { name: 'web', containers: [container] });
    const api = new HardenedDeployment(chart, 'api', { name: 'api', containers: [{ ...container, ports: [{ containerPort: 9090 }] }] });
    const ns = new HardenedNamespace(chart, 'ns', { name: 'shop' });
    ns.addDeployment(web).addDeployment(api).allowFrom(api, web).allowTo(web, api).allowTo(web, { cidr: '10.0.0.0/8' }, [{ port: 5432 }]);
    const out = Testing.synth(chart);
    const nps = Object.fromEntries(out.filter((o) => o.kind === 'NetworkPolicy').map((o) => [o.metadata.name, o.spec]));
    expect(nps['allow-api'].ingress).toEqual([{ from: [{ podSelector: { matchLabels: web.selector } }], ports: [{ port: 9090, protocol: 'TCP' }] }]);
    expect(nps['allow-web'].egress).toEqual([
      { to: [{ podSelector: { matchLabels: api.selector } }], ports: [{ port: 9090, protocol: 'TCP' }] },
      { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 5432, protocol: 'TCP' }] },
    ]);
    expect(nps['allow-web'].policyTypes).toEqual(['Ingress', 'Egress']);
    expect(out.find((o) => o.kind === 'RoleBinding').subjects.map((s: any) => s.name)).toEqual(['web', 'api']);
    expect(() => ns.allowTo(web, { cidr: 'nope' }, [{ port: 1 }])).toThrow(/NS016/);
    expect(Testing.synth(chart)).toEqual(out); // the failed call changed nothing
  });

  it('its policy admits what HardenedDeployment synthesizes', () => {
    const chart = Testing.chart();
    const web = new HardenedDeployment(chart, 'web', { name: 'web', namespace: 'shop', containers: [container] });
    new HardenedNamespace(chart, 'ns', { name: 'shop', deployments: [web], allowedRegistries: ['registry.example.com'] });
    const out = Testing.synth(chart);
    const policy = out.find((o) => o.kind === 'ValidatingAdmissionPolicy');
    for (const o of out.filter((x) => x.kind === 'Deployment')) expect(admit(policy.spec, o)).toEqual({ allowed: true, messages: [], ids: [], errors: [] });
  });

  it('synthesizes to YAML files with an App', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    const web = new HardenedDeployment(chart, 'web', { name: 'web', containers: [container] });
    new HardenedNamespace(chart, 'ns', { name: 'shop', deployments: [web] });
    const yaml = app.synthYaml();
    expect(yaml).toContain('kind: ValidatingAdmissionPolicy');
    expect(yaml).toContain('pod-security.kubernetes.io/enforce: restricted');
  });

  it('imageSignatures: the ClusterImagePolicy follows workloads added later; both policies leave the chart namespace off', () => {
    const publicKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const chart = new Chart(Testing.app(), 'c', { namespace: 'shop' });
    const ns = new HardenedNamespace(chart, 'ns', { name: 'shop', imageSignatures: { publicKey } });
    expect(ns.result.signaturePolicies.map((o) => o.kind)).toEqual(['ClusterPolicy']);
    ns.addWorkload(new HardenedDeployment(chart, 'web', { name: 'web', containers: [container] }));
    const out = Testing.synth(chart);
    const cip = out.find((o) => o.kind === 'ClusterImagePolicy');
    expect(cip?.spec.images).toEqual([{ glob: `${IMAGE.split('@')[0]}@**` }, { glob: `${IMAGE.split('@')[0]}:**` }]);
    for (const o of out.filter((x) => ['ClusterImagePolicy', 'ClusterPolicy'].includes(x.kind))) expect(o.metadata).not.toHaveProperty('namespace');
    expect(checkObjects(out)).toEqual([]);
  });

  it('HardenedApp refuses a guard renamed by a patch or removed from the tree (HD044), and takes a Chart\'s labels', () => {
    const attempt = (tamper: (ns: HardenedNamespace) => void, labels?: Record<string, string>) => {
      const out = mkdtempSync(join(tmpdir(), 'cleanimg-ns-guards-'));
      const app = new HardenedApp({ outdir: out });
      const chart = new Chart(app, 'c', { namespace: 'shop', ...(labels ? { labels } : {}) });
      const ns = new HardenedNamespace(chart, 'ns', { name: 'shop' });
      ns.addWorkload(new HardenedDeployment(chart, 'web', { name: 'web', containers: [container] }));
      tamper(ns);
      try {
        app.synth();
        return { codes: [] as string[], written: readdirSync(out).length };
      } catch (e) {
        expect(e).toBeInstanceOf(CleanimgError);
        return { codes: (e as CleanimgError).problems.map((p) => p.code), written: readdirSync(out).length };
      }
    };
    expect(attempt(() => {}, { team: 'a' })).toEqual({ codes: [], written: 1 });
    expect(attempt((ns) => ns.policyBinding.addJsonPatch(JsonPatch.replace('/metadata/name', 'renamed')))).toEqual({ codes: ['HD044'], written: 0 });
    expect(attempt((ns) => { ns.node.tryRemoveChild(ns.policyBinding.node.id); })).toEqual({ codes: ['HD044'], written: 0 });
    expect(attempt((ns) => { ns.node.tryRemoveChild('NetworkPolicy-default-deny'); })).toEqual({ codes: ['HD044'], written: 0 });
  });
});
