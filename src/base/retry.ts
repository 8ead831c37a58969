import { setTimeout as delay } from 'node:timers/promises';
import { UnavailableError } from './errors.ts';

/** How a failed attempt should be treated. */
export interface RetryDecision {
  retry: boolean;
  /** Server-requested wait (Retry-After), in ms. */
  afterMs?: number;
}

export interface RetryOptions {
  /** Total tries, including the first (default 4). */
  maxAttempts?: number;
  /** First backoff ceiling in ms (default 250); doubles each attempt. */
  baseMs?: number;
  /** Backoff ceiling in ms (default 5000). */
  capMs?: number;
  /** The boot deadline: no attempt starts and no wait runs past it. */
  signal?: AbortSignal;
  /** Decides whether an error is worth another try. */
  classify: (err: unknown) => RetryDecision;
  /** Called before each wait (for debug logs). */
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
  /** Random source in [0, 1), for tests. */
  random?: () => number;
}

/** Full-jitter exponential backoff: a uniform wait in [0, min(cap, base * 2^(attempt-1))). */
export function backoffMs(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `fn` until it succeeds, the error is not retryable, the attempts run out, or the signal
 * aborts. The last error is rethrown as is; an abort while waiting becomes an UnavailableError.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
  const baseMs = opts.baseMs ?? 250;
  const capMs = opts.capMs ?? 5000;
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw deadlineError(opts.signal);
    try {
      return await fn(attempt);
    } catch (err) {
      const decision = opts.classify(err);
      if (!decision.retry || attempt >= maxAttempts || opts.signal?.aborted) throw err;
      // A server-requested wait (Retry-After) is honoured as is; the deadline still bounds it.
      const wait = decision.afterMs ?? backoffMs(attempt, baseMs, capMs, opts.random);
      opts.onRetry?.(err, attempt, wait);
      try {
        await delay(wait, undefined, { signal: opts.signal });
      } catch {
        throw err;
      }
    }
  }
}

/** Parses `Retry-After` (seconds or an HTTP date) into ms; undefined when absent or junk. */
export function parseRetryAfter(
  value: string | undefined | null,
  now: number = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function deadlineError(signal: AbortSignal): UnavailableError {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'deadline exceeded';
  return new UnavailableError(`gave up: ${reason}`, 'provider.deadline');
}
