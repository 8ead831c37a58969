import type { LogFormat, LogLevel } from '../base/log.ts';
import type { ConfigFile, LoadedConfig } from './file.ts';
import type { Flags } from './flags.ts';
import { applyEnv, secrunVar } from './settings-env.ts';
import { applyFile } from './settings-file.ts';
import { applyFlags } from './settings-flags.ts';
import { envSource, fileSource, flagSource } from './sources.ts';
import type { Mode, OnChange, VaultAuthMethod } from './values.ts';

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

/** Everything the agent needs to know, merged: defaults < file < SECRUN_* variables < flags. */
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
  env: Array<{ name: string; ref: string; source: 'flag' | 'config'; onChange?: OnChange }>;
  /** Config `import:` then `--import`. */
  imports: Array<{ ref: string; prefix?: string; source: 'flag' | 'config' }>;
  onChange: OnChange;
  /** Re-read interval for watched secrets; undefined = no watching. */
  watchMs?: number;
  /** Output masking; default on when `CI` is set. */
  mask: boolean;
  /** Random delay before acting on a change, so a fleet does not restart at once; 0 = none. */
  splayMs: number;
  /** Revoke leases and the login token when done (false with `--no-revoke`). */
  revoke: boolean;
  /** Audit stream target: `stderr`, `stdout` or `fd:N`; undefined = none. */
  audit?: string;
  allowInsecureHttp: boolean;
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
  flags: Partial<Flags>;
}

/** Defaults before file, env and flags. */
export const DEFAULTS = {
  mode: 'auto' as Mode,
  timeoutMs: 60_000,
  killTimeoutMs: 10_000,
  logLevel: 'info' as LogLevel,
  logFormat: 'text' as LogFormat,
  onChange: { action: 'restart' } as OnChange,
};

/**
 * Merges defaults < config file < `SECRUN_*` variables < flags into {@link Settings}.
 * Empty `SECRUN_*` variables count as unset. Lists (`keep`, `drop`, `env`, `import`) are unions.
 *
 * @throws ConfigError naming the SECRUN_* variable for a bad environment value; UsageError naming
 *   the flag for a bad flag value.
 */
export function resolveSettings(input: SettingsInput): Settings {
  const loaded = input.file && 'data' in input.file && 'lineOf' in input.file ? input.file : undefined;
  const file: ConfigFile = (loaded ? loaded.data : (input.file as ConfigFile | undefined)) ?? {};
  const fromFile = fileSource(loaded);

  const settings = defaults(input.env);
  if (loaded) settings.configFile = loaded.file;
  applyFile(settings, file, fromFile);
  applyEnv(settings, input.env);
  applyFlags(settings, input.flags);

  if (settings.timeoutMs <= 0) {
    if (input.flags.timeout !== undefined) flagSource.fail('--timeout', 'must be more than 0');
    if (secrunVar(input.env, 'TIMEOUT')) envSource.fail('SECRUN_TIMEOUT', 'must be more than 0');
    fromFile.fail('timeout', 'must be more than 0');
  }
  if (settings.watchMs === 0) delete settings.watchMs;
  settings.keep = [...new Set(settings.keep)];
  settings.drop = [...new Set(settings.drop)];
  return settings;
}

function defaults(env: Record<string, string | undefined>): Settings {
  return {
    mode: DEFAULTS.mode,
    timeoutMs: DEFAULTS.timeoutMs,
    killTimeoutMs: DEFAULTS.killTimeoutMs,
    logLevel: DEFAULTS.logLevel,
    logFormat: DEFAULTS.logFormat,
    quiet: false,
    pristine: false,
    envRefs: true,
    keep: [],
    drop: [],
    env: [],
    imports: [],
    onChange: DEFAULTS.onChange,
    mask: isCi(env),
    splayMs: 0,
    revoke: true,
    allowInsecureHttp: false,
    vault: { auth: { method: 'token' }, tls: {} },
    aws: {},
  };
}

function isCi(env: Record<string, string | undefined>): boolean {
  const ci = env['CI'];
  return ci !== undefined && ci !== '' && ci.toLowerCase() !== 'false' && ci !== '0';
}
