import { AwsError, invalidParameter, markedForDeletion, notFound, validation } from './aws-error.ts';
import {
  attachStage,
  CURRENT,
  checkSecretId,
  invalidName,
  isValidName,
  newVersionId,
  PREVIOUS,
  type SecretStore,
  type SecretValue,
  type SecretVersion,
  type StoredSecret,
  sameValue,
  versionWithStage,
} from './store.ts';

/** What an operation can see besides its input. */
export interface OpContext {
  store: SecretStore;
  now: () => number;
  /** True when the operation is on the deny list. */
  isDenied(operation: string): boolean;
  /** `arn:aws:iam::<acct>:user/<name>` of the caller. */
  userArn: string;
}

export type Input = Record<string, unknown>;
export type Handler = (input: Input, ctx: OpContext) => Record<string, unknown>;

const DAY = 86_400_000;
const FILTER_KEYS = [
  'description',
  'name',
  'tag-key',
  'tag-value',
  'primary-region',
  'owning-service',
  'all',
];

/**
 * IAM-style AccessDenied for `secretsmanager:<op>` on `resource`. ListSecrets names no resource
 * (it has no resource-level permission), so its text has no "on resource" part.
 */
export function accessDenied(userArn: string, operation: string, resource: string): AwsError {
  const on = operation === 'ListSecrets' ? '' : ` on resource: ${resource}`;
  return new AwsError(
    'AccessDeniedException',
    `User: ${userArn} is not authorized to perform: secretsmanager:${operation}${on} because no identity-based policy allows the secretsmanager:${operation} action`,
  );
}

/** Epoch seconds with fraction, as the wire wants timestamps. */
const seconds = (ms: number): number => ms / 1000;

function str(input: Input, key: string, opts: { min?: number; max?: number } = {}): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  const member = key[0]!.toLowerCase() + key.slice(1);
  if (typeof v !== 'string')
    throw validation(`Value at '${member}' failed to satisfy constraint: Member must be a string`);
  if (opts.min !== undefined && v.length < opts.min) {
    throw validation(
      `Value at '${member}' failed to satisfy constraint: Member must have length greater than or equal to ${opts.min}`,
    );
  }
  if (opts.max !== undefined && v.length > opts.max) {
    throw validation(
      `Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${opts.max}`,
    );
  }
  return v;
}

function int(input: Input, key: string, min: number, max: number): number | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  const member = key[0]!.toLowerCase() + key.slice(1);
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw validation(`Value at '${member}' failed to satisfy constraint: Member must be an integer`);
  }
  if (v < min) {
    throw validation(
      `Value '${v}' at '${member}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`,
    );
  }
  if (v > max) {
    throw validation(
      `Value '${v}' at '${member}' failed to satisfy constraint: Member must have value less than or equal to ${max}`,
    );
  }
  return v;
}

