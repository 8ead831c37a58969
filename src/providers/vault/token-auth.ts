import { fsPromises } from '../../base/builtins.ts';
import type { Logger } from '../../base/log.ts';
import { tokenLogin } from './auth/token.ts';
import type { VaultClient } from './client.ts';

/** What an auth method hands back. */
export interface VaultAuthResult {
  /** The client token. Never logged. */
  token: string;
  /** Method name for logs and `secrun check` (`token`, `approle`, ...). */
  method: string;
  /** True when the agent obtained the token by logging in; close() then revokes it. */
  owned?: boolean;
  /** Auth mount (`approle`, `ci/jwt`) for login methods. */
  mount?: string;
}

/** What an auth method may use: the environment, the home directory, and the transport. */
export interface VaultAuthContext {
  env: Record<string, string | undefined>;
  homeDir: string;
  logger: Logger;
  /** Transport with retries; pass `noToken: true` for logins. */
  client: VaultClient;
  signal: AbortSignal;
}

/** An auth method: produces the token the provider sends. Default: {@link tokenAuth}. */
export type VaultAuth = (ctx: VaultAuthContext) => Promise<VaultAuthResult>;

/**
 * Token auth as the vault CLI does it, for a provider built without `vault.auth` (embedding,
 * tests): the given token, else what `auth/token.ts` reads (`VAULT_TOKEN`, else `~/.vault-token`).
 * No token is a PermissionError.
 */
export function tokenAuth(override?: string): VaultAuth {
  return async (ctx) => {
    if (override) return { token: override, method: 'token' };
    const { token } = await tokenLogin({
      settings: { method: 'token' },
      mount: 'token',
      env: ctx.env,
      homeDir: ctx.homeDir,
      logger: ctx.logger,
      readFile: (path) => fsPromises().readFile(path, 'utf8'),
    });
    return { token, method: 'token' };
  };
}
