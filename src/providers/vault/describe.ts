import type { DocumentRequest, SecretDates } from '../provider.ts';
import type { VaultClient } from './client.ts';
import { mapVaultError } from './error-map.ts';
import { VaultHttpError } from './http-errors.ts';
import type { MountInfo } from './kv-mounts.ts';
import { trimSlashes } from './path.ts';
import { kvV2MetadataPath } from './probe.ts';

/** What {@link createVaultDescribe} needs: the authenticated client and the mount cache. */
export interface VaultDescribeDeps {
  client: Pick<VaultClient, 'request' | 'errorContext'>;
  mounts: { resolve(path: string, signal: AbortSignal): Promise<MountInfo | null> };
}

const dateOf = (v: unknown): Date | undefined => {
  if (typeof v !== 'string' || v === '') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
};

/**
 * The Vault side of `Provider.describe`: KV v2 `created_time` and `updated_time` from
 * `<mount>/metadata/<path>` (never the data). KV v1 and other engines keep no dates: undefined;
 * so does a metadata read that is denied (403) or finds nothing (404).
 */
export function createVaultDescribe(deps: VaultDescribeDeps) {
  return async (request: DocumentRequest, signal: AbortSignal): Promise<SecretDates | undefined> => {
    const path = trimSlashes(request.path);
    try {
      const mount = await deps.mounts.resolve(path, signal);
      if (mount?.kvVersion !== 2) return undefined;
      let env: Awaited<ReturnType<VaultClient['request']>>;
      try {
        env = await deps.client.request({ method: 'GET', path: kvV2MetadataPath(mount.path, path), signal });
      } catch (err) {
        if (err instanceof VaultHttpError && (err.status === 403 || err.status === 404)) return undefined;
        throw err;
      }
      const md = (env?.data ?? {}) as { created_time?: unknown; updated_time?: unknown };
      const dates: SecretDates = {};
      const created = dateOf(md.created_time);
      const updated = dateOf(md.updated_time);
      if (created) dates.createdAt = created;
      if (updated) dates.updatedAt = updated;
      return dates;
    } catch (err) {
      throw mapVaultError(err, deps.client.errorContext(request.path));
    }
  };
}
