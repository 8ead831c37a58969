import { InternalError, NotFoundError, RefError } from '../../base/errors.ts';
import type { DocumentRequest, DocumentResult, SecretDocument } from '../provider.ts';
import type { VaultClient } from './client.ts';
import { mapVaultError } from './error-map.ts';
import { kv2Document, kvGone } from './kv-document.ts';
import { aMount, kvV2DataPath, type MountCache, type MountInfo } from './kv-mounts.ts';
import { leaseOf } from './lease-of.ts';
import { normalizeVaultPath } from './path.ts';
import { issueCertificate, issuingPath, writeParams } from './pki-issue.ts';
import { writeDocument } from './write-document.ts';

/** Reads a batch of Vault documents; the caller authenticates first. */
export type VaultDocumentReader = (
  requests: readonly DocumentRequest[],
  signal: AbortSignal,
) => Promise<Map<string, DocumentResult>>;

/**
 * Reads documents: each key once, KV v2 through its data path (one read per document and
 * version, however the path was spelt), PKI `issue/<role>` and `sign/<role>` by one write each,
 * a path a config entry marked `write: true` by one write of its parameters (the only writes: any
 * other path with parameters is refused), anything else as is, with its lease. Every failure is a per-key SecrunError in the result map.
 */
export function createDocumentReader(client: VaultClient, mounts: MountCache): VaultDocumentReader {
  const readKv2 = async (
    path: string,
    mount: MountInfo,
    version: string | undefined,
    signal: AbortSignal,
  ): Promise<SecretDocument> => {
    const env = await client
      .request({
        method: 'GET',
        path: kvV2DataPath(mount.path, path),
        query: version !== undefined && version !== '0' ? { version } : undefined,
        signal,
      })
      .catch((err: unknown) => {
        throw kvGone(err, path, version);
      });
    const doc = kv2Document(env?.data);
    if (!doc) throw new NotFoundError(`secret not found at ${path}`, 'vault.notFound', { path });
    doc.info = infoOf(mount);
    return doc;
  };

  const readDocument = async (
    req: DocumentRequest,
    signal: AbortSignal,
    shared: Map<string, Promise<SecretDocument>>,
  ): Promise<SecretDocument> => {
    const path = normalizeVaultPath(req.path);
    if (path === undefined) {
      throw new RefError(`invalid Vault path "${req.path}"`, 'vault.badPath', { path: req.path });
    }
    const version = req.options.version;
    if (version !== undefined && !/^\d+$/.test(version)) {
      throw new RefError(`version must be a whole number, got "${version}"`, 'vault.badVersion', { path });
    }
    const mount = await mounts.resolve(path, signal);
    if (req.write) {
      const doc = await writeDocument(client, req, path, mount, signal);
      doc.info = infoOf(mount);
      return doc;
    }
    const issuing = issuingPath(mount, path);
    if (issuing) {
      const doc = await issueCertificate(client, req, path, issuing, signal);
      doc.info = infoOf(mount);
      return doc;
    }
    const params = Object.keys(writeParams(req.options));
    if (params.length > 0) {
      throw new RefError(
        mount
          ? `${params.join(', ')} ${params.length === 1 ? 'is a parameter' : 'are parameters'} for issuing paths (issue/<role> or sign/<role> on a pki mount); ${path} is on ${aMount(mount)} and is read, never written`
          : `${params.join(', ')} ${params.length === 1 ? 'is a parameter' : 'are parameters'} for issuing paths, and the mounts preflight for ${path} is denied, so secrun cannot tell it is one; grant read on sys/internal/ui/mounts/${path}`,
        'vault.notIssuing',
        { path },
      );
    }
    if (mount?.kvVersion === 2) {
      // `secret/app/db` and `secret/data/app/db` are one document on KV v2: read it once per batch.
      const key = `${kvV2DataPath(mount.path, path)}?${version ?? ''}`;
      let read = shared.get(key);
      if (!read) {
        read = readKv2(path, mount, version, signal);
        shared.set(key, read);
      }
      return { ...(await read) };
    }
    if (version !== undefined && mount) {
      throw new NotFoundError(
        `?version is only supported on KV v2 mounts; ${mount.path}/ is ${mount.kvVersion ? 'KV v1' : mount.type}`,
        'vault.versionUnsupported',
        { path },
      );
    }
    const env = await client
      .request({ method: 'GET', path, query: version !== undefined ? { version } : undefined, signal })
      .catch((err: unknown) => {
        throw mount ? err : kvGone(err, path, version);
      });
    // Preflight denied and the path looks like `<mount>/data/...`: unwrap a KV v2 answer.
    const kv2 = !mount && /^[^/]+(\/[^/]+)*\/data\//.test(path) ? kv2Document(env?.data) : undefined;
    if (kv2) return kv2;
    const data = env?.data;
    if (!data || typeof data !== 'object' || Array.isArray(data)) {
      throw new NotFoundError(`no data at ${path}`, 'vault.notFound', { path });
    }
    const doc: SecretDocument = { value: data as Record<string, unknown> };
    const lease = leaseOf(env);
    if (lease) doc.lease = lease;
    doc.info = infoOf(mount);
    return doc;
  };

  return async (requests, signal) => {
    const results = new Map<string, DocumentResult>();
    const unique = new Map<string, DocumentRequest>();
    for (const r of requests) if (!unique.has(r.key)) unique.set(r.key, r);
    const shared = new Map<string, Promise<SecretDocument>>();
    await Promise.all(
      [...unique.values()].map(async (req) => {
        if (req.scheme !== 'vault') {
          results.set(req.key, {
            ok: false,
            error: new InternalError(`not a vault reference: ${req.scheme}`, 'vault.wrongScheme'),
          });
          return;
        }
        try {
          results.set(req.key, { ok: true, doc: await readDocument(req, signal, shared) });
        } catch (err) {
          results.set(req.key, { ok: false, error: mapVaultError(err, client.errorContext(req.path)) });
        }
      }),
    );
    return results;
  };
}

function infoOf(mount: MountInfo | null): Record<string, string | number | boolean> {
  if (!mount) return {};
  const info: Record<string, string | number | boolean> = { mount: `${mount.path}/`, mountType: mount.type };
  if (mount.kvVersion) info.kvVersion = mount.kvVersion;
  return info;
}
