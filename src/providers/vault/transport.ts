import type { Agent } from 'node:http';
import type { AgentOptions } from 'node:https';
import type { LookupFunction } from 'node:net';
import { http, https } from '../http-modules.ts';
import { loopbackOnlyLookup } from '../net.ts';
import type { VaultSettings } from './env-settings.ts';
import { type CallState, sendOnce } from './http-request.ts';
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

/**
 * HTTP for node-vault, injected through its `request-promise` option. node-vault 0.12 hands
 * neither `signal` nor `maxRedirects` to axios and builds its own agent from
 * `process.env.VAULT_SKIP_VERIFY`; this transport replaces that layer so the agent, the timeout,
 * the deadline and redirects are ours.
 */
export class HttpTransport {
  readonly #settings: VaultSettings;
  readonly #base: URL;
  readonly #agent: Agent;

  constructor(settings: VaultSettings, tlsOptions: AgentOptions, lookup?: LookupFunction, maxSockets = 16) {
    this.#settings = settings;
    this.#base = new URL(settings.address);
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
    let url = new URL(options.uri);
    for (let hop = 0; ; hop++) {
      const res = await sendOnce(url, options.method, headers, payload, call, sendOptions);
      if (!isRedirect(res.status)) {
        return { statusCode: res.status, body: res.body, request: { path: url.pathname } };
      }
      url = redirectTarget(this.#base, url, res, hop);
    }
  }
}
