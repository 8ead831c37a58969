import { randomBytes } from 'node:crypto';
import type { Seed } from '../seed.ts';
import {
  CURRENT,
  isValidName,
  newVersionId,
  PREVIOUS,
  type SecretStore,
  type SecretValue,
  type SecretVersion,
  type StoredSecret,
} from './store.ts';

/** One access key the server accepts. */
export interface DevCredential {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** IAM user name used in AccessDenied messages (default `dev`). */
  user: string;
}

/** The `aws:` section, validated. Secrets are added to a store by `seedSecrets`. */
export interface AwsSeedSection {
  region?: string;
  accountId?: string;
  credentials: DevCredential[];
  deny: string[];
  /** Raw secrets mapping, kept for `seedSecrets` (already validated). */
  secrets: Array<(store: SecretStore, now: number) => StoredSecret>;
}

type Path = (string | number)[];

const FULL_KEYS = new Set([
  'value',
  'json',
  'binary',
  'versions',
  'description',
  'tags',
  'kms_key_id',
  'deleted',
  'arn_suffix',
]);
const VALUE_KEYS = ['value', 'json', 'binary', 'versions'];
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SUFFIX_RE = /^[A-Za-z0-9]{6}$/;

const isMapping = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Default credentials when the seed has none: random, so nothing guessable is accepted. */
export function generatedCredential(): DevCredential {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = Array.from(randomBytes(16), (b) => alphabet[b % 32]).join('');
  return { accessKeyId: `AKIA${id}`, secretAccessKey: randomBytes(30).toString('base64'), user: 'dev' };
}

/**
 * Validates `seed.data.aws`. Errors name the key path and line (`Seed.error`). Shape:
 * region, account_id, credentials[{access_key_id, secret_access_key, session_token?, user?}],
 * deny[operation], secrets{name: string | object (JSON text) | {binary} | full form}.
 */
export function parseAwsSeed(seed: Seed | undefined): AwsSeedSection {
  const out: AwsSeedSection = { credentials: [], deny: [], secrets: [] };
  const aws = seed?.data['aws'];
  if (!seed || aws === undefined || aws === null) return out;
  if (!isMapping(aws)) throw seed.error(['aws'], 'must be a mapping');
  const known = new Set(['region', 'account_id', 'credentials', 'deny', 'secrets']);
  for (const k of Object.keys(aws)) {
    if (!known.has(k)) throw seed.error(['aws', k], `unknown key; expected one of ${[...known].join(', ')}`);
  }
  if (aws['region'] !== undefined) {
    if (typeof aws['region'] !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(aws['region'])) {
      throw seed.error(['aws', 'region'], 'must be a region name such as us-east-1');
    }
    out.region = aws['region'];
  }
  if (aws['account_id'] !== undefined) {
    const id = typeof aws['account_id'] === 'number' ? String(aws['account_id']) : aws['account_id'];
    if (typeof id !== 'string' || !/^\d{12}$/.test(id)) {
      throw seed.error(['aws', 'account_id'], 'must be 12 digits (quote it to keep leading zeros)');
    }
    out.accountId = id;
  }
  out.credentials = parseCredentials(seed, aws['credentials']);
  out.deny = parseStringList(seed, ['aws', 'deny'], aws['deny']);
  const secrets = aws['secrets'];
  if (secrets !== undefined && secrets !== null) {
    if (!isMapping(secrets))
      throw seed.error(['aws', 'secrets'], 'must be a mapping of secret name to value');
    for (const [name, spec] of Object.entries(secrets)) {
      out.secrets.push(parseSecret(seed, ['aws', 'secrets', name], name, spec));
    }
  }
  return out;
}

function parseStringList(seed: Seed, path: Path, v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw seed.error(path, 'must be a list of strings');
  return v.map((item, i) => {
    if (typeof item !== 'string' || item === '') throw seed.error([...path, i], 'must be a non-empty string');
    return item;
  });
}

