import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from 'ajv';
import { checkEnvPattern } from './child-env.ts';
import { ConfigError, UsageError } from './errors.ts';
import type { LogFormat, LogLevel } from './log.ts';
import { isRef, isValidEnvName } from './refs.ts';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// The file

/** Vault auth settings as written in the file (`vault.auth`). */
export interface VaultAuthConfig {
  method?: VaultAuthMethod;
  mount?: string;
  role?: string;
  role_id?: string;
  role_id_file?: string;
  secret_id_file?: string;
  secret_id_env?: string;
  wrapped?: boolean;
  wrapped_path?: string;
  token_file?: string;
  jwt_file?: string;
  jwt_env?: string;
  audience?: string;
  name?: string;
}

/** The configuration file after schema validation (keys as written, snake_case). */
export interface ConfigFile {
  $schema?: string;
  vault?: {
    address?: string;
    namespace?: string;
    allow_insecure_http?: boolean;
    auth?: VaultAuthConfig;
    tls?: {
      ca?: string;
      capath?: string;
      cert?: string;
      key?: string;
      server_name?: string;
      skip_verify?: boolean;
    };
  };
  aws?: { region?: string; endpoint?: string };
  env?: Record<string, string | { ref: string; on_change?: string }>;
  import?: Array<string | { ref: string; prefix?: string }>;
  mode?: Mode;
  pristine?: boolean;
  keep?: string[];
  drop?: string[];
  timeout?: string | number;
  kill_timeout?: string | number;
  log_level?: LogLevel;
  log_format?: LogFormat;
  on_change?: string;
  watch?: string | number;
  mask?: boolean;
  splay?: string | number;
  revoke?: boolean;
  audit?: string;
}

/** A loaded, validated configuration file. */
export interface LoadedConfig {
  /** Absolute path of the file. */
  file: string;
  data: ConfigFile;
  /** 1-based line of the key at `path` (e.g. `['vault', 'auth', 'method']`), when known. */
  lineOf(path: (string | number)[]): number | undefined;
}

const SCHEMA_URL = new URL('../schema/secrun.schema.json', import.meta.url);
let validator: ValidateFunction | undefined;

function getValidator(): ValidateFunction {
  if (!validator) {
    const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as object;
    // Loaded on demand: only a run with a config file pays for the validator (boot time).
    const { Ajv } = require('ajv') as { Ajv: typeof AjvClass };
    validator = new Ajv({ allErrors: true, strict: true }).compile(schema);
  }
  return validator;
}

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

/**
 * Parses and validates config text (YAML or JSON). Every problem is reported in one ConfigError
 * naming the key path and line, e.g. `secrun.yaml:4: vault.auth.methd: unknown key`.
 *
 * @throws ConfigError `config.syntax` or `config.invalid` (exit 78).
 */
export function parseConfig(text: string, file = '<config>'): LoadedConfig {
  const { isMap, isScalar, isSeq, LineCounter, parseDocument } = require('yaml') as typeof import('yaml');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const line = e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line;
      return `${file}${line ? `:${line}` : ''}: invalid YAML/JSON: ${e.message.split('\n')[0]}`;
    });
    throw new ConfigError(lines.join('\n'), 'config.syntax', { path: file });
  }
  const lineOf = (path: (string | number)[]): number | undefined => {
    let node: unknown = doc.contents;
    let range: [number, number, number] | undefined = (node as { range?: [number, number, number] } | null)
      ?.range;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
        if (!pair) break;
        range = (pair.key as { range?: [number, number, number] } | null)?.range ?? range;
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
        range = (node as { range?: [number, number, number] } | null)?.range ?? range;
      } else {
        break;
      }
    }
    return range ? lineCounter.linePos(range[0]).line : undefined;
  };
  const data: unknown = doc.toJS() ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(
      `${file}:1: the config must be a mapping of keys (vault:, env:, ...)`,
      'config.invalid',
      {
        path: file,
      },
    );
  }
  const validate = getValidator();
  if (!validate(data)) {
    const problems = describeErrors(validate.errors ?? []).map((p) => ({ ...p, line: lineOf(p.path) }));
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    const lines = problems.map(({ path, message, line }) => {
      const where = path.length > 0 ? path.join('.') : '(top level)';
      return `${file}${line ? `:${line}` : ''}: ${where}: ${message}`;
    });
    throw new ConfigError(`invalid config file:\n${lines.join('\n')}`, 'config.invalid', { path: file });
  }
  const config = data as ConfigFile;
  const semantic: { path: (string | number)[]; message: string }[] = [];
  const checkOnChange = (path: (string | number)[], value: string | undefined): void => {
    if (value === undefined) return;
    try {
      parseOnChange(value);
    } catch (err) {
      semantic.push({ path, message: (err as Error).message });
    }
  };
  checkOnChange(['on_change'], config.on_change);
  for (const [name, entry] of Object.entries(config.env ?? {})) {
    if (typeof entry === 'object') checkOnChange(['env', name, 'on_change'], entry.on_change);
  }
  for (const key of ['timeout', 'kill_timeout', 'watch'] as const) {
    const value = config[key];
    if (value === undefined) continue;
    try {
      parseDuration(value);
    } catch (err) {
      semantic.push({ path: [key], message: (err as Error).message });
    }
  }
  if (semantic.length > 0) {
    const lines = semantic.map(({ path, message }) => {
      const line = lineOf(path);
      return `${file}${line ? `:${line}` : ''}: ${path.join('.')}: ${message}`;
    });
    throw new ConfigError(`invalid config file:\n${lines.join('\n')}`, 'config.invalid', { path: file });
  }
  return { file, data: config, lineOf };
}

