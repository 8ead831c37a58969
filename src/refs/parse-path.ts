import { decodePart, refError, rejectControlChars } from './parse-part.ts';

/** The document part of a reference: its path, and the region when it is an ARN. */
export interface ParsedPath {
  path: string;
  region?: string;
}

const AWS_NAME = /^[A-Za-z0-9/_+=.@-]+$/;

/**
 * Parses the path of a `vault:` reference: leading/trailing `/` are stripped; empty, `.` or `..`
 * segments are rejected.
 *
 * @throws RefError `ref.emptyPath`, `ref.badPath`, `ref.badEncoding`, `ref.controlChar`.
 */
export function parseVaultPath(raw: string, text: string): ParsedPath {
  const decoded = decodePart(raw, 'path', text);
  rejectControlChars(raw, 'path', decoded);
  const path = decoded.replace(/^\/+/, '').replace(/\/+$/, '');
  if (path === '') {
    throw refError(raw, 'ref.emptyPath', 'the Vault path is empty; write vault:<mount>/<path>[#field]');
  }
  for (const segment of path.split('/')) {
    if (segment === '') {
      throw refError(raw, 'ref.badPath', 'the Vault path contains "//"; remove the empty segment');
    }
    if (segment === '.' || segment === '..') {
      throw refError(
        raw,
        'ref.badPath',
        `the Vault path contains a "${segment}" segment; write the full path`,
      );
    }
  }
  return { path };
}

/**
 * Parses the secret id of an `awssm:` reference: a secret name, or an ARN (whose region is
 * returned).
 *
 * @throws RefError `ref.emptyPath`, `ref.badArn`, `ref.badName`, `ref.badEncoding`, `ref.controlChar`.
 */
export function parseAwsId(raw: string, text: string): ParsedPath {
  const path = decodePart(raw, 'secret id', text);
  rejectControlChars(raw, 'secret id', path);
  if (path === '') {
    throw refError(raw, 'ref.emptyPath', 'the secret name is empty; write awssm:<name-or-arn>[#field]');
  }
  if (path.startsWith('arn:')) return { path, region: arnRegion(raw, path) };
  if (!AWS_NAME.test(path)) {
    throw refError(
      raw,
      'ref.badName',
      'the secret name has characters Secrets Manager does not allow; use letters, digits and /_+=.@-',
    );
  }
  return { path };
}

/** Checks a Secrets Manager ARN and returns its region. */
function arnRegion(raw: string, arn: string): string {
  // arn:<partition>:secretsmanager:<region>:<account>:secret:<name>; the name may not contain ':'.
  const parts = arn.split(':');
  const [, partition, service, region, account, kind, ...nameParts] = parts;
  const name = nameParts.join(':');
  const ok =
    parts.length === 7 &&
    (partition === 'aws' || partition === 'aws-cn' || partition === 'aws-us-gov') &&
    service === 'secretsmanager' &&
    region !== undefined &&
    /^[a-z]{2}(-[a-z0-9]+)+$/.test(region) &&
    account !== undefined &&
    /^\d{12}$/.test(account) &&
    kind === 'secret';
  if (!ok) {
    throw refError(
      raw,
      'ref.badArn',
      'malformed Secrets Manager ARN; expected arn:aws:secretsmanager:<region>:<12-digit account>:secret:<name>',
    );
  }
  if (!AWS_NAME.test(name)) {
    throw refError(
      raw,
      'ref.badName',
      'the secret name in the ARN is empty or has characters Secrets Manager does not allow (letters, digits, /_+=.@-)',
    );
  }
  return region as string;
}
