import type { RetryDecision } from '../../base/retry.ts';
import { KV_UPGRADING, VaultHttpError, VaultTransportError } from './http-errors.ts';

/**
 * Retry policy (reference §6): connection errors and timeouts, 412, 429, 5xx except 501, and
 * the KV "upgrading" 400. Never other 4xx, TLS failures, refused redirects or aborts.
 */
export function classifyVaultError(err: unknown): RetryDecision {
  if (err instanceof VaultTransportError) {
    return { retry: err.kind === 'connection' || err.kind === 'timeout' };
  }
  if (err instanceof VaultHttpError) {
    const s = err.status;
    const after = err.retryAfterMs;
    const withAfter = (d: RetryDecision): RetryDecision =>
      after === undefined ? d : { ...d, afterMs: after };
    if (s === 412 || s === 429 || (s >= 500 && s !== 501)) return withAfter({ retry: true });
    if (s === 400 && err.errors.some((e) => e.includes(KV_UPGRADING))) return { retry: true };
    return { retry: false };
  }
  return { retry: false };
}
