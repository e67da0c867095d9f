/**
 * The dynamic provider behind CustomizedImage, and its resource (`CustomizedImageBuild`).
 *
 * Pulumi serializes a dynamic provider's functions into the stack (as source text) and runs them in
 * another Node process. Anything a function captures is serialized with it, so these functions
 * capture one string, the absolute path of the compiled engine (image-engine.js next to this file),
 * and `require` it when they run: the engine, its dependencies and their versions come from this
 * package's installation, never from a copy frozen into the state.
 *
 * Running the program from the TypeScript sources (no image-engine.js next to this file), the path
 * is image-engine.ts: the provider process then needs a TypeScript require hook (the tests register
 * tsx). Programs use the compiled package (`cleanimg/pulumi` resolves to lib/).
 *
 * `read` (pulumi refresh) checks that the image and its tag are still there (image-engine.ts).
 * `delete` does nothing: registries are append-only for us. Destroying the stack, or replacing the
 * resource (another repository or tag), leaves the pushed image, its tag and its signature in place;
 * a pinned digest that a running Deployment uses never disappears under it.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import type { ImageBuildInputs, ImageBuildOutputs } from './image-engine';

function enginePath(): string {
  const js = path.join(__dirname, 'image-engine.js');
  return existsSync(js) ? js : path.join(__dirname, 'image-engine.ts');
}

/** Absolute path of the module the provider functions load (captured by value when serialized). */
export const IMAGE_ENGINE = enginePath();

/** The dynamic provider: diff/create/update/read load the engine by absolute path; delete leaves the image. */
export const customizedImageProvider: pulumi.dynamic.ResourceProvider<ImageBuildInputs, ImageBuildOutputs> = {
  async diff(id: string, olds: ImageBuildOutputs, news: ImageBuildInputs) {
    return require(IMAGE_ENGINE).diff(id, olds, news);
  },
  async create(inputs: ImageBuildInputs) {
    return require(IMAGE_ENGINE).create(inputs);
  },
  async update(id: string, olds: ImageBuildOutputs, news: ImageBuildInputs) {
    return require(IMAGE_ENGINE).update(id, olds, news);
  },
  async read(id: string, props?: ImageBuildOutputs) {
    return require(IMAGE_ENGINE).read(id, props);
  },
  async delete() {
    // Registries are append-only for us: the image, its tag and its signature stay.
  },
};

/** The dynamic resource's type token: `pulumi-nodejs:dynamic/cleanimg:CustomizedImageBuild`. */
export const IMAGE_BUILD_TYPE = 'pulumi-nodejs:dynamic/cleanimg:CustomizedImageBuild';

type InputsOf<T> = { readonly [K in keyof T]?: pulumi.Input<T[K]> };

/**
 * One overlay build and push that Pulumi tracks: a child of CustomizedImage. Its inputs are the
 * content hashes (so `pulumi preview` shows an update exactly when the spec or a file changed),
 * the place (repository, tag) and the options; its outputs are those of ImageBuildOutputs.
 */
export class CustomizedImageBuild extends pulumi.dynamic.Resource {
  declare readonly digest: pulumi.Output<string>;
  declare readonly ref: pulumi.Output<string>;
  declare readonly baseReference: pulumi.Output<string>;
  declare readonly baseDigest: pulumi.Output<string>;
  declare readonly baseManifestDigest: pulumi.Output<string>;
  declare readonly platform: pulumi.Output<string>;
  declare readonly layerDigest: pulumi.Output<string>;
  declare readonly specDigest: pulumi.Output<string>;
  declare readonly sourceHash: pulumi.Output<string>;
  declare readonly signed: pulumi.Output<boolean>;
  declare readonly publicKey: pulumi.Output<string | undefined>;
  declare readonly signatureTag: pulumi.Output<string | undefined>;
  declare readonly warnings: pulumi.Output<string[]>;

  constructor(name: string, inputs: InputsOf<ImageBuildInputs>, opts?: pulumi.CustomResourceOptions) {
    const outputs: Record<string, undefined> = {};
    for (const k of ['digest', 'ref', 'baseReference', 'baseDigest', 'baseManifestDigest', 'platform', 'layerDigest', 'signed', 'publicKey', 'signatureTag', 'warnings']) outputs[k] = undefined;
    super(customizedImageProvider, name, { ...outputs, ...inputs }, opts, 'cleanimg', 'CustomizedImageBuild');
  }
}
