import { ConfigError, UsageError } from '../base/errors.ts';
import { checkEnvPattern } from '../refs/env-pattern.ts';
import type { LoadedConfig } from './file.ts';
import { fileLine } from './file-line.ts';

/** A value source (file, `SECRUN_*` variables, flags): how to report a bad value. */
export interface Source {
  fail(what: string, message: string): never;
}

/** `SECRUN_*` variables: a bad value is a ConfigError `config.env` naming the variable. */
export const envSource: Source = {
  fail(what, message) {
    throw new ConfigError(`${what} ${message}`, 'config.env');
  },
};

/** Flags: a bad value is a UsageError `usage.invalid` naming the flag. */
export const flagSource: Source = {
  fail(what, message) {
    throw new UsageError(`${what} ${message}`, 'usage.invalid');
  },
};

/** The config file: a bad value is a ConfigError `config.invalid` naming the file, line and key path. */
export function fileSource(loaded: LoadedConfig | undefined): Source {
  return {
    fail(what, message) {
      const line = loaded?.lineOf(what.split('.'));
      const where = loaded ? `${fileLine(loaded.file, line)}: ` : '';
      throw new ConfigError(`${where}${what}: ${message}`, 'config.invalid');
    },
  };
}

/** Runs a parser; its error becomes the source's error for `what`. */
export function wrap<T>(source: Source, what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    return source.fail(what, (err as Error).message);
  }
}

/** The value when it is one of `allowed`, else the source's error for `what`. */
export function oneOf<T extends string>(
  source: Source,
  what: string,
  value: string,
  allowed: readonly string[],
): T {
  if (!allowed.includes(value)) {
    source.fail(what, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value.slice(0, 40))}`);
  }
  return value as T;
}

/** A `keep` / `drop` pattern when valid. @throws Error naming what is accepted. */
export function checkPattern(pattern: string): string {
  try {
    checkEnvPattern(pattern);
  } catch {
    throw new Error(
      `${JSON.stringify(pattern)} is not a variable name or a prefix ending in * (e.g. VAULT_*)`,
    );
  }
  return pattern;
}
