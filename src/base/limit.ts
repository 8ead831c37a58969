/**
 * Requests one provider has in flight at once. Enough to read a large service's secrets in a few
 * round trips; small enough that a fleet of agents does not open hundreds of connections each.
 */
export const MAX_CONCURRENT_REQUESTS = 16;

/**
 * A concurrency limit: at most `max` calls of the returned function run at once, the others wait
 * in arrival order. A waiting call whose work is abandoned still runs when its turn comes (the
 * caller's signal makes it fail fast).
 */
export function createLimiter(max: number): <T>(fn: () => Promise<T>) => Promise<T> {
  if (!Number.isInteger(max) || max < 1) throw new TypeError(`max must be an integer >= 1, got ${max}`);
  let running = 0;
  const queue: Array<() => void> = [];
  const release = (): void => {
    running--;
    const next = queue.shift();
    if (next) {
      running++;
      next();
    }
  };
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= max) {
      await new Promise<void>((resolve) => queue.push(resolve));
    } else {
      running++;
    }
    try {
      return await fn();
    } finally {
      release();
    }
  };
}
