import { isValidEnvName } from '../refs/names.ts';
import type { Settings } from './settings.ts';
import {
  AUTH_KEYS,
  checkPattern,
  envSource,
  FORMATS,
  LEVELS,
  METHODS,
  MODES,
  oneOf,
  snakeCase,
  wrap,
} from './sources.ts';
import { parseBoolean, parseDuration, parseOnChange } from './values.ts';

/** The value of `SECRUN_<name>`; an empty variable counts as unset. */
export function secrunVar(env: Record<string, string | undefined>, name: string): string | undefined {
  const v = env[`SECRUN_${name}`];
  return v === undefined || v === '' ? undefined : v;
}

/** Applies the `SECRUN_*` variables to `settings`. @throws ConfigError `config.env` naming the variable. */
export function applyEnv(settings: Settings, env: Record<string, string | undefined>): void {
  const fromEnv = (name: string, apply: (value: string, what: string) => void): void => {
    const value = secrunVar(env, name);
    if (value !== undefined) apply(value, `SECRUN_${name}`);
  };
  const duration = (value: string, what: string): number => wrap(envSource, what, () => parseDuration(value));
  const bool = (value: string, what: string): boolean => wrap(envSource, what, () => parseBoolean(value));
  const patterns = (value: string, what: string): string[] => {
    const items = list(value);
    for (const item of items) wrap(envSource, what, () => checkPattern(item));
    return items;
  };
  fromEnv('MODE', (value, what) => {
    settings.mode = oneOf(envSource, what, value, MODES);
  });
  fromEnv('TIMEOUT', (value, what) => {
    settings.timeoutMs = duration(value, what);
  });
  fromEnv('KILL_TIMEOUT', (value, what) => {
    settings.killTimeoutMs = duration(value, what);
  });
  fromEnv('LOG_LEVEL', (value, what) => {
    settings.logLevel = oneOf(envSource, what, value, LEVELS);
  });
  fromEnv('LOG_FORMAT', (value, what) => {
    settings.logFormat = oneOf(envSource, what, value, FORMATS);
  });
  fromEnv('PRISTINE', (value, what) => {
    settings.pristine = bool(value, what);
  });
  fromEnv('NO_ENV_REFS', (value, what) => {
    settings.envRefs = !bool(value, what);
  });
  fromEnv('KEEP', (value, what) => {
    settings.keep.push(...patterns(value, what));
  });
  fromEnv('DROP', (value, what) => {
    settings.drop.push(...patterns(value, what));
  });
  fromEnv('MASK', (value, what) => {
    settings.mask = bool(value, what);
  });
  fromEnv('WATCH', (value, what) => {
    settings.watchMs = duration(value, what);
  });
  fromEnv('ON_CHANGE', (value, what) => {
    settings.onChange = wrap(envSource, what, () => parseOnChange(value));
  });
  fromEnv('SPLAY', (value, what) => {
    settings.splayMs = duration(value, what);
  });
  fromEnv('NO_REVOKE', (value, what) => {
    settings.revoke = !bool(value, what);
  });
  fromEnv('AUDIT', (value) => {
    settings.audit = value;
  });
  fromEnv('AWS_REGION', (value) => {
    settings.aws.region = value;
  });
  const auth = settings.vault.auth;
  fromEnv('VAULT_AUTH_METHOD', (value, what) => {
    auth.method = oneOf(envSource, what, value, METHODS);
  });
  for (const [key, kind] of AUTH_KEYS) {
    fromEnv(`VAULT_AUTH_${snakeCase(key).toUpperCase()}`, (value, what) => {
      if (kind === 'name' && !isValidEnvName(value))
        envSource.fail(what, 'must be a variable name (letters, digits, _)');
      (auth as unknown as Record<string, unknown>)[key] = kind === 'boolean' ? bool(value, what) : value;
    });
  }
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
