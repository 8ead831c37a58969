import { ConfigError } from '../../base/errors.ts';

/** Parses a boolean as Go's `strconv.ParseBool` does; anything else is a ConfigError. */
export function parseGoBool(value: string, name: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new ConfigError(`${name} must be a boolean (true/false/1/0), got "${value}"`, 'vault.badEnv', {
    variable: name,
  });
}

const durationUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses `30` (seconds) or a Go duration (`30s`, `1m30s`, `500ms`) into ms; must be > 0. */
export function parseDurationMs(value: string, name: string): number {
  const bad = () =>
    new ConfigError(`${name} must be a duration like 30 or 30s or 1m, got "${value}"`, 'vault.badEnv', {
      variable: name,
    });
  let ms: number;
  if (/^\d+$/.test(value)) {
    ms = Number(value) * 1000;
  } else {
    if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d))+$/.test(value)) throw bad();
    ms = 0;
    for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)) {
      ms += Number(m[1]) * (durationUnits[m[2] ?? ''] ?? 0);
    }
  }
  if (!(ms >= 1) || !Number.isFinite(ms)) throw bad();
  return Math.round(ms);
}

/** A whole number of at most four digits (`VAULT_MAX_RETRIES`); anything else is a ConfigError. */
export function parseUint(value: string, name: string): number {
  if (!/^\d{1,4}$/.test(value)) {
    throw new ConfigError(`${name} must be a whole number, got "${value}"`, 'vault.badEnv', {
      variable: name,
    });
  }
  return Number(value);
}
