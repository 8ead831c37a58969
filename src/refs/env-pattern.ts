import { UsageError } from '../base/errors.ts';

/**
 * Checks a `--keep` / `--drop` pattern: a variable name, optionally ending in `*` (`VAULT_*`),
 * or `*` alone.
 *
 * @throws UsageError `usage.badPattern`.
 */
export function checkEnvPattern(pattern: string): void {
  const body = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
  if ((body === '' && pattern !== '*') || body.includes('*') || body.includes('=') || /\s/.test(body)) {
    throw new UsageError(
      `bad variable pattern ${JSON.stringify(pattern)}: use a name (VAULT_TOKEN) or a prefix with a trailing * (VAULT_*)`,
      'usage.badPattern',
    );
  }
}
