/**
 * The mixed synth benchmark compares like with like: the cdk8s-plus-28 app, with its security
 * settings written by hand, passes every rule (so it is as hardened as cleanimg's), and the three
 * variants write the same kinds, object for object.
 */
import { App, Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { mixedCleanimg, mixedObjectsJson, mixedPlus, mixedSame } from '../../bench/synth-mixed';
import { HardenedApp } from '../../lib/cdk8s';
import { checkObjects, type KubeObject } from '../../src/rules';

const COUNT = 40;
const objectsOf = (build: (c: Chart) => void, app: App = new App()) => {
  build(new Chart(app, 'bench'));
  return parseAllDocuments(app.synthYaml()).map((d) => d.toJS() as KubeObject);
};
const kinds = (os: KubeObject[]) => os.map((o) => String(o.kind)).sort();

describe('the mixed synth benchmark', () => {
  const cleanimg = objectsOf((c) => mixedCleanimg(c, COUNT), new HardenedApp());
  const plus = objectsOf((c) => mixedPlus(c, COUNT));
  const same = objectsOf((c) => mixedSame(c, mixedObjectsJson(COUNT)));

  it('writes every kind with configs, HPAs, PDBs and Services', () => {
    expect(new Set(kinds(cleanimg))).toEqual(new Set(['ConfigMap', 'ServiceAccount', 'Deployment', 'StatefulSet', 'Job', 'CronJob', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service']));
  });

  it('has cdk8s-plus-28 write the same kinds and counts, passing every rule with its settings by hand', () => {
    expect(kinds(plus)).toEqual(kinds(cleanimg));
    expect(checkObjects(plus).map((v) => `${v.code} ${v.object} ${v.path}`)).toEqual([]);
  });

  it('has the plain-object variant write exactly cleanimg\'s objects', () => {
    expect(kinds(same)).toEqual(kinds(cleanimg));
    expect(checkObjects(same)).toEqual([]);
  });
});
