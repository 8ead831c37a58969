import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InternalError, NotFoundError, PermissionError, RefError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { DocumentRequest, DocumentResult, Lease, Provider, SecretDocument } from './provider.ts';
import {
  mapVaultError,
  readVaultSettings,
  type VaultCertFact,
  VaultClient,
  type VaultClientOptions,
  type VaultEnvelope,
  VaultHttpError,
  type VaultSettingsOverrides,
} from './vault-client.ts';
import { kvV2DataPath, MountCache, type MountInfo, parseMountInfo } from './vault-kv.ts';
import { createVaultProbe } from './vault-probe.ts';

/** What an auth method hands back. */
export interface VaultAuthResult {
  /** The client token. Never logged. */
  token: string;
  /** Method name for logs and `secrun check` (`token`, `approle`, ...). */
  method: string;
  /** True when the agent obtained the token by logging in; close() then revokes it. */
  owned?: boolean;
  /** Auth mount (`approle`, `ci/jwt`) for login methods. */
  mount?: string;
}

/** What an auth method may use: the environment, the home directory, and the transport. */
export interface VaultAuthContext {
  env: Record<string, string | undefined>;
  homeDir: string;
  logger: Logger;
  /** Transport with retries; pass `noToken: true` for logins. */
  client: VaultClient;
  signal: AbortSignal;
}

/** An auth method: produces the token the provider sends. Default: {@link tokenAuth}. */
export type VaultAuth = (ctx: VaultAuthContext) => Promise<VaultAuthResult>;

/**
 * Token auth as the vault CLI does it: `VAULT_TOKEN` (or the config override), else
 * `~/.vault-token` (trimmed; a missing file means no token). No token is a PermissionError.
 */
export function tokenAuth(override?: string): VaultAuth {
  return async (ctx) => {
    const fromEnv = override ?? ctx.env.VAULT_TOKEN?.trim();
    if (fromEnv) return { token: fromEnv, method: 'token' };
    const file = join(ctx.homeDir, '.vault-token');
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        ctx.logger.warn('cannot read the Vault token file', { path: file, code: code ?? 'error' });
      }
    }
    const token = text.trim();
    if (token) return { token, method: 'token' };
    throw new PermissionError(
      'no Vault token: set VAULT_TOKEN, run `vault login` (it writes ~/.vault-token), or configure vault.auth',
      'vault.noToken',
    );
  };
}

/** Options for {@link createVaultProvider}. */
export interface VaultProviderOptions {
  /** Where `VAULT_*` is read from (the agent's environment, never `process.env` directly). */
  env: Record<string, string | undefined>;
  logger: Logger;
  /** For `~/.vault-token`. */
  homeDir: string;
  /** Config file / flag values; each wins over its variable. */
  address?: string;
  namespace?: string;
  token?: string;
  tls?: VaultSettingsOverrides['tls'];
  timeoutMs?: number;
  maxRetries?: number;
  /** Allow plain http to a non-loopback host. */
  allowInsecureHttp?: boolean;
  /** Auth method; default token auth. */
  auth?: VaultAuth;
  /** Backoff tuning, file access and DNS lookup (tests). */
  retry?: VaultClientOptions['retry'];
  files?: VaultClientOptions['files'];
  lookup?: VaultClientOptions['lookup'];
}

/** A login, as the audit stream records it: never the token. */
export interface VaultLoginSummary {
  method: string;
  mount?: string;
  accessor?: string;
  policies?: string[];
  ttl?: number;
  renewable?: boolean;
  /** True when the agent logged in (and so revokes the token). */
  owned: boolean;
}

/** `auth/token/lookup-self`, reduced to what the supervisor needs. */
export interface VaultTokenInfo {
  /** Seconds left; 0 with `expireTime` null means it never expires (root). */
  ttl: number;
  renewable: boolean;
  expireTime: string | null;
  policies: string[];
  /** Token type (`service` / `batch`). */
  type?: string;
}

/** Result of a renewal. */
export interface VaultRenewal {
  /** New duration in seconds. */
  duration: number;
  renewable: boolean;
  /** Server warnings (e.g. TTL capped by max_ttl): schedule a fresh fetch instead of a renewal. */
  warnings: string[];
}

