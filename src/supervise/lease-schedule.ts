/**
 * When to renew a lease (or the agent's token) and when to give up renewing and fetch a fresh one.
 *
 * The numbers follow Vault's LifetimeWatcher and Vault Agent templating (vault-api.md section 6,
 * reliability-security.md section 3): renew at about 2/3 of the lease, keep a grace period of
 * 10-20 % of the lease at the end for the re-read and its retries, re-read non-renewable leases at
 * about 85 %. The schedule math is pure; {@link LeaseKeeper} applies it with an injectable clock.
 */

/** Time and timers, injectable so tests can drive the schedule without waiting. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Renewal point, as a fraction of the lease duration. */
export const RENEW_FRACTION = 2 / 3;
/** Jitter around {@link RENEW_FRACTION}: plus or minus this fraction of the duration. */
export const RENEW_JITTER = 0.05;
/** The grace period at the end of a lease is this fraction of its duration, at least... */
export const GRACE_MIN = 0.1;
/** ...and at most this fraction (uniformly random in between). */
export const GRACE_MAX = 0.2;
/** Longest wait between two renewal or re-read retries. */
export const RETRY_CAP_MS = 5 * 60_000;

/** What a renewal returned (a lease renewal or the token's renew-self). */
export interface Renewal {
  /** New duration in seconds. */
  duration: number;
  renewable: boolean;
  /** Server warnings; the max-TTL cap warning means "fetch a fresh one instead". */
  warnings: string[];
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * Delay from now until the next renewal of a lease that has `durationSec` left: 2/3 of it,
 * give or take {@link RENEW_JITTER} (about 62-72 %), so a fleet does not renew in step.
 */
export function renewDelayMs(durationSec: number, random: () => number = Math.random): number {
  const fraction = RENEW_FRACTION + (random() * 2 - 1) * RENEW_JITTER;
  return Math.max(0, Math.round(durationSec * 1000 * fraction));
}

/**
 * The grace period kept at the end of a lease of `durationSec` for the re-read, its retries and
 * the child's restart: uniformly 10-20 % of the duration (LifetimeWatcher's grace).
 */
export function graceMs(durationSec: number, random: () => number = Math.random): number {
  return Math.round(durationSec * 1000 * (GRACE_MIN + (GRACE_MAX - GRACE_MIN) * random()));
}

/**
 * Delay from now until a document must be re-read: the moment its lease has only the grace
 * period left, or at once when that moment has passed. For a fresh non-renewable lease
 * (`remaining == duration`) this is 80-90 % of the duration, i.e. "about 85 %".
 * @param remainingMs time the lease has left
 * @param grace the lease's grace period ({@link graceMs})
 */
export function rereadDelayMs(remainingMs: number, grace: number): number {
  return Math.max(0, Math.round(remainingMs - grace));
}

/**
 * True when a renewal did not give what was asked: a shorter duration (the max-TTL cap), a
 * warning, or a lease that is no longer renewable. Vault's rule: fetch a fresh credential before
 * expiry instead of renewing again (vault-api.md section 3.2).
 */
export function isCapped(askedSec: number, renewal: Renewal): boolean {
  return renewal.duration < askedSec || renewal.warnings.length > 0 || !renewal.renewable;
}

/**
 * Wait before retry number `attempt` (1 = first retry) after a failed renewal or re-read of a
 * lease of `durationSec`: exponential from 1/30 of the lease (100 ms to 10 s; 10 s is
 * LifetimeWatcher's start for hour-long leases), capped at {@link RETRY_CAP_MS} and a quarter of
 * the lease, with jitter (50-100 % of the step).
 */
export function retryDelayMs(
  attempt: number,
  durationSec: number,
  random: () => number = Math.random,
): number {
  const lease = Math.max(1, durationSec) * 1000;
  const base = clamp(lease / 30, 100, 10_000);
  const cap = clamp(lease / 4, base, RETRY_CAP_MS);
  const step = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(step * (0.5 + 0.5 * random()));
}

/** What to do after a renewal failed. */
export type FailurePlan = { next: 'retry'; delayMs: number } | { next: 'replace'; delayMs: number };

/**
 * After a failed renewal: retry with backoff while the retry still lands before the re-read
 * point (expiry minus grace); otherwise, or for a permanent failure (lease gone, past the max
 * TTL, permission denied), re-read — at the re-read point, or at once for a permanent failure.
 */
export function planAfterFailure(o: {
  now: number;
  expiresAt: number;
  grace: number;
  attempt: number;
  durationSec: number;
  permanent: boolean;
  random?: () => number;
}): FailurePlan {
  if (o.permanent) return { next: 'replace', delayMs: 0 };
  const rereadAt = o.expiresAt - o.grace;
  const delay = retryDelayMs(o.attempt, o.durationSec, o.random);
  if (o.now + delay < rereadAt) return { next: 'retry', delayMs: delay };
  return { next: 'replace', delayMs: Math.max(0, rereadAt - o.now) };
}

/** Why a {@link LeaseKeeper} stopped renewing and asked for a fresh lease or token. */
export type ReplaceReason = 'capped' | 'not-renewable' | 'renew-failed';

/** Options of {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  /** Duration of the lease (or token TTL) when it was obtained, in seconds. Asked for at each renewal. */
  durationSec: number;
  renewable: boolean;
  /** Renews; `incrementSec` is the original duration. */
  renew(incrementSec: number, signal: AbortSignal): Promise<Renewal>;
  /** Called once, when it is time for a fresh lease (re-read) or token (re-login). */
  replace(reason: ReplaceReason): void;
  /** True for failures that retrying cannot fix (lease gone, past max TTL, 4xx). */
  isPermanent(err: unknown): boolean;
  onRenewed?(renewal: Renewal, info: { askedSec: number; capped: boolean }): void;
  onRenewFailed?(err: unknown, info: { attempt: number; plan: FailurePlan }): void;
  clock?: Clock;
  random?: () => number;
}

