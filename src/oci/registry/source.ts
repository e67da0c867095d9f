/** An `ImageSource` backed by one repository of a registry. */
import type { FetchedManifest, ImageSource } from '../types';
import { parseReference, type Reference } from '../reference';
import { RegistryClient, type RegistryClientOptions } from './client';

export class RegistryImageSource implements ImageSource {
  readonly name: string;
  constructor(
    readonly client: RegistryClient,
    readonly repository: string,
  ) {
    this.name = `${client.registry}/${repository}`;
  }

  /** A source for the repository of `ref` (its tag/digest is not used: pass it to getManifest). */
  static fromReference(ref: Reference | string, opts: RegistryClientOptions = {}): RegistryImageSource {
    const r = typeof ref === 'string' ? parseReference(ref) : ref;
    return new RegistryImageSource(new RegistryClient(r.registry, opts), r.repository);
  }

  getManifest(ref: string): Promise<FetchedManifest> {
    return this.client.getManifest(this.repository, ref);
  }

  getBlob(digest: string): Promise<Buffer> {
    return this.client.getBlob(this.repository, digest);
  }

  referrers(digest: string): Promise<Buffer | undefined> {
    return this.client.getReferrers(this.repository, digest);
  }

  /** Streams a blob (a layer), verified against its digest as it is read. */
  openBlob(digest: string): Promise<NodeJS.ReadableStream> {
    return this.client.getBlobStream(this.repository, digest);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
