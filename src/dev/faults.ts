import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

/** A canned failure for the next N requests. */
export interface FailSpec {
  status: number;
  /** How many requests get it (default 1). */
  count?: number;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
  /** Raw body; default is the server's error shape for that status. */
  body?: string;
}

/** Fault knobs shared by both dev servers; settable from tests and over the admin endpoint. */
export interface FaultSettings {
  /** Added latency before every response, in ms. */
  latencyMs?: number;
  /** Fail the next requests with this status. */
  failNext?: FailSpec;
  /** Reset (RST) the connection of the next N requests. */
  resetNext?: number;
  /** Send response bodies slowly: `bytes` every `intervalMs`. `null` turns it off. */
  trickle?: { bytes: number; intervalMs: number } | null;
}

type ErrorBody = (status: number) => string;

/** Fault state for one server. Admin requests (`/__secrun/...`) are never faulted. */
export class Faults {
  latencyMs = 0;
  private fails: Array<Required<Pick<FailSpec, 'status'>> & FailSpec & { left: number }> = [];
  private resets = 0;
  trickle: { bytes: number; intervalMs: number } | null = null;

  /** Applies settings; fields left out are unchanged. */
  set(s: FaultSettings): void {
    if (s.latencyMs !== undefined) this.latencyMs = s.latencyMs;
    if (s.failNext) this.fails.push({ ...s.failNext, left: s.failNext.count ?? 1 });
    if (s.resetNext !== undefined) this.resets += s.resetNext;
    if (s.trickle !== undefined) this.trickle = s.trickle;
  }

  clear(): void {
    this.latencyMs = 0;
    this.fails = [];
    this.resets = 0;
    this.trickle = null;
  }

  /**
   * Runs before the handler. Returns the status it answered with (or 0 for a reset), or
   * `undefined` when the request should be handled normally.
   */
  async before(
    req: IncomingMessage,
    res: ServerResponse,
    errorBody: ErrorBody,
    /** The HTTP status a service sends for a failure of that kind (default: the same). */
    wireStatus: (status: number) => number = (status) => status,
  ): Promise<number | undefined> {
    // Decide at arrival, so a slow request never consumes a fault meant for a later one.
    const reset = this.resets > 0;
    if (reset) this.resets--;
    const fail = reset ? undefined : this.fails[0];
    if (fail && --fail.left <= 0) this.fails.shift();
    if (this.latencyMs > 0) {
      const abort = new AbortController();
      const onClose = (): void => abort.abort();
      res.once('close', onClose);
      try {
        await delay(this.latencyMs, undefined, { signal: abort.signal });
      } catch {
        return 0;
      } finally {
        res.off('close', onClose);
      }
    }
    if (reset) {
      req.socket.resetAndDestroy();
      return 0;
    }
    if (fail) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'cache-control': 'no-store',
      };
      if (fail.retryAfter !== undefined) headers['retry-after'] = String(fail.retryAfter);
      const status = wireStatus(fail.status);
      res.writeHead(status, headers);
      res.end(fail.body ?? errorBody(fail.status));
      return status;
    }
    return undefined;
  }

  /** Writes a body, trickled when that knob is on. */
  async send(res: ServerResponse, body: string | Buffer): Promise<void> {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    const trickle = this.trickle;
    if (!trickle) {
      res.end(buf);
      return;
    }
    for (let i = 0; i < buf.length; i += trickle.bytes) {
      if (res.destroyed) return;
      res.write(buf.subarray(i, i + trickle.bytes));
      await delay(trickle.intervalMs);
    }
    res.end();
  }
}
