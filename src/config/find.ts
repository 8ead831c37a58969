import { existsSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { ConfigError } from '../base/errors.ts';

/** Where a config file comes from, in order: `--config`, `SECRUN_CONFIG`, `./secrun.yaml` or `./secrun.yml`. */
export interface FindConfigOptions {
  /** `--config <file>`. */
  flag?: string;
  env: Record<string, string | undefined>;
  /** Directory for relative paths and discovery (instead of `process.cwd()`). */
  cwd: string;
}

/**
 * Chooses the config file: `--config`, else `SECRUN_CONFIG`, else `secrun.yaml` or `secrun.yml` in
 * `cwd` when present (both present is an error). An explicit file that does not exist is an error.
 *
 * @returns the absolute path, or undefined when there is no config file.
 * @throws ConfigError `config.notFound`, `config.ambiguous`.
 */
export function findConfigFile(opts: FindConfigOptions): string | undefined {
  const explicit: [string, string | undefined][] = [
    ['--config', opts.flag],
    ['SECRUN_CONFIG', opts.env['SECRUN_CONFIG']],
  ];
  for (const [from, value] of explicit) {
    if (value === undefined || value === '') continue;
    const file = isAbsolute(value) ? value : resolvePath(opts.cwd, value);
    if (!existsSync(file)) {
      throw new ConfigError(`config file ${value} (from ${from}) does not exist`, 'config.notFound', {
        path: file,
      });
    }
    return file;
  }
  const found = ['secrun.yaml', 'secrun.yml']
    .map((n) => resolvePath(opts.cwd, n))
    .filter((f) => existsSync(f));
  if (found.length > 1) {
    throw new ConfigError(
      `both secrun.yaml and secrun.yml exist in ${opts.cwd}; remove one or pass --config`,
      'config.ambiguous',
    );
  }
  return found[0];
}
