import type { SecrunError } from '../base/errors.ts';

/** One secret document to read: every reference with the same `key` is served by one read. */
export interface DocumentRequest {
  /** `vault` or `awssm`. */
  scheme: 'vault' | 'awssm';
  /** Vault path (`secret/app/db`, `database/creds/app`) or Secrets Manager name / ARN. */
  path: string;
  /** Reference options, e.g. `version`, `version-stage`, `version-id`. */
  options: Readonly<Record<string, string>>;
  /** Stable identity of the document: scheme + path + sorted options. */
  key: string;
  /**
   * Set when a config entry marked the path `write: true`: the document is fetched by one write
   * of these parameters (Vault only). Without it nothing but PKI `issue/` and `sign/` is written.
   */
  write?: Readonly<Record<string, string>>;
}

/** A lease attached to a document (Vault dynamic secrets). */
export interface Lease {
  id: string;
  /** Seconds, as returned by the server. */
  duration: number;
  renewable: boolean;
}

/** What a provider returns for one document. Never logged. */
export interface SecretDocument {
  /** A JSON object (fields), a plain string, or raw bytes (binary secrets). */
  value: Record<string, unknown> | string | Uint8Array;
  /** KV v2 version number, Secrets Manager VersionId; absent when the provider has none. */
  version?: string | number;
  /** Secrets Manager version stages, when known. */
  stages?: string[];
  /** When this version was created, when the provider tells. */
  createdAt?: Date;
  /** Vault lease, when the read returned one (`lease_id` non-empty). */
  lease?: Lease;
  /** Provider-specific facts that are safe to print (mount type, KV version, ARN). */
  info?: Record<string, string | number | boolean>;
  /**
   * Set when the read issued a new credential (a PKI certificate): every read issues another one,
   * so the document is never polled for changes; it is issued again before `expiresAt`.
   */
  issued?: IssuedCredential;
}

/** A credential a read issued, and when it stops working. */
export interface IssuedCredential {
  /** The certificate's notAfter. */
  expiresAt: Date;
  /** Serial number (safe to print). */
  serial?: string;
}

/** What a provider's metadata says about when a secret changed. */
export interface SecretDates {
  /** The secret (not the version) was created. */
  createdAt?: Date;
  /** The secret last changed (KV v2 `updated_time`, Secrets Manager `LastChangedDate`). */
  updatedAt?: Date;
  /** Secrets Manager `LastRotatedDate`. */
  rotatedAt?: Date;
}

/** Options of {@link Provider.close}. */
export interface CloseOptions {
  keepToken?: boolean;
}

/** Outcome of one document in a batch read. */
export type DocumentResult = { ok: true; doc: SecretDocument } | { ok: false; error: SecrunError };

/**
 * A secrets backend. Created lazily for its scheme; reads documents, honouring the AbortSignal
 * (the boot deadline). Only providers touch the network.
 */
export interface Provider {
  readonly scheme: 'vault' | 'awssm';
  /**
   * Reads every requested document (each exactly once), in parallel or in batches as the
   * backend allows. Never rejects for a per-document failure: that goes into the result map,
   * keyed by `DocumentRequest.key`. Rejects only when the whole provider cannot work
   * (e.g. authentication failed), with a SecrunError.
   */
  readAll(requests: DocumentRequest[], signal: AbortSignal): Promise<Map<string, DocumentResult>>;
  /**
   * Cheap change detection without reading secret material (Vault KV v2 metadata
   * `current_version`, Secrets Manager `DescribeSecret` stages). Resolves with an opaque version
   * token that changes when the document changes, or `undefined` when the provider cannot tell
   * for this document (the caller then re-reads it to compare).
   */
  probe?(request: DocumentRequest, signal: AbortSignal): Promise<string | undefined>;
  /**
   * When the secret was created and last changed, from its metadata only (KV v2
   * `<mount>/metadata/<path>`, Secrets Manager `DescribeSecret`): never reads the value. Resolves
   * undefined when the backend keeps no such dates for this document or may not show them.
   */
  describe?(request: DocumentRequest, signal: AbortSignal): Promise<SecretDates | undefined>;
  /**
   * Releases connections and timers. By default also revokes a token the provider obtained by
   * logging in; `keepToken` leaves it valid (exec mode with dynamic leases: revoking the token
   * would revoke the leases the child is using).
   */
  close(opts?: CloseOptions): Promise<void>;
  /**
   * Variables of the agent's environment this provider consumed as its own credentials (an
   * AppRole secret id variable, a JWT variable); they are removed from the child's environment.
   */
  consumedVariables?(): string[];
  /** What `secrun check` shows of the connection and identity in use. Never a secret. */
  checkFacts?(signal: AbortSignal): Promise<ProviderCheck>;
}

