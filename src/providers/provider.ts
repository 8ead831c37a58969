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
   * Releases connections and timers. By default also revokes a token the provider obtained by
   * logging in; `keepToken` leaves it valid (exec mode with dynamic leases: revoking the token
   * would revoke the leases the child is using).
   */
  close(opts?: CloseOptions): Promise<void>;
}
