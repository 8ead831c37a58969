import { nodeCrypto } from '../../base/builtins.ts';
import { NotFoundError, RefError } from '../../base/errors.ts';
import type { DocumentRequest, SecretDocument } from '../provider.ts';
import type { VaultClient, VaultEnvelope } from './client.ts';
import { buildCsr, generateKey, type KeyType, privateKeyPem } from './csr.ts';
import type { MountInfo } from './kv-mounts.ts';
import { leaseOf } from './lease-of.ts';

/** An issuing endpoint of a PKI mount. */
export interface IssuingPath {
  kind: 'issue' | 'sign';
  role: string;
}

/** `<pki mount>/issue/<role>` or `<pki mount>/sign/<role>`; undefined for every other path. */
export function issuingPath(mount: MountInfo | null, path: string): IssuingPath | undefined {
  if (mount?.type !== 'pki') return undefined;
  const rest = path.slice(mount.path.length + 1).split('/');
  const [kind, role, ...extra] = rest;
  if ((kind === 'issue' || kind === 'sign') && role && extra.length === 0) return { kind, role };
  return undefined;
}

/** The options of a reference that are write parameters (everything but `version`). */
export function writeParams(options: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(options)) if (k !== 'version') out[k] = v;
  return out;
}

const list = (v: string | undefined): string[] =>
  v === undefined
    ? []
    : v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');

/**
 * Issues one certificate: `issue/<role>` is a POST with the reference's parameters; `sign/<role>`
 * first generates a key pair in memory (`key_type` ec|rsa|ed25519, default ec; `key_bits`) and
 * sends only a certificate request, so the private key never crosses the network. Every field of
 * the document (certificate, private_key, issuing_ca, ca_chain, ...) comes from this one call.
 */
export async function issueCertificate(
  client: Pick<VaultClient, 'request'>,
  req: DocumentRequest,
  path: string,
  at: IssuingPath,
  signal: AbortSignal,
): Promise<SecretDocument> {
  const params: Record<string, unknown> = writeParams(req.options);
  const keyType = params['key_type'] as KeyType | undefined;
  const keyBits = params['key_bits'] === undefined ? undefined : Number(params['key_bits']);
  delete params['key_type'];
  delete params['key_bits'];
  let localKey: ReturnType<typeof generateKey> | undefined;
  if (at.kind === 'sign') {
    try {
      localKey = generateKey(keyType ?? 'ec', keyBits);
    } catch (err) {
      throw new RefError((err as Error).message, 'vault.badKeyType', { path });
    }
    params['csr'] = buildCsr(localKey, {
      ...(typeof params['common_name'] === 'string' ? { commonName: params['common_name'] } : {}),
      dnsNames: list(params['alt_names'] as string | undefined),
      ipSans: list(params['ip_sans'] as string | undefined),
      uriSans: list(params['uri_sans'] as string | undefined),
    });
    delete params['private_key_format'];
  } else if (keyType !== undefined || keyBits !== undefined) {
    throw new RefError(
      'key_type and key_bits choose the key secrun generates for a sign/ path; on issue/ the role decides the key (or use sign/<role> so the private key never leaves this process)',
      'vault.badKeyType',
      { path },
    );
  }
  const env = await client.request({ method: 'POST', path, body: params, signal });
  return certificateDocument(env, path, localKey ? privateKeyPem(localKey) : undefined, localKey?.type);
}

/** The document of an issue or sign answer; `ca_chain` becomes one PEM bundle. */
function certificateDocument(
  env: VaultEnvelope | undefined,
  path: string,
  localKey: string | undefined,
  localKeyType: KeyType | undefined,
): SecretDocument {
  const data = env?.data as Record<string, unknown> | undefined;
  const certificate = typeof data?.['certificate'] === 'string' ? data['certificate'] : undefined;
  if (!data || !certificate) {
    throw new NotFoundError(`no certificate in the answer of ${path}`, 'vault.notFound', { path });
  }
  const value: Record<string, unknown> = { ...data };
  if (Array.isArray(data['ca_chain'])) value['ca_chain'] = data['ca_chain'].map(String).join('\n');
  if (localKey) {
    value['private_key'] = localKey;
    value['private_key_type'] = localKeyType;
  }
  const doc: SecretDocument = { value };
  const expiresAt = expiryOf(certificate, data['expiration']);
  if (expiresAt) {
    doc.issued = { expiresAt };
    if (typeof data['serial_number'] === 'string') doc.issued.serial = data['serial_number'];
  }
  const lease = leaseOf(env);
  if (lease) doc.lease = lease;
  return doc;
}

/** The certificate's notAfter, else the answer's `expiration` (Unix seconds). */
function expiryOf(certificate: string, expiration: unknown): Date | undefined {
  try {
    return new Date(new (nodeCrypto().X509Certificate)(certificate).validTo);
  } catch {
    return typeof expiration === 'number' ? new Date(expiration * 1000) : undefined;
  }
}
