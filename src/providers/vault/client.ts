import type https from 'node:https';
import type { LookupFunction } from 'node:net';
import { createLimiter, MAX_CONCURRENT_REQUESTS } from '../../base/limit.ts';
import type { Logger } from '../../base/log.ts';
import { collectStrings } from '../../base/redact.ts';
import { parseRetryAfter, withRetry } from '../../base/retry.ts';
import { createRetryAnnouncer } from '../../base/retry-log.ts';
import { isLoopbackHost } from '../net.ts';
import { certificateFacts, type VaultCertFact } from './cert-facts.ts';
import type { VaultSettings } from './env-settings.ts';
import type { ErrorContext } from './error-map.ts';
import { httpErrorFrom, VaultHttpError, VaultTransportError } from './http-errors.ts';
import type { CallState } from './http-request.ts';
import { createNodeVault, type NodeVaultClient, setNodeVaultToken } from './node-vault.ts';
import { encodePath, encodeQuery } from './path.ts';
import { classifyVaultError } from './retry-policy.ts';
import { checkClientPair, loadTlsMaterial, type TlsCertSource, type TlsFileReader } from './tls.ts';
import { HttpTransport } from './transport.ts';

/** Request body fields that name things rather than hold credentials (kept in error text). */
const PUBLIC_BODY_KEYS = new Set(['role', 'name', 'increment', 'lease_id', 'ttl']);

/** One Vault API call. `path` has no leading slash and no `/v1`. */
export interface VaultRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** Appended as a query string (values URL-encoded). */
  query?: Record<string, string>;
  body?: Record<string, unknown>;
  signal?: AbortSignal;
  /** Send no token (logins). */
  noToken?: boolean;
  /** Send this token instead of the session's (unwrapping). */
  token?: string;
  /**
   * `false`: exactly one attempt, whatever the failure (single-use operations such as unwrapping,
   * where a retry after a lost answer would only burn the token again).
   */
  retry?: false;
}

/** The parts of a Vault response envelope the agent uses. */
export interface VaultEnvelope {
  request_id?: string;
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  data?: unknown;
  warnings?: string[] | null;
  auth?: Record<string, unknown> | null;
  wrap_info?: Record<string, unknown> | null;
  [key: string]: unknown;
}

/** Options for {@link VaultClient}. */
export interface VaultClientOptions {
  logger: Logger;
  /** Backoff tuning (tests): first ceiling and cap in ms, random source. */
  retry?: { baseMs?: number; capMs?: number; random?: () => number };
  /** File access for TLS material (tests). */
  files?: TlsFileReader;
  /** DNS lookup for the connection (tests map a name to a local listener). */
  lookup?: LookupFunction;
  /**
   * Every secret the run knows (shared with the other providers): redacted from Vault's error
   * text. The client adds the tokens and credentials it sends and the values it reads.
   */
  knownSecrets?: Set<string>;
  /** Requests in flight at once (default {@link MAX_CONCURRENT_REQUESTS}); the rest queue. */
  maxConcurrent?: number;
}

/**
 * The Vault transport: node-vault for paths, headers and response handling, our HTTP layer
 * under it, retries with full jitter, and raw errors that carry nothing secret.
 */
export class VaultClient {
  readonly settings: VaultSettings;
  readonly #logger: Logger;
  readonly #transport: HttpTransport;
  readonly #nv: NodeVaultClient;
  readonly #retry: NonNullable<VaultClientOptions['retry']>;
  readonly #tlsOptions: https.AgentOptions;
  readonly #certs: TlsCertSource[];
  readonly #known: Set<string>;
  readonly #limit: <T>(fn: () => Promise<T>) => Promise<T>;
  readonly #announce: ReturnType<typeof createRetryAnnouncer>;

  constructor(settings: VaultSettings, opts: VaultClientOptions) {
    this.settings = settings;
    this.#known = opts.knownSecrets ?? new Set();
    this.#logger = opts.logger;
    this.#retry = opts.retry ?? {};
    this.#limit = createLimiter(opts.maxConcurrent ?? MAX_CONCURRENT_REQUESTS);
    this.#announce = createRetryAnnouncer(opts.logger);
    const material = loadTlsMaterial(settings.tls, opts.logger, opts.files);
    this.#tlsOptions = material.options;
    this.#certs = material.certs;
    const { cert, key } = material.options;
    if (Buffer.isBuffer(cert) && Buffer.isBuffer(key)) {
      checkClientPair(settings.tls, cert, key);
    }
    const base = new URL(settings.address);
    if (base.protocol === 'http:' && !isLoopbackHost(base.hostname)) {
      opts.logger.warn(
        'plain http to a non-loopback Vault (allowed by --allow-insecure-http): the token and secrets cross the network unencrypted',
        { address: settings.address },
      );
    }
    const transport = new HttpTransport(
      settings,
      this.#tlsOptions,
      opts.lookup,
      opts.maxConcurrent ?? MAX_CONCURRENT_REQUESTS,
    );
    this.#transport = transport;
    this.#nv = createNodeVault(settings, (o) => transport.send(o));
  }

  /** The https.Agent options in use (for tests and `secrun check`); no key material is printed. */
  get tlsOptions(): Readonly<https.AgentOptions> {
    return this.#tlsOptions;
  }

