import { durationMs } from '../../base/duration.ts';

/** Parses Vault durations into whole seconds: integer seconds, or `90`, `60s`, `5m`, `1h30m`, `2d`. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const ms = durationMs(v);
  return ms === undefined ? undefined : Math.floor(ms / 1000);
}

/** Formats whole seconds the way Go's time.Duration prints them (`1h0m0s`, `59m50s`, `5s`). */
export function goDuration(seconds: number): string {
  if (seconds <= 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** sdk/framework/lease.go humanDuration: Go's text without zero minutes/seconds (`10h`, `1h30s`, `1m`). */
export function humanDuration(seconds: number): string {
  let s = goDuration(seconds);
  if (s.endsWith('m0s')) s = s.slice(0, -2);
  const idx = s.indexOf('h0m');
  if (idx > 0) s = s.slice(0, idx + 1) + s.slice(idx + 3);
  return s;
}

/** RFC 3339 as Go's RFC3339Nano prints times: fraction without trailing zeros, none when whole. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_, f: string) => {
    const trimmed = f.replace(/0+$/, '');
    return trimmed === '' ? 'Z' : `.${trimmed}Z`;
  });
}

/** Vault's CalculateTTL cap warning. */
export function capWarning(requested: number, remaining: number): string {
  return `TTL of "${humanDuration(requested)}" exceeded the effective max_ttl of "${humanDuration(remaining)}"; TTL value is capped accordingly`;
}
