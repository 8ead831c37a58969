import type { DocumentRequest, SecretDocument } from './provider.ts';

/** Token of a reference pinned to one version (`?version=N`, `?version-id=`): it never changes. */
export const PINNED_TOKEN = 'pinned';
/** Token of a document that is gone (deleted secret, deleted or destroyed current version). */
export const DELETED_TOKEN = 'deleted';
/** Token of a Secrets Manager secret where no version carries the requested stage. */
export const NO_STAGE_TOKEN = 'no-stage';

/** The stage a Secrets Manager reference follows: its `version-stage`, else `AWSCURRENT`. */
export function stageOf(options: Readonly<Record<string, string>>): string {
  return options['version-stage'] || 'AWSCURRENT';
}

/** True when a Vault reference pins a version (`?version=N`, N > 0: `0` means the latest). */
export function isVaultPinned(options: Readonly<Record<string, string>>): boolean {
  const v = options.version;
  return v !== undefined && v !== '' && v !== '0';
}

/**
 * The token of a KV v2 version: its number and creation time (epoch ms), so a secret whose
 * metadata was deleted and written again as version 1 still differs from the old version 1.
 */
export function kvV2Token(version: number, createdTime: string | Date | undefined): string {
  const ms = createdTime === undefined ? Number.NaN : new Date(createdTime).getTime();
  return Number.isNaN(ms) ? `v${version}` : `v${version}@${ms}`;
}

/**
 * The version token a probe would give for a document read at boot, or undefined when it is
 * not comparable (KV v1, dynamic secrets, unknown mounts). Lets a watcher start from what the
 * child actually received instead of from its first poll, so a rotation between the boot read
 * and that poll is not missed.
 */
export function documentToken(
  request: Pick<DocumentRequest, 'scheme' | 'options'>,
  doc: Pick<SecretDocument, 'version' | 'createdAt' | 'info' | 'lease'>,
): string | undefined {
  if (request.scheme === 'awssm') {
    if (request.options['version-id']) return PINNED_TOKEN;
    return typeof doc.version === 'string' && doc.version !== '' ? doc.version : undefined;
  }
  if (doc.lease || doc.info?.kvVersion !== 2 || typeof doc.version !== 'number') return undefined;
  if (isVaultPinned(request.options)) return PINNED_TOKEN;
  return kvV2Token(doc.version, doc.createdAt);
}
