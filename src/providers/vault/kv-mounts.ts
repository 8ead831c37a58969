import type { VaultClient } from './client.ts';
import { VaultHttpError } from './http-errors.ts';
import { trimSlashes } from './path.ts';

/** What the mounts preflight told about the mount holding a path. */
export interface MountInfo {
  /** Mount path without a trailing slash, e.g. `secret`. */
  path: string;
  /** Engine type, e.g. `kv`, `database`. */
  type: string;
  /** 1 or 2 for KV mounts; undefined for any other engine. */
  kvVersion?: 1 | 2;
}

/** "a kv mount", "an aws mount": the mount's type in a sentence. */
export function aMount(mount: Pick<MountInfo, 'type'>): string {
  return `${/^[aeiou]/i.test(mount.type) ? 'an' : 'a'} ${mount.type} mount`;
}

/** Looks a path up with `sys/internal/ui/mounts/<path>`; null when the preflight is denied. */
export type MountLookup = (path: string, signal: AbortSignal) => Promise<MountInfo | null>;

/** Reads a preflight response (`data.path`, `data.type`, `data.options.version`). */
export function parseMountInfo(data: unknown): MountInfo | null {
  if (!data || typeof data !== 'object') return null;
  const d = data as { path?: unknown; type?: unknown; options?: { version?: unknown } | null };
  if (typeof d.path !== 'string' || d.path.replace(/\/+$/, '') === '') return null;
  const type = typeof d.type === 'string' ? d.type : '';
  const info: MountInfo = { path: trimSlashes(d.path), type };
  if (type === 'kv' || type === 'generic') {
    info.kvVersion = String(d.options?.version ?? '1') === '2' ? 2 : 1;
  }
  return info;
}

/**
 * Vault answers a preflight whose mount lives in a child namespace with the mount path prefixed by
 * that namespace's full path (`team-a/sub/secret/` for header `team-a` and path `sub/secret/x`);
 * the part that is the request's own namespace is dropped so the path is relative to the request.
 */
export function relativeToNamespace(info: MountInfo, namespace: string | undefined): MountInfo {
  const ns = trimSlashes(namespace ?? '');
  if (ns === '' || !info.path.startsWith(`${ns}/`)) return info;
  return { ...info, path: info.path.slice(ns.length + 1) };
}

/** The mounts preflight over `client`: null when it is denied (403) or missing (404). */
export function mountLookup(client: VaultClient): MountLookup {
  return async (path, signal) => {
    try {
      const env = await client.request({ method: 'GET', path: `sys/internal/ui/mounts/${path}`, signal });
      const info = parseMountInfo(env?.data);
      if (!info || isUnder(path, info.path)) return info;
      return relativeToNamespace(info, client.settings.namespace);
    } catch (err) {
      // 403: unknown mount or a token that cannot see it; 404: a Vault without the endpoint.
      if (err instanceof VaultHttpError && (err.status === 403 || err.status === 404)) return null;
      throw err;
    }
  };
}

function isUnder(path: string, mount: string): boolean {
  return path === mount || path.startsWith(`${mount}/`);
}

/**
 * Caches the mounts preflight per mount. A path under a known mount needs no request; concurrent
 * lookups that may share a mount (same first segment) wait for the one in flight, so N paths on
 * one mount cost one preflight. Failures are not cached.
 */
export class MountCache {
  readonly #lookup: MountLookup;
  readonly #known: MountInfo[] = [];
  readonly #inFlight = new Map<string, Promise<MountInfo | null>>();

  constructor(lookup: MountLookup) {
    this.#lookup = lookup;
  }

  /** The mount of `path` (no leading or trailing slash), or null when it cannot be told. */
  async resolve(path: string, signal: AbortSignal): Promise<MountInfo | null> {
    const head = path.split('/')[0] ?? path;
    for (;;) {
      const known = this.#find(path);
      if (known) return known;
      const pending = this.#inFlight.get(head);
      if (!pending) break;
      const other = await pending.catch(() => null);
      if (other && isUnder(path, other.path)) return other;
      if (this.#inFlight.get(head) === pending) break;
    }
    const p = this.#lookup(path, signal);
    this.#inFlight.set(head, p);
    try {
      const info = await p;
      if (info && isUnder(path, info.path) && !this.#find(path)) this.#known.push(info);
      return info && isUnder(path, info.path) ? info : null;
    } finally {
      if (this.#inFlight.get(head) === p) this.#inFlight.delete(head);
    }
  }

  #find(path: string): MountInfo | undefined {
    let best: MountInfo | undefined;
    for (const m of this.#known) {
      if (isUnder(path, m.path) && (!best || m.path.length > best.path.length)) best = m;
    }
    return best;
  }
}

/**
 * The KV v2 data path for a user path: `secret/app/db` and `secret/data/app/db` both give
 * `secret/data/app/db` (the vault CLI style and the API style).
 */
export function kvV2DataPath(mount: string, path: string): string {
  const rest = path === mount ? '' : path.slice(mount.length + 1);
  const tail = rest === 'data' || rest.startsWith('data/') ? rest.slice(5) : rest;
  return tail === '' ? `${mount}/data` : `${mount}/data/${tail}`;
}
