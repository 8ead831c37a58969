import { isValidEnvName } from '../refs/names.ts';
import { type Flags, parseEnvFlag, parseImportFlag } from './flags.ts';
import type { Settings } from './settings.ts';
import {
  AUTH_KEYS,
  checkPattern,
  FORMATS,
  flagSource,
  LEVELS,
  METHODS,
  MODES,
  oneOf,
  wrap,
} from './sources.ts';
import { parseDuration, parseOnChange } from './values.ts';

const NAME_KEYS = new Set<string>(AUTH_KEYS.filter(([, kind]) => kind === 'name').map(([key]) => key));

/** Applies the command-line flags to `settings`. @throws UsageError naming the flag. */
export function applyFlags(settings: Settings, flags: Partial<Flags>): void {
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
  applyVaultAuthFlags(settings, flags.vaultAuth ?? {});
  if (flags.splay !== undefined)
    settings.splayMs = wrap(flagSource, '--splay', () => parseDuration(flags.splay!));
  if (flags.revoke !== undefined) settings.revoke = flags.revoke;
  if (flags.audit !== undefined) settings.audit = flags.audit;
  for (const text of flags.env ?? []) settings.env.push({ ...parseEnvFlag(text), source: 'flag' });
  for (const text of flags.import ?? []) settings.imports.push({ ...parseImportFlag(text), source: 'flag' });
}

function applyVaultAuthFlags(settings: Settings, vaultAuth: NonNullable<Flags['vaultAuth']>): void {
  const auth = settings.vault.auth;
  for (const [key, value] of Object.entries(vaultAuth)) {
    if (value === undefined) continue;
    const flag = `--vault-auth-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (key === 'method') auth.method = oneOf(flagSource, flag, String(value), METHODS);
    else if (NAME_KEYS.has(key) && !isValidEnvName(String(value)))
      flagSource.fail(flag, 'must be a variable name (letters, digits, _)');
    else (auth as unknown as Record<string, unknown>)[key] = value;
  }
}