/** Lease and token operations the supervisor uses, over the same transport and token. */
export interface VaultSession {
  renewLease(
    id: string,
    incrementSeconds: number,
    signal?: AbortSignal,
  ): Promise<VaultRenewal & { id: string }>;
  revokeLease(id: string, signal?: AbortSignal): Promise<void>;
  lookupSelf(signal?: AbortSignal): Promise<VaultTokenInfo>;
  renewSelf(incrementSeconds?: number, signal?: AbortSignal): Promise<VaultRenewal>;
  revokeSelf(signal?: AbortSignal): Promise<void>;
}

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

/** What {@link VaultProvider.relogin} returns: the new login's details, never the token. */
export interface VaultReloginInfo {
  method: string;
  accessor?: string;
  policies?: string[];
  /** TTL of the new token in seconds. */
  leaseDuration?: number;
  renewable?: boolean;
}

/** The Vault provider: documents plus session operations. */
export interface VaultProvider extends Provider, VaultSession {
  readonly scheme: 'vault';
  /** The auth method in use, once authenticated. */
  readonly authMethod: string | undefined;
  /** What the login returned (no token), once authenticated; for the audit stream. */
  readonly loginSummary: VaultLoginSummary | undefined;
  /**
   * Authenticates if needed, then describes the token (`auth/token/lookup-self`, falling back to
   * what the login returned when lookup-self is denied) and the certificates in use.
   */
  checkInfo(signal?: AbortSignal, now?: Date): Promise<VaultCheckInfo>;
  /**
   * Logs in again with the configured method (supervise mode, when the token cannot be renewed
   * any more). Resolves with the new login's details (never the token), or undefined when the
   * token was not obtained by logging in (token auth: nothing to log in with). On failure the
   * old token stays in use. The old token is not revoked: leases it created live until it expires.
   */
  relogin(signal?: AbortSignal): Promise<VaultReloginInfo | undefined>;
}

/**
 * Creates the Vault provider. Settings are validated now (ConfigError before any connection);
 * authentication happens on first use and is shared by concurrent callers.
 */
