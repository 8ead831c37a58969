import { isIP } from 'node:net';
import { dnsPromises } from '../../../base/builtins.ts';
import { PermissionError, UnavailableError } from '../../../base/errors.ts';
import { withRetry } from '../../../base/retry.ts';
import { isLoopbackAddress } from '../../net.ts';

/** True when the GitHub Actions OIDC request variables are present (job has `id-token: write`). */
export function inGithubActionsOidc(env: Record<string, string | undefined>): boolean {
  return Boolean(env.ACTIONS_ID_TOKEN_REQUEST_URL?.trim() && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN?.trim());
}

/** Options for {@link requestGithubOidcToken}. */
export interface GithubOidcOptions {
  env: Record<string, string | undefined>;
  /** `aud` to ask for; GitHub's default (the owner URL) when absent. */
  audience?: string;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Tries after the first for connection errors, timeouts, 429 and 5xx. */
  /** Retries after the first try; undefined: until the signal's deadline. */
  maxRetries?: number;
  /** The boot deadline. */
  signal: AbortSignal;
  /** Resolves a host name of a plain-http URL (default: dns.lookup); for tests. */
  lookup?: (hostname: string) => Promise<Array<{ address: string }>>;
}

class OidcFailure extends Error {
  readonly retry: boolean;
  readonly status?: number;
  constructor(message: string, retry: boolean, status?: number) {
    super(message);
    this.name = 'OidcFailure';
    this.retry = retry;
    if (status !== undefined) this.status = status;
  }
}

function insecure(url: URL): PermissionError {
  return new PermissionError(
    `refusing to send the GitHub Actions request token to ${url.protocol}//${url.host}: https is required`,
    'vault.oidc',
  );
}

/**
 * Plain http carries the request token in clear: only to loopback. A name is judged by the
 * addresses it resolves to, not by its spelling (a hosts entry can point `*.localhost` anywhere),
 * and the request then goes to the address that was judged.
 */
async function loopbackAddressOf(
  url: URL,
  lookup: GithubOidcOptions['lookup'] = (host) => dnsPromises().lookup(host, { all: true }),
): Promise<string> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    if (!isLoopbackAddress(host)) throw insecure(url);
    return url.hostname;
  }
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(host);
  } catch {
    throw insecure(url);
  }
  const first = addresses[0]?.address;
  if (first === undefined || addresses.some((a) => !isLoopbackAddress(a.address))) throw insecure(url);
  return isIP(first) === 6 ? `[${first}]` : first;
}

/**
 * Asks the GitHub Actions runtime for an OIDC token: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=…`
 * with `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answer `{"value": "<jwt>"}`.
 * Redirects are refused (they could carry the bearer elsewhere); plain http is allowed to loopback
 * only. Errors name the host and status, never the URL's query, the bearer or the body.
 */
export async function requestGithubOidcToken(opts: GithubOidcOptions): Promise<string> {
  const rawUrl = opts.env.ACTIONS_ID_TOKEN_REQUEST_URL?.trim() ?? '';
  const bearer = opts.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN?.trim() ?? '';
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new PermissionError('ACTIONS_ID_TOKEN_REQUEST_URL is not a valid URL', 'vault.oidc');
  }
  const where = url.host;
  if (url.protocol === 'http:') {
    url.hostname = await loopbackAddressOf(url, opts.lookup);
  } else if (url.protocol !== 'https:') {
    throw insecure(url);
  }
  if (opts.audience) url.searchParams.set('audience', opts.audience);
  const attempt = async (): Promise<string> => {
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { authorization: `bearer ${bearer}`, accept: 'application/json', 'user-agent': 'secrun' },
        redirect: 'manual',
        signal: AbortSignal.any([opts.signal, timeout]),
      });
    } catch (err) {
      if (opts.signal.aborted) throw new UnavailableError('gave up: deadline exceeded', 'provider.deadline');
      if (timeout.aborted) {
        throw new OidcFailure(`timed out after ${opts.timeoutMs} ms waiting for ${where}`, true);
      }
      const cause = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
      throw new OidcFailure(
        `request to ${where} failed (${typeof cause === 'string' ? cause : 'network error'})`,
        true,
      );
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      throw new OidcFailure(
        `${where} answered with a redirect (${res.status}); not followed`,
        false,
        res.status,
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      const retry = res.status === 429 || res.status >= 500;
      throw new OidcFailure(`${where} answered ${res.status}`, retry, res.status);
    }
    let value: unknown;
    try {
      value = ((await res.json()) as { value?: unknown } | null)?.value;
    } catch {
      throw new OidcFailure(`${where} answered with a body that is not JSON`, false);
    }
    if (typeof value !== 'string' || value === '') {
      throw new OidcFailure(`${where} answered without a token value`, false);
    }
    return value;
  };
  try {
    return await withRetry(attempt, {
      maxAttempts: opts.maxRetries === undefined ? undefined : opts.maxRetries + 1,
      signal: opts.signal,
      classify: (err) => ({ retry: err instanceof OidcFailure && err.retry }),
    });
  } catch (err) {
    if (!(err instanceof OidcFailure)) throw err;
    const details = err.status === undefined ? {} : { status: err.status };
    if (err.status === 401 || err.status === 403) {
      throw new PermissionError(
        `GitHub Actions OIDC token request refused: ${err.message}; does the job have "permissions: id-token: write"?`,
        'vault.oidc',
        details,
      );
    }
    throw new UnavailableError(
      `GitHub Actions OIDC token request failed: ${err.message}`,
      'vault.oidc',
      details,
    );
  }
}
