import { VaultTransportError } from './http-errors.ts';
import type { SendResult } from './http-request.ts';

/** Redirect statuses the transport may follow. */
export function isRedirect(status: number): boolean {
  return [301, 302, 303, 307, 308].includes(status);
}

/**
 * The target of one redirect from `from`: only the first hop, only to the same origin (scheme,
 * host and port) as `base` (a standby pointing at the leader). Anything else is a VaultTransportError, raised
 * before the token could be sent anywhere else.
 */
export function redirectTarget(base: URL, from: URL, res: SendResult, hop: number): URL {
  if (hop > 0) {
    throw new VaultTransportError('redirect', 'TOO_MANY_REDIRECTS', `Vault redirected more than once`);
  }
  let target: URL;
  try {
    target = new URL(res.location ?? '', from);
  } catch {
    throw new VaultTransportError(
      'redirect',
      'BAD_LOCATION',
      `Vault sent a ${res.status} with a bad Location`,
    );
  }
  if (!res.location || target.protocol !== base.protocol) {
    throw new VaultTransportError(
      'redirect',
      'REDIRECT_SCHEME',
      `refused to follow a ${res.status} redirect from ${base.origin} to another scheme ` +
        `(${target.protocol.replace(':', '')}); the token was not sent`,
    );
  }
  // Another port is another origin (another server): the token goes nowhere but VAULT_ADDR's.
  if (target.host.toLowerCase() !== base.host.toLowerCase()) {
    throw new VaultTransportError(
      'redirect',
      'REDIRECT_HOST',
      `refused to follow a ${res.status} redirect from ${base.host} to ${target.host}; ` +
        'the token was not sent; point VAULT_ADDR at the active node',
    );
  }
  return target;
}