  /** Expiry facts of the CA and client certificates in use (none when the system roots are used). */
  certificateFacts(now: Date = new Date()): VaultCertFact[] {
    return certificateFacts(this.#certs, now);
  }

  /** Sets the token sent as `X-Vault-Token`. */
  setToken(token: string | undefined): void {
    if (token) this.#known.add(token);
    setNodeVaultToken(this.#nv, token);
  }

  /** An ErrorContext for {@link mapVaultError}. */
  errorContext(path?: string): ErrorContext {
    return {
      address: this.settings.address,
      timeoutMs: this.settings.timeoutMs,
      path,
      addressFrom: this.settings.addressFrom,
    };
  }

  /**
   * Sends one request with retries. Resolves with the envelope (undefined for 204); rejects with
   * VaultHttpError or VaultTransportError (map them with {@link mapVaultError}).
   */
  async request(req: VaultRequest): Promise<VaultEnvelope | undefined> {
    const path = encodePath(req.path) + encodeQuery(req.query);
    const max = this.settings.maxRetries;
    return withRetry(() => this.#limit(() => this.#once(req, path)), {
      maxAttempts: req.retry === false ? 1 : max === undefined ? undefined : max + 1,
      baseMs: this.#retry.baseMs,
      capMs: this.#retry.capMs,
      random: this.#retry.random,
      signal: req.signal,
      classify: classifyVaultError,
      onRetry: (err, attempt, waitMs, leftMs) => {
        this.#logger.debug('vault request failed; retrying', {
          path: req.path,
          attempt,
          waitMs,
          reason:
            err instanceof VaultHttpError
              ? String(err.status)
              : err instanceof VaultTransportError
                ? err.code
                : 'error',
        });
        this.#announce(`${vaultAt(this.settings)} ${waitReason(err)}`, waitMs, leftMs);
      },
    });
  }

  async #once(req: VaultRequest, path: string): Promise<VaultEnvelope | undefined> {
    const call: CallState = { signal: req.signal, noToken: req.noToken };
    const ro: Record<string, unknown> = { secrunCall: call };
    if (req.token) {
      this.#known.add(req.token);
      ro.headers = { 'X-Vault-Token': req.token };
    }
    // Login credentials (secret id, JWT, ...) a server might echo back in its error text.
    for (const [k, v] of Object.entries(req.body ?? {}))
      if (!PUBLIC_BODY_KEYS.has(k)) collectStrings(v, this.#known);
    let body: unknown;
    try {
      if (req.method === 'GET') body = await this.#nv.read(path, ro);
      else if (req.method === 'DELETE') body = await this.#nv.delete(path, ro);
      else
        body = await this.#nv.request({ ...ro, path: `/${path}`, method: req.method, json: req.body ?? {} });
    } catch (err) {
      throw toRawError(err, call, this.#known);
    }
    if (body === '' || body === undefined || body === null) return undefined;
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new VaultTransportError('protocol', 'NOT_JSON', 'unexpected non-JSON response');
    }
    const envelope = body as VaultEnvelope;
    collectStrings(envelope.data, this.#known);
    collectStrings(envelope.auth?.['client_token'], this.#known);
    collectStrings(envelope.wrap_info?.['token'], this.#known);
    return envelope;
  }

  /** Closes pooled connections. */
  close(): void {
    this.#transport.close();
  }
}

/** `Vault at https://vault:8200`, saying so when VAULT_ADDR is unset and the default is used. */
export function vaultAt(settings: Pick<VaultSettings, 'address' | 'addressFrom'>): string {
  return settings.addressFrom === 'default'
    ? `Vault at ${settings.address} (the default: VAULT_ADDR is not set)`
    : `Vault at ${settings.address}`;
}

/** What a retryable failure was, in words that follow "Vault at <address>". Never a value. */
function waitReason(err: unknown): string {
  if (err instanceof VaultTransportError) {
    if (err.kind === 'timeout') return `did not answer in time (${err.message})`;
    switch (err.code) {
      case 'ECONNREFUSED':
        return 'refused the connection';
      case 'ECONNRESET':
      case 'EPIPE':
        return 'closed the connection';
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return 'could not be found (DNS)';
      default:
        return `could not be reached (${err.code})`;
    }
  }
  if (err instanceof VaultHttpError) {
    if (err.status === 503 && err.errors.some((e) => e.includes('sealed'))) return 'is sealed (503)';
    if (err.status === 429) return 'is rate limiting or a standby (429)';
    if (err.status === 412) return 'is not yet consistent (412)';
    return `answered ${err.status}`;
  }
  return 'failed';
}

function toRawError(err: unknown, call: CallState, known: ReadonlySet<string>): Error {
  if (err instanceof VaultTransportError) return err;
  const response = (err as { response?: { statusCode?: unknown; body?: unknown } } | null)?.response;
  if (response && typeof response.statusCode === 'number') {
    return httpErrorFrom(response.statusCode, response.body, parseRetryAfter(call.retryAfter), known);
  }
  const name = err instanceof Error ? err.name : typeof err;
  return new VaultTransportError('protocol', 'CLIENT_ERROR', `client error (${name})`);
}
