/**
 * The one poll helper: waits for a condition by checking it repeatedly until a generous deadline,
 * never by sleeping a fixed time. A busy machine only makes it slower, never wrong.
 */

/** Default deadline: long enough for a loaded 2-core machine, reached only when a test fails. */
export const POLL_TIMEOUT_MS = 30_000;

/**
 * Resolves with the first value `probe` returns that is not undefined (or false); rejects after
 * `timeoutMs` with `what` (a function is called then, e.g. to kill a process and describe it).
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = POLL_TIMEOUT_MS,
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until `check` is true (see {@link waitFor}). */
export async function until(
  what: string | (() => string),
  check: () => boolean | Promise<boolean>,
  timeoutMs = POLL_TIMEOUT_MS,
): Promise<void> {
  await waitFor(what, async () => (await check()) || undefined, timeoutMs);
}
