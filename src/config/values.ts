import { constants as osConstants } from 'node:os';
import { durationMs } from '../base/duration.ts';

/** `exec`, `supervise` or `auto`. */
export type Mode = 'exec' | 'supervise' | 'auto';
/** Vault auth methods. */
export type VaultAuthMethod = 'token' | 'approle' | 'kubernetes' | 'jwt' | 'cert';
/** What to do when a watched secret changes. */
export type OnChange =
  | { action: 'restart' }
  | { action: 'signal'; signal: NodeJS.Signals }
  | { action: 'exit' }
  | { action: 'ignore' };

/** The longest timer Node allows: 2^31-1 ms, about 24 days (the default limit of a duration). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** The limit of durations that are compared, never waited for (`--max-age`): 3650 days. */
export const MAX_SPAN_MS = 3650 * 86_400_000;

/**
 * Parses a duration into milliseconds (grammar: base/duration.ts): `90` is seconds, `500ms`,
 * `30s`, `1h30m`, `7d`. At most `maxMs`: by default 2^31-1 ms (about 24 days, the longest timer
 * Node allows); {@link MAX_SPAN_MS} for durations that are only compared (ages, validity).
 *
 * @throws Error with a message saying what is accepted (callers wrap it in Config/UsageError).
 */
export function parseDuration(text: string | number, maxMs: number = MAX_TIMER_MS): number {
  const parsed = durationMs(text);
  if (parsed === undefined || (typeof text === 'string' && /[nuµ]s/.test(text))) {
    throw new Error(
      `must be a duration like 30s, 500ms, 5m, 1h30m or 7d (a bare number is seconds), got ${JSON.stringify(String(text).slice(0, 40))}`,
    );
  }
  const ms = Math.round(parsed);
  if (ms > maxMs) {
    const limit = maxMs === MAX_TIMER_MS ? '596h, about 24 days' : `${Math.floor(maxMs / 86_400_000)}d`;
    throw new Error(`is too long (at most ${limit}), got ${String(text)}`);
  }
  return ms;
}

/**
 * Parses a boolean strictly: true/false, 1/0, yes/no (any case).
 *
 * @throws Error naming what is accepted.
 */
export function parseBoolean(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === 'true' || t === '1' || t === 'yes') return true;
  if (t === 'false' || t === '0' || t === 'no') return false;
  throw new Error(`must be true or false (also 1/0, yes/no), got ${JSON.stringify(text.slice(0, 40))}`);
}

/**
 * Parses `restart`, `exit`, `ignore` or `signal:SIGxxx` (a signal this platform knows).
 *
 * @throws Error naming what is accepted.
 */
export function parseOnChange(text: string): OnChange {
  if (text === 'restart' || text === 'exit' || text === 'ignore') return { action: text };
  const m = /^signal:(SIG[A-Z0-9]+)$/.exec(text);
  if (m && (m[1] === 'SIGKILL' || m[1] === 'SIGSTOP')) {
    throw new Error(`signal:${m[1]} cannot be caught by the service; use restart or exit`);
  }
  if (m && Object.hasOwn(osConstants.signals, m[1] ?? '')) {
    return { action: 'signal', signal: m[1] as NodeJS.Signals };
  }
  throw new Error(
    `must be restart, exit, ignore or signal:<SIGNAL> with a known signal (e.g. signal:SIGHUP), got ${JSON.stringify(text.slice(0, 40))}`,
  );
}
