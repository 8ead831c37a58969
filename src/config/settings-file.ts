import type { ConfigFile, VaultAuthConfig } from './file.ts';
import type { Settings } from './settings.ts';
import { AUTH_KEYS, type Source, snakeCase, wrap } from './sources.ts';
import { parseDuration, parseOnChange } from './values.ts';

/** Applies the config file (already schema-checked) to `settings`; bad values fail through `source`. */
export function applyFile(settings: Settings, file: ConfigFile, source: Source): void {
  if (file.mode !== undefined) settings.mode = file.mode;
  if (file.timeout !== undefined)
    settings.timeoutMs = wrap(source, 'timeout', () => parseDuration(file.timeout!));
  if (file.kill_timeout !== undefined) {
    settings.killTimeoutMs = wrap(source, 'kill_timeout', () => parseDuration(file.kill_timeout!));
  }
  if (file.log_level !== undefined) settings.logLevel = file.log_level;
  if (file.log_format !== undefined) settings.logFormat = file.log_format;
  if (file.pristine !== undefined) settings.pristine = file.pristine;
  if (file.keep) settings.keep.push(...file.keep);
  if (file.drop) settings.drop.push(...file.drop);
  if (file.on_change !== undefined)
    settings.onChange = wrap(source, 'on_change', () => parseOnChange(file.on_change!));
  if (file.watch !== undefined) settings.watchMs = wrap(source, 'watch', () => parseDuration(file.watch!));
  if (file.mask !== undefined) settings.mask = file.mask;
  if (file.splay !== undefined) settings.splayMs = wrap(source, 'splay', () => parseDuration(file.splay!));
  if (file.revoke !== undefined) settings.revoke = file.revoke;
  if (file.audit !== undefined) settings.audit = file.audit;
  for (const [name, entry] of Object.entries(file.env ?? {})) {
    if (typeof entry === 'string') {
      settings.env.push({ name, ref: entry, source: 'config' });
    } else {
      const item: Settings['env'][number] = { name, ref: entry.ref, source: 'config' };
      if (entry.on_change !== undefined) {
        item.onChange = wrap(source, `env.${name}.on_change`, () => parseOnChange(entry.on_change!));
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
  applyVault(settings, file.vault ?? {});
  if (file.aws?.region !== undefined) settings.aws.region = file.aws.region;
  if (file.aws?.endpoint !== undefined) settings.aws.endpoint = file.aws.endpoint;
}

function applyVault(settings: Settings, v: NonNullable<ConfigFile['vault']>): void {
  if (v.address !== undefined) settings.vault.address = v.address;
  if (v.namespace !== undefined) settings.vault.namespace = v.namespace;
  if (v.allow_insecure_http !== undefined) settings.allowInsecureHttp = v.allow_insecure_http;
  const a = v.auth ?? {};
  const auth = settings.vault.auth;
  if (a.method !== undefined) auth.method = a.method;
  for (const [key] of AUTH_KEYS) {
    const value = a[snakeCase(key) as keyof VaultAuthConfig];
    if (value !== undefined) (auth as unknown as Record<string, unknown>)[key] = value;
  }
  const t = v.tls ?? {};
  const tls = settings.vault.tls;
  if (t.ca !== undefined) tls.ca = t.ca;
  if (t.capath !== undefined) tls.capath = t.capath;
  if (t.cert !== undefined) tls.cert = t.cert;
  if (t.key !== undefined) tls.key = t.key;
  if (t.server_name !== undefined) tls.serverName = t.server_name;
  if (t.skip_verify !== undefined) tls.skipVerify = t.skip_verify;
}
