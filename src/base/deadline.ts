/** The boot deadline: an AbortSignal that knows when it fires, so retries can use what is left. */

const deadlines = new WeakMap<AbortSignal, { at: number; label: string }>();

/** Why a boot gave up: the deadline, or a stop signal from the orchestrator. */
export class DeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeadlineError';
  }
}

/** A boot deadline and the means to stop it early. */
export interface Deadline {
  /** Aborts at the deadline (reason: DeadlineError naming `--timeout`) or on {@link Deadline.stop}. */
  readonly signal: AbortSignal;
  /** Epoch ms at which the deadline fires. */
  readonly at: number;
  /** Aborts now (a stop signal during boot); the reason's message is `why`. */
  stop(why: string): void;
  /** Clears the timer. */
  dispose(): void;
}

/**
 * Starts a deadline of `ms` from now. `label` names the setting in messages (`--timeout 60s`):
 * "gave up: deadline exceeded (--timeout 60s)". The timer does not keep the process alive.
 */
export function startDeadline(ms: number, label: string, now: () => number = Date.now): Deadline {
  const controller = new AbortController();
  const at = now() + ms;
  const timer = setTimeout(
    () => controller.abort(new DeadlineError(`deadline exceeded (${label})`)),
    clampTimerMs(ms),
  );
  timer.unref();
  deadlines.set(controller.signal, { at, label });
  return {
    signal: controller.signal,
    at,
    stop: (why) => {
      clearTimeout(timer);
      if (!controller.signal.aborted) controller.abort(new DeadlineError(why));
    },
    dispose: () => clearTimeout(timer),
  };
}

/** Registers a signal made elsewhere (tests, a supervisor's own timeout) as ending at `at`. */
export function registerDeadline(signal: AbortSignal, at: number, label = 'deadline'): void {
  deadlines.set(signal, { at, label });
}

/** Milliseconds left before `signal`'s deadline (0 once past), or undefined when it has none. */
export function timeLeft(signal: AbortSignal | undefined, now: number = Date.now()): number | undefined {
  if (!signal) return undefined;
  const d = deadlines.get(signal);
  return d === undefined ? undefined : Math.max(0, d.at - now);
}

/** Words for an aborted signal: its reason's message (a DeadlineError's), else "deadline exceeded". */
export function abortWords(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && reason.name !== 'AbortError' && reason.name !== 'TimeoutError') {
    return reason.message;
  }
  return 'deadline exceeded';
}

/** Node's timers hold at most 2^31-1 ms; beyond that they fire at once with a warning. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` as a safe timer delay: finite, 0..MAX_TIMER_MS. */
export function clampTimerMs(ms: number): number {
  if (!Number.isFinite(ms)) return ms > 0 ? MAX_TIMER_MS : 0;
  return Math.min(MAX_TIMER_MS, Math.max(0, Math.round(ms)));
}

/** A duration as a person writes it: `500ms`, `60s`, `1.5s`, `2m`. */
export function showDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Number((ms / 1000).toFixed(3))}s`;
}
