import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

/** True for an IP address in 127.0.0.0/8, `::1`, or `::ffff:127.x.y.z`. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(a) === 4) return a.startsWith('127.');
  if (isIP(a) !== 6) return false;
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped?.[1]?.startsWith('127.') === true;
}

/**
 * True for a loopback IP and for `localhost` / `*.localhost`: the names only *may* be loopback
 * (a hosts entry can point them anywhere), so a connection to them must also go through
 * {@link loopbackOnlyLookup}, which judges the address they resolve to.
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  return isLoopbackAddress(h);
}

/** The error code of a lookup refused by {@link loopbackOnlyLookup}. */
export const NOT_LOOPBACK = 'ENOTLOOPBACK';

/**
 * A DNS lookup for plain-http connections: resolves with `inner` (default `dns.lookup`) and
 * fails with code {@link NOT_LOOPBACK} unless every address is a loopback address, so a name is
 * judged by where the connection would go, not by how it is spelled. Node skips the lookup for
 * IP literals, which {@link isLoopbackHost} judges directly.
 */
export function loopbackOnlyLookup(inner: LookupFunction = dnsLookup as LookupFunction): LookupFunction {
  return ((hostname: string, options: object, callback: (...args: unknown[]) => void) => {
    const all = (options as { all?: boolean }).all === true;
    inner(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err);
        return;
      }
      const list: LookupAddress[] = Array.isArray(addresses)
        ? addresses
        : [{ address: String(addresses), family: isIP(String(addresses)) }];
      const outside = list.find((a) => !isLoopbackAddress(a.address));
      if (list.length === 0 || outside) {
        const e = new Error(
          `${hostname} resolves to ${outside?.address ?? 'no address'}, not a loopback address`,
        ) as NodeJS.ErrnoException;
        e.code = NOT_LOOPBACK;
        callback(e);
        return;
      }
      const first = list[0] as LookupAddress;
      if (all) callback(null, list);
      else callback(null, first.address, first.family);
    });
  }) as LookupFunction;
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
