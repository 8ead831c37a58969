import { randomInt, randomUUID } from 'node:crypto';
import { AwsError, markedForDeletion, notFound } from './aws-error.ts';

export const CURRENT = 'AWSCURRENT';
export const PREVIOUS = 'AWSPREVIOUS';

/** A secret value: exactly one of `string` / `binary`. */
export interface SecretValue {
  string?: string;
  binary?: Uint8Array;
}

export interface SecretVersion {
  id: string;
  value: SecretValue;
  stages: string[];
  /** ms */
  created: number;
}

export interface StoredSecret {
  name: string;
  arn: string;
  description?: string;
  kmsKeyId?: string;
  tags: Array<{ Key: string; Value: string }>;
  /** In creation order. */
  versions: SecretVersion[];
  created: number;
  lastChanged: number;
  lastAccessed?: number;
  /** When DeleteSecret was called (ms). */
  deletedDate?: number;
  /** When the secret is purged (ms). */
  deletionDate?: number;
}

const SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const NAME_RE = /^[A-Za-z0-9/_+=.@!-]+$/;

export const randomSuffix = (): string =>
  Array.from({ length: 6 }, () => SUFFIX_CHARS[randomInt(SUFFIX_CHARS.length)]).join('');

export const newVersionId = (): string => randomUUID();

export function sameValue(a: SecretValue, b: SecretValue): boolean {
  if (a.string !== undefined || b.string !== undefined) return a.string === b.string;
  if (!a.binary || !b.binary) return false;
  return Buffer.from(a.binary).equals(Buffer.from(b.binary));
}

/** In-memory secrets of one account and region. Purges secrets whose recovery window ended. */
export class SecretStore {
  readonly region: string;
  readonly accountId: string;
  private readonly now: () => number;
  private readonly secrets: StoredSecret[] = [];

  constructor(region: string, accountId: string, now: () => number) {
    this.region = region;
    this.accountId = accountId;
    this.now = now;
  }

  arnPrefix(): string {
    return `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:`;
  }

  /** Drops secrets whose scheduled deletion date has passed. */
  purge(): void {
    const t = this.now();
    for (let i = this.secrets.length - 1; i >= 0; i--) {
      const d = this.secrets[i]!.deletionDate;
      if (d !== undefined && d <= t) this.secrets.splice(i, 1);
    }
  }

  /** All secrets in creation order (after purging). */
  all(): StoredSecret[] {
    this.purge();
    return [...this.secrets];
  }

  add(secret: StoredSecret): void {
    this.secrets.push(secret);
  }

  remove(secret: StoredSecret): void {
    const i = this.secrets.indexOf(secret);
    if (i >= 0) this.secrets.splice(i, 1);
  }

  /**
   * Exact ARN, then exact name, then ARN without the random suffix. An ARN whose name ends in `-`
   * and six characters is taken as complete (GetSecretValue SecretId docs), never as a partial one.
   */
  find(secretId: string): StoredSecret | undefined {
    this.purge();
    const byArn = this.secrets.find((s) => s.arn === secretId);
    if (byArn) return byArn;
    const byName = this.secrets.find((s) => s.name === secretId);
    if (byName) return byName;
    const prefix = this.arnPrefix();
    if (secretId.startsWith(prefix) && !/-[A-Za-z0-9]{6}$/.test(secretId)) {
      const partial = this.secrets.filter((s) => s.name === secretId.slice(prefix.length));
      if (partial.length === 1) return partial[0];
    }
    return undefined;
  }

  /** Like `find` but throws ResourceNotFound / ValidationException, and optionally the deletion error. */
  get(secretId: unknown, opts: { allowDeleted?: boolean } = {}): StoredSecret {
    const id = checkSecretId(secretId);
    const s = this.find(id);
    if (!s) throw notFound();
    if (!opts.allowDeleted && s.deletedDate !== undefined) throw markedForDeletion();
    return s;
  }

  newArn(name: string, suffix = randomSuffix()): string {
    return `${this.arnPrefix()}${name}-${suffix}`;
  }
}

/** Validates a SecretId member (1-2048 chars; names limited to the documented characters). */
export function checkSecretId(secretId: unknown, member = 'secretId'): string {
  if (typeof secretId !== 'string' || secretId.length === 0) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must not be null`,
    );
  }
  if (secretId.length > 2048) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to 2048`,
    );
  }
  if (!secretId.startsWith('arn:') && !NAME_RE.test(secretId)) throw invalidName();
  return secretId;
}

export const invalidName = (): AwsError =>
  new AwsError(
    'ValidationException',
    'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
  );

/** Checks a secret name for CreateSecret (1-512 chars, documented characters). */
export function isValidName(name: string): boolean {
  return name.length >= 1 && name.length <= 512 && NAME_RE.test(name);
}

/** Moves `stage` onto `target`, removing it from every other version. */
export function attachStage(secret: StoredSecret, stage: string, target: SecretVersion): void {
  for (const v of secret.versions) {
    if (v !== target) v.stages = v.stages.filter((s) => s !== stage);
  }
  if (!target.stages.includes(stage)) target.stages.push(stage);
}

export const versionWithStage = (secret: StoredSecret, stage: string): SecretVersion | undefined =>
  secret.versions.find((v) => v.stages.includes(stage));
