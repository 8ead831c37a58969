import { ConfigError, PermissionError } from '../../../base/errors.ts';
import type { VaultAuthSettings } from '../../../config/index.ts';
import { mapVaultError } from '../error-map.ts';
import { VaultHttpError } from '../http-errors.ts';
import type { VaultAuthContext } from '../provider.ts';
import type { MethodDeps } from './types.ts';

const ALERT = 'treat this as a possible interception of the secret id and alert';

/**
 * The creation path a wrapped secret id must come from: `wrapped_path` (slashes trimmed), else
 * `auth/<mount>/role/<role>/secret-id`. Without either it is a ConfigError.
 */
export function expectedWrapPath(settings: VaultAuthSettings, mount: string): string {
  const configured = settings.wrappedPath?.trim().replace(/^\/+|\/+$/g, '');
  if (configured) return configured;
  if (settings.role) return `auth/${mount}/role/${settings.role}/secret-id`;
  throw new ConfigError(
    'vault.auth.wrapped is true but the expected creation path is unknown: set vault.auth.wrapped_path ' +
      '(e.g. auth/approle/role/<role>/secret-id) or vault.auth.role',
    'vault.auth.config',
  );
}

/**
 * Unwraps a response-wrapped secret id (reliability-security.md §5): `sys/wrapping/lookup` first,
 * an exact `creation_path` match, then one unwrap with the wrapping token as `X-Vault-Token` and
 * no token in the body. An invalid, used or expired wrapping token and a path mismatch are
 * PermissionErrors (`vault.wrapping.invalid`, `vault.wrapping.pathMismatch`) worded as alerts.
 */
export async function unwrapSecretId(
  ctx: VaultAuthContext,
  deps: MethodDeps,
  wrappingToken: string,
): Promise<string> {
  const expected = expectedWrapPath(deps.settings, deps.mount);
  if (/^(cubbyhole\/|sys\/wrapping\/wrap$)/.test(expected)) {
    deps.logger.warn('vault.auth.wrapped_path names a generic wrapping path; anyone can create those', {
      path: expected,
    });
  }
  const lookup = await ctx.client
    .request({
      method: 'POST',
      path: 'sys/wrapping/lookup',
      body: { token: wrappingToken },
      noToken: true,
      signal: ctx.signal,
    })
    .catch((err: unknown) => {
      throw invalidOr(err, ctx, 'sys/wrapping/lookup', 'was already used, has expired or never existed');
    });
  const data = (lookup?.data ?? {}) as Record<string, unknown>;
  const actual = typeof data.creation_path === 'string' ? data.creation_path : '';
  if (actual !== expected) {
    throw new PermissionError(
      `the wrapped secret id was created at "${actual || '(none)'}", not at the expected "${expected}"; ` +
        `refusing to unwrap it: ${ALERT}`,
      'vault.wrapping.pathMismatch',
      { expected, actual },
    );
  }
  const unwrapped = await ctx.client
    // One attempt only: a retry after a lost answer would find the token burnt and hide why.
    .request({
      method: 'POST',
      path: 'sys/wrapping/unwrap',
      token: wrappingToken,
      retry: false,
      signal: ctx.signal,
    })
    .catch((err: unknown) => {
      throw invalidOr(
        err,
        ctx,
        'sys/wrapping/unwrap',
        'became invalid between lookup and unwrap (someone else unwrapped it, or an earlier attempt did)',
      );
    });
  const secretId = (unwrapped?.data as Record<string, unknown> | null | undefined)?.secret_id;
  if (typeof secretId !== 'string' || secretId === '') {
    throw new PermissionError(
      `the unwrapped response from ${expected} holds no secret_id; ${ALERT}`,
      'vault.wrapping.noSecretId',
      { path: expected },
    );
  }
  deps.logger.debug('unwrapped the AppRole secret id', { creationPath: expected });
  return secretId;
}

/** A 400 from lookup/unwrap means the wrapping token is not valid; anything else is mapped as usual. */
function invalidOr(err: unknown, ctx: VaultAuthContext, path: string, why: string): Error {
  if (err instanceof VaultHttpError && err.status === 400) {
    const details: Record<string, string | number> = { path, status: 400 };
    if (err.errors[0]) details.vaultError = err.errors[0];
    return new PermissionError(
      `the wrapping token for the AppRole secret id ${why}: ${ALERT}; get a freshly wrapped secret id`,
      'vault.wrapping.invalid',
      details,
    );
  }
  return mapVaultError(err, ctx.client.errorContext(path));
}
