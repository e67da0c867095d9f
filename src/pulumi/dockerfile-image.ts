/**
 * The Dockerfile build path in Pulumi: the Dockerfile rules run at construction (every violation at
 * once, with line numbers and fixes, and nothing is registered when one is broken); then
 * `@pulumi/docker-build`'s `Image` builds and pushes it (BuildKit through the provider's embedded
 * buildx client, or `exec: true` for a local docker-buildx), and `ref` / `imageRef`
 * (`repository@<pushed digest>`) go into HardenedDeployment.
 *
 * The rules are those of `cleanimg-customize check Dockerfile` and the cdk8s DockerfileImage: the
 * final stage pinned by digest (optionally to an allowed base family), no RUN/SHELL/shell-form
 * CMD or ENTRYPOINT in it, no root user at the end, no remote ADD, no private keys or `.env` files
 * copied from the context, `COPY --from` only from earlier stages.
 */
import { resolve } from 'node:path';
import * as dockerBuild from '@pulumi/docker-build';
import * as pulumi from '@pulumi/pulumi';
import { assertDockerfileOk, checkDockerfileFile } from '../dockerfile/check';
import { CleanimgError } from '../errors';
import { parseReference } from '../oci/reference';
import { checkRepositoryInput } from './repository';

/** The type token of the DockerfileImage component. */
export const DOCKERFILE_IMAGE_TYPE = 'cleanimg:index:DockerfileImage';

export interface DockerfileImageRegistry {
  /** The registry host, e.g. `registry.example.com`. @default the repository's registry */
  readonly address?: string;
  readonly username: pulumi.Input<string>;
  /** Stored as a secret. */
  readonly password: pulumi.Input<string>;
}

export interface DockerfileImageArgs {
  /** The build context folder; also searched for private keys that COPY would put into the image. */
  readonly context: string;
  /** The Dockerfile. @default `<context>/Dockerfile` */
  readonly dockerfile?: string;
  /**
   * Where to push, e.g. `registry.example.com/team/app` (no tag, no digest), or an Output such as the
   * URL of a registry repository created in the same stack (checked once known).
   */
  readonly repository: pulumi.Input<string>;
  /** Tags pushed with the image (names, not references). @default ['latest'] */
  readonly tags?: readonly string[];
  /** Allowed final base families, e.g. `['cleanstart/']`. @default any digest-pinned base */
  readonly allowedBases?: readonly string[];
  /** Bases known to run as non-root. @default ['cleanstart/'] */
  readonly nonRootBases?: readonly string[];
  /** Target platforms. @default the builder's */
  readonly platforms?: readonly dockerBuild.Platform[];
  /** `ARG` values (persisted in the image: use `secrets` for anything sensitive). @default none */
  readonly buildArgs?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Build secrets (`RUN --mount=type=secret,id=...` in a builder stage); stored as secrets. @default none */
  readonly secrets?: Readonly<Record<string, pulumi.Input<string>>>;
  /** The stage to build. @default the last */
  readonly target?: string;
  /** Registry credentials. @default the builder's (docker login) */
  readonly registry?: DockerfileImageRegistry;
  /** Push over plain HTTP / without TLS verification (a local test registry). @default false */
  readonly insecure?: boolean;
  /** Build during `pulumi preview` too (never pushed then). @default true, as docker-build */
  readonly buildOnPreview?: boolean;
  /** Run the local `docker-buildx` binary instead of the provider's embedded client. @default false */
  readonly exec?: boolean;
}


/**
 * A Dockerfile built and pushed by `pulumi up` after it passes the Dockerfile rules. Pass it (or
 * its `ref`) as a HardenedDeployment container's `image`:
 *
 * ```ts
 * const api = new DockerfileImage('api-image', { context: 'app', repository: 'registry.example.com/team/api', tags: ['1.4.0'], allowedBases: ['cleanstart/'] });
 * new HardenedDeployment('api', { containers: [{ name: 'api', image: api, ports: [{ containerPort: 8080 }] }] });
 * ```
 */
export class DockerfileImage extends pulumi.ComponentResource {
  /** `repository@sha256:<digest>` of the pushed image. */
  readonly ref: pulumi.Output<string>;
  /** The same as `ref`, for HardenedDeployment's `image`. */
  readonly imageRef: pulumi.Output<string>;
  /** The pushed digest. */
  readonly digest: pulumi.Output<string>;
  /** `registry/repository`, as pushed (normalized). */
  readonly repository: pulumi.Output<string>;
  /** The `@pulumi/docker-build` Image (a child). */
  readonly image: dockerBuild.Image;

  constructor(name: string, args: DockerfileImageArgs, opts?: pulumi.ComponentResourceOptions) {
    const where = `DockerfileImage ${name}`;
    const repository = checkRepositoryInput(args.repository, where, 'DIG004', 'pushes', 'list tags in `tags`');
    const tags = args.tags ?? ['latest'];
    for (const t of tags) {
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(t)) {
        throw new CleanimgError(`${where}: invalid tag`, [{ code: 'DIG004', path: `${where}/tags`, message: `"${t}" is not a valid tag`, fix: 'list tag names (up to 128 letters, digits, "_", "." and "-"), not references' }]);
      }
    }
    const context = resolve(args.context);
    const dockerfile = resolve(args.dockerfile ?? `${context}/Dockerfile`);
    // The rules, before anything is registered: every violation at once, with lines and fixes.
    assertDockerfileOk(checkDockerfileFile(dockerfile, {
      context,
      ...(args.allowedBases ? { allowedBases: args.allowedBases } : {}),
      ...(args.nonRootBases ? { nonRootBases: args.nonRootBases } : {}),
    }), `${where}: ${dockerfile}`);
    super(DOCKERFILE_IMAGE_TYPE, name, {}, opts);
    this.repository = repository;

    const registryHost = repository.apply((r) => parseReference(r).registry);
    const registries: dockerBuild.types.input.RegistryArgs[] | undefined = args.registry
      ? [{ address: args.registry.address ?? registryHost, username: args.registry.username, password: pulumi.secret(args.registry.password) }]
      : undefined;
    const secrets = args.secrets ? Object.fromEntries(Object.entries(args.secrets).map(([k, v]) => [k, pulumi.secret(v)])) : undefined;
    this.image = new dockerBuild.Image(name, {
      context: { location: context },
      dockerfile: { location: dockerfile },
      tags: repository.apply((r) => tags.map((t) => `${r}:${t}`)),
      // An insecure registry needs its own registry export; `push` would add a second, secure one.
      push: !args.insecure,
      ...(args.insecure ? { exports: [{ registry: { push: true, insecure: true } }] } : {}),
      ...(args.platforms ? { platforms: [...args.platforms] } : {}),
      ...(args.buildArgs ? { buildArgs: { ...args.buildArgs } } : {}),
      ...(secrets ? { secrets } : {}),
      ...(args.target ? { target: args.target } : {}),
      ...(registries ? { registries } : {}),
      ...(args.buildOnPreview !== undefined ? { buildOnPreview: args.buildOnPreview } : {}),
      ...(args.exec ? { exec: true } : {}),
    }, { parent: this });
    this.digest = this.image.digest;
    this.ref = pulumi.interpolate`${repository}@${this.image.digest}`;
    this.imageRef = this.ref;
    this.registerOutputs({ ref: this.ref, digest: this.digest });
  }
}

