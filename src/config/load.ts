import type { LoadedConfig } from './file.ts';
import { type FindConfigOptions, findConfigFile } from './find.ts';

/**
 * Finds (see {@link findConfigFile}) and loads the config file; undefined when there is none.
 * The parser, the YAML library and the schema validator are imported only when there is a file:
 * a run configured by variables alone never compiles them (boot time).
 */
export async function loadConfig(opts: FindConfigOptions): Promise<LoadedConfig | undefined> {
  const file = findConfigFile(opts);
  if (file === undefined) return undefined;
  const { loadConfigFile } = await import('./file.ts');
  return loadConfigFile(file);
}
