/**
 * Every object is walked: pod specs are found by shape in any kind, and every item of any List,
 * recursively. Each case is written as someone getting an insecure pod past the guards would write
 * it, and names the rule id and the JSON pointer the guards must report.
 */
import { describe, expect, it } from 'vitest';
import { checkObject, MAX_LIST_DEPTH, type KubeObject } from '../../src/rules';
import { findPodSpecs, MAX_SEARCH_DEPTH, scanPodSpecs } from '../../src/rules/pod-spec';
import { goodDeployment } from '../support/fixtures';

const found = (o: unknown) => checkObject(o as KubeObject).map((v) => `${v.code} ${v.object} ${v.path}`);
const privileged = () => {
  const d = goodDeployment();
  d.spec.template.spec.containers[0].securityContext.privileged = true;
  return d;
};
const PRIV = 'spec/template/spec/containers/0/securityContext/privileged';

describe('Lists, walked item by item, recursively', () => {
  it('names the List as the object, the item in the path and the item in the message', () => {
    const v = checkObject({ apiVersion: 'v1', kind: 'List', metadata: { name: 'all' }, items: [goodDeployment(), goodDeployment(), goodDeployment(), privileged()] });
    expect(v.map((x) => [x.code, x.object, x.path])).toEqual([['HD006', 'List/all', `/items/3/${PRIV}`]]);
    expect(v[0]!.message).toBe('Deployment/web: the container is privileged');
  });

  it('walks Lists nested in Lists, and typed Lists (DeploymentList, SecretList) whose items carry no kind', () => {
    const { metadata, spec } = privileged();
    const nested = { apiVersion: 'v1', kind: 'List', metadata: { name: 'outer' }, items: [{ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'apps/v1', kind: 'DeploymentList', items: [{ metadata, spec }] }] }] };
    expect(found(nested)).toEqual([`HD006 List/outer /items/0/items/0/items/0/${PRIV}`]);
    const secrets = { apiVersion: 'v1', kind: 'SecretList', metadata: { name: 's' }, items: [{ metadata: { name: 'db' }, stringData: { password: 'hunter2' } }] };
    expect(found(secrets)).toEqual(['HD030 SecretList/s /items/0/stringData']);
  });

  it('fires HD030 for a Secret inside a List, and HD031 for a ConfigMap inside a DeploymentList-shaped wrapper', () => {
    const list = { apiVersion: 'v1', kind: 'List', metadata: { name: 'cfg' }, items: [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { DB_PASSWORD: 'x' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { token: 'eA==' } },
    ] };
    expect(found(list)).toEqual(['HD031 List/cfg /items/0/data/DB_PASSWORD', 'HD030 List/cfg /items/1/data']);
  });

  it('reads any object with an items list as a List, whatever its kind (kubectl applies the items)', () => {
    const wrapper = { ...goodDeployment(), items: [privileged()] };
    expect(found(wrapper)).toEqual([`HD006 Deployment/web /items/0/${PRIV}`]);
    // ... and still judges the wrapper's own fields.
    const both = { ...privileged(), items: [] };
    expect(found(both)).toEqual([`HD006 Deployment/web /${PRIV}`]);
  });

  it('judges a CronJob inside a List with the rules for CronJobs (HD038 at its jobTemplate)', () => {
    const spec = goodDeployment().spec.template.spec;
    const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly' }, spec: { schedule: '@daily', jobTemplate: { spec: { template: { spec: { ...spec, restartPolicy: 'Never' } } } } } };
    expect(found({ apiVersion: 'v1', kind: 'List', metadata: { name: 'l' }, items: [cron] })).toEqual(['HD038 List/l /items/0/spec/jobTemplate/spec/backoffLimit']);
  });

  it(`refuses Lists nested more than ${MAX_LIST_DEPTH} deep (HD034) instead of passing them`, () => {
    let o: any = privileged();
    for (let i = 0; i <= MAX_LIST_DEPTH; i++) o = { apiVersion: 'v1', kind: 'List', items: [o] };
    const v = checkObject(o);
    expect(v.map((x) => x.code)).toEqual(['HD034']);
    expect(v[0]!.path).toBe(`${'/items/0'.repeat(MAX_LIST_DEPTH)}/items`);
    // One level less is walked to the end.
    expect(found(o.items[0]).map((x) => x.split(' ')[0])).toEqual(['HD006']);
  });

  it('skips items that are not objects, and passes empty Lists', () => {
    expect(found({ apiVersion: 'v1', kind: 'List', metadata: { name: 'l' }, items: [null, 3, 'x', [goodDeployment()], goodDeployment()] })).toEqual([]);
    expect(found({ apiVersion: 'v1', kind: 'List', items: [] })).toEqual([]);
  });
});

