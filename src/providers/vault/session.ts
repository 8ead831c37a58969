import type { Renewal, TokenInfo } from '../provider.ts';
import type { VaultClient } from './client.ts';
import { mapVaultError } from './error-map.ts';

/** `auth/token/lookup-self`, reduced to what the supervisor needs. */
export type VaultTokenInfo = TokenInfo;

/** Result of a renewal. */
export type VaultRenewal = Renewal;

/** Lease and token operations the supervisor uses, over the same transport and token. */
export interface VaultSession {
  renewLease(
    id: string,
    incrementSeconds: number,
    signal?: AbortSignal,
  ): Promise<VaultRenewal & { id: string }>;
  revokeLease(id: string, signal?: AbortSignal): Promise<void>;
  lookupSelf(signal?: AbortSignal): Promise<VaultTokenInfo>;
  renewSelf(incrementSeconds?: number, signal?: AbortSignal): Promise<VaultRenewal>;
  revokeSelf(signal?: AbortSignal): Promise<void>;
}

/**
 * The session operations over `client`. Each authenticates first, then maps any failure to a
 * SecrunError. Without a signal, a call has no deadline beyond the client's own timeout.
 */
export function createVaultSession(
  client: VaultClient,
  authenticate: (signal: AbortSignal) => Promise<unknown>,
): VaultSession {
  const run = async <T>(signal: AbortSignal | undefined, fn: (s: AbortSignal) => Promise<T>): Promise<T> => {
    const s = signal ?? new AbortController().signal;
    await authenticate(s);
    try {
      return await fn(s);
    } catch (err) {
      throw mapVaultError(err, client.errorContext());
    }
  };

  return {
    renewLease(id, incrementSeconds, signal) {
      return run(signal, async (s) => {
        const env = await client.request({
          method: 'PUT',
          path: 'sys/leases/renew',
          body: { lease_id: id, increment: Math.max(0, Math.round(incrementSeconds)) },
          signal: s,
        });
        return { id: env?.lease_id || id, ...renewalOf(env?.lease_duration, env?.renewable, env?.warnings) };
      });
    },

    revokeLease(id, signal) {
      return run(signal, async (s) => {
        await client.request({ method: 'PUT', path: 'sys/leases/revoke', body: { lease_id: id }, signal: s });
      });
    },

    lookupSelf(signal) {
      return run(signal, async (s) => {
        const env = await client.request({ method: 'GET', path: 'auth/token/lookup-self', signal: s });
        return tokenInfoOf((env?.data ?? {}) as Record<string, unknown>);
      });
    },

    renewSelf(incrementSeconds, signal) {
      return run(signal, async (s) => {
        const body = incrementSeconds === undefined ? {} : { increment: Math.round(incrementSeconds) };
        const env = await client.request({ method: 'POST', path: 'auth/token/renew-self', body, signal: s });
        const a = (env?.auth ?? {}) as Record<string, unknown>;
        return renewalOf(a.lease_duration, a.renewable, env?.warnings);
      });
    },

    revokeSelf(signal) {
      return run(signal, async (s) => {
        await client.request({ method: 'POST', path: 'auth/token/revoke-self', signal: s });
      });
    },
  };
}

/** The `data` of a lookup-self answer as token facts (missing fields: 0, false, null, none). */
export function tokenInfoOf(d: Record<string, unknown>): VaultTokenInfo {
  const info: VaultTokenInfo = {
    ttl: typeof d.ttl === 'number' ? d.ttl : 0,
    renewable: d.renewable === true,
    expireTime: typeof d.expire_time === 'string' ? d.expire_time : null,
    policies: Array.isArray(d.policies) ? d.policies.filter((p): p is string => typeof p === 'string') : [],
  };
  if (typeof d.type === 'string') info.type = d.type;
  return info;
}

function renewalOf(duration: unknown, renewable: unknown, warnings: unknown): VaultRenewal {
  return {
    duration: typeof duration === 'number' ? duration : 0,
    renewable: renewable === true,
    warnings: Array.isArray(warnings) ? warnings.filter((w): w is string => typeof w === 'string') : [],
  };
}
