import {
  ConfigError,
  type ErrorDetails,
  InternalError,
  NotFoundError,
  PermissionError,
  SecrunError,
  UnavailableError,
} from '../../base/errors.ts';
import {
  connectionWords,
  fmtSeconds,
  KV_UPGRADING,
  VaultHttpError,
  VaultTransportError,
} from './http-errors.ts';
import { tlsHint } from './tls-hint.ts';

/** Where an error happened, for its message and details. */
export interface ErrorContext {
  /** The Vault path as the user wrote it. */
  path?: string;
  address: string;
  timeoutMs: number;
  /** `default`: VAULT_ADDR is unset and the default address was tried (said so in messages). */
  addressFrom?: 'env' | 'config' | 'default';
}

/** Plain-English words for a connection failure to `address`. */
function connectionMessage(code: string, address: string): string {
  const words = connectionWords(code);
  if (code === 'ECONNRESET' || code === 'EPIPE') return `${words} by ${address}`;
  if (code === 'ECONNREFUSED' || code === 'ETIMEDOUT') return `${words} to ${address}`;
  return `cannot reach ${address}: ${words}`;
}

/**
 * Maps anything the transport or node-vault can throw to a typed SecrunError. Copies only the
 * status, Vault's cleaned error text, path and request id: never the raw error as `cause`,
 * because axios-style errors carry the token and the request body.
 */
export function mapVaultError(err: unknown, ctx: ErrorContext): SecrunError {
  if (err instanceof SecrunError) return err;
  const base: ErrorDetails = {};
  if (ctx.path !== undefined) base.path = ctx.path;
  if (err instanceof VaultTransportError) {
    const details = { ...base, cause: err.code };
    // No VAULT_ADDR: say so, not a TLS hint about the default address that nobody chose.
    if (ctx.addressFrom === 'default' && err.kind !== 'redirect' && err.kind !== 'protocol') {
      const what =
        err.kind === 'tls'
          ? `the TLS handshake failed (${err.code})`
          : err.kind === 'abort'
            ? `gave up: ${err.message}`
            : err.kind === 'timeout'
              ? `no answer within ${fmtSeconds(ctx.timeoutMs)}`
              : connectionWords(err.code);
      return new UnavailableError(
        `VAULT_ADDR is not set; secrun tried the default address ${ctx.address}: ${what}. Set VAULT_ADDR (or vault.address in the config file) to the address of your Vault`,
        err.kind === 'abort' ? 'provider.deadline' : 'vault.noAddress',
        { ...details, variable: 'VAULT_ADDR' },
      );
    }
    switch (err.kind) {
      case 'timeout':
        return new UnavailableError(
          `timed out after ${fmtSeconds(ctx.timeoutMs)} waiting for ${ctx.address}`,
          'vault.timeout',
          details,
        );
      case 'tls': {
        const why = err.reason ? `${err.code}: ${err.reason}` : err.code;
        return new UnavailableError(
          `TLS handshake with ${ctx.address} failed (${why}); ${tlsHint(err.code, err.reason ?? '')}`,
          'vault.tls',
          err.reason ? { ...details, reason: err.reason } : details,
        );
      }
      case 'abort':
        return new UnavailableError(`gave up: ${err.message}`, 'provider.deadline', details);
      case 'redirect':
        return new UnavailableError(err.message, 'vault.redirect', details);
      case 'insecure':
        return new ConfigError(
          `refusing plain http to ${ctx.address}: ${err.message}, so the Vault token would cross the network ` +
            'unencrypted; use https, or allow it explicitly with --allow-insecure-http',
          'vault.insecureHttp',
          details,
        );
      case 'protocol':
        return new UnavailableError(`${err.message} from ${ctx.address}`, 'vault.badResponse', details);
      default:
        return new UnavailableError(connectionMessage(err.code, ctx.address), 'vault.unavailable', details);
    }
  }
  if (err instanceof VaultHttpError) {
    const s = err.status;
    const text = err.errors[0];
    const details: ErrorDetails = { ...base, status: s };
    if (err.requestId) details.requestId = err.requestId;
    if (text) details.vaultError = text;
    const suffix = text ? `: ${text}` : '';
    if (s === 404) {
      const hint = err.warnings[0] ? ` (${err.warnings[0]})` : '';
      return new NotFoundError(`secret not found at ${ctx.path ?? 'path'}${hint}`, 'vault.notFound', details);
    }
    if (s === 403) {
      const extra =
        text && text !== 'permission denied' ? `: ${text.replace(/^permission denied;?\s*/, '')}` : '';
      const at = ctx.path ? ` at ${ctx.path}` : '';
      return new PermissionError(`permission denied (403)${at}${extra}`, 'vault.permission', details);
    }
    if (s === 503 && text?.includes('sealed')) {
      return new UnavailableError(`Vault is sealed (503) at ${ctx.address}`, 'vault.sealed', details);
    }
    if (s === 501) {
      return new UnavailableError(
        `Vault is not initialized (501) at ${ctx.address}`,
        'vault.unavailable',
        details,
      );
    }
    if (s === 400 && text?.includes(KV_UPGRADING)) {
      return new UnavailableError(`KV mount is upgrading (400)${suffix}`, 'vault.unavailable', details);
    }
    if (s === 412 || s === 429 || s >= 500) {
      const what = s === 429 ? 'rate limited' : s === 412 ? 'not yet consistent' : 'server error';
      return new UnavailableError(`${what} (${s}) at ${ctx.address}${suffix}`, 'vault.unavailable', details);
    }
    if (s >= 300 && s < 400) {
      return new UnavailableError(
        `unexpected redirect (${s}) from ${ctx.address}`,
        'vault.redirect',
        details,
      );
    }
    return new NotFoundError(`bad request (${s})${suffix}`, 'vault.badRequest', details);
  }
  const name = err instanceof Error ? err.name : typeof err;
  return new InternalError(`internal error talking to Vault (${name})`, 'vault.internal', base);
}