function parseCredentials(seed: Seed, v: unknown): DevCredential[] {
  const path = ['aws', 'credentials'];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw seed.error(path, 'must be a list of {access_key_id, secret_access_key}');
  return v.map((c, i) => {
    const p = [...path, i];
    if (!isMapping(c)) throw seed.error(p, 'must be a mapping with access_key_id and secret_access_key');
    for (const k of Object.keys(c)) {
      if (!['access_key_id', 'secret_access_key', 'session_token', 'user'].includes(k)) {
        throw seed.error(
          [...p, k],
          'unknown key; expected access_key_id, secret_access_key, session_token, user',
        );
      }
    }
    const str = (k: string, required: boolean): string | undefined => {
      const val = c[k];
      if (val === undefined && !required) return undefined;
      if (typeof val !== 'string' || val === '') throw seed.error([...p, k], 'must be a non-empty string');
      return val;
    };
    const cred: DevCredential = {
      accessKeyId: str('access_key_id', true)!,
      secretAccessKey: str('secret_access_key', true)!,
      user: str('user', false) ?? 'dev',
    };
    const token = str('session_token', false);
    if (token !== undefined) cred.sessionToken = token;
    return cred;
  });
}

/** A value node: string, JSON object/array (stored as JSON text) or `{binary: base64}`. */
function parseValue(seed: Seed, path: Path, kind: 'value' | 'json' | 'binary', v: unknown): SecretValue {
  if (kind === 'binary') {
    if (typeof v !== 'string' || v === '' || !BASE64_RE.test(v)) {
      throw seed.error(path, 'must be a non-empty base64 string');
    }
    return { binary: new Uint8Array(Buffer.from(v, 'base64')) };
  }
  if (kind === 'value' && typeof v === 'string') {
    if (v === '') throw seed.error(path, 'must not be empty (Secrets Manager values are 1-65536 bytes)');
    return { string: v };
  }
  if (kind === 'value' && (typeof v === 'number' || typeof v === 'boolean')) return { string: String(v) };
  if (typeof v === 'object' && v !== null) return { string: JSON.stringify(v) };
  throw seed.error(
    path,
    kind === 'json' ? 'must be a mapping or a list' : 'must be a string, mapping or list',
  );
}

