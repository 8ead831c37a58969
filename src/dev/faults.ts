import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
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
  /**
   * A server-wide rate limit: `perSecond` requests per second (a token bucket holding one
   * second's worth); beyond it the request is throttled (Vault: 429, Secrets Manager:
   * ThrottlingException) with `Retry-After`. `null` turns it off.
   */
  rateLimit?: { perSecond: number } | null;
}

/** Load the server saw: requests in flight now, the peak, and how many were throttled. */
export interface LoadStats {
  inFlight: number;
  peakInFlight: number;
  throttled: number;
}

type ErrorBody = (status: number) => string;

/** Fault state for one server. Admin requests (`/__secrun/...`) are never faulted. */
export class Faults {
  latencyMs = 0;
  private fails: Array<Required<Pick<FailSpec, 'status'>> & FailSpec & { left: number }> = [];
  private resets = 0;
  trickle: { bytes: number; intervalMs: number } | null = null;
  private rate: { perSecond: number; tokens: number; at: number } | null = null;
  private load: LoadStats = { inFlight: 0, peakInFlight: 0, throttled: 0 };
  /** Clock in ms, for the rate limit. */
  now: () => number = () => performance.now();

  /** Requests in flight now, the peak since the last {@link Faults.resetStats}, throttled answers. */
  get stats(): LoadStats {
    return { ...this.load };
  }

  /** Starts counting the peak and the throttled answers afresh. */
  resetStats(): void {
    this.load = { inFlight: this.load.inFlight, peakInFlight: this.load.inFlight, throttled: 0 };
  }

  /** Applies settings; fields left out are unchanged. */
  set(s: FaultSettings): void {
    if (s.rateLimit !== undefined) {
      const r = s.rateLimit;
      if (r !== null && !(Number.isFinite(r.perSecond) && r.perSecond > 0)) {
        throw new TypeError(`rateLimit.perSecond must be a positive number, got ${String(r.perSecond)}`);
      }
      this.rate = r === null ? null : { perSecond: r.perSecond, tokens: r.perSecond, at: this.now() };
    }
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
    this.rate = null;
  }

  /** Takes one token from the rate limit's bucket; returns the seconds to wait when it is empty. */
  private takeToken(): number | undefined {
    const r = this.rate;
    if (!r) return undefined;
    const t = this.now();
    r.tokens = Math.min(r.perSecond, r.tokens + ((t - r.at) / 1000) * r.perSecond);
    r.at = t;
    if (r.tokens >= 1) {
      r.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - r.tokens) / r.perSecond));
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
    const load = this.load;
    load.inFlight++;
    load.peakInFlight = Math.max(load.peakInFlight, load.inFlight);
    res.once('close', () => {
      this.load.inFlight--;
    });
    const waitSeconds = this.takeToken();
    if (waitSeconds !== undefined) {
      this.load.throttled++;
      res.writeHead(wireStatus(429), {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        'retry-after': String(waitSeconds),
      });
      res.end(errorBody(429));
      return wireStatus(429);
    }
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
