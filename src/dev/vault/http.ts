import type { X509Certificate } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import type { Namespace } from './state.ts';

/** What a handler answers; the server turns it into an HTTP response. */
export interface Reply {
  status: number;
  body?: unknown;
  /** A body sent as is (with its content-type in `headers`) instead of JSON, as Vault's raw answers. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

/** One request after namespace resolution. `path` has no `/v1/` and no leading slash. */
export interface VaultRequest {
  /** PUT is folded into POST. */
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH' | 'HEAD';
  path: string;
  query: URLSearchParams;
  list: boolean;
  body: Record<string, unknown>;
  token: string | undefined;
  ns: Namespace;
  /** Seconds asked for with X-Vault-Wrap-TTL. */
  wrapTtl: number | undefined;
  peerCert: X509Certificate | undefined;
  /** The request came over the HTTPS listener. */
  tls: boolean;
  contentType: string;
}

/** Keys every logical response has (sdk/logical/translate_response.go). */
export interface Envelope {
  request_id: string;
  lease_id: string;
  renewable: boolean;
  lease_duration: number;
  data: unknown;
  wrap_info: unknown;
  warnings: string[] | null;
  auth: unknown;
  mount_type: string;
  [key: string]: unknown;
}

export function envelope(fields: Partial<Envelope> = {}): Envelope {
  return {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: null,
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: '',
    ...fields,
  };
}

export function ok(fields: Partial<Envelope> = {}, status = 200): Reply {
  return { status, body: envelope(fields) };
}

export const noContent: Reply = { status: 204 };

export function fail(status: number, ...messages: string[]): Reply {
  return { status, body: { errors: messages } };
}

/** Go-multierror text, as Vault wraps permission failures. */
export function multiError(messages: string[]): string {
  const head = messages.length === 1 ? '1 error occurred:' : `${messages.length} errors occurred:`;
  return `${head}\n${messages.map((m) => `\t* ${m}`).join('\n')}\n\n`;
}

export const permissionDenied = (): Reply => fail(403, multiError(['permission denied']));
export const invalidToken = (): Reply => fail(403, multiError(['permission denied', 'invalid token']));
export const notFound = (): Reply => fail(404);
export const badRequest = (msg: string): Reply => fail(400, msg);

/** A field from the body (or, for GET/DELETE, the query string). */
export function param(req: VaultRequest, name: string): unknown {
  if (req.body[name] !== undefined) return req.body[name];
  return req.query.get(name) ?? undefined;
}

export function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

export function strList(v: unknown): string[] | undefined {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string') return v === '' ? [] : v.split(',').map((s) => s.trim());
  return undefined;
}

export function intList(v: unknown): number[] | undefined {
  const list = strList(v);
  if (!list) return undefined;
  const out = list.map(Number);
  return out.every(Number.isInteger) ? out : undefined;
}

/** What every handler gets: the store, the request, the checked caller token. */
export interface Ctx {
  st: import('./state.ts').VaultState;
  req: VaultRequest;
  /** The validated token that made the request (absent on unauthenticated paths). */
  caller: import('./state.ts').Token | undefined;
  /** Path inside the mount (or inside `sys/...` for system routes). */
  rest: string;
  mount: import('./state.ts').Mount | undefined;
}
