/**
 * The guide's own Kubernetes examples (test/fixtures/guide, transcribed with their mistakes) run
 * through the rule list: every workload among them breaks rules, and the rules name the guide's
 * specific mistakes (container-only fields at pod level, a database URL secret as an env var,
 * literal Secret data, a Deployment fragment without a pod template).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkObjects, type KubeObject } from '../../src/rules';

const DIR = join(__dirname, '../fixtures/guide');

function rulesBroken(file: string): Record<string, string[]> {
  const objects = parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => d.toJS() as KubeObject).filter(Boolean);
  const out: Record<string, string[]> = {};
  for (const v of checkObjects(objects)) (out[v.object] ??= []).includes(v.code) || out[v.object]!.push(v.code);
  return out;
}

describe("the guide's Kubernetes examples", () => {
  it('are all here', () => {
    expect(readdirSync(DIR).filter((f) => f.endsWith('.yaml'))).toHaveLength(8);
  });

  it('Part 2 Example 1: the Secret carries literal credentials (HD030)', () => {
    expect(rulesBroken('01-python-config.yaml')).toEqual({ 'Secret/production/app-secrets': ['HD030'] });
  });

  it('Part 2 Example 1: the Deployment passes the database URL secret as an env var (HD017) and has no selector (HD022)', () => {
    const r = rulesBroken('02-python-deployment.yaml')['Deployment/python-app']!;
    expect(r).toEqual(expect.arrayContaining(['HD017', 'HD022', 'HD001', 'HD002', 'HD003', 'HD008', 'HD014', 'HD015']));
    expect(r).not.toContain('HD004'); // the one control it has: a read-only root filesystem
  });

  it('Part 2 Example 2: the staging nginx is hardened only by a read-only root filesystem', () => {
    const r = rulesBroken('04-nginx-deployment-staging.yaml')['Deployment/staging/nginx']!;
    expect(r).toEqual(expect.arrayContaining(['HD001', 'HD002', 'HD003', 'HD005', 'HD007', 'HD008', 'HD014', 'HD015', 'HD019', 'HD022']));
    expect(r).not.toContain('HD004');
  });

  it('Part 2 Example 2: the production Deployment is a fragment with no pod template (HD022)', () => {
    expect(rulesBroken('05-nginx-deployment-production.yaml')).toEqual({ 'Deployment/production/nginx': ['HD022'] });
  });

  it('Part 5 Example 2: container-only fields sit in the pod securityContext (HD020), so the containers get none of them (HD004, HD005, HD007)', () => {
    const r = rulesBroken('06-python-deployment-complete.yaml')['Deployment/python-app']!;
    expect(r).toEqual(expect.arrayContaining(['HD020', 'HD004', 'HD005', 'HD007', 'HD003', 'HD022']));
    expect(r).not.toContain('HD008'); // seccomp RuntimeDefault is a pod-level field, correctly placed
    expect(r).not.toContain('HD001');
  });

  it('Part 5 Example 3: readOnlyRootFilesystem at pod level (HD020) leaves the container writable (HD004)', () => {
    const r = rulesBroken('08-nginx-deployment-complete.yaml')['Deployment/nginx']!;
    expect(r).toEqual(expect.arrayContaining(['HD020', 'HD004', 'HD003', 'HD022']));
  });

  it('their ConfigMaps hold no secrets', () => {
    for (const f of ['03-nginx-configmaps.yaml', '07-nginx-configmaps-envs.yaml']) expect(rulesBroken(f)).toEqual({});
  });

  it("every image reference is the guide's placeholder, which is not a digest (HD003)", () => {
    for (const f of ['02-python-deployment.yaml', '04-nginx-deployment-staging.yaml', '06-python-deployment-complete.yaml', '08-nginx-deployment-complete.yaml']) {
      expect(Object.values(rulesBroken(f)).flat()).toContain('HD003');
    }
  });
});
