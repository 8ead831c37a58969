/**
 * PKI roles: read from the seed or `roles/<name>` fields, the names they allow, and the role as
 * Vault reads it back (snake_case fields, TTLs in seconds).
 */
import { parseDuration } from './duration.ts';
import { strList } from './http.ts';

/** One role: which names it may issue for, for how long, with which key. */
export interface PkiRole {
  allowedDomains: string[];
  allowSubdomains: boolean;
  allowBareDomains: boolean;
  allowAnyName: boolean;
  allowLocalhost: boolean;
  allowIpSans: boolean;
  /** Patterns (`*` matches any run of characters) a URI SAN must match; empty: no URI SANs. */
  allowedUriSans: string[];
  /** Seconds; 0 = the mount default (768h). */
  ttl: number;
  maxTtl: number;
  keyType: 'ec' | 'rsa' | 'ed25519';
  keyBits: number;
  generateLease: boolean;
}

const bool = (v: unknown, dflt: boolean): boolean =>
  v === undefined || v === null || v === '' ? dflt : v === true || v === 'true' || v === '1';

/** Bits of the key a role makes when `key_bits` is 0 (Vault's defaults per key type). */
const DEFAULT_BITS = { rsa: 2048, ec: 256, ed25519: 0 } as const;

/** A role from seed or API fields; a string describes what is wrong. */
export function roleOf(raw: Record<string, unknown>): PkiRole | string {
  const ttl = parseDuration(raw['ttl'] ?? 0);
  const maxTtl = parseDuration(raw['max_ttl'] ?? 0);
  if (ttl === undefined) return 'ttl must be seconds or a duration like "24h"';
  if (maxTtl === undefined) return 'max_ttl must be seconds or a duration like "72h"';
  const keyType = String(raw['key_type'] ?? 'rsa');
  if (keyType !== 'ec' && keyType !== 'rsa' && keyType !== 'ed25519') {
    return `unknown key_type "${keyType}"; expected rsa, ec or ed25519`;
  }
  const keyBits = Number(raw['key_bits'] ?? 0) || 0;
  return {
    allowedDomains: strList(raw['allowed_domains'] ?? []) ?? [],
    allowSubdomains: bool(raw['allow_subdomains'], false),
    allowBareDomains: bool(raw['allow_bare_domains'], false),
    allowAnyName: bool(raw['allow_any_name'], false),
    allowLocalhost: bool(raw['allow_localhost'], true),
    allowIpSans: bool(raw['allow_ip_sans'], true),
    allowedUriSans: (strList(raw['allowed_uri_sans'] ?? []) ?? []).filter((p) => p !== ''),
    ttl,
    maxTtl,
    keyType,
    keyBits: keyBits || DEFAULT_BITS[keyType],
    generateLease: bool(raw['generate_lease'], false),
  };
}

/**
 * The role as `GET roles/<name>` answers it: Vault's field names, TTLs in seconds, and the fixed
 * behaviour of the dev engine (both server and client certificates, CSR names used as given).
 */
export function roleData(role: PkiRole): Record<string, unknown> {
  return {
    allow_any_name: role.allowAnyName,
    allow_bare_domains: role.allowBareDomains,
    allow_glob_domains: false,
    allow_ip_sans: role.allowIpSans,
    allow_localhost: role.allowLocalhost,
    allow_subdomains: role.allowSubdomains,
    allowed_domains: role.allowedDomains,
    allowed_uri_sans: role.allowedUriSans,
    client_flag: true,
    generate_lease: role.generateLease,
    key_bits: role.keyBits,
    key_type: role.keyType,
    max_ttl: role.maxTtl,
    no_store: false,
    not_before_duration: 30,
    require_cn: true,
    server_flag: true,
    ttl: role.ttl,
    use_csr_common_name: true,
    use_csr_sans: true,
  };
}

/** Is `name` allowed by the role (Vault's allowed_domains rules, without globs)? */
export function nameAllowed(role: PkiRole, name: string): boolean {
  if (role.allowAnyName) return true;
  if (role.allowLocalhost && (name === 'localhost' || name === 'localdomain')) return true;
  return role.allowedDomains.some(
    (d) => (role.allowBareDomains && name === d) || (role.allowSubdomains && name.endsWith(`.${d}`)),
  );
}

/** Does `value` match the glob `pattern`, where `*` stands for any run of characters? */
function globMatch(pattern: string, value: string): boolean {
  const parts = pattern.split('*');
  const first = parts[0] ?? '';
  if (parts.length === 1) return value === pattern;
  if (!value.startsWith(first)) return false;
  let at = first.length;
  for (const part of parts.slice(1, -1)) {
    const i = value.indexOf(part, at);
    if (i === -1) return false;
    at = i + part.length;
  }
  const last = parts[parts.length - 1] ?? '';
  return value.length - last.length >= at && value.endsWith(last);
}

/**
 * Checks URI SANs against `allowed_uri_sans`; `via` is "the API" or "CSR" as in Vault's errors.
 * Returns the error text, or undefined when every URI is allowed.
 */
export function uriSansError(
  role: PkiRole,
  uris: readonly string[],
  via: 'the API' | 'CSR',
): string | undefined {
  if (uris.length === 0) return undefined;
  if (role.allowedUriSans.length === 0) {
    return `URI Subject Alternative Names are not allowed in this role, but were provided via ${via}`;
  }
  if (!uris.every((u) => role.allowedUriSans.some((p) => globMatch(p, u)))) {
    return `URI Subject Alternative Names were provided via ${via} which are not valid for this role`;
  }
  return undefined;
}
