import assert from 'node:assert/strict';
import { after, before, beforeEach } from 'node:test';
import type { Logger } from '../../src/base/log.ts';
import type { Seed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import type { Provider } from '../../src/providers/provider.ts';
import { VaultClient } from '../../src/providers/vault/client.ts';
import { readVaultSettings } from '../../src/providers/vault/env-settings.ts';
import { MountCache, mountLookup } from '../../src/providers/vault/kv-mounts.ts';
import { createVaultProbe, type VaultProbe } from '../../src/providers/vault/probe.ts';

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
  const mounts = new MountCache(mountLookup(client));
  const probe = createVaultProbe({ client, mounts, logger });
  const provider: Provider = {
    scheme: 'vault',
    readAll: () => Promise.reject(new Error('this test provider only probes')),
    probe,
    close: async () => client.close(),
  };
  return { client, probe, provider, close: () => client.close() };
}

/** A dev Vault for probe tests and the harnesses made against it. */
export interface ProbeVault {
  /** The server (started in a `before` hook). */
  readonly server: VaultDevServer;
  /** A probe harness against the server, closed after the suite. */
  harness(token?: string, env?: Record<string, string>): VaultProbeHarness;
}

/**
 * Registers hooks in the current suite: start a dev Vault from `seed` before it, clear the
 * server's faults and request log before each test, and after it close every harness, stop the
 * server and fail if any of `secrets` reached the log `lines`.
 */
export function probeVaultSuite(opts: {
  seed: () => Seed;
  rootToken: string;
  secrets: readonly string[];
  logger: Logger;
  lines: readonly string[];
}): ProbeVault {
  let server: VaultDevServer | undefined;
  const harnesses: VaultProbeHarness[] = [];
  before(async () => {
    server = await startVaultServer({ seed: opts.seed(), rootToken: opts.rootToken });
  });
  beforeEach(() => {
    server?.faults.clear();
    server?.log.clear();
  });
  after(async () => {
    for (const h of harnesses) h.close();
    await server?.close();
    const all = opts.lines.join('');
    for (const secret of opts.secrets) assert.ok(!all.includes(secret), 'a secret reached the log');
  });
  const vault: ProbeVault = {
    get server() {
      assert.ok(server, 'the dev Vault has not started');
      return server;
    },
    harness(token = opts.rootToken, env = {}) {
      const h = vaultProbeHarness(vault.server.url, token, opts.logger, env);
      harnesses.push(h);
      return h;
    },
  };
  return vault;
}
