/**
 * Configuration: the face of config/. Every setting is declared once in the option table
 * (`options.ts`); from it follow the commander flags (cli.ts), the merge of defaults < file <
 * `SECRUN_*` variables < flags (`settings.ts`) and the JSON Schema (`schema-gen.ts`, shipped as
 * schema/secrun.schema.json). The file is found (`find.ts`), then loaded on demand (`load.ts`),
 * parsed and validated with line numbers (`file.ts`, `schema.ts`, `key-lines.ts`); value parsers
 * live in `values.ts`.
 * May import base/ and refs/ (variable names); never boot/, providers/ or launch/.
 */
export type { ConfigFile, LoadedConfig } from './file.ts';
export { type FindConfigOptions, findConfigFile } from './find.ts';
export { type Flags, parseEnvFlag, parseImportFlag } from './flags.ts';
export { loadConfig } from './load.ts';
export { type Command, flagsOf, OPTIONS, type OptionSpec } from './options.ts';
export {
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