/**
 * Reads and validates a config file.
 *
 * @throws ConfigError `config.unreadable`, `config.syntax`, `config.invalid`.
 */
export function loadConfigFile(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`cannot read config file ${file}: ${code}`, 'config.unreadable', { path: file });
  }
  return parseConfig(text, file);
}

/** Finds (see {@link findConfigFile}) and loads the config file; undefined when there is none. */
export function loadConfig(opts: FindConfigOptions): LoadedConfig | undefined {
  const file = findConfigFile(opts);
  return file === undefined ? undefined : loadConfigFile(file);
}

function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((t) => (/^(0|[1-9][0-9]*)$/.test(t) ? Number(t) : t));
}

const FRIENDLY: Record<string, string> = {
  duration: 'must be a duration like 30s, 500ms, 5m or 1h30m (a bare number is seconds)',
  reference: 'must be a reference starting with vault:, awssm: or arn:aws:secretsmanager:',
  onChange: 'must be restart, exit, ignore or signal:<SIGNAL> (e.g. signal:SIGHUP)',
  envPattern: 'must be a variable name or a prefix ending in * (e.g. VAULT_*)',
};

/** Turns ajv errors into one message per key path (the most specific one). */
function describeErrors(errors: ErrorObject[]): { path: (string | number)[]; message: string }[] {
  const byPath = new Map<string, { path: (string | number)[]; message: string; rank: number }>();
  const put = (path: (string | number)[], message: string, rank: number): void => {
    const key = JSON.stringify(path);
    const current = byPath.get(key);
    if (!current || rank < current.rank) byPath.set(key, { path, message, rank });
  };
  for (const e of errors) {
    // ajv reports the failing pattern of a property name a second time, at the parent.
    if (e.propertyName !== undefined && e.keyword !== 'propertyNames') continue;
    const path = pointerToPath(e.instancePath);
    const definition = /#\/definitions\/(\w+)\//.exec(e.schemaPath)?.[1];
    if (e.keyword === 'additionalProperties') {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      put([...path, key], 'unknown key', 0);
    } else if (e.keyword === 'propertyNames') {
      const name = String((e.params as { propertyName: string }).propertyName);
      put([...path, name], 'not a valid variable name (letters, digits, _; not starting with a digit)', 0);
    } else if (e.keyword === 'pattern' && e.instancePath.endsWith('/prefix')) {
      put(path, 'must be letters, digits and _, not starting with a digit', 1);
    } else if (e.keyword === 'pattern' && /_env$/.test(e.instancePath)) {
      put(path, 'must be a variable name (letters, digits, _)', 1);
    } else if (definition && FRIENDLY[definition] && e.keyword !== 'oneOf') {
      put(path, FRIENDLY[definition], 1);
    } else if (e.keyword === 'enum') {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ');
      put(path, `must be one of ${allowed}`, 1);
    } else if (e.keyword === 'type') {
      put(path, `must be ${article((e.params as { type: string }).type)}`, 2);
    } else if (e.keyword === 'required') {
      put(path, `missing key ${(e.params as { missingProperty: string }).missingProperty}`, 1);
    } else if (e.keyword === 'oneOf') {
      const hint =
        path[0] === 'env'
          ? 'must be a reference or { ref, on_change }'
          : 'must be a reference or { ref, prefix }';
      put(path, definition ? (FRIENDLY[definition] ?? 'has the wrong type') : hint, 3);
    } else {
      put(path, e.message ?? 'is invalid', 2);
    }
  }
  // A deeper problem explains a failed oneOf branch at its parent better than the branch does.
  const all = [...byPath.values()];
  const isPrefix = (a: (string | number)[], b: (string | number)[]): boolean =>
    a.length < b.length && a.every((k, i) => k === b[i]);
  return all.filter((p) => p.rank === 0 || !all.some((q) => isPrefix(p.path, q.path)));
}

