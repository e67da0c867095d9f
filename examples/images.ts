/**
 * Digest-pinned images the examples run. Until CustomizedImage builds them (see cleanimg-customize),
 * these stand for the customized images a pipeline pushed; the digests are placeholders of the right form.
 */
import type { DigestRef } from 'cleanimg';

/** The registry every example image comes from: the namespaces admit no image from elsewhere (allowedRegistries). */
export const IMAGE_REGISTRY = 'registry.example.com';

export const POSTGRES_IMAGE: DigestRef = 'registry.example.com/postgres:15-custom@sha256:3b1d0f6c2f8e9a4b7c5d6e1f0a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d';
export const NGINX_IMAGE: DigestRef = 'registry.example.com/nginx:1.25-custom@sha256:9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddccbbaa99887766554433221100';
export const PYTHON_APP_IMAGE: DigestRef = 'registry.example.com/python-app:1.0.0@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';
export const PG_BACKUP_IMAGE: DigestRef = 'registry.example.com/pg-backup:15@sha256:5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d';
export const GO_API_IMAGE: DigestRef = 'registry.example.com/go-api:1.4.2@sha256:7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a291800';
