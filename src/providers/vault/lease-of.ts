import type { Lease } from '../provider.ts';
import type { VaultEnvelope } from './client.ts';

/** The lease of an answer (`lease_id` non-empty), else undefined. */
export function leaseOf(env: VaultEnvelope | undefined): Lease | undefined {
  if (!env || typeof env.lease_id !== 'string' || env.lease_id === '') return undefined;
  return {
    id: env.lease_id,
    duration: typeof env.lease_duration === 'number' ? env.lease_duration : 0,
    renewable: env.renewable === true,
  };
}
