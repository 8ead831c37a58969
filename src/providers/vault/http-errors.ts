// Raw errors: internal to the provider, mapped to SecrunError at its boundary (see error-map.ts).
import { redactServerText } from '../../base/redact.ts';

/** What went wrong below HTTP. */
export type TransportKind = 'connection' | 'timeout' | 'tls' | 'abort' | 'redirect' | 'protocol' | 'insecure';

/**
 * A failure below HTTP. Built by us from the socket error's code and our own words: it holds no
 * request options, headers or bodies.
 */
export class VaultTransportError extends Error {
  readonly kind: TransportKind;
  readonly code: string;
  /** For TLS failures: OpenSSL's reason (`tlsv1 alert protocol version`), when it gave one. */
  readonly reason?: string;

  constructor(kind: TransportKind, code: string, message: string, reason?: string) {
    super(message);
    this.name = 'VaultTransportError';
    this.kind = kind;
    this.code = code;
    if (reason) this.reason = reason;
  }
}

/** KV v2 metadata that a 404 envelope carries for a deleted or destroyed version. */
export interface KvVersionState {
  version?: number;
  deletionTime?: string;
  destroyed?: boolean;
}

/**
 * A non-2xx answer from Vault. Keeps only what may be printed: the status, Vault's error texts,
 * warnings, the request id, and KV version metadata. Never the body.
 */
export class VaultHttpError extends Error {
  readonly status: number;
  readonly errors: string[];
  readonly warnings: string[];
  readonly requestId?: string;
  readonly kv?: KvVersionState;
  readonly retryAfterMs?: number;

  constructor(
    status: number,
    info: {
      errors?: string[];
      warnings?: string[];
      requestId?: string;
      kv?: KvVersionState;
      retryAfterMs?: number;
    } = {},
  ) {
    const first = info.errors?.[0];
    super(first ? `Vault returned ${status}: ${first}` : `Vault returned ${status}`);
    this.name = 'VaultHttpError';
    this.status = status;
    this.errors = info.errors ?? [];
    this.warnings = info.warnings ?? [];
    if (info.requestId) this.requestId = info.requestId;
    if (info.kv) this.kv = info.kv;
    if (info.retryAfterMs !== undefined) this.retryAfterMs = info.retryAfterMs;
  }
}

/**
 * Turns `1 error occurred:\n\t* permission denied\n\n` into `permission denied`, redacts the
 * known `secrets` and anything shaped like a token or secret id, and caps the length: server text
 * is untrusted (a body may echo the token or a value).
 */
export function cleanVaultMessage(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  const multi = /^\s*\d+ errors? occurred:\s*([\s\S]*)$/.exec(out);
  if (multi) {
    const items = (multi[1] ?? '')
      .split('\n')
      .map((l) => l.replace(/^\s*\*\s?/, '').trim())
      .filter(Boolean);
    out = items.join('; ');
  }
  return redactServerText(out, secrets);
}

/** Vault's `request_id` when it looks like one (a UUID or a short id), never a known secret. */
function safeRequestId(id: unknown, secrets: ReadonlySet<string>): string | undefined {
  if (typeof id !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(id) || secrets.has(id)) return undefined;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return id;
  return redactServerText(id, secrets) === id ? id : undefined;
}

/** The text of the 400 Vault answers while a KV mount upgrades from v1 to v2 (retryable). */
export const KV_UPGRADING = 'Upgrading from non-versioned to versioned data';

const CONNECTION_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
};

/** Plain words for a socket error code (`connection refused`), or `connection failed (<code>)`. */
export function connectionWords(code: string): string {
  return CONNECTION_WORDS[code] ?? `connection failed (${code})`;
}

/** `30s`, or `2.5s` for a fraction. */
export function fmtSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Builds a VaultHttpError from a response body, keeping only what may be printed: `errors[]` and
 * `warnings[]` redacted of `secrets` (the token, credentials and values this run knows) and of
 * token-shaped text, a request id that looks like one.
 */
export function httpErrorFrom(
  status: number,
  body: unknown,
  retryAfterMs: number | undefined,
  secrets: ReadonlySet<string> = new Set(),
): VaultHttpError {
  const b = (body && typeof body === 'object' ? body : {}) as {
    errors?: unknown;
    warnings?: unknown;
    request_id?: unknown;
    data?: unknown;
  };
  const strings = (v: unknown): string[] =>
    Array.isArray(v)
      ? v
          .filter((x): x is string => typeof x === 'string')
          .slice(0, 10)
          .map((x) => cleanVaultMessage(x, secrets))
      : [];
  let kv: KvVersionState | undefined;
  const data = b.data as { data?: unknown; metadata?: Record<string, unknown> } | null | undefined;
  const md = data && typeof data === 'object' ? data.metadata : undefined;
  if (md && typeof md === 'object') {
    kv = {};
    if (typeof md.version === 'number') kv.version = md.version;
    if (typeof md.deletion_time === 'string' && /^[0-9T:.+Z -]{1,40}$/.test(md.deletion_time))
      kv.deletionTime = md.deletion_time;
    if (md.destroyed === true) kv.destroyed = true;
  }
  return new VaultHttpError(status, {
    errors: strings(b.errors),
    warnings: strings(b.warnings),
    requestId: safeRequestId(b.request_id, secrets),
    kv,
    retryAfterMs,
  });
}
