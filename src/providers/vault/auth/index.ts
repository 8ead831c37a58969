import { fsPromises } from '../../../base/builtins.ts';
import { ConfigError } from '../../../base/errors.ts';
import type { VaultAuthSettings } from '../../../config/index.ts';
import { approleLogin } from './approle.ts';
import { certLogin } from './cert.ts';
import { jwtLogin } from './jwt.ts';
import { kubernetesLogin } from './kubernetes.ts';
import { tokenLogin } from './token.ts';
import type { MethodDeps, VaultAuthOptions, VaultLoginAuth } from './types.ts';
import { expectedWrapPath } from './wrapping.ts';

export { DEFAULT_K8S_TOKEN_FILE } from './kubernetes.ts';
export type { VaultAuthOptions, VaultLoginAuth, VaultLoginResult } from './types.ts';

const METHODS = new Set(['token', 'approle', 'kubernetes', 'jwt', 'cert']);

/**
 * The auth mount without slashes: `vault.auth.mount`, else the method name. A mount with empty,
 * `.` or `..` segments is a ConfigError (Vault would answer such a path with a 301).
 */
export function authMount(settings: VaultAuthSettings): string {
  const raw = settings.mount ?? settings.method;
  const mount = raw.trim().replace(/^\/+|\/+$/g, '');
  if (mount === '' || mount.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) {
    throw new ConfigError(
      `vault.auth.mount must be a path like "approle" or "ci/jwt", got ${JSON.stringify(raw)}`,
      'vault.auth.config',
    );
  }
  return mount;
}

/**
 * Checks that the settings name everything their method needs, without reading any file or
 * variable: a ConfigError (`vault.auth.config`) naming the missing or conflicting keys.
 */
export function checkAuthSettings(settings: VaultAuthSettings): void {
  const fail = (message: string): never => {
    throw new ConfigError(message, 'vault.auth.config');
  };
  const both = (a: string | undefined, b: string | undefined, ka: string, kb: string): void => {
    if (a && b) fail(`vault.auth.${ka} and vault.auth.${kb} are both set; keep one`);
  };
  if (!METHODS.has(settings.method)) {
    fail(`vault.auth.method must be token, approle, kubernetes, jwt or cert, got "${settings.method}"`);
  }
  const mount = authMount(settings);
  switch (settings.method) {
    case 'approle': {
      both(settings.roleId, settings.roleIdFile, 'role_id', 'role_id_file');
      if (!settings.roleId?.trim() && !settings.roleIdFile) {
        fail('AppRole login needs a role id: set vault.auth.role_id or vault.auth.role_id_file');
      }
      both(settings.secretIdFile, settings.secretIdEnv, 'secret_id_file', 'secret_id_env');
      if (settings.wrapped) {
        if (!settings.secretIdFile && !settings.secretIdEnv) {
          fail(
            'vault.auth.wrapped is true: set vault.auth.secret_id_file or secret_id_env to the wrapping token',
          );
        }
        expectedWrapPath(settings, mount);
      }
      break;
    }
    case 'kubernetes':
      if (!settings.role) fail('Kubernetes login needs vault.auth.role');
      break;
    case 'jwt':
      both(settings.jwtFile, settings.jwtEnv, 'jwt_file', 'jwt_env');
      break;
  }
}

/**
 * Builds the auth method named by `settings` (`vault.auth`). Settings are checked now
 * ({@link checkAuthSettings}); credentials are read at login time. Every method except `token`
 * logs in and returns `owned: true` (the provider revokes that token at close). Errors carry
 * Vault's message, the method and the mount, never a secret id, JWT, wrapping token or token.
 */
export function createVaultAuth(settings: VaultAuthSettings, opts: VaultAuthOptions): VaultLoginAuth {
  checkAuthSettings(settings);
  const deps: MethodDeps = {
    settings,
    mount: authMount(settings),
    env: opts.env,
    homeDir: opts.homeDir,
    logger: opts.logger,
    readFile: opts.readFile ?? ((path) => fsPromises().readFile(path, 'utf8')),
  };
  switch (settings.method) {
    case 'approle': {
      const memo = {};
      return (ctx) => approleLogin(ctx, deps, memo);
    }
    case 'kubernetes':
      return (ctx) => kubernetesLogin(ctx, deps);
    case 'jwt':
      return (ctx) => jwtLogin(ctx, deps);
    case 'cert':
      return (ctx) => certLogin(ctx, deps);
    default:
      return () => tokenLogin(deps);
  }
}

/**
 * Names of the environment variables the configured method reads a credential from
 * (`secret_id_env` for AppRole, `jwt_env` for JWT). The agent strips them from the child's
 * environment. `VAULT_TOKEN` is already in the default credential list; the GitHub Actions
 * `ACTIONS_ID_TOKEN_REQUEST_*` variables belong to the runner and are left to the child.
 */
export function consumedVariables(settings: VaultAuthSettings): string[] {
  if (settings.method === 'approle' && settings.secretIdEnv) return [settings.secretIdEnv];
  if (settings.method === 'jwt' && settings.jwtEnv) return [settings.jwtEnv];
  return [];
}