/**
 * Keeps one lease (or the agent's token) alive: renews it at about 2/3 of its duration asking for
 * the original duration, and calls `replace` once — inside the grace period at the end of its
 * life — when it cannot be renewed any more (capped by max TTL, not renewable, or renewal kept
 * failing). A lease with no duration never expires and is left alone.
 */
export class LeaseKeeper {
  readonly #o: LeaseKeeperOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #grace: number;
  #expiresAt: number;
  #timer: unknown;
  #abort = new AbortController();
  #stopped = false;
  #attempt = 0;

  constructor(opts: LeaseKeeperOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? Math.random;
    this.#grace = graceMs(opts.durationSec, this.#random);
    this.#expiresAt = this.#clock.now() + opts.durationSec * 1000;
  }

  /** When the lease expires as far as the keeper knows (ms since the epoch). */
  get expiresAt(): number {
    return this.#expiresAt;
  }

  /** True once stopped or once `replace` was called. */
  get done(): boolean {
    return this.#stopped;
  }

  /** Schedules the first renewal (or the re-read of a non-renewable lease). */
  start(): void {
    if (this.#stopped || this.#o.durationSec <= 0) return;
    if (this.#o.renewable) this.#at(renewDelayMs(this.#o.durationSec, this.#random), () => this.#renew());
    else this.#replaceAt(this.#remaining(), 'not-renewable');
  }

  /** Cancels the timer and any renewal in flight. Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
  }

  #remaining(): number {
    return rereadDelayMs(this.#expiresAt - this.#clock.now(), this.#grace);
  }

  #at(ms: number, fn: () => void): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (!this.#stopped) fn();
    }, ms);
  }

  #replaceAt(ms: number, reason: ReplaceReason): void {
    this.#at(ms, () => {
      this.#stopped = true;
      this.#o.replace(reason);
    });
  }

  async #renew(): Promise<void> {
    const asked = this.#o.durationSec;
    this.#attempt++;
    let renewal: Renewal;
    try {
      renewal = await this.#o.renew(asked, this.#abort.signal);
    } catch (err) {
      if (this.#stopped) return;
      const plan = planAfterFailure({
        now: this.#clock.now(),
        expiresAt: this.#expiresAt,
        grace: this.#grace,
        attempt: this.#attempt,
        durationSec: asked,
        permanent: this.#o.isPermanent(err),
        random: this.#random,
      });
      this.#o.onRenewFailed?.(err, { attempt: this.#attempt, plan });
      if (plan.next === 'retry') this.#at(plan.delayMs, () => this.#renew());
      else this.#replaceAt(plan.delayMs, 'renew-failed');
      return;
    }
    if (this.#stopped) return;
    this.#attempt = 0;
    this.#expiresAt = this.#clock.now() + renewal.duration * 1000;
    const capped = isCapped(asked, renewal);
    this.#o.onRenewed?.(renewal, { askedSec: asked, capped });
    if (capped) this.#replaceAt(this.#remaining(), renewal.renewable ? 'capped' : 'not-renewable');
    else this.#at(renewDelayMs(renewal.duration, this.#random), () => this.#renew());
  }
}
