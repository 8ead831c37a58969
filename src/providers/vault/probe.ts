import type { Logger } from '../../base/log.ts';
import { DELETED_TOKEN, isVaultPinned, kvV2Token, PINNED_TOKEN } from '../fingerprint.ts';
import type { DocumentRequest } from '../provider.ts';
import type { VaultClient } from './client.ts';
import { mapVaultError } from './error-map.ts';
import { VaultHttpError } from './http-errors.ts';
import { kvV2DataPath, type MountInfo } from './kv-mounts.ts';
import { trimSlashes } from './path.ts';

/** What a Vault probe needs from the provider: its transport and its mount cache. */
export interface VaultProbeDeps {
  /** The provider's client, already authenticated (its token set). */
  client: Pick<VaultClient, 'request' | 'errorContext'>;
  /** The provider's mount cache (`MountCache`), so probes share its preflights. */
  mounts: { resolve(path: string, signal: AbortSignal): Promise<MountInfo | null> };
  logger: Logger;
  /** Clock in ms for `deletion_time` (default `Date.now`). */
  now?: () => number;
}

/** Probes one Vault document; see {@link createVaultProbe}. */
export type VaultProbe = (request: DocumentRequest, signal: AbortSignal) => Promise<string | undefined>;

/**
 * The Vault side of `Provider.probe`: change detection without reading secret material.
 *
 * - KV v2: `GET <mount>/metadata/<path>`; the token is `current_version` with that version's
 *   `created_time` (see {@link kvV2Token}), or `deleted` when the current version is deleted or
 *   destroyed, or the metadata is gone (404). Needs `read` on `<mount>/metadata/<path>`.
 * - `?version=N` (N > 0): a constant; no request.
 * - KV v1, other engines (dynamic secrets: their leases are renewed, not watched), a mount the
 *   preflight does not reveal: `undefined`, no request beyond the cached preflight.
 * - 403 on the metadata: `undefined`, logged once at debug, and not asked again for that
 *   document (a denied request each interval would only fill Vault's audit log).
 *
 * Other failures reject with a SecrunError (mapped like reads). The caller authenticates first.
 */
export function createVaultProbe(deps: VaultProbeDeps): VaultProbe {
  const denied = new Set<string>();
  const now = deps.now ?? Date.now;

  return async (request, signal) => {
    if (isVaultPinned(request.options)) return PINNED_TOKEN;
    if (denied.has(request.key)) return undefined;
    const path = trimSlashes(request.path);
    try {
      const mount = await deps.mounts.resolve(path, signal);
      if (mount?.kvVersion !== 2) return undefined;
      const metadataPath = kvV2MetadataPath(mount.path, path);
      let env: Awaited<ReturnType<VaultClient['request']>>;
      try {
        env = await deps.client.request({ method: 'GET', path: metadataPath, signal });
      } catch (err) {
        if (err instanceof VaultHttpError && err.status === 404) return DELETED_TOKEN;
        if (err instanceof VaultHttpError && err.status === 403) {
          denied.add(request.key);
          deps.logger.warn(
            'vault: no read permission on KV v2 metadata (grant read on <mount>/metadata/<path>); rotation is detected by re-reading the secret instead',
            {
              path,
              metadataPath,
            },
          );
          return undefined;
        }
        throw err;
      }
      return metadataToken(env?.data, now());
    } catch (err) {
      throw mapVaultError(err, deps.client.errorContext(request.path));
    }
  };
}

/**
 * The KV v2 metadata path for a user path: `secret/app/db` and `secret/data/app/db` both give
 * `secret/metadata/app/db`.
 */
export function kvV2MetadataPath(mount: string, path: string): string {
  return `${mount}/metadata${kvV2DataPath(mount, path).slice(mount.length + '/data'.length)}`;
}

/** The token of a KV v2 metadata `data` object (never contains a secret value). */
export function metadataToken(raw: unknown, nowMs: number): string {
  if (!raw || typeof raw !== 'object') return DELETED_TOKEN;
  const md = raw as { current_version?: unknown; versions?: Record<string, unknown> | null };
  const current = md.current_version;
  if (typeof current !== 'number' || current < 1) return DELETED_TOKEN;
  const v = (md.versions?.[String(current)] ?? {}) as {
    created_time?: unknown;
    deletion_time?: unknown;
    destroyed?: unknown;
  };
  const deletedAt = typeof v.deletion_time === 'string' && v.deletion_time !== '' ? v.deletion_time : '';
  const deleted = deletedAt !== '' && new Date(deletedAt).getTime() <= nowMs;
  if (v.destroyed === true || deleted) return DELETED_TOKEN;
  return kvV2Token(current, typeof v.created_time === 'string' ? v.created_time : undefined);
}
