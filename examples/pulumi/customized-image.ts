/**
 * The guide's Approach 1 with the Pulumi face: the PostgreSQL config and corporate CA
 * (examples/postgres/image/spec.yaml, on the embedded shell-less base) are built into one
 * reproducible layer and pushed by `pulumi up`, signed with a cosign key from the stack's secret
 * config, and the Deployment pins the pushed digest. The cdk8s twin is examples/postgres/custom-image-chart.ts
 * (same spec, same digest: CustomizedImage's default manifest format is OCI in both faces).
 *
 * Not part of the default program (examples/pulumi/index.ts), because it pushes to a registry. Use it
 * from a program of your own:
 *
 * ```ts
 * import { deployCustomizedPostgres } from './examples/pulumi/customized-image';
 * export const image = deployCustomizedPostgres().image.ref;
 * ```
 *
 * ```sh
 * pulumi config set imageRepository 127.0.0.1:5000/db/postgres    # plain HTTP is automatic for localhost
 * pulumi config set --secret cosignKey < cosign.key                # optional: sign before the tag moves
 * pulumi config set --secret cosignPassword
 * pulumi up
 * cosign verify --key cosign.pub --insecure-ignore-tlog --allow-http-registry $(pulumi stack output image)
 * ```
 */
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { CustomizedImage, EnvConfig, HardenedDeployment } from 'cleanimg/pulumi';
import { IMAGE_REGISTRY } from '../images';
import { credentialsProps, postgresProps } from '../postgres/props';

export const CUSTOM_IMAGE_NAMESPACE = 'databases-custom';

export interface CustomizedPostgres {
  readonly image: CustomizedImage;
  readonly credentials: EnvConfig;
  readonly deployment: HardenedDeployment;
}

export function deployCustomizedPostgres(opts: pulumi.ComponentResourceOptions = {}): CustomizedPostgres {
  const config = new pulumi.Config();
  const signingKey = config.getSecret('cosignKey');
  const image = new CustomizedImage('postgres-custom-image', {
    spec: join(__dirname, '..', 'postgres', 'image', 'spec.yaml'),
    repository: config.get('imageRepository') ?? `${IMAGE_REGISTRY}/db/postgres`,
    tag: '15-custom',
    ...(signingKey ? { signingKey, signingKeyPassword: config.requireSecret('cosignPassword') } : {}),
  }, opts);
  const credentials = new EnvConfig('postgres-custom-credentials', { ...credentialsProps, namespace: CUSTOM_IMAGE_NAMESPACE }, opts);
  const props = postgresProps(credentials);
  const deployment = new HardenedDeployment('postgres-custom', {
    ...props,
    namespace: CUSTOM_IMAGE_NAMESPACE,
    containers: props.containers.map((c) => ({ ...c, image })),
  }, opts);
  return { image, credentials, deployment };
}
