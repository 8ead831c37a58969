import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PermissionError } from '../../base/errors.ts';
import type { Logger } from '../../base/log.ts';
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
 * Token auth as the vault CLI does it: `VAULT_TOKEN` (or the config override), else
 * `~/.vault-token` (trimmed; a missing file means no token). No token is a PermissionError.
 */
export function tokenAuth(override?: string): VaultAuth {
  return async (ctx) => {
    const fromEnv = override ?? ctx.env.VAULT_TOKEN?.trim();
    if (fromEnv) return { token: fromEnv, method: 'token' };
    const file = join(ctx.homeDir, '.vault-token');
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        ctx.logger.warn('cannot read the Vault token file', { path: file, code: code ?? 'error' });
      }
    }
    const token = text.trim();
    if (token) return { token, method: 'token' };
    throw new PermissionError(
      'no Vault token: set VAULT_TOKEN, run `vault login` (it writes ~/.vault-token), or configure vault.auth',
      'vault.noToken',
    );
  };
}
