import type { Agent } from 'node:http';
import type { AgentOptions } from 'node:https';
import type { LookupFunction } from 'node:net';
import { http, https } from '../http-modules.ts';
import { loopbackOnlyLookup } from '../net.ts';
import type { VaultSettings } from './env-settings.ts';
import { type CallState, type RequestTarget, sendOnce, targetOf } from './http-request.ts';
import { isRedirect, redirectTarget } from './redirect.ts';

/** What node-vault hands its `request-promise` function. */
export interface RpOptions {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
  /** Our per-call state, passed through node-vault's request options. */
  secrunCall?: CallState;
}

/** What node-vault expects back from its `request-promise` function. */
export interface RpResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

/** A path (and query) with nothing URL would rewrite: unreserved, sub-delims, `:@/?%`. */
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~%!$&'()*+,;=:@/?]*$/;
/** `.` or `..` as a segment, also percent-encoded (URL resolves `%2e%2e` too). */
const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|\?|$)/i;

/**
 * HTTP for node-vault, injected through its `request-promise` option. node-vault 0.12 hands
 * neither `signal` nor `maxRedirects` to axios and builds its own agent from
 * `process.env.VAULT_SKIP_VERIFY`; this transport replaces that layer so the agent, the timeout,
 * the deadline and redirects are ours.
 */
export class HttpTransport {
  readonly #settings: VaultSettings;
  readonly #base: URL;
  readonly #origin: string;
  readonly #baseTarget: RequestTarget;
  readonly #agent: Agent;

  constructor(settings: VaultSettings, tlsOptions: AgentOptions, lookup?: LookupFunction, maxSockets = 16) {
    this.#settings = settings;
    this.#base = new URL(settings.address);
    this.#origin = this.#base.origin;
    this.#baseTarget = targetOf(this.#base);
    // Plain http without --allow-insecure-http: only to a name that resolves to loopback.
    const guarded =
      this.#base.protocol === 'http:' && !settings.allowInsecureHttp ? loopbackOnlyLookup(lookup) : lookup;
    // Connections are reused (keep-alive) and capped: one agent never opens hundreds at once.
    const pool = { keepAlive: true, maxSockets, ...(guarded ? { lookup: guarded } : {}) };
    this.#agent =
      this.#base.protocol === 'https:'
        ? new (https().Agent)({ ...tlsOptions, ...pool })
        : new (http().Agent)(pool);
  }

  /** Closes pooled connections. */
  close(): void {
    this.#agent.destroy();
  }

  /** Sends a node-vault request, following at most one same-host redirect. */
  async send(options: RpOptions): Promise<RpResponse> {
    const call = options.secrunCall ?? {};
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'secrun',
      'x-vault-request': 'true',
    };
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      if (typeof v === 'string') headers[k.toLowerCase()] = v;
    }
    if (call.noToken) delete headers['x-vault-token'];
    let payload: Buffer | undefined;
    if (options.json !== undefined && options.json !== null && typeof options.json === 'object') {
      payload = Buffer.from(JSON.stringify(options.json));
      headers['content-type'] = headers['content-type'] ?? 'application/json';
    }
    const sendOptions = { agent: this.#agent, timeoutMs: this.#settings.timeoutMs };
    let target = this.#targetOf(options.uri);
    for (let hop = 0; ; hop++) {
      const res = await sendOnce(target, options.method, headers, payload, call, sendOptions);
      if (!isRedirect(res.status)) {
        return { statusCode: res.status, body: res.body, request: { path: target.path.split('?')[0] ?? '' } };
      }
      // Every hop stays on the address's origin (redirectTarget refuses others).
      target = targetOf(redirectTarget(this.#base, new URL(target.path, this.#base), res, hop));
    }
  }

  /**
   * Where node-vault's uri (the address, then a path) goes. A path made of URL-safe characters
   * with no dot segment is taken as it is, which is what URL would make of it; anything else is
   * parsed by URL. A URL object and its getters cost more than the rest of a request's setup.
   */
  #targetOf(uri: string): RequestTarget {
    // The path must start right after the origin: `http://h:8200` is not a prefix of `http://h:82001`.
    if (uri.startsWith(this.#origin)) {
      const path = uri.slice(this.#origin.length);
      if (PLAIN_PATH.test(path) && !DOT_SEGMENT.test(path)) return { ...this.#baseTarget, path };
    }
    return targetOf(new URL(uri));
  }
}
