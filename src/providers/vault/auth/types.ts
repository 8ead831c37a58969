import type { Logger } from '../../../base/log.ts';
import type { VaultAuthSettings } from '../../../config/index.ts';
import type { VaultAuthContext, VaultAuthResult } from '../provider.ts';

/** What a login hands back: the token plus what `secrun check` shows. Never logged whole. */
export interface VaultLoginResult extends VaultAuthResult {
  /** Auth mount without `auth/` and slashes (`approle`, `jwt-gha`); absent for token auth. */
  mount?: string;
  /** Token accessor (identifies the token without granting its rights). */
  accessor?: string;
  /** Policies attached to the token. */
  policies?: string[];
  /** Token TTL in seconds at login. */
  leaseDuration?: number;
  renewable?: boolean;
}

/** An auth method whose result includes the login details. Assignable to `VaultAuth`. */
export type VaultLoginAuth = (ctx: VaultAuthContext) => Promise<VaultLoginResult>;

/** Options for `createVaultAuth`. */
export interface VaultAuthOptions {
  /** The agent's environment (never `process.env` directly). */
  env: Record<string, string | undefined>;
  /** For `~/.vault-token`. */
  homeDir: string;
  logger: Logger;
  /** Reads a credential file as UTF-8 (tests); default `fs.promises.readFile`. */
  readFile?: (path: string) => Promise<string>;
}

/** Everything a method implementation needs besides the per-call context. */
export interface MethodDeps {
  settings: VaultAuthSettings;
  /** Normalised mount (no slashes at either end). */
  mount: string;
  env: Record<string, string | undefined>;
  homeDir: string;
  logger: Logger;
  readFile: (path: string) => Promise<string>;
}
