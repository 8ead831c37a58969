import type { Logger } from './log.ts';

/** Seconds for people: `1.4 s`. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A long boot is visible: each wait is logged at info ("Vault at https://... refused the
 * connection; retrying in 1.4 s, 51 s left"), at most once per `everyMs` for the same reason,
 * so a thousand requests waiting at once print one line, not a thousand. Never a value.
 */
export function createRetryAnnouncer(
  logger: Logger,
  opts: { everyMs?: number; now?: () => number } = {},
): (what: string, waitMs: number, leftMs: number | undefined) => void {
  const everyMs = opts.everyMs ?? 1000;
  const now = opts.now ?? Date.now;
  const last = new Map<string, number>();
  return (what, waitMs, leftMs) => {
    const t = now();
    const previous = last.get(what);
    if (previous !== undefined && t - previous < everyMs) return;
    last.set(what, t);
    const left = leftMs === undefined ? '' : `, ${Math.max(0, Math.round(leftMs / 1000))} s left`;
    logger.info(`${what}; retrying in ${seconds(waitMs)}${left}`);
  };
}