/** Reads SecretString / SecretBinary (base64 on the wire); `undefined` when neither is given. */
function readValue(input: Input): SecretValue | undefined {
  const s = str(input, 'SecretString', { max: 65536 });
  const b = str(input, 'SecretBinary');
  if (s !== undefined && b !== undefined) {
    throw invalidParameter(
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  }
  if (s !== undefined) return { string: s };
  if (b !== undefined) {
    const bytes = Buffer.from(b, 'base64');
    if (bytes.length > 65536) {
      throw validation(
        "Value at 'secretBinary' failed to satisfy constraint: Member must have length less than or equal to 65536",
      );
    }
    return { binary: new Uint8Array(bytes) };
  }
  return undefined;
}

/** Stage list of a version for the version maps; unlabeled versions are left out. */
function versionMap(secret: StoredSecret): Record<string, string[]> | undefined {
  const map: Record<string, string[]> = {};
  for (const v of secret.versions) if (v.stages.length > 0) map[v.id] = [...v.stages];
  return Object.keys(map).length > 0 ? map : undefined;
}

/** DescribeSecret / ListSecrets entry: only fields that have a value. */
function describe(
  secret: StoredSecret,
  mapKey: 'VersionIdsToStages' | 'SecretVersionsToStages',
): Record<string, unknown> {
  const out: Record<string, unknown> = { ARN: secret.arn, Name: secret.name };
  if (secret.description !== undefined) out['Description'] = secret.description;
  if (secret.kmsKeyId !== undefined) out['KmsKeyId'] = secret.kmsKeyId;
  out['LastChangedDate'] = seconds(secret.lastChanged);
  if (secret.lastAccessed !== undefined) out['LastAccessedDate'] = seconds(secret.lastAccessed);
  if (secret.deletedDate !== undefined) out['DeletedDate'] = seconds(secret.deletedDate);
  if (secret.tags.length > 0) out['Tags'] = secret.tags.map((t) => ({ ...t }));
  const map = versionMap(secret);
  if (map) out[mapKey] = map;
  out['CreatedDate'] = seconds(secret.created);
  return out;
}

/** The GetSecretValue response shape for one version. */
function valueEntry(secret: StoredSecret, v: SecretVersion): Record<string, unknown> {
  const out: Record<string, unknown> = { ARN: secret.arn, Name: secret.name, VersionId: v.id };
  if (v.value.string !== undefined) out['SecretString'] = v.value.string;
  else if (v.value.binary) out['SecretBinary'] = Buffer.from(v.value.binary).toString('base64');
  out['VersionStages'] = [...v.stages];
  out['CreatedDate'] = seconds(v.created);
  return out;
}

/** Picks the version GetSecretValue means (section 3.1 rules) and records the access day. */
function pickVersion(
  secret: StoredSecret,
  versionId: string | undefined,
  stage: string | undefined,
  now: number,
) {
  let v: SecretVersion | undefined;
  if (versionId !== undefined) {
    v = secret.versions.find((x) => x.id === versionId);
    if (!v) {
      throw new AwsError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
      );
    }
    if (stage !== undefined && !v.stages.includes(stage)) {
      throw new AwsError(
        'InvalidRequestException',
        'You provided a VersionStage that is not associated to the provided VersionId.',
      );
    }
  } else {
    const label = stage ?? CURRENT;
    v = versionWithStage(secret, label);
    if (!v) {
      throw new AwsError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for staging label: ${label}`,
      );
    }
  }
  secret.lastAccessed = Math.floor(now / DAY) * DAY;
  return v;
}

/** Page token: an opaque offset. */
const encodeToken = (offset: number): string => Buffer.from(JSON.stringify({ o: offset })).toString('base64');

function decodeToken(input: Input): number {
  const token = str(input, 'NextToken', { min: 1, max: 4096 });
  if (token === undefined) return 0;
  try {
    const o = (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { o?: unknown }).o;
    if (typeof o === 'number' && Number.isInteger(o) && o >= 0) return o;
  } catch {
    // falls through to the error
  }
  throw new AwsError('InvalidNextTokenException', 'The NextToken value is invalid.');
}

interface Filter {
  key: string;
  values: string[];
}

function readFilters(input: Input): Filter[] | undefined {
  const raw = input['Filters'];
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw))
    throw validation("Value at 'filters' failed to satisfy constraint: Member must be a list");
  if (raw.length > 10) {
    throw validation(
      "Value at 'filters' failed to satisfy constraint: Member must have length less than or equal to 10",
    );
  }
  return raw.map((f: unknown, i) => {
    const item = (f ?? {}) as Input;
    const key = item['Key'];
    if (typeof key !== 'string' || !FILTER_KEYS.includes(key)) {
      throw validation(
        `Value '${String(key)}' at 'filters.${i + 1}.member.key' failed to satisfy constraint: Member must satisfy enum value set: [${FILTER_KEYS.join(', ')}]`,
      );
    }
    const values = item['Values'] ?? [];
    if (
      !Array.isArray(values) ||
      values.length > 10 ||
      values.some((v) => typeof v !== 'string' || v === '')
    ) {
      throw validation(
        `Value at 'filters.${i + 1}.member.values' failed to satisfy constraint: Member must be a list of 1-10 non-empty strings`,
      );
    }
    return { key, values: values as string[] };
  });
}

function fieldMatches(secret: StoredSecret, key: string, value: string): boolean {
  const lower = value.toLowerCase();
  switch (key) {
    case 'name':
      return secret.name.startsWith(value);
    case 'description':
      return secret.description?.toLowerCase().startsWith(lower) === true;
    case 'tag-key':
      return secret.tags.some((t) => t.Key.startsWith(value));
    case 'tag-value':
      return secret.tags.some((t) => t.Value.startsWith(value));
    case 'all':
      return ['name', 'description', 'tag-key', 'tag-value'].some((k) => fieldMatches(secret, k, value));
    default:
      return false; // primary-region, owning-service: never set on dev secrets
  }
}

/** Prefix matches; values of one filter are alternatives, `!value` excludes; all filters must match. */
function matchesFilters(secret: StoredSecret, filters: Filter[]): boolean {
  return filters.every((f) => {
    const positive = f.values.filter((v) => !v.startsWith('!'));
    const negative = f.values.filter((v) => v.startsWith('!')).map((v) => v.slice(1));
    return (
      (positive.length === 0 || positive.some((v) => fieldMatches(secret, f.key, v))) &&
      negative.every((v) => !fieldMatches(secret, f.key, v))
    );
  });
}

function getSecretValue(input: Input, ctx: OpContext): Record<string, unknown> {
  const secret = ctx.store.get(input['SecretId']);
  const versionId = str(input, 'VersionId', { min: 32, max: 64 });
  const stage = str(input, 'VersionStage', { min: 1, max: 256 });
  return valueEntry(secret, pickVersion(secret, versionId, stage, ctx.now()));
}

function batchGetSecretValue(input: Input, ctx: OpContext): Record<string, unknown> {
  const ids = input['SecretIdList'];
  const filters = readFilters(input);
  if (ids !== undefined && filters !== undefined) {
    throw invalidParameter('Either SecretIdList or Filters must be provided, but not both.');
  }
  if (ids === undefined && filters === undefined) {
    throw invalidParameter('You must provide either SecretIdList or Filters.');
  }
  const values: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  const fetch = (id: string, secret: StoredSecret | undefined) => {
    if (ctx.isDenied('GetSecretValue')) {
      const e = accessDenied(ctx.userArn, 'GetSecretValue', id);
      errors.push({ SecretId: id, ErrorCode: e.code, Message: e.message });
      return;
    }
    try {
      if (!secret) throw notFound();
      if (secret.deletedDate !== undefined) throw markedForDeletion();
      values.push(valueEntry(secret, pickVersion(secret, undefined, undefined, ctx.now())));
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      errors.push({ SecretId: id, ErrorCode: err.code, Message: err.message });
    }
  };
  if (ids !== undefined) {
    if (input['MaxResults'] !== undefined) {
      throw invalidParameter('MaxResults can be used only together with Filters, not with SecretIdList.');
    }
    if (!Array.isArray(ids))
      throw validation("Value at 'secretIdList' failed to satisfy constraint: Member must be a list");
    if (ids.length < 1 || ids.length > 20) {
      throw validation(
        `Value at 'secretIdList' failed to satisfy constraint: Member must have length ${ids.length < 1 ? 'greater than or equal to 1' : 'less than or equal to 20'}`,
      );
    }
    for (const raw of ids) {
      const id = checkSecretId(raw, 'secretIdList.member');
      fetch(id, ctx.store.find(id));
    }
    return { SecretValues: values, Errors: errors };
  }
  if (ctx.isDenied('ListSecrets')) throw accessDenied(ctx.userArn, 'ListSecrets', '*');
  const max = int(input, 'MaxResults', 1, 20) ?? 20;
  const offset = decodeToken(input);
  const matching = ctx.store.all().filter((s) => s.deletedDate === undefined && matchesFilters(s, filters!));
  for (const s of matching.slice(offset, offset + max)) fetch(s.arn, s);
  const out: Record<string, unknown> = { SecretValues: values, Errors: errors };
  if (offset + max < matching.length) out['NextToken'] = encodeToken(offset + max);
  return out;
}

function describeSecret(input: Input, ctx: OpContext): Record<string, unknown> {
  return describe(ctx.store.get(input['SecretId'], { allowDeleted: true }), 'VersionIdsToStages');
}

function listSecrets(input: Input, ctx: OpContext): Record<string, unknown> {
  const max = int(input, 'MaxResults', 1, 100) ?? 100;
  const filters = readFilters(input) ?? [];
  const order = str(input, 'SortOrder');
  if (order !== undefined && order !== 'asc' && order !== 'desc') {
    throw validation(
      `Value '${order}' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]`,
    );
  }
  const offset = decodeToken(input);
  const withDeleted = input['IncludePlannedDeletion'] === true;
  const matching = ctx.store
    .all()
    .filter((s) => (withDeleted || s.deletedDate === undefined) && matchesFilters(s, filters));
  if (order === 'desc') matching.reverse();
  const out: Record<string, unknown> = {
    SecretList: matching.slice(offset, offset + max).map((s) => describe(s, 'SecretVersionsToStages')),
  };
  if (offset + max < matching.length) out['NextToken'] = encodeToken(offset + max);
  return out;
}

function readTags(input: Input): Array<{ Key: string; Value: string }> {
  const raw = input['Tags'];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw))
    throw validation("Value at 'tags' failed to satisfy constraint: Member must be a list");
  return raw.map((t: unknown) => {
    const tag = (t ?? {}) as Input;
    if (typeof tag['Key'] !== 'string' || typeof tag['Value'] !== 'string') {
      throw invalidParameter('Each tag needs a string Key and a string Value.');
    }
    return { Key: tag['Key'], Value: tag['Value'] };
  });
}

function createSecret(input: Input, ctx: OpContext): Record<string, unknown> {
  const name = str(input, 'Name', { min: 1, max: 512 });
  if (name === undefined)
    throw validation("Value at 'name' failed to satisfy constraint: Member must not be null");
  if (!isValidName(name)) throw invalidName();
  const token = str(input, 'ClientRequestToken', { min: 32, max: 64 });
  const value = readValue(input);
  const existing = ctx.store.all().find((s) => s.name === name);
  if (existing) {
    if (existing.deletedDate !== undefined) {
      throw new AwsError(
        'InvalidRequestException',
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      );
    }
    const same = existing.versions.find((v) => v.id === token);
    if (same && value && sameValue(same.value, value))
      return { ARN: existing.arn, Name: name, VersionId: same.id };
    throw new AwsError(
      'ResourceExistsException',
      `The operation failed because the secret ${name} already exists.`,
    );
  }
  const now = ctx.now();
  const secret: StoredSecret = {
    name,
    arn: ctx.store.newArn(name),
    tags: readTags(input),
    versions: [],
    created: now,
    lastChanged: now,
  };
  const description = str(input, 'Description', { max: 2048 });
  if (description !== undefined) secret.description = description;
  const kms = str(input, 'KmsKeyId', { max: 2048 });
  if (kms !== undefined) secret.kmsKeyId = kms;
  const out: Record<string, unknown> = { ARN: secret.arn, Name: name };
  if (value) {
    const id = token ?? newVersionId();
    secret.versions.push({ id, value, stages: [CURRENT], created: now });
    out['VersionId'] = id;
  }
  ctx.store.add(secret);
  return out;
}

function putSecretValue(input: Input, ctx: OpContext): Record<string, unknown> {
  const secret = ctx.store.get(input['SecretId']);
  const token = str(input, 'ClientRequestToken', { min: 32, max: 64 }) ?? newVersionId();
  const value = readValue(input);
  if (!value) throw invalidParameter('You must provide either SecretString or SecretBinary.');
  const raw = input['VersionStages'];
  let stages: string[] = [CURRENT];
  if (raw !== undefined && raw !== null) {
    if (!Array.isArray(raw) || raw.some((s) => typeof s !== 'string' || s.length < 1 || s.length > 256)) {
      throw validation(
        "Value at 'versionStages' failed to satisfy constraint: Member must be a list of 1-256 character strings",
      );
    }
    if (raw.length < 1 || raw.length > 20) {
      throw validation(
        `Value at 'versionStages' failed to satisfy constraint: Member must have length ${raw.length < 1 ? 'greater than or equal to 1' : 'less than or equal to 20'}`,
      );
    }
    stages = [...new Set(raw as string[])];
  }
  const existing = secret.versions.find((v) => v.id === token);
  if (existing) {
    if (sameValue(existing.value, value)) {
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: existing.id,
        VersionStages: [...existing.stages],
      };
    }
    throw new AwsError(
      'ResourceExistsException',
      "You can't modify an existing version, you can only create a new version.",
    );
  }
  if (secret.versions.length === 0 && !stages.includes(CURRENT)) stages.push(CURRENT);
  const now = ctx.now();
  const version: SecretVersion = { id: token, value, stages: [], created: now };
  const oldCurrent = versionWithStage(secret, CURRENT);
  secret.versions.push(version);
  for (const s of stages) attachStage(secret, s, version);
  if (stages.includes(CURRENT) && oldCurrent) attachStage(secret, PREVIOUS, oldCurrent);
  secret.lastChanged = now;
  return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
}

function updateSecretVersionStage(input: Input, ctx: OpContext): Record<string, unknown> {
  const secret = ctx.store.get(input['SecretId']);
  const stage = str(input, 'VersionStage', { min: 1, max: 256 });
  if (stage === undefined)
    throw validation("Value at 'versionStage' failed to satisfy constraint: Member must not be null");
  const moveTo = str(input, 'MoveToVersionId', { min: 32, max: 64 });
  const removeFrom = str(input, 'RemoveFromVersionId', { min: 32, max: 64 });
  const findVersion = (id: string) => {
    const v = secret.versions.find((x) => x.id === id);
    if (!v) throw invalidParameter(`Not a valid version: ${id}`);
    return v;
  };
  const holder = versionWithStage(secret, stage);
  if (moveTo !== undefined) {
    const target = findVersion(moveTo);
    if (holder && holder !== target) {
      if (removeFrom === undefined) {
        throw invalidParameter(
          `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder.id}, so you must explicitly reference that version in RemoveFromVersionId.`,
        );
      }
      if (removeFrom !== holder.id) {
        throw invalidParameter(
          `The staging label ${stage} is attached to version ${holder.id}, not ${removeFrom}; RemoveFromVersionId must name the version that has the label.`,
        );
      }
    }
    if (target.stages.length >= 20 && !target.stages.includes(stage)) {
      throw new AwsError('LimitExceededException', 'A version can have at most 20 staging labels.');
    }
    attachStage(secret, stage, target);
    if (stage === CURRENT && holder && holder !== target) attachStage(secret, PREVIOUS, holder);
  } else if (removeFrom !== undefined) {
    const from = findVersion(removeFrom);
    if (!from.stages.includes(stage)) {
      throw invalidParameter(`The staging label ${stage} is not attached to version ${removeFrom}.`);
    }
    if (stage === CURRENT) {
      throw invalidParameter(
        "You can't remove the staging label AWSCURRENT without moving it to another version with MoveToVersionId.",
      );
    }
    from.stages = from.stages.filter((s) => s !== stage);
  } else {
    throw invalidParameter('You must specify MoveToVersionId, RemoveFromVersionId, or both.');
  }
  secret.lastChanged = ctx.now();
  return { ARN: secret.arn, Name: secret.name };
}

function deleteSecret(input: Input, ctx: OpContext): Record<string, unknown> {
  const force = input['ForceDeleteWithoutRecovery'] === true;
  const window = input['RecoveryWindowInDays'];
  if (force && window !== undefined && window !== null) {
    throw invalidParameter(
      "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
    );
  }
  if (
    window !== undefined &&
    window !== null &&
    (typeof window !== 'number' || !Number.isInteger(window) || window < 7 || window > 30)
  ) {
    throw invalidParameter('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
  }
  const id = checkSecretId(input['SecretId']);
  const secret = ctx.store.find(id);
  const now = ctx.now();
  if (force) {
    if (!secret) {
      const arn = id.startsWith('arn:') ? id : `${ctx.store.arnPrefix()}${id}`;
      return {
        ARN: arn,
        Name: id.startsWith(ctx.store.arnPrefix()) ? id.slice(ctx.store.arnPrefix().length) : id,
        DeletionDate: seconds(now),
      };
    }
    ctx.store.remove(secret);
    return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(now) };
  }
  if (!secret) throw notFound();
  if (secret.deletedDate !== undefined) throw markedForDeletion();
  secret.deletedDate = now;
  secret.deletionDate = now + ((window as number | undefined) ?? 30) * DAY;
  return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(secret.deletionDate) };
}

function restoreSecret(input: Input, ctx: OpContext): Record<string, unknown> {
  const secret = ctx.store.get(input['SecretId'], { allowDeleted: true });
  delete secret.deletedDate;
  delete secret.deletionDate;
  secret.lastChanged = ctx.now();
  return { ARN: secret.arn, Name: secret.name };
}

/** Operation name -> handler. Anything else is an unknown operation. */
export const operations: Record<string, Handler> = {
  GetSecretValue: getSecretValue,
  BatchGetSecretValue: batchGetSecretValue,
  DescribeSecret: describeSecret,
  ListSecrets: listSecrets,
  CreateSecret: createSecret,
  PutSecretValue: putSecretValue,
  UpdateSecretVersionStage: updateSecretVersionStage,
  DeleteSecret: deleteSecret,
  RestoreSecret: restoreSecret,
};

/** The secret ids a request names (for the request log and AccessDenied resources). */
export function secretIdsOf(input: Input): string[] {
  const ids: string[] = [];
  if (typeof input['SecretId'] === 'string') ids.push(input['SecretId']);
  if (typeof input['Name'] === 'string') ids.push(input['Name']);
  if (Array.isArray(input['SecretIdList'])) {
    for (const id of input['SecretIdList']) if (typeof id === 'string') ids.push(id);
  }
  return ids;
}
