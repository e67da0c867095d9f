// Small helpers over Kubernetes objects as plain data (YAML in, YAML out).
import { readFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';

export type KObject = {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
};

/** All non-empty documents of a YAML file (or string), as plain objects. Throws on YAML errors. */
export function loadObjects(fileOrText: string, isText = false): KObject[] {
  const text = isText ? fileOrText : readFileSync(fileOrText, 'utf8');
  const docs = parseAllDocuments(text);
  const out: KObject[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`YAML error in ${isText ? 'input' : fileOrText}: ${d.errors[0]!.message}`);
    const v = d.toJS() as KObject | null;
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

/**
 * YAML for kubectl and the Go tools, with every string value double-quoted. Go's YAML reader
 * (sigs.k8s.io/yaml) resolves plain scalars by YAML 1.1 and more: `on`, `n`, `yes` become booleans
 * and `672.e_-6` a number, so a label value like these broke decoding ("cannot unmarshal bool into
 * ... metadata.labels"). Found by the property tests; even the `yaml` package's 1.1 schema (which
 * cdk8s uses) leaves `672.e_-6` and `0o7` plain.
 */
export function toYaml(objs: readonly unknown[]): string {
  return objs.map((o) => stringify(o, { version: '1.1', defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' })).join('---\n');
}

type PodTemplate = { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: unknown };

/** Where a workload keeps its pod template, or undefined for kinds without one. */
export function podTemplateOf(obj: KObject): PodTemplate | undefined {
  const spec = obj.spec as Record<string, unknown> | undefined;
  switch (obj.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
    case 'ReplicationController':
      return spec?.template as PodTemplate | undefined;
    case 'CronJob':
      return ((spec?.jobTemplate as Record<string, unknown> | undefined)?.spec as Record<string, unknown> | undefined)
        ?.template as PodTemplate | undefined;
    default:
      return undefined;
  }
}

/**
 * A Pod made from a workload's pod template, as its controller would create it:
 * template labels and annotations, the template spec unchanged, the workload's namespace; for a
 * StatefulSet, the volume of each claim template, as the StatefulSet controller adds it
 * (`<template>-<statefulset>-0`).
 */
export function podFromTemplate(obj: KObject, name = `${obj.metadata?.name ?? 'pod'}-pod`): KObject {
  const tpl = podTemplateOf(obj);
  if (!tpl || tpl.spec === undefined) throw new Error(`${obj.kind}/${obj.metadata?.name}: no pod template`);
  const metadata: Record<string, unknown> = { name };
  if (obj.metadata?.namespace) metadata.namespace = obj.metadata.namespace;
  if (tpl.metadata?.labels) metadata.labels = tpl.metadata.labels;
  if (tpl.metadata?.annotations) metadata.annotations = tpl.metadata.annotations;
  const spec = structuredClone(tpl.spec) as Record<string, unknown>;
  const claims = obj.kind === 'StatefulSet' ? ((obj.spec as Record<string, unknown>)?.volumeClaimTemplates as { metadata?: { name?: string } }[] | undefined) ?? [] : [];
  if (claims.length) {
    const volumes = (spec.volumes as unknown[] | undefined) ?? [];
    spec.volumes = [...volumes, ...claims.map((c) => ({ name: c.metadata?.name, persistentVolumeClaim: { claimName: `${c.metadata?.name}-${obj.metadata?.name}-0` } }))];
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

/** A namespace object. */
export function namespace(name: string): KObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}
