import type { LogFormat, LogLevel } from '../base/log.ts';
import { isValidEnvName } from '../refs/names.ts';
import type { ConfigFile, LoadedConfig } from './file.ts';
import { type Flags, parseEntry, parseEnvFlag, parseImportFlag } from './flags.ts';
import { envText, flagAttribute, flagText, OPTIONS, type OptionSpec } from './options.ts';
import { checkPattern, envSource, fileSource, flagSource, oneOf, type Source, wrap } from './sources.ts';
import {
  type Mode,
  type OnChange,
  parseBoolean,
  parseDuration,
  parseOnChange,
  type VaultAuthMethod,
} from './values.ts';

/** Vault auth settings (camelCase). Only `method` always has a value. */
export interface VaultAuthSettings {
  method: VaultAuthMethod;
  mount?: string;
  role?: string;
  roleId?: string;
  roleIdFile?: string;
  secretIdFile?: string;
  secretIdEnv?: string;
  wrapped?: boolean;
  wrappedPath?: string;
  tokenFile?: string;
  jwtFile?: string;
  jwtEnv?: string;
  audience?: string;
  name?: string;
}

/**
 * Everything the agent needs to know, merged: defaults < file < SECRUN_* variables < flags.
 * Each field but `configFile`, `env` and `imports` is declared in the option table (options.ts).
 */
export interface Settings {
  /** The config file used, if any. */
  configFile?: string;
  mode: Mode;
  timeoutMs: number;
  killTimeoutMs: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  quiet: boolean;
  pristine: boolean;
  /** False with `--no-env-refs` / `SECRUN_NO_ENV_REFS=true`. */
  envRefs: boolean;
  /** Union of file, SECRUN_KEEP and --keep. */
  keep: string[];
  /** Union of file, SECRUN_DROP and --drop. */
  drop: string[];
  /** Explicit entries: config `env:` then `--env` (collectRefs lets a flag win per name). */
  env: Array<{
    name: string;
    ref: string;
    source: 'flag' | 'config';
    onChange?: OnChange;
    /** The parameters of a config entry marked `write: true`. */
    write?: Record<string, string>;
  }>;
  /** Config `import:` then `--import`. */
  imports: Array<{ ref: string; prefix?: string; source: 'flag' | 'config' }>;
  /** Secrets the child reads at /dev/fd/N: config `files:` then `--file` (a flag wins per name). */
  files: Array<{ name: string; ref: string; source: 'flag' | 'config' }>;
  onChange: OnChange;
  /** Re-read interval for watched secrets; undefined = no watching. */
  watchMs?: number;
  /** Output masking; default on when `CI` is set. */
  mask: boolean;
  /** Random delay before acting on a change, so a fleet does not restart at once; 0 = none. */
  splayMs: number;
  /** Revoke leases and the login token when done (false with `--no-revoke`). */
  revoke: boolean;
  /** `secrun check`: a secret last changed longer ago than this is a finding (exit 79). */
  maxAgeMs?: number;
  /** `secrun check`: a certificate that expires sooner than this is a finding (exit 79). */
  minValidityMs?: number;
  /** Audit stream target: `stderr`, `stdout` or `fd:N`; undefined = none. */
  audit?: string;
  allowInsecureHttp: boolean;
  /** Near-miss schemes, references inside other text and references in argv are errors (65). */
  strict: boolean;
  /** Random delay (0..bootSplayMs) before the first request of a boot; 0 = none. */
  bootSplayMs: number;
  vault: {
    /** From the file only; the provider falls back to VAULT_ADDR. */
    address?: string;
    namespace?: string;
    auth: VaultAuthSettings;
    tls: {
      ca?: string;
      capath?: string;
      cert?: string;
      key?: string;
      serverName?: string;
      skipVerify?: boolean;
    };
  };
  aws: { region?: string; endpoint?: string };
}

/** Input of {@link resolveSettings}. */
export interface SettingsInput {
  file?: LoadedConfig | ConfigFile;
  env: Record<string, string | undefined>;
  /** Flags as commander parses them, keyed by {@link flagAttribute}, plus `env` and `import`. */
  flags: Partial<Flags>;
}

/**
 * Merges defaults < config file < `SECRUN_*` variables < flags into {@link Settings}.
 * Empty `SECRUN_*` variables count as unset. Lists (`keep`, `drop`, `env`, `import`) are unions.
 *
 * @throws ConfigError naming the SECRUN_* variable for a bad environment value; UsageError naming
 *   the flag for a bad flag value.
 */
