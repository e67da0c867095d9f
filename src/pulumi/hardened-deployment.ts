import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { hardenedDeployment, serviceFor, type HardenedDeploymentResult } from '../core/deployment';
import type { DigestRef } from '../core/image-ref';
import type { EnvConfigAttachment, HardenedContainerProps, HardenedDeploymentProps } from '../core/props';
import type { KubeObject } from '../rules';
import type { PulumiAttachmentSource } from './env-config';
import { asOutput, lateContainerImages, mapKnown, resolveWithLate, type Known } from './resolve';

/** The type token of the HardenedDeployment component. */
export const HARDENED_DEPLOYMENT_TYPE = 'cleanimg:index:HardenedDeployment';

/**
 * An image: a digest-pinned reference, an Output of one (e.g. a CustomizedImage's `ref`), or an
 * object with `imageRef`. A plain string must have the `repo@sha256:` form to type-check; Outputs
 * are checked (HD003) when their value is known.
 */
export type PulumiImageInput = DigestRef | pulumi.Output<string> | Promise<string> | { readonly imageRef: DigestRef | pulumi.Output<string> };

export interface HardenedContainerArgs extends Omit<HardenedContainerProps, 'image' | 'config' | 'env'> {
  /** Pinned by digest: `repo@sha256:<digest>`, `repo:tag@sha256:<digest>`, an Output of one, or an object with `imageRef`. */
  readonly image: PulumiImageInput;
  /** Literal, non-secret environment variables (values may be Outputs). @default none */
  readonly env?: Readonly<Record<string, pulumi.Input<string>>>;
  /** EnvConfig components (or plain attachments) whose files, secrets and env this container receives. @default none */
  readonly config?: readonly (PulumiAttachmentSource | pulumi.Input<EnvConfigAttachment>)[];
}

export interface HardenedDeploymentArgs extends Omit<HardenedDeploymentProps, 'name' | 'namespace' | 'replicas' | 'labels' | 'annotations' | 'containers' | 'initContainers'> {
  /** Kubernetes name of the Deployment and its ServiceAccount (set explicitly, no suffix). @default the Pulumi resource name */
  readonly name?: string;
  /** @default the namespace of the provider's kubeconfig context */
  readonly namespace?: pulumi.Input<string>;
  /** @default 2 */
  readonly replicas?: pulumi.Input<number>;
  readonly labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  readonly annotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  readonly containers: readonly HardenedContainerArgs[];
  /** @default none */
  readonly initContainers?: readonly HardenedContainerArgs[];
  /** Also create a ClusterIP Service for the declared ports (like `exposeViaService()`). @default no Service */
  readonly service?: boolean | ExposeOptions;
}

export interface ExposeOptions {
  /** @default the deployment's name */
  readonly name?: string;
  /** Expose only these container ports. @default every declared port */
  readonly ports?: readonly number[];
}

function isAttachmentSource(c: unknown): c is PulumiAttachmentSource {
  // `in`, not a read: reading `attachment` would make an Output that is not needed when the value is known.
  return !!c && typeof c === 'object' && !pulumi.Output.isInstance(c) && 'attachment' in c && !('volumes' in c);
}

/** The container args with EnvConfig components replaced by their attachments (plain when known). */
function containerInput(c: HardenedContainerArgs): unknown {
  const config = c.config?.map((a) => (isAttachmentSource(a) ? a.attachmentValue ?? a.attachment : a));
  const image = c.image && typeof c.image === 'object' && !pulumi.Output.isInstance(c.image) && 'imageRef' in c.image ? c.image.imageRef : c.image;
  return { ...c, image, ...(config ? { config } : {}) };
}

/** Kubernetes args (metadata, spec, ...) of one object: plain fields, or one Output per field. */
export function kubeArgs(o: Known<KubeObject>, fields: readonly string[]): Record<string, pulumi.Input<unknown>> {
  const out: Record<string, pulumi.Input<unknown>> = {};
  for (const f of fields) {
    if (o.plain) {
      if (o.value[f] !== undefined) out[f] = o.value[f];
    } else out[f] = o.value.apply((v) => v[f]);
  }
  return out;
}

