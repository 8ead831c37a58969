import { isIP } from 'node:net';

/** True for `localhost`, 127.0.0.0/8 and ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

/** True when a Node socket error code (`CERT_HAS_EXPIRED`, `ERR_TLS_...`, `EPROTO`) is a TLS failure. */
export function isTlsErrorCode(code: string): boolean {
  return TLS_CODES.has(code) || /^(CERT_|ERR_TLS_|ERR_SSL_)/.test(code);
}
