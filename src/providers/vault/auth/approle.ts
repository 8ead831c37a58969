import { ConfigError } from '../../../base/errors.ts';
import type { VaultAuthContext } from '../provider.ts';
import { pickSource, readCredential } from './credentials.ts';
import { postLogin } from './method-login.ts';
import type { MethodDeps, VaultLoginResult } from './types.ts';
import { unwrapSecretId } from './wrapping.ts';

/** In-memory state kept between logins of one auth instance. */
export interface ApproleMemo {
  /** The secret id once unwrapped (never written anywhere). */
  unwrappedSecretId?: string;
}

/**
 * AppRole (settings already checked by `checkAuthSettings`): `role_id` (value or file),
 * `secret_id` from a file or a variable (plain, or a wrapping token when `wrapped`), then
 * `POST auth/<mount>/login`. No secret-id source means a role with `bind_secret_id=false`, as
 * Vault Agent allows.
 */
export async function approleLogin(
  ctx: VaultAuthContext,
  deps: MethodDeps,
  memo: ApproleMemo = {},
): Promise<VaultLoginResult> {
  const s = deps.settings;
  const roleId =
    s.roleId?.trim() || (await readCredential(deps, { file: s.roleIdFile ?? '' }, 'AppRole role_id'));
  const source = pickSource(s.secretIdFile, s.secretIdEnv, ['secret_id_file', 'secret_id_env']);
  let secretId: string | undefined;
  if (s.wrapped) {
    if (!source) {
      throw new ConfigError('vault.auth.wrapped needs secret_id_file or secret_id_env', 'vault.auth.config');
    }
    // A wrapping token unwraps once: later logins of this agent reuse the unwrapped secret id.
    memo.unwrappedSecretId ??= await unwrapSecretId(
      ctx,
      deps,
      await readCredential(deps, source, 'AppRole wrapped secret id', {
        code: 'vault.wrapping.missing',
        hint: 'the wrapping token that should be there is missing: if it was delivered, someone removed it; alert',
      }),
    );
    secretId = memo.unwrappedSecretId;
  } else if (source) {
    secretId = await readCredential(deps, source, 'AppRole secret_id');
  }
  const body: Record<string, unknown> = { role_id: roleId };
  if (secretId !== undefined) body.secret_id = secretId;
  return postLogin(ctx, deps, body, secretId === undefined ? [roleId] : [roleId, secretId]);
}
