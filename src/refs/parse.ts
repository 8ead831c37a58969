import { RefError } from '../base/errors.ts';
import { parseField } from './parse-field.ts';
import { parseOptions } from './parse-options.ts';
import { refError } from './parse-part.ts';
import { parseAwsId, parseVaultPath } from './parse-path.ts';
import { ARN_PREFIXES } from './scheme.ts';
import type { SecretRef } from './secret-ref.ts';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Parses a reference (see the grammar in design.md section 3):
 *
 * - `vault:<path>[?version=<N>][#<field>]` — leading/trailing `/` are stripped; empty, `.` or `..`
 *   segments are rejected. `version` must be a positive integer (`0` is rejected: omit `?version`
 *   for the latest).
 * - `awssm:<name-or-arn>[?version-stage=<stage>|?version-id=<id>][&encoding=base64][#<field>]`
 * - `arn:aws:secretsmanager:<region>:<account>:secret:<name>[?...][#<field>]` — same as `awssm:`;
 *   the region is taken from the ARN.
 * - `#name` picks a top-level field (percent-decoded, so `%23` is a `#`); `#/a/b` is a JSON
 *   Pointer (RFC 6901, `~1` = `/`, `~0` = `~`).
 *
 * Path, option values and field are percent-decoded. Messages quote the reference, except for
 * `ref.unknownScheme`: text that is not a reference may be a secret and is never echoed.
 *
 * @throws RefError (codes `ref.unknownScheme`, `ref.emptyPath`, `ref.badPath`, `ref.badArn`,
 *   `ref.badName`, `ref.unknownOption`, `ref.duplicateOption`, `ref.badOption`,
 *   `ref.conflictingOptions`, `ref.badVersion`, `ref.badField`, `ref.badEncoding`,
 *   `ref.controlChar`) and nothing else.
 */
export function parseRef(value: string): SecretRef {
  const raw = String(value);
  const { scheme, rest } = splitScheme(raw);
  if (LONE_SURROGATE.test(raw)) {
    throw refError(
      raw,
      'ref.badEncoding',
      'the reference is not well-formed Unicode (a lone surrogate); retype it',
    );
  }

  const hash = rest.indexOf('#');
  const beforeField = hash === -1 ? rest : rest.slice(0, hash);
  const fieldText = hash === -1 ? undefined : rest.slice(hash + 1);
  const question = beforeField.indexOf('?');
  const pathText = question === -1 ? beforeField : beforeField.slice(0, question);
  const optionText = question === -1 ? undefined : beforeField.slice(question + 1);

  const parsedPath = scheme === 'vault' ? parseVaultPath(raw, pathText) : parseAwsId(raw, pathText);
  const { options, encoding } = parseOptions(raw, scheme, optionText);
  const field = fieldText === undefined ? undefined : parseField(raw, fieldText);
  if (encoding && field) {
    throw refError(
      raw,
      'ref.conflictingOptions',
      'encoding=base64 returns the whole secret and cannot be combined with #field; remove one',
    );
  }

  const ref: SecretRef = {
    scheme,
    raw,
    path: parsedPath.path,
    options,
    documentKey: documentKeyOf(scheme, parsedPath.path, options),
  };
  if (field) ref.field = field;
  if (parsedPath.region) ref.region = parsedPath.region;
  if (encoding) ref.encoding = encoding;
  return ref;
}

/** The scheme and what follows it; an ARN is an `awssm:` reference that keeps its whole text. */
function splitScheme(raw: string): { scheme: 'vault' | 'awssm'; rest: string } {
  if (raw.startsWith('vault:')) return { scheme: 'vault', rest: raw.slice('vault:'.length) };
  if (raw.startsWith('awssm:')) return { scheme: 'awssm', rest: raw.slice('awssm:'.length) };
  if (ARN_PREFIXES.some((p) => raw.startsWith(p))) return { scheme: 'awssm', rest: raw };
  // Not a reference, so possibly a secret typed in the wrong place: never echo it.
  throw new RefError(
    'not a reference (the value is not shown); references start with vault:, awssm: or arn:aws:secretsmanager:',
    'ref.unknownScheme',
  );
}

/** `${scheme}:${path}?${sorted options}` — shared by every reference to one document. */
export function documentKeyOf(scheme: string, path: string, options: Record<string, string>): string {
  const opts = Object.keys(options)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(options[k] ?? '')}`)
    .join('&');
  const base = `${scheme}:${path.replace(/%/g, '%25').replace(/\?/g, '%3F')}`;
  return opts ? `${base}?${opts}` : base;
}
