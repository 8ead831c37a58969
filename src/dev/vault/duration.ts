/** Parses Vault durations: integer seconds, or strings like `90`, `60s`, `5m`, `1h30m`, `2d`. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === '') return undefined;
  if (/^\d+$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  let pos = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * unit[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === s.length ? Math.floor(total) : undefined;
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

/** RFC3339 with nanoseconds, as Go prints times (`2024-01-02T03:04:05.123000000Z`). */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** Vault's CalculateTTL cap warning. */
export function capWarning(requested: number, remaining: number): string {
  return `TTL of "${goDuration(requested)}" exceeded the effective max_ttl of "${goDuration(remaining)}"; TTL value is capped accordingly`;
}
