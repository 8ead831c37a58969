import { join } from 'node:path';
import { PermissionError } from '../../../base/errors.ts';
import { readCredential } from './credentials.ts';
import type { MethodDeps, VaultLoginResult } from './types.ts';

/**
 * Token auth: `VAULT_TOKEN`, else `~/.vault-token`, else `vault.auth.token_file`. The token is
 * not owned: the agent never revokes it.
 */
export async function tokenLogin(deps: MethodDeps): Promise<VaultLoginResult> {
  const fromEnv = deps.env.VAULT_TOKEN?.trim();
  if (fromEnv) return { token: fromEnv, method: 'token', owned: false };
  const home = join(deps.homeDir, '.vault-token');
  try {
    const text = (await deps.readFile(home)).trim();
    if (text) return { token: text, method: 'token', owned: false };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code ?? 'error';
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      deps.logger.warn('cannot read the Vault token file', { path: home, code });
    }
  }
  const file = deps.settings.tokenFile;
  if (file) {
    const token = await readCredential(deps, { file }, 'Vault token file (vault.auth.token_file)');
    return { token, method: 'token', owned: false };
  }
  throw new PermissionError(
    'no Vault token: set VAULT_TOKEN, run `vault login` (it writes ~/.vault-token), set vault.auth.token_file, ' +
      'or configure another vault.auth.method',
    'vault.noToken',
  );
}
