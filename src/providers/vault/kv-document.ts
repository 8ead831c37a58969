import { NotFoundError } from '../../base/errors.ts';
import type { SecretDocument } from '../provider.ts';
import { VaultHttpError } from './http-errors.ts';

/** A KV v2 `data` object ({data, metadata}) as a document; undefined for any other shape. */
export function kv2Document(raw: unknown): SecretDocument | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const { data: value, metadata: md } = raw as { data?: unknown; metadata?: Record<string, unknown> | null };
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  if (!md || typeof md !== 'object' || typeof md.version !== 'number') return undefined;
  const doc: SecretDocument = { value: value as Record<string, unknown>, version: md.version };
  if (typeof md.created_time === 'string') {
    const d = new Date(md.created_time);
    if (!Number.isNaN(d.getTime())) doc.createdAt = d;
  }
  return doc;
}

/** A KV v2 404 envelope for a deleted or destroyed version becomes a NotFoundError saying so. */
export function kvGone(err: unknown, path: string, version: string | undefined): unknown {
  if (err instanceof VaultHttpError && err.status === 404 && !err.kv && version !== undefined) {
    return new NotFoundError(`version ${version} of ${path} does not exist`, 'vault.noVersion', {
      path,
      status: 404,
      version,
    });
  }
  if (!(err instanceof VaultHttpError) || err.status !== 404 || !err.kv) return err;
  const v = err.kv.version ?? version ?? 'latest';
  const details = { path, status: 404, version: String(v) };
  if (err.kv.destroyed) {
    return new NotFoundError(
      `version ${v} of ${path} was destroyed; ask for another version (?version=N)`,
      'vault.destroyed',
      details,
    );
  }
  if (err.kv.deletionTime) {
    return new NotFoundError(
      `version ${v} of ${path} was deleted at ${err.kv.deletionTime}; undelete it or ask for another version`,
      'vault.deleted',
      details,
    );
  }
  return err;
}
