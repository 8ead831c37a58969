/** One request as the dev servers record it: never a token, header value or body. */
export interface RequestLogEntry {
  time: string;
  /** HTTP method. */
  method: string;
  /** Vault: URL path without the query string. Secrets Manager: `/`. */
  path: string;
  /** Secrets Manager operation (`GetSecretValue`), or Vault `list` / `read` etc. when useful. */
  operation?: string;
  /** Secret ids named by a Secrets Manager request (ids are names, not values). */
  secretIds?: string[];
  /** Vault namespace header, when sent. */
  namespace?: string;
  status: number;
  durationMs: number;
}

/** Append-only in-memory request log that tests read to count requests. */
export class RequestLog {
  readonly entries: RequestLogEntry[] = [];

  add(entry: RequestLogEntry): void {
    this.entries.push(entry);
  }

  clear(): void {
    this.entries.length = 0;
  }

  /** Entries whose path (or operation) matches. */
  filter(match: { method?: string; path?: string | RegExp; operation?: string }): RequestLogEntry[] {
    return this.entries.filter(
      (e) =>
        (match.method === undefined || e.method === match.method) &&
        (match.operation === undefined || e.operation === match.operation) &&
        (match.path === undefined ||
          (typeof match.path === 'string' ? e.path === match.path : match.path.test(e.path))),
    );
  }
}
