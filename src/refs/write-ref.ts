import { ConfigError } from '../base/errors.ts';
import { documentKeyOf } from './parse.ts';
import type { SecretRef } from './secret-ref.ts';

/**
 * The reference of a config entry marked `write: true`: its document is fetched by one write of
 * `params` (see {@link SecretRef.write}). The document key carries `!write` and the parameters,
 * so a write never shares a document with a read of the same path, and entries with the same
 * path and parameters share one write.
 *
 * @throws ConfigError `config.badWrite` for a reference that is not `vault:` or carries `?options`.
 */
export function writeRef(ref: SecretRef, params: Readonly<Record<string, string>>): SecretRef {
  if (ref.scheme !== 'vault') {
    throw new ConfigError('write: true is for Vault paths (vault: references); remove it', 'config.badWrite');
  }
  if (Object.keys(ref.options).length > 0) {
    throw new ConfigError(
      `with write: true the parameters go under params:, not in the reference's ?options (${Object.keys(ref.options).join(', ')})`,
      'config.badWrite',
    );
  }
  const sorted = Object.keys(params)
    .sort()
    .map((k) => `&${encodeURIComponent(k)}=${encodeURIComponent(params[k] ?? '')}`)
    .join('');
  return {
    ...ref,
    write: { ...params },
    documentKey: `${documentKeyOf(ref.scheme, ref.path, {})}?!write${sorted}`,
  };
}
