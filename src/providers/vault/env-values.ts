import { durationMs } from '../../base/duration.ts';
import { ConfigError } from '../../base/errors.ts';

/** Parses a boolean as Go's `strconv.ParseBool` does; anything else is a ConfigError. */
export function parseGoBool(value: string, name: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new ConfigError(`${name} must be a boolean (true/false/1/0), got "${value}"`, 'vault.badEnv', {
    variable: name,
  });
}

/** Parses `30` (seconds) or a Go duration (`30s`, `1m30s`, `500ms`) into ms; must be > 0. */
export function parseDurationMs(value: string, name: string): number {
  const ms = durationMs(value);
  if (ms === undefined || !(ms >= 1)) {
    throw new ConfigError(`${name} must be a duration like 30 or 30s or 1m, got "${value}"`, 'vault.badEnv', {
      variable: name,
    });
  }
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
