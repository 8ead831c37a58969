import { ConfigError } from '../../base/errors.ts';
import { isLoopbackHost } from '../net.ts';
import { parseDurationMs, parseGoBool, parseUint } from './env-values.ts';

/** TLS material and policy for the Vault connection (paths, not contents). */
export interface VaultTlsSettings {
  /** `VAULT_CACERT`: PEM file with the CA(s) to trust instead of the system roots. */
  caCert?: string;
  /** `VAULT_CACERT_BYTES`: inline PEM. */
  caCertBytes?: string;
  /** `VAULT_CAPATH`: directory of PEM files. */
  caPath?: string;
  /** `VAULT_CLIENT_CERT` / `VAULT_CLIENT_KEY`: both or neither. */
  clientCert?: string;
  clientKey?: string;
  /** `VAULT_TLS_SERVER_NAME`: SNI and the name the certificate is checked against. */
  serverName?: string;
  /** `VAULT_SKIP_VERIFY`, parsed as a boolean. */
  skipVerify: boolean;
}

/** Everything the transport needs, parsed and validated; no secrets. */
export interface VaultSettings {
  /** Base URL without a trailing slash, e.g. `https://127.0.0.1:8200`. */
  address: string;
  namespace?: string;
  /** Per-request timeout (whole request, body included). */
  timeoutMs: number;
  /** Retries after the first try (`VAULT_MAX_RETRIES`); undefined: retry until the boot deadline. */
  maxRetries?: number;
  /** Where the address came from: `VAULT_ADDR`, the config file / flag, or the default. */
  addressFrom: 'env' | 'config' | 'default';
  tls: VaultTlsSettings;
  /** Whether plain http to a non-loopback host was explicitly allowed. */
  allowInsecureHttp: boolean;
}

/** Values from the config file or flags; each wins over its `VAULT_*` variable. */
export interface VaultSettingsOverrides {
  address?: string;
  namespace?: string;
  timeoutMs?: number;
  maxRetries?: number;
  tls?: {
    ca?: string;
    caPath?: string;
    cert?: string;
    key?: string;
    serverName?: string;
    skipVerify?: boolean;
  };
  allowInsecureHttp?: boolean;
}

/** The vault CLI default; node-vault's own default is plain http, which we never use. */
export const DEFAULT_VAULT_ADDR = 'https://127.0.0.1:8200';
/** Per-request timeout when `VAULT_CLIENT_TIMEOUT` is not set (the Go client's default). */
export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Reads the `VAULT_*` variables from `env` (never from `process.env`) and applies overrides.
 * Throws ConfigError naming the variable for junk values, a bad address, or plain http to a
 * non-loopback host without `allowInsecureHttp`.
 */
export function readVaultSettings(
  env: Record<string, string | undefined>,
  overrides: VaultSettingsOverrides = {},
): VaultSettings {
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const skipEnv = get('VAULT_SKIP_VERIFY');
  const timeoutEnv = get('VAULT_CLIENT_TIMEOUT');
  const retriesEnv = get('VAULT_MAX_RETRIES');
  const allowInsecureHttp = overrides.allowInsecureHttp ?? false;
  const address = parseAddress(
    overrides.address ?? get('VAULT_ADDR') ?? DEFAULT_VAULT_ADDR,
    overrides.address ? 'vault.address' : 'VAULT_ADDR',
    allowInsecureHttp,
  );
  const t = overrides.tls ?? {};
  const tls: VaultTlsSettings = {
    caCert: t.ca ?? get('VAULT_CACERT'),
    caCertBytes: t.ca || t.caPath ? undefined : get('VAULT_CACERT_BYTES'),
    caPath: t.caPath ?? get('VAULT_CAPATH'),
    clientCert: t.cert ?? get('VAULT_CLIENT_CERT'),
    clientKey: t.key ?? get('VAULT_CLIENT_KEY'),
    serverName: t.serverName ?? get('VAULT_TLS_SERVER_NAME'),
    skipVerify: t.skipVerify ?? (skipEnv === undefined ? false : parseGoBool(skipEnv, 'VAULT_SKIP_VERIFY')),
  };
  if (Boolean(tls.clientCert) !== Boolean(tls.clientKey)) {
    throw new ConfigError(
      'VAULT_CLIENT_CERT and VAULT_CLIENT_KEY must be set together (a client certificate needs its key)',
      'vault.clientCert',
    );
  }
  return {
    address,
    namespace: overrides.namespace ?? get('VAULT_NAMESPACE'),
    timeoutMs:
      overrides.timeoutMs ??
      (timeoutEnv === undefined ? DEFAULT_TIMEOUT_MS : parseDurationMs(timeoutEnv, 'VAULT_CLIENT_TIMEOUT')),
    maxRetries:
      overrides.maxRetries ??
      (retriesEnv === undefined ? undefined : parseUint(retriesEnv, 'VAULT_MAX_RETRIES')),
    addressFrom: overrides.address ? 'config' : get('VAULT_ADDR') ? 'env' : 'default',
    tls,
    allowInsecureHttp,
  };
}

function parseAddress(raw: string, name: string, allowInsecureHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL: "${raw}"`, 'vault.badAddress', { variable: name });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(
      `${name} must be an http:// or https:// address (unix sockets are not supported), got ${url.protocol}`,
      'vault.badAddress',
      { variable: name },
    );
  }
  if (url.username || url.password) {
    throw new ConfigError(`${name} must not contain credentials`, 'vault.badAddress', { variable: name });
  }
  if (url.search || url.hash) {
    throw new ConfigError(`${name} must not have a query or fragment`, 'vault.badAddress', {
      variable: name,
    });
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !allowInsecureHttp) {
    throw new ConfigError(
      `refusing plain http to ${url.host}: the Vault token would cross the network unencrypted; ` +
        'use https, or allow it explicitly with --allow-insecure-http',
      'vault.insecureHttp',
      { variable: name },
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
