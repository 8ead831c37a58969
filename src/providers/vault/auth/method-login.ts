import { type ErrorDetails, PermissionError, UnavailableError } from '../../../base/errors.ts';
import type { VaultEnvelope } from '../client.ts';
import { mapVaultError } from '../error-map.ts';
import { VaultHttpError } from '../http-errors.ts';
import type { VaultAuthContext } from '../provider.ts';
import { redact } from './credentials.ts';
import type { MethodDeps, VaultLoginResult } from './types.ts';

/**
 * `POST auth/<mount>/login` without a token, through the shared transport (retries, timeout,
 * namespace header, TLS client certificate). Vault's refusal (400/403/404) becomes a
 * PermissionError `vault.login` carrying Vault's message with `secrets` redacted from it; other
 * failures are mapped as any Vault call. The token and the body never reach an error or a log.
 */
export async function postLogin(
  ctx: VaultAuthContext,
  deps: MethodDeps,
  body: Record<string, unknown>,
  secrets: readonly string[],
): Promise<VaultLoginResult> {
  const method = deps.settings.method;
  const path = `auth/${deps.mount}/login`;
  let env: VaultEnvelope | undefined;
  try {
    env = await ctx.client.request({ method: 'POST', path, body, noToken: true, signal: ctx.signal });
  } catch (err) {
    throw loginError(err, ctx, deps, secrets);
  }
  const auth = env?.auth;
  const token = auth?.client_token;
  if (!auth || typeof token !== 'string' || token === '') {
    throw new UnavailableError(
      `Vault answered the ${method} login at ${path} without a client token`,
      'vault.badResponse',
      { path, method },
    );
  }
  const result: VaultLoginResult = { token, method, owned: true, mount: deps.mount };
  if (typeof auth.accessor === 'string' && auth.accessor) result.accessor = auth.accessor;
  if (Array.isArray(auth.policies)) {
    result.policies = auth.policies.filter((p): p is string => typeof p === 'string');
  }
  if (typeof auth.lease_duration === 'number') result.leaseDuration = auth.lease_duration;
  if (typeof auth.renewable === 'boolean') result.renewable = auth.renewable;
  deps.logger.debug('logged in to Vault', {
    method,
    mount: deps.mount,
    policies: result.policies?.join(','),
    ttl: result.leaseDuration,
    renewable: result.renewable,
  });
  return result;
}

function loginError(
  err: unknown,
  ctx: VaultAuthContext,
  deps: MethodDeps,
  secrets: readonly string[],
): Error {
  const method = deps.settings.method;
  const path = `auth/${deps.mount}/login`;
  if (!(err instanceof VaultHttpError) || ![400, 401, 403, 404].includes(err.status)) {
    return mapVaultError(err, ctx.client.errorContext(path));
  }
  const text = err.errors[0] ? redact(err.errors[0], secrets) : undefined;
  const details: ErrorDetails = { path, method, mount: deps.mount, status: err.status };
  if (text) details.vaultError = text;
  if (err.requestId) details.requestId = err.requestId;
  let hint = '';
  if (err.status === 404 || (err.status === 403 && (!text || text === 'permission denied'))) {
    hint = `; if the credential is right, check that the ${method} auth method is enabled at auth/${deps.mount}/ (vault.auth.mount)`;
  }
  if (method === 'approle' && text?.includes('missing secret_id')) {
    hint = '; the role needs a secret id: set vault.auth.secret_id_file or vault.auth.secret_id_env';
  }
  return new PermissionError(
    `Vault ${method} login at ${path} failed (${err.status})${text ? `: ${text}` : ''}${hint}`,
    'vault.login',
    details,
  );
}
