/**
 * The cdk8s half of the Dockerfile build path: the image is built and pushed by the pipeline (a
 * cluster synth has no builder), and this construct
 *  1. checks the Dockerfile against the Dockerfile rules when the app is synthesized, so a
 *     Dockerfile that breaks one fails synth with every violation, line and fix; and
 *  2. takes the pushed digest from the pipeline: the `digest` prop, or the `lockFile` the build
 *     step wrote (`docker buildx build --push --metadata-file build/meta.json`), and exposes
 *     `imageRef` (`repo@sha256:...`) for HardenedDeployment.
 * A missing lock file or a malformed digest fails synth with a clear error; no manifest is written.
 */
import { dirname } from 'node:path';
import { Construct } from 'constructs';
import type { DigestRef, ImageLike } from '../core/image-ref';
import { CleanimgError } from '../errors';
import { assertDockerfileOk, checkDockerfileFile } from './check';
import { pinnedRef, readBuiltImage } from './lockfile';

export interface DockerfileImageProps {
  /** Path of the Dockerfile the pipeline builds. */
  readonly dockerfile: string;
  /** The build context, searched for private keys that COPY would put into the image. @default the Dockerfile's directory */
  readonly context?: string;
  /** The repository the image is pushed to, e.g. `registry.example.com/team/app`. @default the first `image.name` in the lock file */
  readonly repository?: string;
  /** The pushed digest (`sha256:<64 hex>`), passed in by the pipeline. Exactly one of `digest` and `lockFile`. @default none */
  readonly digest?: string;
  /** The file the build step writes: buildx `--metadata-file` JSON, or a digest file (`sha256:<hex>` or `repo@sha256:<hex>`). @default none */
  readonly lockFile?: string;
  /** For a `docker buildx bake` metadata file: the target. @default the only target in the file */
  readonly bakeTarget?: string;
  /** Allowed final base families, e.g. `['cleanstart/']`. @default any digest-pinned base */
  readonly allowedBases?: readonly string[];
  /** Bases known to run as non-root. @default ['cleanstart/'] */
  readonly nonRootBases?: readonly string[];
}

export class DockerfileImage extends Construct implements ImageLike {
  /** `repository@sha256:<digest>`, for `HardenedDeployment({ containers: [{ image: this }] })`. */
  readonly imageRef: DigestRef;
  readonly digest: string;
  readonly repository: string;

  constructor(scope: Construct, id: string, props: DockerfileImageProps) {
    super(scope, id);
    const where = this.node.path;
    if ((props.digest === undefined) === (props.lockFile === undefined)) {
      throw new CleanimgError(`${where}: pass exactly one of digest and lockFile`, [{ code: 'DIG005', path: `${where}/digest`, message: props.digest === undefined ? 'neither digest nor lockFile is set' : 'both digest and lockFile are set', fix: 'pass the pushed digest, or the --metadata-file the build step wrote' }]);
    }
    // 1. The Dockerfile: every violation at once.
    assertDockerfileOk(checkDockerfileFile(props.dockerfile, {
      context: props.context ?? dirname(props.dockerfile),
      allowedBases: props.allowedBases,
      nonRootBases: props.nonRootBases,
    }), `${where}: ${props.dockerfile}`);
    // 2. The digest.
    const built = props.lockFile !== undefined ? readBuiltImage(props.lockFile, props.bakeTarget) : { digest: props.digest!, repository: undefined };
    const repository = props.repository ?? built.repository;
    if (!repository) throw new CleanimgError(`${where}: no repository`, [{ code: 'DIG004', path: `${where}/repository`, message: 'no repository is set and the lock file names none', fix: 'pass repository (e.g. registry.example.com/team/app)' }]);
    this.imageRef = pinnedRef(repository, built.digest, props.lockFile ?? `${where}/digest`);
    this.digest = built.digest;
    this.repository = repository;
  }
}