export function createVaultProvider(opts: VaultProviderOptions): VaultProvider {
  const settings = readVaultSettings(opts.env, {
    address: opts.address,
    namespace: opts.namespace,
    tls: opts.tls,
    timeoutMs: opts.timeoutMs,
    maxRetries: opts.maxRetries,
    allowInsecureHttp: opts.allowInsecureHttp,
  });
  const client = new VaultClient(settings, {
    logger: opts.logger,
    retry: opts.retry,
    files: opts.files,
    lookup: opts.lookup,
  });
  if (opts.env.NODE_TLS_REJECT_UNAUTHORIZED === '0' && settings.address.startsWith('https:')) {
    opts.logger.warn(
      'NODE_TLS_REJECT_UNAUTHORIZED=0 is set; secrun ignores it for Vault and still verifies the certificate',
    );
  }
  const auth = opts.auth ?? tokenAuth(opts.token);
  let authPromise: Promise<VaultAuthResult> | undefined;
  let authResult: VaultAuthResult | undefined;
  let closed = false;

  const authenticate = (signal: AbortSignal): Promise<VaultAuthResult> => {
    authPromise ??= auth({ env: opts.env, homeDir: opts.homeDir, logger: opts.logger, client, signal }).then(
      (r) => {
        client.setToken(r.token);
        authResult = r;
        return r;
      },
      (err: unknown) => {
        authPromise = undefined;
        throw mapVaultError(err, client.errorContext());
      },
    );
    return authPromise;
  };

  const mounts = new MountCache(async (path, signal) => {
    try {
      const env = await client.request({ method: 'GET', path: `sys/internal/ui/mounts/${path}`, signal });
      return parseMountInfo(env?.data);
    } catch (err) {
      // 403: unknown mount or a token that cannot see it; 404: a Vault without the endpoint.
      if (err instanceof VaultHttpError && (err.status === 403 || err.status === 404)) return null;
      throw err;
    }
  });
  const probeDocument = createVaultProbe({ client, mounts, logger: opts.logger });

  const readDocument = async (
    req: DocumentRequest,
    signal: AbortSignal,
    shared?: Map<string, Promise<SecretDocument>>,
  ): Promise<SecretDocument> => {
    const path = req.path.replace(/^\/+|\/+$/g, '');
    if (path === '' || path.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) {
      throw new RefError(`invalid Vault path "${req.path}"`, 'vault.badPath', { path: req.path });
    }
    const version = req.options.version;
    if (version !== undefined && !/^\d+$/.test(version)) {
      throw new RefError(`version must be a whole number, got "${version}"`, 'vault.badVersion', { path });
    }
    const mount = await mounts.resolve(path, signal);
    if (mount?.kvVersion === 2) {
      // `secret/app/db` and `secret/data/app/db` are one document on KV v2: read it once per batch.
      const key = `${kvV2DataPath(mount.path, path)}?${version ?? ''}`;
      let read = shared?.get(key);
      if (!read) {
        read = readKv2(path, mount, version, signal);
        shared?.set(key, read);
      }
      return { ...(await read) };
    }
    if (version !== undefined && mount) {
      throw new NotFoundError(
        `?version is only supported on KV v2 mounts; ${mount.path}/ is ${mount.kvVersion ? 'KV v1' : mount.type}`,
        'vault.versionUnsupported',
        { path },
      );
    }
    const env = await client
      .request({ method: 'GET', path, query: version !== undefined ? { version } : undefined, signal })
      .catch((err: unknown) => {
        throw mount ? err : kvGone(err, path, version);
      });
    // Preflight denied and the path looks like `<mount>/data/...`: unwrap a KV v2 answer.
    const kv2 = !mount && /^[^/]+(\/[^/]+)*\/data\//.test(path) ? kv2Document(env?.data) : undefined;
    if (kv2) return kv2;
    const data = env?.data;
    if (!data || typeof data !== 'object' || Array.isArray(data)) {
      throw new NotFoundError(`no data at ${path}`, 'vault.notFound', { path });
    }
    const doc: SecretDocument = { value: data as Record<string, unknown> };
    const lease = leaseOf(env);
    if (lease) doc.lease = lease;
    doc.info = infoOf(mount);
    return doc;
  };

  const readKv2 = async (
    path: string,
    mount: MountInfo,
    version: string | undefined,
    signal: AbortSignal,
  ): Promise<SecretDocument> => {
    const env = await client
      .request({
        method: 'GET',
        path: kvV2DataPath(mount.path, path),
        query: version !== undefined && version !== '0' ? { version } : undefined,
        signal,
      })
      .catch((err: unknown) => {
        throw kvGone(err, path, version);
      });
    const doc = kv2Document(env?.data);
    if (!doc) throw new NotFoundError(`secret not found at ${path}`, 'vault.notFound', { path });
    doc.info = infoOf(mount);
    return doc;
  };

  const session = async <T>(
    path: string | undefined,
    signal: AbortSignal | undefined,
    fn: (s: AbortSignal) => Promise<T>,
  ): Promise<T> => {
    const s = signal ?? new AbortController().signal;
    await authenticate(s);
    try {
      return await fn(s);
    } catch (err) {
      throw mapVaultError(err, client.errorContext(path));
    }
  };

  const provider: VaultProvider = {
    scheme: 'vault',

    async probe(req, signal) {
      if (closed) throw new InternalError('the Vault provider is closed', 'vault.closed');
      await authenticate(signal);
      return probeDocument(req, signal);
    },
    get authMethod() {
      return authResult?.method;
    },
    get loginSummary() {
      if (!authResult) return undefined;
      const r = authResult as VaultAuthResult &
        Omit<Partial<VaultLoginSummary>, 'ttl'> & { leaseDuration?: number };
      const summary: VaultLoginSummary = { method: r.method, owned: r.owned === true };
      if (r.mount) summary.mount = r.mount;
      if (r.accessor) summary.accessor = r.accessor;
      if (r.policies) summary.policies = r.policies;
      if (r.leaseDuration !== undefined) summary.ttl = r.leaseDuration;
      if (r.renewable !== undefined) summary.renewable = r.renewable;
      return summary;
    },

    async readAll(requests, signal) {
      if (closed) throw new InternalError('the Vault provider is closed', 'vault.closed');
      await authenticate(signal);
      const results = new Map<string, DocumentResult>();
      const unique = new Map<string, DocumentRequest>();
      for (const r of requests) if (!unique.has(r.key)) unique.set(r.key, r);
      const shared = new Map<string, Promise<SecretDocument>>();
      await Promise.all(
        [...unique.values()].map(async (req) => {
          if (req.scheme !== 'vault') {
            results.set(req.key, {
              ok: false,
              error: new InternalError(`not a vault reference: ${req.scheme}`, 'vault.wrongScheme'),
            });
            return;
          }
          try {
            results.set(req.key, { ok: true, doc: await readDocument(req, signal, shared) });
          } catch (err) {
            results.set(req.key, { ok: false, error: mapVaultError(err, client.errorContext(req.path)) });
          }
        }),
      );
      return results;
    },

    renewLease(id, incrementSeconds, signal) {
      return session(undefined, signal, async (s) => {
        const env = await client.request({
          method: 'PUT',
          path: 'sys/leases/renew',
          body: { lease_id: id, increment: Math.max(0, Math.round(incrementSeconds)) },
          signal: s,
        });
        return { id: env?.lease_id || id, ...renewalOf(env?.lease_duration, env?.renewable, env?.warnings) };
      });
    },

    revokeLease(id, signal) {
      return session(undefined, signal, async (s) => {
        await client.request({ method: 'PUT', path: 'sys/leases/revoke', body: { lease_id: id }, signal: s });
      });
    },

    lookupSelf(signal) {
      return session(undefined, signal, async (s) => {
        const env = await client.request({ method: 'GET', path: 'auth/token/lookup-self', signal: s });
        const d = (env?.data ?? {}) as Record<string, unknown>;
        const info: VaultTokenInfo = {
          ttl: typeof d.ttl === 'number' ? d.ttl : 0,
          renewable: d.renewable === true,
          expireTime: typeof d.expire_time === 'string' ? d.expire_time : null,
          policies: Array.isArray(d.policies)
            ? d.policies.filter((p): p is string => typeof p === 'string')
            : [],
        };
        if (typeof d.type === 'string') info.type = d.type;
        return info;
      });
    },

    renewSelf(incrementSeconds, signal) {
      return session(undefined, signal, async (s) => {
        const body = incrementSeconds === undefined ? {} : { increment: Math.round(incrementSeconds) };
        const env = await client.request({ method: 'POST', path: 'auth/token/renew-self', body, signal: s });
        const a = (env?.auth ?? {}) as Record<string, unknown>;
        return renewalOf(a.lease_duration, a.renewable, env?.warnings);
      });
    },

    async checkInfo(signal, now = new Date()) {
      const s = signal ?? AbortSignal.timeout(settings.timeoutMs);
      const login = await authenticate(s);
      const extra = login as VaultAuthResult & {
        accessor?: string;
        policies?: string[];
        leaseDuration?: number;
        renewable?: boolean;
      };
      const auth: VaultAuthInfo = {
        method: login.method,
        policies: extra.policies ?? [],
        ttl: extra.leaseDuration ?? 0,
        renewable: extra.renewable ?? false,
        expireTime: null,
        owned: login.owned === true,
      };
      if (login.mount) auth.mount = login.mount;
      if (extra.accessor) auth.accessor = extra.accessor;
      try {
        const env = await client.request({ method: 'GET', path: 'auth/token/lookup-self', signal: s });
        const d = (env?.data ?? {}) as Record<string, unknown>;
        if (typeof d.accessor === 'string' && d.accessor) auth.accessor = d.accessor;
        if (Array.isArray(d.policies))
          auth.policies = d.policies.filter((p): p is string => typeof p === 'string');
        if (typeof d.ttl === 'number') auth.ttl = d.ttl;
        auth.renewable = d.renewable === true;
        auth.expireTime = typeof d.expire_time === 'string' ? d.expire_time : null;
        if (typeof d.type === 'string') auth.type = d.type;
      } catch (err) {
        // A token without lookup-self (no default policy) still works; report what the login said.
        if (!(err instanceof VaultHttpError && err.status === 403)) {
          throw mapVaultError(err, client.errorContext('auth/token/lookup-self'));
        }
        opts.logger.debug('lookup-self denied; token details come from the login', { method: login.method });
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
          opts.logger.warn(
            c.daysLeft < 0
              ? `the Vault ${c.role} certificate in ${c.file} expired on ${c.notAfter}`
              : `the Vault ${c.role} certificate in ${c.file} expires in ${c.daysLeft} days (${c.notAfter})`,
            { subject: c.subject },
          );
        }
      }
      return info;
    },

    revokeSelf(signal) {
      return session(undefined, signal, async (s) => {
        await client.request({ method: 'POST', path: 'auth/token/revoke-self', signal: s });
      });
    },

    async relogin(signal) {
      if (closed) throw new InternalError('the Vault provider is closed', 'vault.closed');
      const s = signal ?? AbortSignal.timeout(settings.timeoutMs);
      const current = await authenticate(s);
      if (!current.owned) return undefined;
      const previous = authPromise;
      authPromise = undefined;
      try {
        const next = (await authenticate(s)) as VaultAuthResult & Omit<VaultReloginInfo, 'method'>;
        const info: VaultReloginInfo = { method: next.method };
        if (next.accessor) info.accessor = next.accessor;
        if (next.policies) info.policies = next.policies;
        if (typeof next.leaseDuration === 'number') info.leaseDuration = next.leaseDuration;
        if (typeof next.renewable === 'boolean') info.renewable = next.renewable;
        return info;
      } catch (err) {
        authPromise ??= previous;
        throw err;
      }
    },

    async close(closeOpts) {
      if (closed) return;
      closed = true;
      try {
        if (authResult?.owned && !closeOpts?.keepToken) {
          await client
            .request({ method: 'POST', path: 'auth/token/revoke-self', signal: AbortSignal.timeout(5000) })
            .catch((err: unknown) =>
              opts.logger.warn('could not revoke the Vault token', {
                reason: mapVaultError(err, client.errorContext()).message,
              }),
            );
        }
      } finally {
        client.setToken(undefined);
        client.close();
      }
    },
  };
  return provider;
}

