import type { Agent } from 'node:http';
import { abortWords } from '../../base/deadline.ts';
import { http, https } from '../http-modules.ts';
import { isTlsErrorCode, NOT_LOOPBACK } from '../net.ts';
import { connectionWords, fmtSeconds, VaultTransportError } from './http-errors.ts';

/** Per-request state shared between a call and the transport (passed through node-vault). */
export interface CallState {
  signal?: AbortSignal;
  noToken?: boolean;
  /** The last answer's `Retry-After` header, for the retry policy. */
  retryAfter?: string;
}

/** One HTTP answer: status, Location (for redirects), and the body as JSON (or text). */
export interface SendResult {
  status: number;
  location?: string;
  body: unknown;
}

/** Where a request goes: the parts of its URL that node's http client takes. */
export interface RequestTarget {
  protocol: string;
  hostname: string;
  port: string;
  /** Path and query. */
  path: string;
}

/** The target of a parsed URL, as node's own URL-to-options conversion makes it. */
export function targetOf(url: URL): RequestTarget {
  const host = url.hostname;
  return {
    protocol: url.protocol,
    // An IPv6 literal without its brackets.
    hostname: host.startsWith('[') ? host.slice(1, -1) : host,
    port: url.port,
    path: url.pathname + url.search,
  };
}

/** Where and how long to send. */
export interface SendOptions {
  agent: Agent;
  timeoutMs: number;
}

const MAX_BODY = 32 * 1024 * 1024;

/**
 * Sends one HTTP request (no redirects followed). The timeout covers the whole request, body
 * included; the call's signal aborts it; bodies over 32 MiB are refused. Failures reject with a
 * VaultTransportError built from the error code, never from request data.
 */
export function sendOnce(
  target: RequestTarget,
  method: string,
  headers: Record<string, string>,
  payload: Buffer | undefined,
  call: CallState,
  opts: SendOptions,
): Promise<SendResult> {
  const signal = call.signal;
  const timeoutMs = opts.timeoutMs;
  return new Promise<SendResult>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const lib = target.protocol === 'https:' ? https() : http();
    const h = payload ? { ...headers, 'content-length': String(payload.length) } : headers;
    let settled = false;
    const finish = (err: Error | undefined, result?: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(result as SendResult);
    };
    const req = lib.request({ ...target, method, headers: h, agent: opts.agent });
    const onAbort = () => {
      const e = abortError(signal);
      req.destroy(e);
      finish(e);
    };
    const timer = setTimeout(() => {
      const e = new VaultTransportError('timeout', 'ETIMEDOUT', `timed out after ${fmtSeconds(timeoutMs)}`);
      req.destroy(e);
      finish(e);
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish(err instanceof VaultTransportError ? err : socketError(err)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          const e = new VaultTransportError('protocol', 'BODY_TOO_LARGE', 'response body too large');
          req.destroy(e);
          finish(e);
          return;
        }
        chunks.push(c);
      });
      res.on('error', (err) => finish(socketError(err)));
      res.on('close', () => {
        if (!res.complete) finish(new VaultTransportError('connection', 'ECONNRESET', 'connection reset'));
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const retryAfter = res.headers['retry-after'];
        if (typeof retryAfter === 'string') call.retryAfter = retryAfter;
        const body = parseBody(Buffer.concat(chunks).toString('utf8'));
        const location = res.headers.location;
        finish(undefined, { status, body, ...(location ? { location } : {}) });
      });
    });
    req.end(payload);
  });
}

/** The body as JSON, or as text when it is empty or not JSON. */
function parseBody(text: string): unknown {
  if (text.trim() === '') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function abortError(signal: AbortSignal | undefined): VaultTransportError {
  return new VaultTransportError('abort', 'ABORTED', abortWords(signal));
}

function socketError(err: Error): VaultTransportError {
  const code = (err as NodeJS.ErrnoException).code ?? 'ECONNRESET';
  if (code === NOT_LOOPBACK) {
    // Our own message (name and address), from loopbackOnlyLookup: no request data.
    return new VaultTransportError('insecure', code, err.message);
  }
  if (isTlsErrorCode(code)) {
    // OpenSSL's reason ("tlsv1 alert protocol version"): library text, never request data.
    const reason = /SSL routines:[^:]*:([^:]{1,80})/.exec(err.message)?.[1]?.trim();
    return new VaultTransportError('tls', code, `TLS failure (${code})`, reason);
  }
  return new VaultTransportError('connection', code, connectionWords(code));
}