describe('pod specs by shape, whatever the kind', () => {
  const template = () => privileged().spec.template;

  it('finds an Argo Rollout\'s and a Knative Service\'s template (a Service of another group is not a v1 Service)', () => {
    expect(found({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'r' }, spec: { template: template() } })).toEqual([`HD006 Rollout/r /${PRIV}`]);
    expect(found({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'k' }, spec: { template: template() } })).toEqual([`HD006 Service/k /${PRIV}`]);
  });

  it('searches a custom kind named like a built-in one (a CRD "Job" of another group: no batch rules either)', () => {
    const t = template();
    expect(found({ apiVersion: 'example.com/v1', kind: 'Job', metadata: { name: 'j' }, spec: { workload: { pod: t } } })).toEqual(['HD006 Job/j /spec/workload/pod/spec/containers/0/securityContext/privileged']);
  });

  it('judges every pod spec of an object with several (RayCluster head and workers, a Kubeflow job\'s roles)', () => {
    const ray = { apiVersion: 'ray.io/v1', kind: 'RayCluster', metadata: { name: 'ray', namespace: 'kube-system' }, spec: { headGroupSpec: { template: template() }, workerGroupSpecs: [{ template: goodDeployment().spec.template }, { template: template() }] } };
    expect(found(ray)).toEqual([
      'HD006 RayCluster/kube-system/ray /spec/headGroupSpec/template/spec/containers/0/securityContext/privileged',
      'HD006 RayCluster/kube-system/ray /spec/workerGroupSpecs/1/template/spec/containers/0/securityContext/privileged',
      // an object-level finding is reported once, not once per pod spec
      'HD029 RayCluster/kube-system/ray /metadata/namespace',
    ]);
    expect(scanPodSpecs(ray as KubeObject).sites.map((s) => [s.path, s.ownerKind, s.metadataPath])).toEqual([
      ['/spec/headGroupSpec/template/spec', 'RayCluster', '/spec/headGroupSpec/template/metadata'],
      ['/spec/workerGroupSpecs/0/template/spec', 'RayCluster', '/spec/workerGroupSpecs/0/template/metadata'],
      ['/spec/workerGroupSpecs/1/template/spec', 'RayCluster', '/spec/workerGroupSpecs/1/template/metadata'],
    ]);
  });

  it('is not fooled by a decoy: a hardened pod spec beside, before or around the real one', () => {
    const hardened = () => goodDeployment().spec.template;
    // The controller reads spec.template; a hardened pod spec sits in spec itself.
    const decoyInSpec = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'a' }, spec: { ...hardened().spec, template: template() } };
    expect(found(decoyInSpec)).toEqual([`HD006 Rollout/a /${PRIV}`, 'HD034 Rollout/a /spec']);
    // The real one at a later place the admission policy looks.
    const later = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'b' }, spec: { template: hardened(), podTemplate: template() } };
    expect(found(later)).toEqual(['HD006 Rollout/b /spec/podTemplate/spec/containers/0/securityContext/privileged', 'HD034 Rollout/b /spec/podTemplate/spec']);
    // A pod spec nested inside a hardened one.
    const t = hardened();
    t.spec.extra = { template: template() };
    const nested = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'c' }, spec: { template: t } };
    expect(found(nested)).toEqual(['HD006 Rollout/c /spec/template/spec/extra/template/spec/containers/0/securityContext/privileged']);
  });

  it('reads an embedded built-in workload at its route, with its own kind (a Crossplane Object\'s manifest)', () => {
    const d = goodDeployment();
    delete d.spec.template.spec.containers[0].readinessProbe;
    const object = { apiVersion: 'kubernetes.crossplane.io/v1alpha2', kind: 'Object', metadata: { name: 'o' }, spec: { forProvider: { manifest: d } } };
    // HD019 asks for probes because the embedded object is a Deployment.
    expect(found(object)).toEqual(['HD019 Object/o /spec/forProvider/manifest/spec/template/spec/containers/0/readinessProbe']);
  });

  it('finds a pod spec that is the spec itself (a CRD copying PodSpec) and a PodTemplate\'s', () => {
    const spec = template().spec;
    expect(found({ apiVersion: 'example.com/v1', kind: 'Runner', metadata: { name: 'r' }, spec })).toEqual(['HD006 Runner/r /spec/containers/0/securityContext/privileged']);
    expect(found({ apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: 't' }, template: template() })).toEqual([`HD006 PodTemplate/t /template/spec/containers/0/securityContext/privileged`]);
  });

  it('does not search built-in kinds that hold no pod (the API server drops fields they do not have)', () => {
    const junk = { spec: { template: template() } };
    expect(scanPodSpecs({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, ...junk }).sites).toEqual([]);
    expect(scanPodSpecs({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i' }, ...junk }).sites).toEqual([]);
    expect(findPodSpecs({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } })).toEqual([]);
  });

  it('searches an object of a built-in group whose kind that group does not serve (v1 Thing, v1 constructor)', () => {
    for (const kind of ['Thing', 'constructor', '__proto__'])
      expect(scanPodSpecs({ apiVersion: 'v1', kind, metadata: { name: 'x' }, spec: { template: template() } } as never).sites.map((s) => s.path), kind).toEqual(['/spec/template/spec']);
  });

  it('refuses a container outside any pod spec (HD034): an Argo Workflow, a Tekton Task', () => {
    const wf = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { name: 'w' }, spec: { templates: [{ name: 'a', container: { image: 'alpine', command: ['id'], securityContext: { privileged: true } } }] } };
    expect(found(wf)).toEqual(['HD034 Workflow/w /spec/templates/0/container']);
    const task = { apiVersion: 'tekton.dev/v1', kind: 'Task', metadata: { name: 't' }, spec: { steps: [{ name: 'build', image: 'golang', script: 'go build' , env: [] }] } };
    expect(found(task)).toEqual(['HD034 Task/t /spec/steps/0']);
    // An image reference alone is not a container (Flux ImageRepository).
    expect(found({ apiVersion: 'image.toolkit.fluxcd.io/v1beta2', kind: 'ImageRepository', metadata: { name: 'i' }, spec: { image: 'ghcr.io/a/b', interval: '5m' } })).toEqual([]);
  });

  it(`refuses a pod spec nested deeper than ${MAX_SEARCH_DEPTH} levels (HD034), and finds one just above`, () => {
    const nest = (levels: number) => {
      let node: any = template();
      for (let i = 0; i < levels; i++) node = { x: node };
      return { apiVersion: 'example.com/v1', kind: 'Deep', metadata: { name: 'd' }, spec: node };
    };
    // spec (1) + levels + template (1) + spec (1): the pod spec sits at depth levels + 3, and its own
    // fields (searched too: a pod spec may hide inside another) go 4 levels further.
    expect(found(nest(MAX_SEARCH_DEPTH - 7)).map((x) => x.split(' ')[0])).toEqual(['HD006']);
    // Near the limit the pod spec is judged, and what could not be searched inside it is refused, once.
    expect(found(nest(MAX_SEARCH_DEPTH - 3)).map((x) => x.split(' ')[0])).toEqual(['HD006', 'HD034']);
    const deep = checkObject(nest(MAX_SEARCH_DEPTH) as KubeObject);
    expect(deep.map((v) => v.code)).toEqual(['HD034']);
    expect(deep[0]!.message).toMatch(/deeper than 32 levels/);
  });

  it('passes the hardened template under any of these shapes', () => {
    const t = goodDeployment().spec.template;
    for (const o of [
      { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'r' }, spec: { template: t } },
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'k' }, spec: { template: t } },
      { apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob', metadata: { name: 'p' }, spec: { pytorchReplicaSpecs: { Master: { template: t }, Worker: { template: t } } } },
      { apiVersion: 'v1', kind: 'List', metadata: { name: 'l' }, items: [goodDeployment(), { apiVersion: 'apps/v1', kind: 'DeploymentList', items: [goodDeployment()] }] },
    ]) expect(found(o)).toEqual([]);
  });
});