/** A KV v2 `data` object ({data, metadata}) as a document; undefined for any other shape. */
function kv2Document(raw: unknown): SecretDocument | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const { data: value, metadata: md } = raw as { data?: unknown; metadata?: Record<string, unknown> | null };
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  if (!md || typeof md !== 'object' || typeof md.version !== 'number') return undefined;
  const doc: SecretDocument = { value: value as Record<string, unknown>, version: md.version };
  if (typeof md.created_time === 'string') {
    const d = new Date(md.created_time);
    if (!Number.isNaN(d.getTime())) doc.createdAt = d;
  }
  return doc;
}

/** A KV v2 404 envelope for a deleted or destroyed version becomes a NotFoundError saying so. */
function kvGone(err: unknown, path: string, version: string | undefined): unknown {
  if (err instanceof VaultHttpError && err.status === 404 && !err.kv && version !== undefined) {
    return new NotFoundError(`version ${version} of ${path} does not exist`, 'vault.noVersion', {
      path,
      status: 404,
      version,
    });
  }
  if (!(err instanceof VaultHttpError) || err.status !== 404 || !err.kv) return err;
  const v = err.kv.version ?? version ?? 'latest';
  const details = { path, status: 404, version: String(v) };
  if (err.kv.destroyed) {
    return new NotFoundError(
      `version ${v} of ${path} was destroyed; ask for another version (?version=N)`,
      'vault.destroyed',
      details,
    );
  }
  if (err.kv.deletionTime) {
    return new NotFoundError(
      `version ${v} of ${path} was deleted at ${err.kv.deletionTime}; undelete it or ask for another version`,
      'vault.deleted',
      details,
    );
  }
  return err;
}

function leaseOf(env: VaultEnvelope | undefined): Lease | undefined {
  if (!env || typeof env.lease_id !== 'string' || env.lease_id === '') return undefined;
  return {
    id: env.lease_id,
    duration: typeof env.lease_duration === 'number' ? env.lease_duration : 0,
    renewable: env.renewable === true,
  };
}

function infoOf(mount: MountInfo | null): Record<string, string | number | boolean> {
  if (!mount) return {};
  const info: Record<string, string | number | boolean> = { mount: `${mount.path}/`, mountType: mount.type };
  if (mount.kvVersion) info.kvVersion = mount.kvVersion;
  return info;
}

function renewalOf(duration: unknown, renewable: unknown, warnings: unknown): VaultRenewal {
  return {
    duration: typeof duration === 'number' ? duration : 0,
    renewable: renewable === true,
    warnings: Array.isArray(warnings) ? warnings.filter((w): w is string => typeof w === 'string') : [],
  };
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
