import { constants as osConstants } from 'node:os';

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

const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * Parses a duration into milliseconds: a bare number is seconds (`90`), else one or more
 * `<number><unit>` with units `ms`, `s`, `m`, `h` (`500ms`, `30s`, `1.5s`, `1h30m`).
 * At most 2^31-1 ms (about 24 days, the longest timer Node allows).
 *
 * @throws Error with a message saying what is accepted (callers wrap it in Config/UsageError).
 */
export function parseDuration(text: string | number): number {
  const bad = (): Error =>
    new Error(
      `must be a duration like 30s, 500ms, 5m or 1h30m (a bare number is seconds), got ${JSON.stringify(String(text).slice(0, 40))}`,
    );
  let ms: number;
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw bad();
    ms = text * 1000;
  } else {
    const trimmed = text.trim();
    if (/^\d+$/.test(trimmed)) {
      ms = Number(trimmed) * 1000;
    } else {
      if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(trimmed)) throw bad();
      const factor: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
      ms = 0;
      for (const m of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
        ms += Number(m[1]) * (factor[m[2] ?? 's'] ?? 1);
    }
  }
  ms = Math.round(ms);
  if (ms > MAX_DURATION_MS) throw new Error(`is too long (at most 596h, about 24 days), got ${String(text)}`);
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
