import { setTimeout as delay } from 'node:timers/promises';
import { abortWords, clampTimerMs, timeLeft } from './deadline.ts';
import { UnavailableError } from './errors.ts';

/** How a failed attempt should be treated. */
export interface RetryDecision {
  retry: boolean;
  /** Server-requested wait (Retry-After), in ms. */
  afterMs?: number;
}

export interface RetryOptions {
  /**
   * Total tries, including the first. Default: unlimited until the signal's boot deadline (see
   * `startDeadline`) when it has one, else 4.
   */
  maxAttempts?: number;
  /** First backoff ceiling in ms (default 250); doubles each attempt. */
  baseMs?: number;
  /** Longest single wait in ms (default 5000). */
  capMs?: number;
  /** The boot deadline: no attempt starts and no wait runs past it. */
  signal?: AbortSignal;
  /** Decides whether an error is worth another try. */
  classify: (err: unknown) => RetryDecision;
  /** Called before each wait; `leftMs` is the time left before the deadline, when it has one. */
  onRetry?: (err: unknown, attempt: number, waitMs: number, leftMs: number | undefined) => void;
  /** Random source in [0, 1), for tests. */
  random?: () => number;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
  /** The wait itself, for tests; must reject when the signal aborts. */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

/** Longest wait when the signal has no deadline, whatever a server's Retry-After asks. */
export const NO_DEADLINE_MAX_WAIT_MS = 60_000;

/** Tries when the caller sets no limit and the signal has no deadline. */
export const DEFAULT_MAX_ATTEMPTS = 4;

/** Full-jitter exponential backoff: a uniform wait in [0, min(cap, base * 2^(attempt-1))). */
export function backoffMs(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.floor(random() * ceiling);
}

/**
 * The wait before the next try. A server-requested wait (Retry-After) is honoured, plus the
 * jittered backoff so a fleet told "1 second" does not come back in the same instant; no wait
 * runs past the deadline or overflows Node's timers.
 */
export function retryWaitMs(o: {
  attempt: number;
  afterMs?: number;
  leftMs?: number;
  baseMs: number;
  capMs: number;
  random?: () => number;
}): number {
  const jitter = backoffMs(o.attempt, o.baseMs, o.capMs, o.random);
  const after = o.afterMs === undefined || Number.isNaN(o.afterMs) ? 0 : Math.max(0, o.afterMs);
  const wait = after + jitter;
  return clampTimerMs(Math.min(wait, o.leftMs ?? NO_DEADLINE_MAX_WAIT_MS));
}

/**
 * Runs `fn` until it succeeds, the error is not retryable, the attempts run out, or the signal
 * aborts. The last error is rethrown as is; an abort before the first try becomes an
 * UnavailableError.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const now = opts.now ?? Date.now;
  const hasDeadline = timeLeft(opts.signal, now()) !== undefined;
  const maxAttempts = Math.max(
    1,
    opts.maxAttempts ?? (hasDeadline ? Number.POSITIVE_INFINITY : DEFAULT_MAX_ATTEMPTS),
  );
  const baseMs = opts.baseMs ?? 250;
  const capMs = opts.capMs ?? 5000;
  const sleep = opts.sleep ?? ((ms, signal) => delay(ms, undefined, signal ? { signal } : {}));
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw deadlineError(opts.signal);
    try {
      return await fn(attempt);
    } catch (err) {
      const decision = opts.classify(err);
      if (!decision.retry || attempt >= maxAttempts || opts.signal?.aborted) throw err;
      const leftMs = timeLeft(opts.signal, now());
      if (leftMs === 0) throw err;
      const wait = retryWaitMs({
        attempt,
        afterMs: decision.afterMs,
        leftMs,
        baseMs,
        capMs,
        random: opts.random,
      });
      opts.onRetry?.(err, attempt, wait, leftMs);
      try {
        await sleep(wait, opts.signal);
      } catch {
        throw err;
      }
      // A wait clamped to the deadline ends there: no try starts at the edge of it.
      if (leftMs !== undefined && wait >= leftMs) throw err;
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
  if (/^\d+$/.test(trimmed)) return clampTimerMs(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : clampTimerMs(date - now);
}

function deadlineError(signal: AbortSignal): UnavailableError {
  return new UnavailableError(`gave up: ${abortWords(signal)}`, 'provider.deadline');
}