function article(type: string): string {
  const t = type.replace(/,/g, ' or ');
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

// ---------------------------------------------------------------------------------------------
// Values

/** `exec`, `supervise` or `auto`. */
export type Mode = 'exec' | 'supervise' | 'auto';
/** Vault auth methods. */
export type VaultAuthMethod = 'token' | 'approle' | 'kubernetes' | 'jwt' | 'cert';
/** What to do when a watched secret changes. */
export type OnChange =
  | { action: 'restart' }
  | { action: 'signal'; signal: NodeJS.Signals }
  | { action: 'exit' }
  | { action: 'ignore' };

const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * Parses a duration into milliseconds: a bare number is seconds (`90`), else one or more
 * `<number><unit>` with units `ms`, `s`, `m`, `h` (`500ms`, `30s`, `1.5s`, `1h30m`).
 * At most 2^31-1 ms (about 24 days, the longest timer Node allows).
 *
 * @throws Error with a message saying what is accepted (callers wrap it in Config/UsageError).
 */
export function parseDuration(text: string | number): number {
  const bad = (): Error =>
    new Error(
      `must be a duration like 30s, 500ms, 5m or 1h30m (a bare number is seconds), got ${JSON.stringify(String(text).slice(0, 40))}`,
    );
  let ms: number;
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw bad();
    ms = text * 1000;
  } else {
    const trimmed = text.trim();
    if (/^\d+$/.test(trimmed)) {
      ms = Number(trimmed) * 1000;
    } else {
      if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(trimmed)) throw bad();
      const factor: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
      ms = 0;
      for (const m of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
        ms += Number(m[1]) * (factor[m[2] ?? 's'] ?? 1);
    }
  }
  ms = Math.round(ms);
  if (ms > MAX_DURATION_MS) throw new Error(`is too long (at most 596h, about 24 days), got ${String(text)}`);
  return ms;
}

/**
 * Parses a boolean strictly: true/false, 1/0, yes/no (any case).
 *
 * @throws Error naming what is accepted.
 */
export function parseBoolean(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === 'true' || t === '1' || t === 'yes') return true;
  if (t === 'false' || t === '0' || t === 'no') return false;
  throw new Error(`must be true or false (also 1/0, yes/no), got ${JSON.stringify(text.slice(0, 40))}`);
}

/**
 * Parses `restart`, `exit`, `ignore` or `signal:SIGxxx` (a signal this platform knows).
 *
 * @throws Error naming what is accepted.
 */
