import type { Logger } from '../../base/log.ts';
import type { LoginSummary, ReloginInfo } from '../provider.ts';
import type { VaultClient } from './client.ts';
import { mapVaultError } from './error-map.ts';
import type { VaultAuth, VaultAuthResult } from './token-auth.ts';

/** A login, as the audit stream records it: never the token. */
export type VaultLoginSummary = LoginSummary;

/** What {@link VaultProvider.relogin} returns: the new login's details, never the token. */
export type VaultReloginInfo = ReloginInfo;

/** A login result with the optional details login methods add (see `VaultLoginResult`). */
export type VaultLoginDetails = VaultAuthResult & {
  accessor?: string;
  policies?: string[];
  leaseDuration?: number;
  renewable?: boolean;
};

/** What a login needs besides the client: the environment and the home directory. */
export interface VaultLoginContext {
  env: Record<string, string | undefined>;
  homeDir: string;
  logger: Logger;
}

/**
 * The provider's token: one login shared by concurrent callers, set on the client when it
 * succeeds. A failed login is not kept, so the next call tries again.
 */
export class VaultLogin {
  readonly #auth: VaultAuth;
  readonly #ctx: VaultLoginContext;
  readonly #client: VaultClient;
  #pending: Promise<VaultAuthResult> | undefined;
  #result: VaultAuthResult | undefined;

  constructor(auth: VaultAuth, ctx: VaultLoginContext, client: VaultClient) {
    this.#auth = auth;
    this.#ctx = ctx;
    this.#client = client;
  }

  /** The last successful login, if any. */
  get result(): VaultLoginDetails | undefined {
    return this.#result;
  }

  /** Logs in unless a login succeeded or is under way; failures are mapped SecrunErrors. */
  authenticate(signal: AbortSignal): Promise<VaultAuthResult> {
    this.#pending ??= this.#auth({ ...this.#ctx, client: this.#client, signal }).then(
      (r) => {
        this.#client.setToken(r.token);
        this.#result = r;
        return r;
      },
      (err: unknown) => {
        this.#pending = undefined;
        throw mapVaultError(err, this.#client.errorContext());
      },
    );
    return this.#pending;
  }

  /**
   * Logs in again when the current token came from a login; undefined for a token that was
   * handed to the agent. On failure the previous login stays in use.
   */
  async relogin(signal: AbortSignal): Promise<VaultLoginDetails | undefined> {
    const current = await this.authenticate(signal);
    if (!current.owned) return undefined;
    const previous = this.#pending;
    this.#pending = undefined;
    try {
      return await this.authenticate(signal);
    } catch (err) {
      this.#pending ??= previous;
      throw err;
    }
  }
}

/** What the login returned, as the audit stream records it (no token). */
export function loginSummaryOf(r: VaultLoginDetails): VaultLoginSummary {
  const summary: VaultLoginSummary = { method: r.method, owned: r.owned === true };
  if (r.mount) summary.mount = r.mount;
  if (r.accessor) summary.accessor = r.accessor;
  if (r.policies) summary.policies = r.policies;
  if (r.leaseDuration !== undefined) summary.ttl = r.leaseDuration;
  if (r.renewable !== undefined) summary.renewable = r.renewable;
  return summary;
}

/** A new login's details for {@link VaultLogin.relogin}'s caller (no token). */
export function reloginInfoOf(r: VaultLoginDetails): VaultReloginInfo {
  const info: VaultReloginInfo = { method: r.method };
  if (r.accessor) info.accessor = r.accessor;
  if (r.policies) info.policies = r.policies;
  if (typeof r.leaseDuration === 'number') info.leaseDuration = r.leaseDuration;
  if (typeof r.renewable === 'boolean') info.renewable = r.renewable;
  return info;
}
