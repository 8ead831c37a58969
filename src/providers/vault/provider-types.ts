import type { Logger } from '../../base/log.ts';
import type { ProviderCheck, SessionProvider } from '../provider.ts';
import type { VaultCheckInfo } from './check.ts';
import type { VaultClientOptions } from './client.ts';
import type { VaultSettingsOverrides } from './env-settings.ts';
import type { VaultSession } from './session.ts';
import type { VaultAuth } from './token-auth.ts';

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
  /** Variables the auth method consumed (removed from the child; see `consumedVariables`). */
  consumedVariables?: string[];
  /** Secrets known to the run, redacted from Vault's error text (shared with the registry). */
  knownSecrets?: VaultClientOptions['knownSecrets'];
}

/** The Vault provider: documents plus session operations. */
export interface VaultProvider extends SessionProvider, VaultSession {
  readonly scheme: 'vault';
  consumedVariables(): string[];
  checkFacts(signal: AbortSignal): Promise<ProviderCheck>;
  /**
   * Authenticates if needed, then describes the token (`auth/token/lookup-self`, falling back to
   * what the login returned when lookup-self is denied) and the certificates in use.
   */
  checkInfo(signal?: AbortSignal, now?: Date): Promise<VaultCheckInfo>;
}
