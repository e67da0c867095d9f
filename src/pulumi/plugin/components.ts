/**
 * The components of the plugin package, with the outputs each reports (the schema's `properties`)
 * and the file its class is declared in (read by `scripts/pulumi-schema.ts`). The provider and the
 * schema generator both read this table, so they cannot disagree on which components exist.
 */
export const PLUGIN_COMPONENT_OUTPUTS = {
  HardenedDeployment: { file: 'src/pulumi/hardened-deployment.ts', outputs: ['name', 'selector'] },
  HardenedStatefulSet: { file: 'src/pulumi/hardened-statefulset.ts', outputs: ['name', 'selector'] },
  HardenedJob: { file: 'src/pulumi/hardened-job.ts', outputs: ['name', 'selector'] },
  HardenedCronJob: { file: 'src/pulumi/hardened-job.ts', outputs: ['name', 'selector'] },
  EnvConfig: { file: 'src/pulumi/env-config.ts', outputs: ['name', 'attachment', 'configMapName'] },
  HardenedNamespace: { file: 'src/pulumi/hardened-namespace.ts', outputs: ['name'] },
  CustomizedImage: { file: 'src/pulumi/customized-image.ts', outputs: ['ref', 'digest', 'baseDigest', 'platform', 'repository', 'publicKey', 'specDigest'] },
} as const satisfies Record<string, { file: string; outputs: readonly string[] }>;

export type PluginComponentName = keyof typeof PLUGIN_COMPONENT_OUTPUTS;

/** Outputs that may be absent (no ConfigMap without data, no key without signing). */
export const OPTIONAL_OUTPUTS: ReadonlySet<string> = new Set(['configMapName', 'publicKey']);
