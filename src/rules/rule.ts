import type { Problem } from '../errors';

/** A Kubernetes object as plain JSON. */
export type KubeObject = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

/** Any JSON-ish map, for walking manifests written by anyone. */
export type Json = Record<string, any>;

/** A pod spec found inside a workload, with the JSON pointer where it sits. */
export interface PodSpecSite {
  readonly spec: Json;
  readonly path: string;
  /** The owning object's kind: rules that only make sense for long-running workloads look at it. */
  readonly ownerKind: string;
  /** The pod's metadata (a template's, or a bare Pod's own), where pod annotations live. */
  readonly metadata?: Json;
  /** JSON pointer of `metadata`. */
  readonly metadataPath?: string;
}

/** What a rule reports: where in the object, and what is wrong. The rule supplies id and fix. */
export interface Finding {
  readonly path: string;
  readonly message: string;
  /** A more specific fix than the rule's general one. */
  readonly fix?: string;
}

export interface Rule {
  /** Stable id, e.g. `HD003`. */
  readonly id: string;
  /** One-line statement of what must hold. */
  readonly title: string;
  /** The general fix. */
  readonly fix: string;
  /** Checks one object; `pod` is set when the object contains a pod spec. */
  check(object: KubeObject, pod: PodSpecSite | undefined): Finding[];
}

/** One rule broken by one object. */
export interface Violation extends Problem {
  /** `Kind/namespace/name` of the object (namespace omitted when unset). */
  readonly object: string;
  readonly title: string;
}

export function objectId(o: KubeObject): string {
  const ns = o.metadata?.namespace;
  return `${o.kind ?? '?'}/${ns ? `${ns}/` : ''}${o.metadata?.name ?? '?'}`;
}
