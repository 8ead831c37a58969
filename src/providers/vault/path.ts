import { VaultTransportError } from './http-errors.ts';

/** `path` without leading or trailing slashes. */
export function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

/**
 * `path` without leading or trailing slashes, or undefined when it is empty or has an empty,
 * `.` or `..` segment (Vault would answer such a path with a 301).
 */
export function normalizeVaultPath(path: string): string | undefined {
  const trimmed = trimSlashes(path);
  if (trimmed === '' || trimmed.split('/').some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return trimmed;
}

/** Encodes each path segment; refuses `.`/`..` segments (Vault would 301 them). */
export function encodePath(path: string): string {
  const clean = normalizeVaultPath(path);
  if (clean === undefined) {
    throw new VaultTransportError('protocol', 'BAD_PATH', `invalid Vault path "${path}"`);
  }
  return clean
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

/** `?k=v&...` with keys and values URL-encoded; empty for no query. */
export function encodeQuery(query: Record<string, string> | undefined): string {
  if (!query) return '';
  const parts = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}
