import { stringify } from 'yaml';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import { makeTestPki, type TestPki } from './tls.ts';

/** Pieces of dev Vault seeds (as objects for `yaml.stringify`) that several tests share. */

/** A `kubernetes` auth mount whose role `app` admits service account default/app. */
export function kubernetesAuthSeed(
  publicPem: string,
  role: Record<string, unknown>,
): Record<string, unknown> {
  return {
    type: 'kubernetes',
    pem_keys: [publicPem],
    roles: {
      app: { bound_service_account_names: ['app'], bound_service_account_namespaces: ['default'], ...role },
    },
  };
}

/** A `cert` auth mount whose role `web` trusts `caCert` for CN web.example.internal. */
export function certAuthSeed(caCert: string, role: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'cert',
    roles: {
      web: { certificate: caCert, allowed_common_names: ['web.example.internal'], ...role },
    },
  };
}

/** A dev Vault on HTTPS and the PKI it uses; `close()` stops the one and removes the other. */
export interface MtlsVault {
  pki: TestPki;
  server: VaultDevServer;
  close(): Promise<void>;
}

/**
 * A dev Vault on HTTPS with `pki.server` from a fresh test PKI, asking for client certificates
 * from `pki.ca` or `pki.otherCa`, seeded from `seed(pki)` (an object for `yaml.stringify`).
 */
export async function startMtlsVault(seed: (pki: TestPki) => Record<string, unknown>): Promise<MtlsVault> {
  const pki = makeTestPki();
  try {
    const server = await startVaultServer({
      seed: parseSeed(stringify(seed(pki))),
      https: { cert: pki.server.cert, key: pki.server.key, clientCa: `${pki.ca.cert}${pki.otherCa.cert}` },
    });
    return {
      pki,
      server,
      async close() {
        await server.close();
        pki.cleanup();
      },
    };
  } catch (err) {
    pki.cleanup();
    throw err;
  }
}
