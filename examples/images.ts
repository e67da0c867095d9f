/**
 * Digest-pinned images the examples run. Until CustomizedImage builds them (see cleanimg-customize),
 * these stand for the customized images a pipeline pushed; the digests are placeholders of the right form.
 *
 * To run the examples for real, name a JSON file in CLEANIMG_EXAMPLE_IMAGES that maps each image's
 * repository (`postgres`, `nginx`, `python-app`, `pg-backup`, `go-api`) to a reference pinned by
 * digest in IMAGE_REGISTRY, and `postgres-custom-base` to `{ "ref": ..., "layout": ... }`, the base
 * the custom PostgreSQL image is built on (an OCI layout that holds it). The end-to-end tier does
 * this on its real node, with stand-in images (test/e2e/node-examples.e2e.test.ts).
 */
import { readFileSync } from 'node:fs';
import type { DigestRef } from 'cleanimg';

/** The registry every example image comes from: the namespaces admit no image from elsewhere (allowedRegistries). */
export const IMAGE_REGISTRY = 'registry.example.com';

interface ImageOverrides {
  readonly images: Readonly<Record<string, DigestRef>>;
  readonly postgresCustomBase?: { readonly ref: string; readonly layout: string };
}

function overrides(): ImageOverrides {
  const file = process.env.CLEANIMG_EXAMPLE_IMAGES;
  if (!file) return { images: {} };
  const { 'postgres-custom-base': base, ...images } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  for (const [name, ref] of Object.entries(images)) {
    if (typeof ref !== 'string' || !ref.startsWith(`${IMAGE_REGISTRY}/${name}@sha256:`)) {
      throw new Error(`CLEANIMG_EXAMPLE_IMAGES (${file}): "${name}" must be ${IMAGE_REGISTRY}/${name}@sha256:<digest>, not ${JSON.stringify(ref)}`);
    }
  }
  return { images: images as Record<string, DigestRef>, postgresCustomBase: base as ImageOverrides['postgresCustomBase'] };
}

const OVERRIDES = overrides();
const image = (name: string, placeholder: DigestRef): DigestRef => OVERRIDES.images[name] ?? placeholder;

export const POSTGRES_IMAGE = image('postgres', 'registry.example.com/postgres:15-custom@sha256:3b1d0f6c2f8e9a4b7c5d6e1f0a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d');
export const NGINX_IMAGE = image('nginx', 'registry.example.com/nginx:1.25-custom@sha256:9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddccbbaa99887766554433221100');
export const PYTHON_APP_IMAGE = image('python-app', 'registry.example.com/python-app:1.0.0@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9');
export const PG_BACKUP_IMAGE = image('pg-backup', 'registry.example.com/pg-backup:15@sha256:5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d');
export const GO_API_IMAGE = image('go-api', 'registry.example.com/go-api:1.4.2@sha256:7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a291800');
/** The base the custom PostgreSQL image is built on, when it is not the one its spec pins. */
export const POSTGRES_CUSTOM_BASE = OVERRIDES.postgresCustomBase;
