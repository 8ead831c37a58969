import type { Logger } from '../../base/log.ts';
import type { Provider } from '../provider.ts';
import type { VaultCertFact } from './cert-facts.ts';
import type { VaultClient } from './client.ts';
import { mapVaultError } from './error-map.ts';
import { VaultHttpError } from './http-errors.ts';
import type { VaultProvider } from './provider-types.ts';
import { tokenInfoOf } from './session.ts';
import type { VaultLoginDetails } from './token-holder.ts';

/** The token in use, as `secrun check` shows it (no token, only its accessor). */
export interface VaultAuthInfo {
  /** `token`, `approle`, `kubernetes`, `jwt`, `cert` (or a custom hook's name). */
  method: string;
  /** Auth mount for login methods. */
  mount?: string;
  /** Token accessor; absent when lookup-self is denied and the login did not say. */
  accessor?: string;
  policies: string[];
  /** Seconds left; 0 with `expireTime` null means it never expires. */
  ttl: number;
  renewable: boolean;
  expireTime: string | null;
  /** `service` or `batch`, when known. */
  type?: string;
  /** Whether the agent logged in (and revokes this token when done). */
  owned: boolean;
}

/** The Vault part of `secrun check`: connection, token and certificate facts. Never a secret. */
export interface VaultCheckInfo {
  address: string;
  namespace?: string;
  /** False when VAULT_SKIP_VERIFY turned certificate verification off. */
  tlsVerify: boolean;
  auth: VaultAuthInfo;
  /** CA (`VAULT_CACERT`/`VAULT_CAPATH`) and client certificates in use, with days left. */
  certificates: VaultCertFact[];
}

/** Days before expiry at which `secrun check` warns about a certificate. */
export const CERT_WARN_DAYS = 30;

/**
 * The check facts for the token `login` produced: `auth/token/lookup-self` when the token may
 * call it, else what the login said; plus the certificates in use, warning about any that expire
 * within {@link CERT_WARN_DAYS}.
 */
export async function buildCheckInfo(
  client: VaultClient,
  login: VaultLoginDetails,
  logger: Logger,
  signal: AbortSignal,
  now: Date,
): Promise<VaultCheckInfo> {
  const settings = client.settings;
  const auth: VaultAuthInfo = {
    method: login.method,
    policies: login.policies ?? [],
    ttl: login.leaseDuration ?? 0,
    renewable: login.renewable ?? false,
    expireTime: null,
    owned: login.owned === true,
  };
  if (login.mount) auth.mount = login.mount;
  if (login.accessor) auth.accessor = login.accessor;
  try {
    const env = await client.request({ method: 'GET', path: 'auth/token/lookup-self', signal });
    const d = (env?.data ?? {}) as Record<string, unknown>;
    const token = tokenInfoOf(d);
    if (typeof d.accessor === 'string' && d.accessor) auth.accessor = d.accessor;
    if (Array.isArray(d.policies)) auth.policies = token.policies;
    if (typeof d.ttl === 'number') auth.ttl = token.ttl;
    auth.renewable = token.renewable;
    auth.expireTime = token.expireTime;
    if (token.type !== undefined) auth.type = token.type;
  } catch (err) {
    // A token without lookup-self (no default policy) still works; report what the login said.
    if (!(err instanceof VaultHttpError && err.status === 403)) {
      throw mapVaultError(err, client.errorContext('auth/token/lookup-self'));
    }
    logger.debug('lookup-self denied; token details come from the login', { method: login.method });
  }
  const info: VaultCheckInfo = {
    address: settings.address,
    tlsVerify: !settings.tls.skipVerify,
    auth,
    certificates: client.certificateFacts(now),
  };
  if (settings.namespace) info.namespace = settings.namespace;
  for (const c of info.certificates) {
    if (c.daysLeft < CERT_WARN_DAYS) {
      logger.warn(
        c.daysLeft < 0
          ? `the Vault ${c.role} certificate in ${c.file} expired on ${c.notAfter}`
          : `the Vault ${c.role} certificate in ${c.file} expires in ${c.daysLeft} days (${c.notAfter})`,
        { subject: c.subject },
      );
    }
  }
  return info;
}

/**
 * The Vault facts for `secrun check`, or undefined when `provider` is not the Vault provider.
 * Call it before the registry is closed (it reuses the provider's token and connection).
 */
export async function vaultCheckInfo(
  provider: Provider,
  signal?: AbortSignal,
  now?: Date,
): Promise<VaultCheckInfo | undefined> {
  const p = provider as Partial<VaultProvider>;
  if (provider.scheme !== 'vault' || typeof p.checkInfo !== 'function') return undefined;
  return p.checkInfo(signal, now);
}

/** Human-readable lines for `secrun check` (no values, no token). */
export function formatVaultCheck(info: VaultCheckInfo): string {
  const a = info.auth;
  const ttl = a.ttl === 0 && a.expireTime === null ? 'never expires' : `${a.ttl}s`;
  const lines = [
    `Vault ${info.address}${info.namespace ? ` (namespace ${info.namespace})` : ''}${info.tlsVerify ? '' : ' [TLS VERIFICATION OFF]'}`,
    `  auth        ${a.method}${a.mount ? ` at auth/${a.mount}/` : ''}${a.owned ? ' (login token)' : ''}`,
    `  accessor    ${a.accessor ?? '-'}`,
    `  policies    ${a.policies.length ? a.policies.join(', ') : '-'}`,
    `  token ttl   ${ttl}${a.expireTime ? ` (expires ${a.expireTime})` : ''}, ${a.renewable ? 'renewable' : 'not renewable'}`,
  ];
  for (const c of info.certificates) {
    const when =
      c.daysLeft < 0
        ? 'EXPIRED'
        : `${c.daysLeft} days left${c.daysLeft < CERT_WARN_DAYS ? ' (WARNING)' : ''}`;
    lines.push(
      `  ${c.role === 'ca' ? 'CA cert    ' : 'client cert'} ${c.file}: ${c.subject}, until ${c.notAfter}, ${when}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