export function resolveSettings(input: SettingsInput): Settings {
  const loaded = isLoaded(input.file) ? input.file : undefined;
  const file: ConfigFile = loaded ? loaded.data : ((input.file as ConfigFile | undefined) ?? {});
  const fromFile = fileSource(loaded);
  const flags = input.flags as Record<string, unknown>;
  const settings = defaults(input.env);
  if (loaded) settings.configFile = loaded.file;

  for (const o of OPTIONS) {
    if (o.file === undefined) continue;
    const value = o.file.split('.').reduce<unknown>((at, key) => (isObject(at) ? at[key] : undefined), file);
    if (value !== undefined) apply(settings, o, value, fromFile, o.file);
  }
  applyEntries(settings, file, fromFile);
  for (const o of OPTIONS) {
    if (o.env === undefined) continue;
    const value = secrunVar(input.env, `${o.negated ? 'NO_' : ''}${o.env}`);
    if (value === undefined) continue;
    const parsed = o.kind === 'patterns' ? list(value) : value;
    apply(settings, o, parsed, envSource, envText(o), o.negated === true);
  }
  for (const o of OPTIONS) {
    if (o.flag === undefined) continue;
    const value = flags[flagAttribute(o)];
    // commander gives a `--no-x` flag the value true when it is absent: only false counts.
    if (value === undefined || (o.negated && value !== false)) continue;
    apply(settings, o, value, flagSource, flagText(o));
  }
  if (flags['quiet'] === true && flags['logLevel'] === undefined) settings.logLevel = 'error';
  for (const text of (flags['env'] as string[] | undefined) ?? [])
    settings.env.push({ ...parseEnvFlag(text), source: 'flag' });
  for (const text of (flags['import'] as string[] | undefined) ?? [])
    settings.imports.push({ ...parseImportFlag(text), source: 'flag' });

  if (settings.timeoutMs <= 0) {
    if (flags['timeout'] !== undefined) flagSource.fail('--timeout', 'must be more than 0');
    if (secrunVar(input.env, 'TIMEOUT')) envSource.fail('SECRUN_TIMEOUT', 'must be more than 0');
    fromFile.fail('timeout', 'must be more than 0');
  }
  if (settings.watchMs === 0) delete settings.watchMs;
  settings.keep = [...new Set(settings.keep)];
  settings.drop = [...new Set(settings.drop)];
  return settings;
}

/** The value of `SECRUN_<name>`; an empty variable counts as unset. */
export function secrunVar(env: Record<string, string | undefined>, name: string): string | undefined {
  const v = env[`SECRUN_${name}`];
  return v === undefined || v === '' ? undefined : v;
}

/** Parses `raw` as `o.kind` says and stores it at `o.setting` (lists are appended to). */
function apply(
  settings: Settings,
  o: OptionSpec,
  raw: unknown,
  source: Source,
  what: string,
  invert = false,
): void {
  const text = (): string => String(raw);
  let value: unknown;
  switch (o.kind) {
    case 'string':
      value = text();
      break;
    case 'boolean':
      value = typeof raw === 'boolean' ? raw : wrap(source, what, () => parseBoolean(text()));
      if (invert) value = !value;
      break;
    case 'duration':
      value = wrap(source, what, () => parseDuration(raw as string | number, o.maxMs));
      break;
    case 'enum':
      value = oneOf(source, what, text(), o.choices ?? []);
      break;
    case 'name':
      if (!isValidEnvName(text())) source.fail(what, 'must be a variable name (letters, digits, _)');
      value = text();
      break;
    case 'onChange':
      value = wrap(source, what, () => parseOnChange(text()));
      break;
    case 'patterns': {
      const items = (raw as string[]).map((item) => wrap(source, what, () => checkPattern(item)));
      (getPath(settings, o.setting) as string[]).push(...items);
      return;
    }
    case 'entries': {
      // A map from the file, `NAME=REF` texts from a flag.
      const items = Array.isArray(raw)
        ? (raw as string[]).map((t) => ({
            ...wrap(source, what, () => parseEntry(t)),
            source: 'flag' as const,
          }))
        : Object.entries(raw as Record<string, string>).map(([name, ref]) => ({
            name,
            ref,
            source: 'config' as const,
          }));
      (getPath(settings, o.setting) as Settings['files']).push(...items);
      return;
    }
  }
  setPath(settings, o.setting, value);
}

/** The config file's `env:` and `import:` entries. */
function applyEntries(settings: Settings, file: ConfigFile, source: Source): void {
  for (const [name, entry] of Object.entries(file.env ?? {})) {
    if (typeof entry === 'string') {
      settings.env.push({ name, ref: entry, source: 'config' });
    } else {
      const item: Settings['env'][number] = { name, ref: entry.ref, source: 'config' };
      if (entry.on_change !== undefined) {
        item.onChange = wrap(source, `env.${name}.on_change`, () => parseOnChange(entry.on_change!));
      }
      if (entry.write === true) {
        item.write = Object.fromEntries(Object.entries(entry.params ?? {}).map(([k, v]) => [k, String(v)]));
      }
      settings.env.push(item);
    }
  }
  for (const entry of file.import ?? []) {
    if (typeof entry === 'string') settings.imports.push({ ref: entry, source: 'config' });
    else {
      const item: Settings['imports'][number] = { ref: entry.ref, source: 'config' };
      if (entry.prefix !== undefined) item.prefix = entry.prefix;
      settings.imports.push(item);
    }
  }
}

/** Defaults: the table's, then what the table cannot say (lists, the CI-dependent mask). */
function defaults(env: Record<string, string | undefined>): Settings {
  const settings = {
    quiet: false,
    keep: [],
    drop: [],
    env: [],
    imports: [],
    files: [],
    mask: isCi(env),
    vault: { auth: {}, tls: {} },
    aws: {},
  } as unknown as Settings;
  for (const o of OPTIONS) {
    if (o.default !== undefined) apply(settings, o, o.default, envSource, `default of ${o.setting}`);
  }
  return settings;
}

function isLoaded(file: SettingsInput['file']): file is LoadedConfig {
  return file !== undefined && typeof file['lineOf'] === 'function' && typeof file['file'] === 'string';
}

function isCi(env: Record<string, string | undefined>): boolean {
  const ci = env['CI'];
  return ci !== undefined && ci !== '' && ci.toLowerCase() !== 'false' && ci !== '0';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function getPath(target: object, path: string): unknown {
  return path.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], target);
}

function setPath(target: object, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  const parent = keys.reduce<Record<string, unknown>>(
    (at, key) => at[key] as Record<string, unknown>,
    target as Record<string, unknown>,
  );
  parent[last] = value;
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
