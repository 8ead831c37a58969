/**
 * When to act on changed secrets: changes within the coalescing window become one action, which
 * waits a random splay — but never past the moment the credentials the child holds expire.
 * Actions run one at a time.
 */
import { errorFields } from '../base/error-fields.ts';
import type { SuperviseContext } from './context.ts';

/** Default window in which changes are merged into one action (ms). */
export const DEFAULT_COALESCE_MS = 1500;

/**
 * Delay before acting on a change: the coalescing window plus a random splay, but never later
 * than `untilDeadlineMs` (time left before the credentials the child holds expire, minus the
 * time a restart needs), so a splay cannot outlast a dying lease.
 */
export function actionDelayMs(o: {
  coalesceMs: number;
  splayMs: number;
  random?: () => number;
  untilDeadlineMs?: number;
}): number {
  const random = o.random ?? Math.random;
  const wanted = Math.max(0, o.coalesceMs) + Math.max(0, o.splayMs) * random();
  const delay = o.untilDeadlineMs === undefined ? wanted : Math.min(wanted, Math.max(0, o.untilDeadlineMs));
  return Math.round(delay);
}

/** Changes merged into one action. */
export interface PendingChange {
  variables: Set<string>;
  reasons: Set<string>;
  fireAt: number;
}

export interface ChangeSchedulerOptions {
  coalesceMs: number;
  splayMs: number;
  /** Time a stop may take; the action starts at least this long before the old credentials expire. */
  killTimeoutMs: number;
  /** Applies a batch of changes; a failure is logged. */
  act(change: PendingChange): Promise<void>;
}

/** Coalesces, splays and serializes the `on_change` actions of one run. */
export class ChangeScheduler {
  readonly #ctx: SuperviseContext;
  readonly #o: ChangeSchedulerOptions;
  #change: PendingChange | undefined;
  #timer: unknown;
  #chain: Promise<void> = Promise.resolve();

  constructor(ctx: SuperviseContext, o: ChangeSchedulerOptions) {
    this.#ctx = ctx;
    this.#o = o;
    ctx.onEnd(() => {
      ctx.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    });
  }

  /** Settles once every action started so far has. */
  settled(): Promise<void> {
    return this.#chain;
  }

  /**
   * Schedules (or joins) an action for changed `variables`; `expiresAt` is when the credentials
   * the child holds expire, if they do.
   */
  note(variables: readonly string[], reason: string, expiresAt: number | undefined): void {
    const { clock, random } = this.#ctx;
    const now = clock.now();
    // Act before the credentials the child holds expire, leaving the kill timeout for the stop.
    const untilDeadlineMs = expiresAt === undefined ? undefined : expiresAt - now - this.#o.killTimeoutMs;
    const change = this.#change;
    if (change) {
      for (const v of variables) change.variables.add(v);
      change.reasons.add(reason);
      if (untilDeadlineMs === undefined || now + Math.max(0, untilDeadlineMs) >= change.fireAt) return;
      change.fireAt = now + Math.max(0, untilDeadlineMs);
    } else {
      const delay = actionDelayMs({
        coalesceMs: this.#o.coalesceMs,
        splayMs: this.#o.splayMs,
        random,
        ...(untilDeadlineMs !== undefined ? { untilDeadlineMs } : {}),
      });
      this.#change = { variables: new Set(variables), reasons: new Set([reason]), fireAt: now + delay };
    }
    clock.clearTimeout(this.#timer);
    this.#timer = clock.setTimeout(() => this.#fire(), Math.max(0, (this.#change?.fireAt ?? now) - now));
  }

  #fire(): void {
    this.#timer = undefined;
    const change = this.#change;
    this.#change = undefined;
    if (!change || this.#ctx.finished) return;
    this.#chain = this.#chain
      .then(() => this.#o.act(change))
      .catch((err: unknown) => this.#ctx.log.error('could not apply on_change', errorFields(err)));
  }
}
