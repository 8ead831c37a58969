import type { Clock } from '../../src/supervise/lease-schedule.ts';

/** One timer set on a {@link ManualClock}. */
export interface ManualTimer {
  id: number;
  /** The delay it was set with (ms). */
  ms: number;
  fn: () => void;
}

/**
 * A clock whose timers fire only when a test fires them: schedules are asserted as the delays
 * they were set with, never measured against the wall clock.
 */
export class ManualClock implements Clock {
  #now = Date.now();
  #next = 0;
  readonly #timers = new Map<number, ManualTimer>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#next;
    this.#timers.set(id, { id, ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** The timers still pending, oldest first. */
  pending(): ManualTimer[] {
    return [...this.#timers.values()];
  }

  /** Fires `timer` now, moving the clock forward by its delay. */
  fire(timer: ManualTimer): void {
    if (!this.#timers.delete(timer.id)) throw new Error(`timer ${timer.id} is not pending`);
    this.#now += timer.ms;
    timer.fn();
  }
}