/**
 * A hardened Deployment and its ServiceAccount as a Pulumi component: the objects are exactly those
 * the cdk8s HardenedDeployment synthesizes for the same props (same core, same rule list). Kubernetes
 * names are set explicitly (`metadata.name` = `args.name` or the Pulumi resource name), so Pulumi
 * adds no random suffix and the names match cdk8s. Children are named after the Pulumi resource
 * name (`<resourceName>` for the Deployment, ServiceAccount and Service, since Pulumi names are
 * unique per type).
 *
 * When every arg is a plain value, bad args fail here, at construction, with the cdk8s face's rule
 * ids and messages; when some are Outputs, the same checks run when their values are known.
 */
export class HardenedDeployment extends pulumi.ComponentResource {
  readonly name: string;
  readonly deployment: k8s.apps.v1.Deployment;
  readonly serviceAccount: k8s.core.v1.ServiceAccount;
  /** The Service, when `args.service` is set or `exposeViaService()` was called. */
  service?: k8s.core.v1.Service;
  /** The core's result, when every input was plain. */
  readonly resultValue?: HardenedDeploymentResult;
  private readonly known: Known<HardenedDeploymentResult>;
  private readonly resourceName: string;
  private cache: { result?: pulumi.Output<HardenedDeploymentResult>; selector?: pulumi.Output<Record<string, string>> } = {};

  // Outputs are made on first use: each Output costs the Pulumi runtime promises and stack captures.

  /** The core's result: the exact objects registered. */
  get result(): pulumi.Output<HardenedDeploymentResult> {
    return (this.cache.result ??= asOutput(this.known));
  }

  /** Labels selecting this deployment's pods. */
  get selector(): pulumi.Output<Record<string, string>> {
    return (this.cache.selector ??= asOutput(mapKnown(this.known, (r) => ({ ...r.selector }))));
  }

  constructor(resourceName: string, args: HardenedDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    const name = args.name ?? resourceName;
    const { service, ...rest } = args;
    const coreInput = {
      ...rest,
      name,
      containers: args.containers.map(containerInput),
      ...(args.initContainers ? { initContainers: args.initContainers.map(containerInput) } : {}),
    };
    // Validate before registering anything: plain args that break a rule throw here, and the
    // program stops with nothing registered.
    const known = resolveWithLate(coreInput, (p) => hardenedDeployment(p as unknown as HardenedDeploymentProps), lateContainerImages);
    const serviceOptions = service ? (service === true ? {} : service) : undefined;
    const serviceObject = serviceOptions ? mapKnown(known, (r) => serviceFor(r, serviceOptions)) : undefined;
    super(HARDENED_DEPLOYMENT_TYPE, resourceName, {}, opts);
    this.resourceName = resourceName;
    this.name = name;
    this.known = known;
    if (this.known.plain && !this.known.late) this.resultValue = this.known.value;

    const dependsOn = [...args.containers, ...(args.initContainers ?? [])]
      .flatMap((c) => c.config ?? []).filter((a): a is PulumiAttachmentSource & pulumi.Resource => pulumi.Resource.isInstance(a));
    this.serviceAccount = new k8s.core.v1.ServiceAccount(resourceName,
      kubeArgs(mapKnown(this.known, (r) => r.serviceAccount), ['metadata', 'automountServiceAccountToken']) as k8s.core.v1.ServiceAccountArgs,
      { parent: this });
    this.deployment = new k8s.apps.v1.Deployment(resourceName,
      kubeArgs(mapKnown(this.known, (r) => r.deployment), ['metadata', 'spec']) as unknown as k8s.apps.v1.DeploymentArgs,
      { parent: this, dependsOn: [this.serviceAccount, ...dependsOn] });
    if (serviceOptions && serviceObject) this.addService(serviceOptions, serviceObject);
    this.registerOutputs({ name });
  }

  /** Adds a ClusterIP Service for the declared ports (the cdk8s face's `exposeViaService`). */
  exposeViaService(options: ExposeOptions = {}): k8s.core.v1.Service {
    return this.addService(options, mapKnown(this.known, (r) => serviceFor(r, options)));
  }

  private addService(options: ExposeOptions, svc: Known<KubeObject>): k8s.core.v1.Service {
    const created = new k8s.core.v1.Service(options.name ? `${this.resourceName}-${options.name}` : this.resourceName,
      kubeArgs(svc, ['metadata', 'spec']) as unknown as k8s.core.v1.ServiceArgs, { parent: this, dependsOn: [this.deployment] });
    this.service ??= created;
    return created;
  }
}