export function parseOnChange(text: string): OnChange {
  if (text === 'restart' || text === 'exit' || text === 'ignore') return { action: text };
  const m = /^signal:(SIG[A-Z0-9]+)$/.exec(text);
  if (m && Object.hasOwn(osConstants.signals, m[1] ?? '')) {
    return { action: 'signal', signal: m[1] as NodeJS.Signals };
  }
  throw new Error(
    `must be restart, exit, ignore or signal:<SIGNAL> with a known signal (e.g. signal:SIGHUP), got ${JSON.stringify(text.slice(0, 40))}`,
  );
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

// ---------------------------------------------------------------------------------------------
// Settings

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

const MODES: readonly string[] = ['exec', 'supervise', 'auto'];
const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error', 'silent'];
const FORMATS: readonly string[] = ['text', 'json'];
const METHODS: readonly string[] = ['token', 'approle', 'kubernetes', 'jwt', 'cert'];

/** SECRUN_VAULT_AUTH_<KEY> -> settings key; booleans marked. */
const AUTH_ENV: Array<[string, keyof VaultAuthSettings, 'string' | 'boolean' | 'name']> = [
  ['MOUNT', 'mount', 'string'],
  ['ROLE', 'role', 'string'],
  ['ROLE_ID', 'roleId', 'string'],
  ['ROLE_ID_FILE', 'roleIdFile', 'string'],
  ['SECRET_ID_FILE', 'secretIdFile', 'string'],
  ['SECRET_ID_ENV', 'secretIdEnv', 'name'],
  ['WRAPPED', 'wrapped', 'boolean'],
  ['WRAPPED_PATH', 'wrappedPath', 'string'],
  ['TOKEN_FILE', 'tokenFile', 'string'],
  ['JWT_FILE', 'jwtFile', 'string'],
  ['JWT_ENV', 'jwtEnv', 'name'],
  ['AUDIENCE', 'audience', 'string'],
  ['NAME', 'name', 'string'],
];

/** A value source: how to report a bad value. */
interface Source {
  fail(what: string, message: string): never;
}

const envSource: Source = {
  fail(what, message) {
    throw new ConfigError(`${what} ${message}`, 'config.env');
  },
};
const flagSource: Source = {
  fail(what, message) {
    throw new UsageError(`${what} ${message}`, 'usage.invalid');
  },
};

function wrap<T>(source: Source, what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    return source.fail(what, (err as Error).message);
  }
}

