import { NotFoundError, RefError } from '../../base/errors.ts';
import type { DocumentRequest, SecretDocument } from '../provider.ts';
import type { VaultClient } from './client.ts';
import { aMount, type MountInfo } from './kv-mounts.ts';
import { leaseOf } from './lease-of.ts';
import { issuingPath } from './pki-issue.ts';

/** Mount types whose writes change what Vault stores (a secret, a policy), never mint a credential. */
const STORING_MOUNTS = new Set(['kv', 'generic', 'cubbyhole', 'system', 'identity', 'token']);

/**
 * First path segments (after the mount) where Vault's engines keep their configuration and
 * maintenance endpoints: a write there changes Vault (a role, the engine's root credentials, a
 * CA, a key; a rotation, a revocation, a tidy) and fetches nothing a service should start with.
 * Credential endpoints (`aws/creds`, `aws/sts`, `transit/datakey`, ...) are elsewhere.
 */
const CONFIGURING =
  /^(config|roles?|static-roles|root|intermediate|issuers?|keys?|import|crl|acme|cert|ca|restore|reset|rotate.*|tidy.*|revoke.*)$/;

/**
 * Fetches the document of a config entry marked `write: true`: one POST of its parameters to the
 * path; the answer's `data` fields are the values and its lease is the document's lease. Refused
 * where a write would change stored data instead of fetching a credential (KV, cubbyhole, `sys/`,
 * `auth/`, an engine's configuration and maintenance paths), on PKI `issue/` and `sign/` (their parameters go in the reference), and when the
 * mounts preflight is denied (secrun could not tell a KV path from a credential endpoint).
 *
 * @throws RefError `vault.writeRefused`; NotFoundError when the answer has no data.
 */
export async function writeDocument(
  client: Pick<VaultClient, 'request'>,
  req: DocumentRequest,
  path: string,
  mount: MountInfo | null,
  signal: AbortSignal,
): Promise<SecretDocument> {
  const refuse = (why: string): never => {
    throw new RefError(`write: true on ${path}: ${why}`, 'vault.writeRefused', { path });
  };
  // The first segment after the mount: where an engine keeps its configuration endpoints.
  const first = mount ? (path.slice(mount.path.length + 1).split('/')[0] ?? '') : '';
  if (!mount) {
    refuse(
      `the mounts preflight for it found no mount or was denied, so secrun cannot tell it is not a KV path (where a write would replace the secret); check the path, or grant read on sys/internal/ui/mounts/${path}`,
    );
  } else if (STORING_MOUNTS.has(mount.type) || /^(sys|auth)\//.test(path)) {
    refuse(
      `a write to this ${mount.type} mount would change what Vault stores, not fetch a credential; remove write: true to read it`,
    );
  } else if (CONFIGURING.test(first)) {
    refuse(
      `${first}/ of ${aMount(mount)} is where the engine is configured or maintained; a write there changes Vault instead of fetching a credential`,
    );
  } else if (issuingPath(mount, path)) {
    refuse(
      'PKI issue/ and sign/ are written without it: put their parameters in the reference (?common_name=...&ttl=...)',
    );
  }
  const env = await client.request({ method: 'POST', path, body: { ...req.write }, signal });
  const data = env?.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new NotFoundError(`the write to ${path} answered no data`, 'vault.notFound', { path });
  }
  const doc: SecretDocument = { value: data as Record<string, unknown> };
  const lease = leaseOf(env);
  if (lease) doc.lease = lease;
  return doc;
}
