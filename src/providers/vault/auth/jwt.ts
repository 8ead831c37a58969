import { ConfigError } from '../../../base/errors.ts';
import type { VaultAuthContext } from '../provider.ts';
import { pickSource, readCredential } from './credentials.ts';
import { inGithubActionsOidc, requestGithubOidcToken } from './github-oidc.ts';
import { postLogin } from './method-login.ts';
import type { MethodDeps, VaultLoginResult } from './types.ts';

/**
 * JWT/OIDC for CI: the JWT from `jwt_env` (GitLab `id_tokens` land in a named variable) or
 * `jwt_file`; with neither, inside GitHub Actions the runtime is asked for a token with
 * `audience`. Then `POST auth/<mount>/login` with `{role, jwt}` (`role` omitted when unset, so
 * the mount's `default_role` applies).
 */
export async function jwtLogin(ctx: VaultAuthContext, deps: MethodDeps): Promise<VaultLoginResult> {
  const s = deps.settings;
  const source = pickSource(s.jwtFile, s.jwtEnv, ['jwt_file', 'jwt_env']);
  let jwt: string;
  if (source) {
    jwt = await readCredential(deps, source, 'JWT for Vault login', {
      hint:
        'env' in source
          ? `in GitLab CI declare it under id_tokens: (${source.env}: { aud: <audience> })`
          : undefined,
    });
  } else if (inGithubActionsOidc(deps.env)) {
    deps.logger.debug('requesting a GitHub Actions OIDC token', { audience: s.audience });
    jwt = await requestGithubOidcToken({
      env: deps.env,
      audience: s.audience,
      timeoutMs: ctx.client.settings.timeoutMs,
      maxRetries: ctx.client.settings.maxRetries,
      signal: ctx.signal,
    });
  } else {
    const gha = deps.env.GITHUB_ACTIONS === 'true';
    throw new ConfigError(
      gha
        ? 'jwt auth in GitHub Actions needs an OIDC token: give the job "permissions: id-token: write" ' +
            '(ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are not set), or set vault.auth.jwt_env or jwt_file'
        : 'jwt auth needs a JWT: set vault.auth.jwt_env (e.g. a GitLab id_tokens variable) or vault.auth.jwt_file',
      'vault.auth.config',
    );
  }
  const body: Record<string, unknown> = { jwt };
  if (s.role) body.role = s.role;
  return postLogin(ctx, deps, body, [jwt]);
}