/** A provider's part of `secrun check`. */
export interface ProviderCheck {
  /** Its key in `check --json` (`vault`). */
  key: string;
  /** JSON facts: address, token TTL and policies, certificate expiry... */
  facts: object;
  /** The same for people, a few lines. */
  text: string;
  /** Certificates the provider itself uses (TLS CA, client certificate), for `--min-validity`. */
  certificates?: ProviderCertificate[];
}

/** A certificate a provider uses, as `check --min-validity` judges it. */
export interface ProviderCertificate {
  /** What it is, e.g. `Vault client certificate /etc/vault/client.pem`. */
  label: string;
  subject: string;
  /** ISO time. */
  notAfter: string;
}

/** Result of renewing a lease or the agent's token. */
export interface Renewal {
  /** New duration in seconds. */
  duration: number;
  renewable: boolean;
  /** Server warnings (e.g. TTL capped by max_ttl): schedule a fresh fetch instead of a renewal. */
  warnings: string[];
}

/** The agent's own token, reduced to what the supervisor needs. */
export interface TokenInfo {
  /** Seconds left; 0 with `expireTime` null means it never expires (root). */
  ttl: number;
  renewable: boolean;
  expireTime: string | null;
  policies: string[];
  /** Token type (`service` / `batch`). */
  type?: string;
}

/** A login, as the audit stream records it: never the token. */
export interface LoginSummary {
  method: string;
  mount?: string;
  accessor?: string;
  policies?: string[];
  ttl?: number;
  renewable?: boolean;
  /** True when the agent logged in (and so revokes the token). */
  owned: boolean;
}

/** A new login's details (never the token). */
export interface ReloginInfo {
  method: string;
  accessor?: string;
  policies?: string[];
  /** TTL of the new token in seconds. */
  leaseDuration?: number;
  renewable?: boolean;
}

/**
 * A provider with a session of its own: a login token and leases (Vault). Boot and supervise use
 * it through this interface only, never by the provider's name.
 */
export interface SessionProvider extends Provider {
  /** The auth method in use, once authenticated. */
  readonly authMethod: string | undefined;
  /** What the login returned (no token), once authenticated; for the audit stream. */
  readonly loginSummary: LoginSummary | undefined;
  renewLease(id: string, incrementSeconds: number, signal?: AbortSignal): Promise<Renewal & { id: string }>;
  revokeLease(id: string, signal?: AbortSignal): Promise<void>;
  lookupSelf(signal?: AbortSignal): Promise<TokenInfo>;
  renewSelf(incrementSeconds?: number, signal?: AbortSignal): Promise<Renewal>;
  revokeSelf(signal?: AbortSignal): Promise<void>;
  /**
   * Logs in again with the configured method, when the token cannot be renewed any more.
   * Resolves with the new login's details, or undefined when there is nothing to log in with.
   * On failure the old token stays in use.
   */
  relogin(signal?: AbortSignal): Promise<ReloginInfo | undefined>;
}

/** True when `p` has a login and leases of its own. */
export function hasSession(p: Provider): p is SessionProvider {
  const s = p as Partial<SessionProvider>;
  return typeof s.renewLease === 'function' && typeof s.revokeLease === 'function';
}
