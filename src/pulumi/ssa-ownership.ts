/**
 * PUL001: no Pulumi setting that shares or takes over server-side-apply field ownership.
 *
 * In server-side-apply mode (the default of @pulumi/kubernetes v4) each resource applies its fields
 * under a field manager of its own, unique per resource. Two settings change that:
 * - the annotation `pulumi.com/patchFieldManager` names the manager of any resource, so two
 *   resources (a hardened Deployment and a `DeploymentPatch`) can share one; a field the shared
 *   manager no longer applies is then removed from the object;
 * - `pulumi.com/patchForce: "true"` (or the provider's `enablePatchForce`) takes a conflicting field
 *   over from its manager; when the resource is deleted later, the field goes with it.
 * Either lets a resource that the rules judge compliant delete fields of another resource
 * (automountServiceAccountToken, capabilities.drop, the namespace's Pod Security label), which no
 * rule can see. Without them, a patch that sets a field another resource owns with a different
 * value fails with a conflict, and deleting a patch never removes a field another resource applies.
 */
import type { Problem } from '../errors';
import type { KubeObject, Rule, Violation } from '../rules';

export const PATCH_FIELD_MANAGER = 'pulumi.com/patchFieldManager';
export const PATCH_FORCE = 'pulumi.com/patchForce';
const OWNERSHIP_ANNOTATIONS: readonly string[] = [PATCH_FIELD_MANAGER, PATCH_FORCE];

const TITLE = 'no Pulumi setting that shares or takes over server-side-apply field ownership';
const FIX = `remove the annotation (each resource keeps a field manager of its own); change the object through the component's props, or with a patch that sets only fields no other resource applies`;

const pointerKey = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');

function why(key: string): string {
  return key === PATCH_FORCE
    ? 'takes fields over from the resource that applies them: deleting this resource later removes them from the object'
    : 'lets this resource share a field manager with another: a field the shared manager stops applying is removed from the object';
}

/** The ownership annotations an annotation map carries. */
function ownershipKeys(annotations: unknown): string[] {
  if (!annotations || typeof annotations !== 'object') return [];
  return Object.keys(annotations).filter((k) => OWNERSHIP_ANNOTATIONS.includes(k));
}

/** The rule the policy pack runs over every Kubernetes resource (and a List's items). */
export const SSA_OWNERSHIP_RULE: Rule = {
  id: 'PUL001',
  title: TITLE,
  fix: FIX,
  check(object: KubeObject) {
    return ownershipKeys(object.metadata?.annotations).map((k) => ({
      path: `/metadata/annotations/${pointerKey(k)}`,
      message: `the annotation ${k} ${why(k)}`,
    }));
  },
};

/** PUL001 problems for a component's `annotations` arg (`where` names the component). */
export function ownershipAnnotationProblems(annotations: unknown, where: string): Problem[] {
  return ownershipKeys(annotations).map((k) => ({ code: 'PUL001', path: `${where} annotations.${k}`, message: `the annotation ${k} ${why(k)}`, fix: FIX }));
}

/** PUL001 when the resource's provider forces every apply (`enablePatchForce`). */
export function providerForceViolation(providerProps: Record<string, unknown> | undefined, object: string): Violation | undefined {
  const v = providerProps?.enablePatchForce;
  if (v !== true && v !== 'true') return undefined;
  return {
    code: 'PUL001', title: TITLE, object, path: '(provider) enablePatchForce',
    message: `the resource's provider sets enablePatchForce, which ${why(PATCH_FORCE)}`,
    fix: 'remove enablePatchForce from the provider (and kubernetes:enablePatchForce from the stack config)',
  };
}
