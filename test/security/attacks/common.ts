/**
 * What the attack files share: a pinned image, one good container per kind, and a way to make a
 * workload of any kind on either face with props an attacker has bent.
 */
import { ApiObject, type Chart } from 'cdk8s';
import * as c from '../../../src/cdk8s';
import { hardenedDeployment } from '../../../src/core';
import * as p from '../../../src/pulumi';

export const DIGEST = `sha256:${'cd'.repeat(32)}` as const;
export const IMAGE = `registry.example.com/app@${DIGEST}` as const;

export type Kind = 'Deployment' | 'StatefulSet' | 'Job' | 'CronJob';
export const KINDS: readonly Kind[] = ['Deployment', 'StatefulSet', 'Job', 'CronJob'];

export type Category =
  | 'typed-props'      // props the types forbid, reached with casts or from JavaScript
  | 'values'           // values the API server would misread or refuse, in typed props
  | 'yaml-text'        // characters that Go's YAML reads differently
  | 'attachments'      // look-alike EnvConfig attachments, token routes, borrowed identities
  | 'pss-controls'     // Pod Security controls set through escape hatches and patches
  | 'shells'           // shells behind wrappers
  | 'hidden-objects'   // Lists, custom resources, binaryData, Helm releases
  | 'raw-objects'      // hand-written insecure objects beside hardened ones
  | 'patches';         // escape hatches on the library's own objects

/** A container that passes every rule on every kind: a server with a port for long-running kinds. */
export function goodContainer(kind: Kind = 'Deployment'): any {
  return kind === 'Deployment' || kind === 'StatefulSet'
    ? { name: 'app', image: IMAGE, ports: [{ containerPort: 8080, name: 'http' }] }
    : { name: 'task', image: IMAGE, command: ['/usr/local/bin/task'] };
}

/** Extra props a kind needs (a CronJob's schedule). */
function kindProps(kind: Kind): Record<string, unknown> {
  return kind === 'CronJob' ? { schedule: '0 3 * * *' } : {};
}

/** A cdk8s workload of this kind; `props` are the attacker's (merged over a valid base), untyped on purpose. */
export function cdk8sWorkload(chart: Chart, kind: Kind, props: Record<string, unknown> = {}, id = 'w'): c.HardenedWorkload {
  const all: any = { containers: [goodContainer(kind)], ...kindProps(kind), ...props };
  switch (kind) {
    case 'Deployment': return new c.HardenedDeployment(chart, id, all);
    case 'StatefulSet': return new c.HardenedStatefulSet(chart, id, all);
    case 'Job': return new c.HardenedJob(chart, id, all);
    case 'CronJob': return new c.HardenedCronJob(chart, id, all);
  }
}

/** A cdk8s workload whose one container carries the attacker's container props. */
export function cdk8sContainer(chart: Chart, kind: Kind, container: Record<string, unknown>, props: Record<string, unknown> = {}): c.HardenedWorkload {
  return cdk8sWorkload(chart, kind, { containers: [{ ...goodContainer(kind), ...container }], ...props });
}

/** A Pulumi workload component of this kind. */
export function pulumiWorkload(kind: Kind, name: string, props: Record<string, unknown> = {}): p.HardenedWorkload {
  const all: any = { containers: [goodContainer(kind)], ...kindProps(kind), ...props };
  switch (kind) {
    case 'Deployment': return new p.HardenedDeployment(name, all);
    case 'StatefulSet': return new p.HardenedStatefulSet(name, all);
    case 'Job': return new p.HardenedJob(name, all);
    case 'CronJob': return new p.HardenedCronJob(name, all);
  }
}

export function pulumiContainer(kind: Kind, name: string, container: Record<string, unknown>, props: Record<string, unknown> = {}): p.HardenedWorkload {
  return pulumiWorkload(kind, name, { containers: [{ ...goodContainer(kind), ...container }], ...props });
}

/** The path of the pod spec inside each kind's object (for patches). */
export const POD_SPEC: Record<Kind, string> = {
  Deployment: '/spec/template/spec',
  StatefulSet: '/spec/template/spec',
  Job: '/spec/template/spec',
  CronJob: '/spec/jobTemplate/spec/template/spec',
};

/** A hardened Deployment object as the core makes it (a deep copy the attacker then bends). */
export function hardenedObject(name = 'web'): any {
  return structuredClone(hardenedDeployment({ name, containers: [goodContainer()] }).deployment);
}

/** A raw ApiObject in the chart. */
export function raw(chart: Chart, id: string, obj: Record<string, unknown>): ApiObject {
  return new ApiObject(chart, id, obj as never);
}
