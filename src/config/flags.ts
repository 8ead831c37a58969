import { UsageError } from '../base/errors.ts';
import { isValidEnvName } from '../refs/names.ts';
import { isRef } from '../refs/scheme.ts';
import type { VaultAuthSettings } from './settings.ts';

/** Command-line options as the CLI hands them over (strings as typed; validated here). */
export interface Flags {
  config: string;
  /** `--env NAME=REF`, repeatable. */
  env: string[];
  /** `--import [PREFIX=]REF`, repeatable. */
  import: string[];
  /** False for `--no-env-refs`. Pass it only when the flag was given (commander defaults it to true). */
  envRefs: boolean;
  mode: string;
  pristine: boolean;
  keep: string[];
  drop: string[];
  timeout: string;
  killTimeout: string;
  logLevel: string;
  logFormat: string;
  quiet: boolean;
  onChange: string;
  watch: string;
  mask: boolean;
  allowInsecureHttp: boolean;
  splay: string;
  /** `--vault-auth-<key>` flags (mirror `vault.auth`); credentials only as file or variable names. */
  vaultAuth: Partial<Record<keyof VaultAuthSettings, string | boolean>>;
  /** False for `--no-revoke`. Pass it only when the flag was given. */
  revoke: boolean;
  audit: string;
}

/** Parses `--env NAME=REF`. @throws UsageError `usage.badEnv`. */
export function parseEnvFlag(text: string): { name: string; ref: string } {
  const eq = text.indexOf('=');
  const name = eq === -1 ? '' : text.slice(0, eq);
  if (eq <= 0 || !isValidEnvName(name)) {
    // Only the name part is shown: the value may be a secret typed by mistake.
    const shown = eq === -1 ? '(no "=")' : JSON.stringify(name.slice(0, 40));
    throw new UsageError(
      `--env ${shown}: expected NAME=REF with a variable name (e.g. DB_PASSWORD=vault:secret/app#password)`,
      'usage.badEnv',
    );
  }
  return { name, ref: text.slice(eq + 1) };
}

/** Parses `--import REF` or `--import PREFIX=REF`. @throws UsageError `usage.badImport`. */
export function parseImportFlag(text: string): { ref: string; prefix?: string } {
  if (isRef(text)) return { ref: text };
  const eq = text.indexOf('=');
  const prefix = eq === -1 ? '' : text.slice(0, eq);
  const ref = text.slice(eq + 1);
  if (eq === -1 || !isRef(ref) || (prefix !== '' && !isValidEnvName(prefix))) {
    const shown = isRef(ref) ? JSON.stringify(text.slice(0, 80)) : '(not a reference)';
    throw new UsageError(
      `--import ${shown}: expected REF or PREFIX=REF (e.g. APP_=vault:secret/app)`,
      'usage.badImport',
    );
  }
  return { ref, prefix };
}
