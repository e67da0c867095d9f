/**
 * The guide's Approach 1 end to end in cdk8s: the PostgreSQL config and corporate CA are added to a
 * digest-pinned base as one reproducible layer (examples/postgres/image/spec.yaml) at synth time,
 * offline, on the embedded shell-less base; the StatefulSet names that exact digest. A pipeline then
 * publishes exactly what was pinned:
 *
 *   cleanimg-customize push --layout dist/images/<name>:15-custom --tag registry.example.com/db/postgres:15-custom --expect-digest <digest>
 */
import { join } from 'node:path';
import { Chart } from 'cdk8s';
import { CustomizedImage, EnvConfig, HardenedNamespace, HardenedStatefulSet } from 'cleanimg/cdk8s';
import type { Construct } from 'constructs';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { IMAGE_REGISTRY, POSTGRES_CUSTOM_BASE } from '../images';
import { credentialsProps, postgresProps } from './props';

export const CUSTOM_IMAGE_NAMESPACE = 'databases-custom';

export class PostgresCustomImageChart extends Chart {
  readonly image: CustomizedImage;

  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: CUSTOM_IMAGE_NAMESPACE });
    const ns = new HardenedNamespace(this, 'namespace', { name: CUSTOM_IMAGE_NAMESPACE, allowedRegistries: [IMAGE_REGISTRY] });
    this.image = new CustomizedImage(this, 'image', {
      ...customImageSpec(),
      repository: `${IMAGE_REGISTRY}/db/postgres`,
      tag: '15-custom',
    });
    const credentials = new EnvConfig(this, 'credentials', { ...credentialsProps, namespace: CUSTOM_IMAGE_NAMESPACE });
    credentials.node.addDependency(ns);
    const props = postgresProps(credentials);
    ns.addWorkload(new HardenedStatefulSet(this, 'postgres', {
      ...props,
      namespace: CUSTOM_IMAGE_NAMESPACE,
      containers: props.containers.map((c) => ({ ...c, image: this.image })),
    }));
  }
}

/** spec.yaml as it is, or (CLEANIMG_EXAMPLE_IMAGES, see ../images.ts) the same layer on another base. */
function customImageSpec(): { spec: string | { fields: Record<string, unknown>; dir: string }; baseLayout?: string } {
  const spec = join(__dirname, 'image/spec.yaml');
  if (!POSTGRES_CUSTOM_BASE) return { spec };
  const fields = { ...(parse(readFileSync(spec, 'utf8')) as Record<string, unknown>), base_image: POSTGRES_CUSTOM_BASE.ref };
  return { spec: { fields, dir: join(__dirname, 'image') }, baseLayout: POSTGRES_CUSTOM_BASE.layout };
}
