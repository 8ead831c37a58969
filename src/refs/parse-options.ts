import { decodePart, refError, rejectControlChars } from './parse-part.ts';

/** The `?options` of a reference: those that select the document, and the encoding. */
export interface ParsedOptions {
  options: Record<string, string>;
  encoding?: 'base64';
}

/**
 * Parameters of a Vault write to an issuing path (PKI `issue/<role>` and `sign/<role>`), sent as
 * the request body; `key_type` and `key_bits` stay in secrun (the key it generates for `sign/`).
 */
export const VAULT_ISSUE_OPTIONS = [
  'common_name',
  'alt_names',
  'ip_sans',
  'uri_sans',
  'other_sans',
  'ttl',
  'not_after',
  'exclude_cn_from_sans',
  'private_key_format',
  'remove_roots_from_chain',
  'user_ids',
  'key_type',
  'key_bits',
] as const;

const OPTION_NAMES: Record<'vault' | 'awssm', readonly string[]> = {
  vault: ['version', ...VAULT_ISSUE_OPTIONS],
  awssm: ['version-stage', 'version-id', 'encoding'],
};

/**
 * Parses the text after `?` (undefined when there is no `?`): `key=value` pairs joined by `&`,
 * each known for the scheme, given once, with a non-empty, percent-decoded value.
 *
 * @throws RefError `ref.unknownOption`, `ref.duplicateOption`, `ref.badOption`, `ref.badVersion`,
 *   `ref.conflictingOptions`, `ref.badEncoding`, `ref.controlChar`.
 */
export function parseOptions(
  raw: string,
  scheme: 'vault' | 'awssm',
  text: string | undefined,
): ParsedOptions {
  const options: Record<string, string> = {};
  let encoding: 'base64' | undefined;
  if (text === undefined) return { options };
  const known = OPTION_NAMES[scheme];
  if (text === '') {
    throw refError(
      raw,
      'ref.badOption',
      `"?" is not followed by options; remove it or add ${known.join('|')}=...`,
    );
  }
  const seen = new Set<string>();
  for (const pair of text.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (!known.includes(key)) {
      throw refError(
        raw,
        'ref.unknownOption',
        `unknown option ${JSON.stringify(key.slice(0, 40))} for ${scheme}: references; known: ${known.join(', ')}`,
      );
    }
    if (seen.has(key)) throw refError(raw, 'ref.duplicateOption', `option ${key} is given twice; keep one`);
    seen.add(key);
    const value = eq === -1 ? '' : decodePart(raw, `option ${key}`, pair.slice(eq + 1));
    rejectControlChars(raw, `option ${key}`, value);
    if (value === '') throw refError(raw, 'ref.badOption', `option ${key} needs a value: ${key}=<value>`);
    checkOptionValue(raw, key, value);
    if (key === 'encoding') encoding = 'base64';
    else options[key] = value;
  }
  if (options['version'] !== undefined && Object.keys(options).length > 1) {
    throw refError(
      raw,
      'ref.conflictingOptions',
      '?version selects a KV version and cannot be combined with issuing parameters; remove one',
    );
  }
  if (options['version-stage'] !== undefined && options['version-id'] !== undefined) {
    throw refError(raw, 'ref.conflictingOptions', 'give either version-stage or version-id, not both');
  }
  return encoding ? { options, encoding } : { options };
}

function checkOptionValue(raw: string, key: string, value: string): void {
  if (key === 'version') {
    if (!/^[1-9][0-9]*$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw refError(
        raw,
        'ref.badVersion',
        'version must be a positive integer (1, 2, ...); omit ?version for the latest',
      );
    }
  } else if (key === 'version-stage') {
    if (value.length > 256)
      throw refError(raw, 'ref.badVersion', 'version-stage is longer than 256 characters');
  } else if (key === 'key_type') {
    if (value !== 'ec' && value !== 'rsa' && value !== 'ed25519')
      throw refError(raw, 'ref.badOption', 'key_type must be ec, rsa or ed25519');
  } else if (key === 'key_bits') {
    if (!/^[1-9][0-9]{0,4}$/.test(value))
      throw refError(raw, 'ref.badOption', 'key_bits must be a number of bits');
  } else if ((VAULT_ISSUE_OPTIONS as readonly string[]).includes(key)) {
    // Vault checks these parameters; secrun passes them on.
  } else if (key === 'version-id') {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
      throw refError(
        raw,
        'ref.badVersion',
        'version-id must be 1-64 letters, digits, "-" or "_" (usually a UUID)',
      );
    }
  } else if (value !== 'base64') {
    throw refError(raw, 'ref.badOption', 'encoding must be base64');
  }
}