function oneOf<T extends string>(source: Source, what: string, value: string, allowed: readonly string[]): T {
  if (!allowed.includes(value)) {
    source.fail(what, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value.slice(0, 40))}`);
  }
  return value as T;
}

function checkPattern(pattern: string): string {
  try {
    checkEnvPattern(pattern);
  } catch {
    throw new Error(
      `${JSON.stringify(pattern)} is not a variable name or a prefix ending in * (e.g. VAULT_*)`,
    );
  }
  return pattern;
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function isCi(env: Record<string, string | undefined>): boolean {
  const ci = env['CI'];
  return ci !== undefined && ci !== '' && ci.toLowerCase() !== 'false' && ci !== '0';
}

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
  const env = (name: string): string | undefined => {
    const v = input.env[`SECRUN_${name}`];
    return v === undefined || v === '' ? undefined : v;
  };
  const flags = input.flags;
  const fileSource: Source = {
    fail(what, message) {
      const line = loaded?.lineOf(what.split('.'));
      const where = loaded ? `${loaded.file}${line ? `:${line}` : ''}: ` : '';
      throw new ConfigError(`${where}${what}: ${message}`, 'config.invalid');
    },
  };

  const settings: Settings = {
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
    mask: isCi(input.env),
    splayMs: 0,
    revoke: true,
    allowInsecureHttp: false,
    vault: { auth: { method: 'token' }, tls: {} },
    aws: {},
  };
  if (loaded) settings.configFile = loaded.file;

  // File.
  if (file.mode !== undefined) settings.mode = file.mode;
  if (file.timeout !== undefined)
    settings.timeoutMs = wrap(fileSource, 'timeout', () => parseDuration(file.timeout!));
  if (file.kill_timeout !== undefined) {
    settings.killTimeoutMs = wrap(fileSource, 'kill_timeout', () => parseDuration(file.kill_timeout!));
  }
  if (file.log_level !== undefined) settings.logLevel = file.log_level;
  if (file.log_format !== undefined) settings.logFormat = file.log_format;
  if (file.pristine !== undefined) settings.pristine = file.pristine;
  if (file.keep) settings.keep.push(...file.keep);
  if (file.drop) settings.drop.push(...file.drop);
  if (file.on_change !== undefined)
    settings.onChange = wrap(fileSource, 'on_change', () => parseOnChange(file.on_change!));
  if (file.watch !== undefined)
    settings.watchMs = wrap(fileSource, 'watch', () => parseDuration(file.watch!));
  if (file.mask !== undefined) settings.mask = file.mask;
  if (file.splay !== undefined)
    settings.splayMs = wrap(fileSource, 'splay', () => parseDuration(file.splay!));
  if (file.revoke !== undefined) settings.revoke = file.revoke;
  if (file.audit !== undefined) settings.audit = file.audit;
  for (const [name, entry] of Object.entries(file.env ?? {})) {
    if (typeof entry === 'string') {
      settings.env.push({ name, ref: entry, source: 'config' });
    } else {
      const item: Settings['env'][number] = { name, ref: entry.ref, source: 'config' };
      if (entry.on_change !== undefined) {
        item.onChange = wrap(fileSource, `env.${name}.on_change`, () => parseOnChange(entry.on_change!));
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
  const v = file.vault ?? {};
  if (v.address !== undefined) settings.vault.address = v.address;
  if (v.namespace !== undefined) settings.vault.namespace = v.namespace;
  if (v.allow_insecure_http !== undefined) settings.allowInsecureHttp = v.allow_insecure_http;
  const a = v.auth ?? {};
  const auth = settings.vault.auth;
  if (a.method !== undefined) auth.method = a.method;
  const authKeys: Array<[keyof VaultAuthConfig, keyof VaultAuthSettings]> = [
    ['mount', 'mount'],
    ['role', 'role'],
    ['role_id', 'roleId'],
    ['role_id_file', 'roleIdFile'],
    ['secret_id_file', 'secretIdFile'],
    ['secret_id_env', 'secretIdEnv'],
    ['wrapped', 'wrapped'],
    ['wrapped_path', 'wrappedPath'],
    ['token_file', 'tokenFile'],
    ['jwt_file', 'jwtFile'],
    ['jwt_env', 'jwtEnv'],
    ['audience', 'audience'],
    ['name', 'name'],
  ];
  for (const [from, to] of authKeys) {
    if (a[from] !== undefined) (auth as unknown as Record<string, unknown>)[to] = a[from];
  }
  const t = v.tls ?? {};
  const tls = settings.vault.tls;
  if (t.ca !== undefined) tls.ca = t.ca;
  if (t.capath !== undefined) tls.capath = t.capath;
  if (t.cert !== undefined) tls.cert = t.cert;
  if (t.key !== undefined) tls.key = t.key;
  if (t.server_name !== undefined) tls.serverName = t.server_name;
  if (t.skip_verify !== undefined) tls.skipVerify = t.skip_verify;
  if (file.aws?.region !== undefined) settings.aws.region = file.aws.region;
  if (file.aws?.endpoint !== undefined) settings.aws.endpoint = file.aws.endpoint;

  // SECRUN_* variables.
  const fromEnv = (name: string, apply: (value: string, what: string) => void): void => {
    const value = env(name);
    if (value !== undefined) apply(value, `SECRUN_${name}`);
  };
  const envDuration = (value: string, what: string): number =>
    wrap(envSource, what, () => parseDuration(value));
  const envBool = (value: string, what: string): boolean => wrap(envSource, what, () => parseBoolean(value));
  const envList = (value: string, what: string): string[] => {
    const items = list(value);
    for (const item of items) wrap(envSource, what, () => checkPattern(item));
    return items;
  };
  fromEnv('MODE', (value, what) => {
    settings.mode = oneOf(envSource, what, value, MODES);
  });
  fromEnv('TIMEOUT', (value, what) => {
    settings.timeoutMs = envDuration(value, what);
  });
  fromEnv('KILL_TIMEOUT', (value, what) => {
    settings.killTimeoutMs = envDuration(value, what);
  });
  fromEnv('LOG_LEVEL', (value, what) => {
    settings.logLevel = oneOf(envSource, what, value, LEVELS);
  });
  fromEnv('LOG_FORMAT', (value, what) => {
    settings.logFormat = oneOf(envSource, what, value, FORMATS);
  });
  fromEnv('PRISTINE', (value, what) => {
    settings.pristine = envBool(value, what);
  });
  fromEnv('NO_ENV_REFS', (value, what) => {
    settings.envRefs = !envBool(value, what);
  });
  fromEnv('KEEP', (value, what) => {
    settings.keep.push(...envList(value, what));
  });
  fromEnv('DROP', (value, what) => {
    settings.drop.push(...envList(value, what));
  });
  fromEnv('MASK', (value, what) => {
    settings.mask = envBool(value, what);
  });
  fromEnv('WATCH', (value, what) => {
    settings.watchMs = envDuration(value, what);
  });
  fromEnv('ON_CHANGE', (value, what) => {
    settings.onChange = wrap(envSource, what, () => parseOnChange(value));
  });
  fromEnv('SPLAY', (value, what) => {
    settings.splayMs = envDuration(value, what);
  });
  fromEnv('NO_REVOKE', (value, what) => {
    settings.revoke = !envBool(value, what);
  });
  fromEnv('AUDIT', (value) => {
    settings.audit = value;
  });
  fromEnv('AWS_REGION', (value) => {
    settings.aws.region = value;
  });
  fromEnv('VAULT_AUTH_METHOD', (value, what) => {
    auth.method = oneOf(envSource, what, value, METHODS);
  });
  for (const [suffix, key, kind] of AUTH_ENV) {
    fromEnv(`VAULT_AUTH_${suffix}`, (value, what) => {
      if (kind === 'name' && !isValidEnvName(value))
        envSource.fail(what, 'must be a variable name (letters, digits, _)');
      (auth as unknown as Record<string, unknown>)[key] = kind === 'boolean' ? envBool(value, what) : value;
    });
  }

  // Flags.
  if (flags.mode !== undefined) settings.mode = oneOf(flagSource, '--mode', flags.mode, MODES);
  if (flags.timeout !== undefined)
    settings.timeoutMs = wrap(flagSource, '--timeout', () => parseDuration(flags.timeout!));
  if (flags.killTimeout !== undefined) {
    settings.killTimeoutMs = wrap(flagSource, '--kill-timeout', () => parseDuration(flags.killTimeout!));
  }
  if (flags.logLevel !== undefined)
    settings.logLevel = oneOf(flagSource, '--log-level', flags.logLevel, LEVELS);
  if (flags.logFormat !== undefined)
    settings.logFormat = oneOf(flagSource, '--log-format', flags.logFormat, FORMATS);
  if (flags.quiet !== undefined) settings.quiet = flags.quiet;
  if (settings.quiet && flags.logLevel === undefined) settings.logLevel = 'error';
  if (flags.pristine !== undefined) settings.pristine = flags.pristine;
  if (flags.envRefs !== undefined) settings.envRefs = flags.envRefs;
  for (const item of flags.keep ?? [])
    settings.keep.push(wrap(flagSource, '--keep', () => checkPattern(item)));
  for (const item of flags.drop ?? [])
    settings.drop.push(wrap(flagSource, '--drop', () => checkPattern(item)));
  if (flags.mask !== undefined) settings.mask = flags.mask;
  if (flags.watch !== undefined)
    settings.watchMs = wrap(flagSource, '--watch', () => parseDuration(flags.watch!));
  if (flags.onChange !== undefined) {
    settings.onChange = wrap(flagSource, '--on-change', () => parseOnChange(flags.onChange!));
  }
  if (flags.allowInsecureHttp !== undefined) settings.allowInsecureHttp = flags.allowInsecureHttp;
  for (const [key, value] of Object.entries(flags.vaultAuth ?? {})) {
    if (value === undefined) continue;
    const flag = `--vault-auth-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (key === 'method') auth.method = oneOf(flagSource, flag, String(value), METHODS);
    else if ((key === 'secretIdEnv' || key === 'jwtEnv') && !isValidEnvName(String(value)))
      flagSource.fail(flag, 'must be a variable name (letters, digits, _)');
    else (auth as unknown as Record<string, unknown>)[key] = value;
  }
  if (flags.splay !== undefined)
    settings.splayMs = wrap(flagSource, '--splay', () => parseDuration(flags.splay!));
  if (flags.revoke !== undefined) settings.revoke = flags.revoke;
  if (flags.audit !== undefined) settings.audit = flags.audit;
  for (const text of flags.env ?? []) settings.env.push({ ...parseEnvFlag(text), source: 'flag' });
  for (const text of flags.import ?? []) settings.imports.push({ ...parseImportFlag(text), source: 'flag' });

  if (settings.timeoutMs <= 0) {
    const from = flags.timeout !== undefined ? flagSource : env('TIMEOUT') ? envSource : fileSource;
    from.fail(
      from === flagSource ? '--timeout' : from === envSource ? 'SECRUN_TIMEOUT' : 'timeout',
      'must be more than 0',
    );
  }
  if (settings.watchMs === 0) delete settings.watchMs;
  settings.keep = [...new Set(settings.keep)];
  settings.drop = [...new Set(settings.drop)];
  return settings;
}
