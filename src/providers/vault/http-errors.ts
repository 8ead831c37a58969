// Raw errors: internal to the provider, mapped to SecrunError at its boundary (see error-map.ts).

/** What went wrong below HTTP. */
export type TransportKind = 'connection' | 'timeout' | 'tls' | 'abort' | 'redirect' | 'protocol';

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

/** Turns `1 error occurred:\n\t* permission denied\n\n` into `permission denied`; caps length. */
export function cleanVaultMessage(text: string): string {
  let out = text;
  const multi = /^\s*\d+ errors? occurred:\s*([\s\S]*)$/.exec(out);
  if (multi) {
    const items = (multi[1] ?? '')
      .split('\n')
      .map((l) => l.replace(/^\s*\*\s?/, '').trim())
      .filter(Boolean);
    out = items.join('; ');
  }
  out = out.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return out.length > 300 ? `${out.slice(0, 297)}...` : out;
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

/** Builds a VaultHttpError from a response body, keeping only what may be printed. */
export function httpErrorFrom(
  status: number,
  body: unknown,
  retryAfterMs: number | undefined,
): VaultHttpError {
  const b = (body && typeof body === 'object' ? body : {}) as {
    errors?: unknown;
    warnings?: unknown;
    request_id?: unknown;
    data?: unknown;
  };
  const strings = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').map(cleanVaultMessage) : [];
  let kv: KvVersionState | undefined;
  const data = b.data as { data?: unknown; metadata?: Record<string, unknown> } | null | undefined;
  const md = data && typeof data === 'object' ? data.metadata : undefined;
  if (md && typeof md === 'object') {
    kv = {};
    if (typeof md.version === 'number') kv.version = md.version;
    if (typeof md.deletion_time === 'string' && md.deletion_time !== '') kv.deletionTime = md.deletion_time;
    if (md.destroyed === true) kv.destroyed = true;
  }
  return new VaultHttpError(status, {
    errors: strings(b.errors),
    warnings: strings(b.warnings),
    requestId: typeof b.request_id === 'string' && b.request_id ? b.request_id : undefined,
    kv,
    retryAfterMs,
  });
}
