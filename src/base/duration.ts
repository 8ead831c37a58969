/**
 * The one duration grammar: a bare number is seconds (`90`), else one or more `<number><unit>`
 * with units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, `d` (`500ms`, `1.5s`, `1h30m`, `7d`), as Go's
 * time.ParseDuration reads them plus days (Vault accepts `d` in TTLs).
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const TERM = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/y;

/** Milliseconds (not rounded), or undefined when `text` is not a duration. Numbers are seconds. */
export function durationMs(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text * 1000 : undefined;
  const s = text.trim();
  if (s === '') return undefined;
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  TERM.lastIndex = 0;
  let total = 0;
  let pos = 0;
  for (let m = TERM.exec(s); m; m = TERM.exec(s)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? Number.NaN);
    pos = TERM.lastIndex;
  }
  return pos === s.length && Number.isFinite(total) ? total : undefined;
}

const SPAN_UNITS: Array<[string, number]> = [
  ['d', 86_400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
];

/**
 * The one way secrun prints a duration in seconds: the largest unit that counts at least 2
 * (`90d`, `36h`, `45m`, `30s`), rounded down, with the next unit's remainder while the count is
 * under 10 (`3d12h`, `6m30s`), so a threshold reads as given and nothing non-zero shows as 0.
 */
export function formatDuration(seconds: number): string {
  const s = Math.floor(Math.abs(seconds));
  const sign = seconds < 0 && s > 0 ? '-' : '';
  const at = SPAN_UNITS.findIndex(([, size]) => s >= 2 * size);
  if (at === -1) return `${sign}${s}s`;
  const [unit, size] = SPAN_UNITS[at] as [string, number];
  const count = Math.floor(s / size);
  let text = `${count}${unit}`;
  const next = SPAN_UNITS[at + 1];
  if (next && count < 10) {
    const rest = Math.floor((s - count * size) / next[1]);
    if (rest > 0) text += `${rest}${next[0]}`;
  }
  return `${sign}${text}`;
}
