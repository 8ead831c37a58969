import { ConfigError } from '../../../base/errors.ts';
import type { VaultAuthContext } from '../provider.ts';
import { postLogin } from './method-login.ts';
import type { MethodDeps, VaultLoginResult } from './types.ts';

/**
 * TLS certificate: `POST auth/<mount>/login` with an optional `{name}`; the credential is the
 * client certificate the transport presents (`VAULT_CLIENT_CERT` / `VAULT_CLIENT_KEY`).
 */
export async function certLogin(ctx: VaultAuthContext, deps: MethodDeps): Promise<VaultLoginResult> {
  const { settings } = ctx.client;
  if (!settings.address.startsWith('https:')) {
    throw new ConfigError(
      `cert auth needs an https:// Vault address (got ${settings.address}): the certificate is presented in the TLS handshake`,
      'vault.auth.config',
    );
  }
  if (!settings.tls.clientCert || !settings.tls.clientKey) {
    throw new ConfigError(
      'cert auth needs a client certificate: set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY (or vault.tls.cert and vault.tls.key)',
      'vault.auth.config',
    );
  }
  const body: Record<string, unknown> = deps.settings.name ? { name: deps.settings.name } : {};
  return postLogin(ctx, deps, body, []);
}
