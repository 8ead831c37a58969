import type { DescribeSecretCommandOutput, SecretValueEntry } from '@aws-sdk/client-secrets-manager';
import { NotFoundError } from '../../base/errors.ts';
import { DELETED_TOKEN, NO_STAGE_TOKEN } from '../fingerprint.ts';
import type { SecretDocument } from '../provider.ts';

/** Secret values and ARNs: what a Secrets Manager answer becomes. */

/** At most this many ids per BatchGetSecretValue call (API limit). */
export const BATCH_SIZE = 20;

export const ARN_RE = /^arn:[^:]+:secretsmanager:([^:]+):[^:]*:secret:(.+)$/;

/**
 * The region of a Secrets Manager ARN (full or partial), or undefined for a name.
 */
export function arnRegion(secretId: string): string | undefined {
  const region = ARN_RE.exec(secretId)?.[1];
  return region ? region : undefined;
}

/**
 * True when a BatchGetSecretValue entry (identified by its `ARN` and `Name`) answers the
 * requested `SecretId`. An id matches when it is the entry's exact ARN, its exact name, or a
 * partial ARN: the ARN without the `-XXXXXX` suffix Secrets Manager appends to every ARN.
 */
export function entryMatches(secretId: string, entry: { ARN?: string; Name?: string }): boolean {
  if (secretId === entry.ARN || secretId === entry.Name) return true;
  const arn = entry.ARN;
  return (
    arn !== undefined &&
    secretId.startsWith('arn:') &&
    arn.length === secretId.length + 7 &&
    arn.startsWith(`${secretId}-`)
  );
}

/** Converts a GetSecretValue / BatchGetSecretValue entry to a document; throws when empty. */
export function toDocument(entry: SecretValueEntry, secretId: string): SecretDocument {
  let value: SecretDocument['value'];
  if (typeof entry.SecretString === 'string') value = parseStringValue(entry.SecretString);
  else if (entry.SecretBinary instanceof Uint8Array) value = entry.SecretBinary;
  else {
    throw new NotFoundError(
      `secret ${secretId} has no value (neither SecretString nor SecretBinary)`,
      'awssm.noValue',
      { path: secretId },
    );
  }
  const doc: SecretDocument = { value };
  if (entry.VersionId) doc.version = entry.VersionId;
  if (entry.VersionStages) doc.stages = [...entry.VersionStages];
  if (entry.CreatedDate instanceof Date) doc.createdAt = entry.CreatedDate;
  const info: Record<string, string> = {};
  if (entry.ARN) info.arn = entry.ARN;
  if (entry.Name) info.name = entry.Name;
  doc.info = info;
  return doc;
}

/** A JSON object text becomes an object; anything else stays the string it was. */
export function parseStringValue(text: string): SecretDocument['value'] {
  if (!text.trimStart().startsWith('{')) return text;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // Not JSON after all: the secret is the text.
  }
  return text;
}

/**
 * The version token of a DescribeSecret answer for the stage a reference follows: the VersionId
 * carrying that stage, `deleted` for a secret scheduled for deletion, `no-stage` when no version
 * carries the stage. DescribeSecret never returns a secret value.
 */
export function describeToken(
  out: Pick<DescribeSecretCommandOutput, 'DeletedDate' | 'VersionIdsToStages'>,
  stage: string,
): string {
  if (out.DeletedDate !== undefined) return DELETED_TOKEN;
  for (const [id, stages] of Object.entries(out.VersionIdsToStages ?? {})) {
    if (stages?.includes(stage)) return id;
  }
  return NO_STAGE_TOKEN;
}
