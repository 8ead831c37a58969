import nodeVault from 'node-vault';
import { createArgsCheck } from './args-check.ts';
import type { VaultSettings } from './env-settings.ts';
import type { RpOptions, RpResponse } from './transport.ts';

/** The node-vault client. */
export type NodeVaultClient = ReturnType<typeof nodeVault>;

/**
 * A node-vault client over `send` (our transport), with every setting pinned: node-vault falls
 * back to `process.env.VAULT_*` for unset values, and the agent reads its settings from its own
 * environment only.
 */
export function createNodeVault(
  settings: VaultSettings,
  send: (options: RpOptions) => Promise<RpResponse>,
): NodeVaultClient {
  const nv = nodeVault({
    endpoint: settings.address,
    namespace: settings.namespace,
    apiVersion: 'v1',
    noCustomHTTPVerbs: true,
    // node-vault's debug output includes request bodies (secret ids); never enable it.
    debug: () => undefined,
    'request-promise': { defaults: () => send },
    // A small check of node-vault's argument schemas instead of tv4 (see args-check.ts). The
    // typings call this option a function; node-vault's code uses it as tv4 (`tv4.validate`).
    tv4: createArgsCheck() as unknown as () => void,
  });
  nv.endpoint = settings.address;
  (nv as unknown as { namespace: string | undefined }).namespace = settings.namespace;
  (nv as unknown as { pathPrefix: string }).pathPrefix = '';
  setNodeVaultToken(nv, undefined);
  return nv;
}

/** Sets the token node-vault sends as `X-Vault-Token` (undefined: none). */
export function setNodeVaultToken(nv: NodeVaultClient, token: string | undefined): void {
  (nv as unknown as { token: string | undefined }).token = token;
}
