import type { Logger } from '../../base/log.ts';
import type { Provider } from '../provider.ts';
import type { VaultCheckInfo } from './check.ts';
import type { VaultClientOptions } from './client.ts';
import type { VaultSettingsOverrides } from './env-settings.ts';
import type { VaultSession } from './session.ts';
import type { VaultAuth } from './token-auth.ts';
import type { VaultLoginSummary, VaultReloginInfo } from './token-holder.ts';

/** Options for {@link createVaultProvider}. */
export interface VaultProviderOptions {
  /** Where `VAULT_*` is read from (the agent's environment, never `process.env` directly). */
  env: Record<string, string | undefined>;
  logger: Logger;
  /** For `~/.vault-token`. */
  homeDir: string;
  /** Config file / flag values; each wins over its variable. */
  address?: string;
  namespace?: string;
  token?: string;
  tls?: VaultSettingsOverrides['tls'];
  timeoutMs?: number;
  maxRetries?: number;
  /** Allow plain http to a non-loopback host. */
  allowInsecureHttp?: boolean;
  /** Auth method; default token auth. */
  auth?: VaultAuth;
  /** Backoff tuning, file access and DNS lookup (tests). */
  retry?: VaultClientOptions['retry'];
  files?: VaultClientOptions['files'];
  lookup?: VaultClientOptions['lookup'];
  /** Secrets known to the run, redacted from Vault's error text (shared with the registry). */
  knownSecrets?: VaultClientOptions['knownSecrets'];
}

/** The Vault provider: documents plus session operations. */
export interface VaultProvider extends Provider, VaultSession {
  readonly scheme: 'vault';
  /** The auth method in use, once authenticated. */
  readonly authMethod: string | undefined;
  /** What the login returned (no token), once authenticated; for the audit stream. */
  readonly loginSummary: VaultLoginSummary | undefined;
  /**
   * Authenticates if needed, then describes the token (`auth/token/lookup-self`, falling back to
   * what the login returned when lookup-self is denied) and the certificates in use.
   */
  checkInfo(signal?: AbortSignal, now?: Date): Promise<VaultCheckInfo>;
  /**
   * Logs in again with the configured method (supervise mode, when the token cannot be renewed
   * any more). Resolves with the new login's details (never the token), or undefined when the
   * token was not obtained by logging in (token auth: nothing to log in with). On failure the
   * old token stays in use. The old token is not revoked: leases it created live until it expires.
   */
  relogin(signal?: AbortSignal): Promise<VaultReloginInfo | undefined>;
}