function parseSecret(
  seed: Seed,
  path: Path,
  name: string,
  spec: unknown,
): (store: SecretStore, now: number) => StoredSecret {
  if (!isValidName(name)) {
    throw seed.error(path, 'invalid secret name: use 1-512 of letters, digits and /_+=.@!-');
  }
  // A mapping made only of full-form keys is the full form; any other mapping is a JSON secret.
  const isFull =
    isMapping(spec) && Object.keys(spec).length > 0 && Object.keys(spec).every((k) => FULL_KEYS.has(k));
  if (!isFull) {
    const value = parseValue(seed, path, 'value', spec);
    return (store, now) =>
      makeSecret(store, name, now, [{ id: newVersionId(), value, stages: [CURRENT], created: now }]);
  }
  const full = spec as Record<string, unknown>;
  const given = VALUE_KEYS.filter((k) => full[k] !== undefined);
  if (given.length > 1) throw seed.error(path, `give only one of ${given.join(', ')}`);
  type VersionSpec = { id?: string; value: SecretValue; stages?: string[] };
  const versions: VersionSpec[] = [];
  if (given[0] === 'versions') {
    const list = full['versions'];
    if (!Array.isArray(list) || list.length === 0) {
      throw seed.error([...path, 'versions'], 'must be a non-empty list');
    }
    list.forEach((vs, i) => {
      const vp = [...path, 'versions', i];
      if (!isMapping(vs)) throw seed.error(vp, 'must be a mapping with value/json/binary and stages');
      for (const k of Object.keys(vs)) {
        if (!['id', 'value', 'json', 'binary', 'stages'].includes(k)) {
          throw seed.error([...vp, k], 'unknown key; expected id, value, json, binary, stages');
        }
      }
      const kinds = (['value', 'json', 'binary'] as const).filter((k) => vs[k] !== undefined);
      if (kinds.length !== 1) throw seed.error(vp, 'needs exactly one of value, json, binary');
      const kind = kinds[0]!;
      const ver: VersionSpec = { value: parseValue(seed, [...vp, kind], kind, vs[kind]) };
      if (vs['id'] !== undefined) {
        if (typeof vs['id'] !== 'string' || vs['id'].length < 32 || vs['id'].length > 64) {
          throw seed.error([...vp, 'id'], 'must be a string of 32-64 characters (usually a UUID)');
        }
        if (versions.some((o) => o.id === vs['id'])) throw seed.error([...vp, 'id'], 'duplicate version id');
        ver.id = vs['id'];
      }
      if (vs['stages'] !== undefined) {
        const stages = parseStringList(seed, [...vp, 'stages'], vs['stages']);
        if (stages.length > 20) throw seed.error([...vp, 'stages'], 'a version can carry at most 20 stages');
        for (const [j, st] of stages.entries()) {
          if (stages.indexOf(st) !== j || versions.some((o) => o.stages?.includes(st))) {
            throw seed.error([...vp, 'stages', j], `stage ${st} is given twice; a stage labels one version`);
          }
        }
        ver.stages = stages;
      }
      versions.push(ver);
    });
    if (versions.every((v) => v.stages === undefined)) {
      versions.at(-1)!.stages = [CURRENT];
      if (versions.length > 1) versions.at(-2)!.stages = [PREVIOUS];
    } else if (!versions.some((v) => v.stages?.includes(CURRENT))) {
      throw seed.error([...path, 'versions'], 'one version must carry the AWSCURRENT stage');
    }
  } else if (given[0] !== undefined) {
    const kind = given[0] as 'value' | 'json' | 'binary';
    versions.push({ value: parseValue(seed, [...path, kind], kind, full[kind]), stages: [CURRENT] });
  }
  let description: string | undefined;
  if (full['description'] !== undefined) {
    if (typeof full['description'] !== 'string')
      throw seed.error([...path, 'description'], 'must be a string');
    description = full['description'];
  }
  let kmsKeyId: string | undefined;
  if (full['kms_key_id'] !== undefined) {
    if (typeof full['kms_key_id'] !== 'string') throw seed.error([...path, 'kms_key_id'], 'must be a string');
    kmsKeyId = full['kms_key_id'];
  }
  const tags: Array<{ Key: string; Value: string }> = [];
  if (full['tags'] !== undefined) {
    if (!isMapping(full['tags']))
      throw seed.error([...path, 'tags'], 'must be a mapping of tag key to value');
    for (const [k, v] of Object.entries(full['tags'])) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        throw seed.error([...path, 'tags', k], 'must be a string');
      }
      tags.push({ Key: k, Value: String(v) });
    }
  }
  let suffix: string | undefined;
  if (full['arn_suffix'] !== undefined) {
    if (typeof full['arn_suffix'] !== 'string' || !SUFFIX_RE.test(full['arn_suffix'])) {
      throw seed.error([...path, 'arn_suffix'], 'must be 6 letters or digits');
    }
    suffix = full['arn_suffix'];
  }
  const deleted = full['deleted'];
  if (deleted !== undefined && typeof deleted !== 'boolean') {
    throw seed.error([...path, 'deleted'], 'must be true or false');
  }
  return (store, now) => {
    const s = makeSecret(
      store,
      name,
      now,
      versions.map((v) => ({
        id: v.id ?? newVersionId(),
        value: v.value,
        stages: v.stages ?? [],
        created: now,
      })),
      suffix,
    );
    if (description !== undefined) s.description = description;
    if (kmsKeyId !== undefined) s.kmsKeyId = kmsKeyId;
    s.tags = tags;
    if (deleted) {
      s.deletedDate = now;
      s.deletionDate = now + 30 * 86_400_000;
    }
    return s;
  };
}

function makeSecret(
  store: SecretStore,
  name: string,
  now: number,
  versions: SecretVersion[],
  suffix?: string,
): StoredSecret {
  return { name, arn: store.newArn(name, suffix), tags: [], versions, created: now, lastChanged: now };
}
