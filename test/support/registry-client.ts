import { RegistryClient, type RegistryClientOptions } from '../../src/oci/registry';

/** Runs `f` with a client for `host` (test defaults merged under `opts`), and closes it afterwards. */
export async function withRegistryClient<T>(host: string, opts: RegistryClientOptions, f: (c: RegistryClient) => Promise<T>): Promise<T> {
  const c = new RegistryClient(host, opts);
  try {
    return await f(c);
  } finally {
    await c.close();
  }
}
