import { UsageError } from '../base/errors.ts';
import { isValidEnvName } from '../refs/names.ts';
import { isRef } from '../refs/scheme.ts';

/**
 * Command-line values as commander parses them: each flag of the option table under its
 * camelCase name (`killTimeout`, `vaultAuthRole`; a `--no-x` flag is false when given), plus the
 * repeatable `env` (`--env NAME=REF`) and `import` (`--import [PREFIX=]REF`).
 */
export type Flags = Record<string, string | string[] | boolean | undefined> & {
  env?: string[];
  import?: string[];
};

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

/**
 * Parses a `NAME=REF` entry (`--file`); the message says what is expected, never the value.
 * @throws Error (callers wrap it with the flag's name).
 */
export function parseEntry(text: string): { name: string; ref: string } {
  const eq = text.indexOf('=');
  const name = eq === -1 ? '' : text.slice(0, eq);
  if (eq <= 0 || !isValidEnvName(name)) {
    const shown = eq === -1 ? '(no "=")' : JSON.stringify(name.slice(0, 40));
    throw new Error(`${shown}: expected NAME=REF with a variable name (e.g. TLS_KEY=vault:pki/app#key)`);
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
