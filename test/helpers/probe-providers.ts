import type { Logger } from '../../src/log.ts';
import type { Provider } from '../../src/providers/provider.ts';
import { readVaultSettings, VaultClient, VaultHttpError } from '../../src/providers/vault-client.ts';
import { MountCache, parseMountInfo } from '../../src/providers/vault-kv.ts';
import { createVaultProbe, type VaultProbe } from '../../src/providers/vault-probe.ts';

/** A Vault probe wired as `createVaultProvider` wires its reads: same client, same mount cache. */
export interface VaultProbeHarness {
  client: VaultClient;
  probe: VaultProbe;
  /** A provider exposing only `probe` (what the Vault provider will expose), for the watcher. */
  provider: Provider;
  close(): void;
}

/** Builds the probe against a Vault at `addr` with `token`; retries are quick. */
export function vaultProbeHarness(
  addr: string,
  token: string,
  logger: Logger,
  env: Record<string, string> = {},
): VaultProbeHarness {
  const settings = readVaultSettings({ VAULT_ADDR: addr, ...env });
  const client = new VaultClient(settings, { logger, retry: { baseMs: 1, capMs: 10 } });
  client.setToken(token);
  const mounts = new MountCache(async (path, signal) => {
    try {
      const res = await client.request({ method: 'GET', path: `sys/internal/ui/mounts/${path}`, signal });
      return parseMountInfo(res?.data);
    } catch (err) {
      if (err instanceof VaultHttpError && (err.status === 403 || err.status === 404)) return null;
      throw err;
    }
  });
  const probe = createVaultProbe({ client, mounts, logger });
  const provider: Provider = {
    scheme: 'vault',
    readAll: () => Promise.reject(new Error('this test provider only probes')),
    probe,
    close: async () => client.close(),
  };
  return { client, probe, provider, close: () => client.close() };
}
