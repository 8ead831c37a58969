import { setTimeout as delay } from 'node:timers/promises';
import { clampTimerMs } from '../base/deadline.ts';
import type { Logger } from '../base/log.ts';
import { onBootStop } from './stop-signals.ts';

/**
 * `--boot-splay`: waits a uniform random time in [0, maxMs) before the first request, so a fleet
 * started at once does not reach the secrets manager at once. A stop signal ends the wait. The
 * boot deadline (`--timeout`) starts after it. Resolves with the time waited, in ms.
 */
export async function bootSplay(
  maxMs: number,
  logger: Logger,
  random: () => number = Math.random,
): Promise<number> {
  if (maxMs <= 0) return 0;
  const waitMs = clampTimerMs(Math.floor(random() * maxMs));
  logger.info(`boot splay: waiting ${(waitMs / 1000).toFixed(1)} s before the first request`);
  const stop = new AbortController();
  const unsubscribe = onBootStop(() => stop.abort());
  try {
    await delay(waitMs, undefined, { signal: stop.signal });
  } catch {
    // Stopped: the caller sees the signal and starts nothing.
  } finally {
    unsubscribe();
  }
  return waitMs;
}
