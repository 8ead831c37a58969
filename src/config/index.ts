/**
 * Configuration: finding and loading the config file (`config/find.ts`, `config/file.ts`,
 * validated by `config/schema.ts` with line numbers from `config/key-lines.ts`), value parsers
 * (`config/values.ts`), flags (`config/flags.ts`) and the merge of defaults < file < `SECRUN_*`
 * variables < flags (`config/settings.ts`). This module only re-exports them.
 */
export {
  type ConfigFile,
  type LoadedConfig,
  loadConfig,
  loadConfigFile,
  parseConfig,
  type VaultAuthConfig,
} from './file.ts';
export { type FindConfigOptions, findConfigFile } from './find.ts';
export { type Flags, parseEnvFlag, parseImportFlag } from './flags.ts';
export {
  DEFAULTS,
  resolveSettings,
  type Settings,
  type SettingsInput,
  type VaultAuthSettings,
} from './settings.ts';
export {
  type Mode,
  type OnChange,
  parseBoolean,
  parseDuration,
  parseOnChange,
  type VaultAuthMethod,
} from './values.ts';
