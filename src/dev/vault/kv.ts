import { parseDuration, rfc3339 } from './duration.ts';
import {
  badRequest,
  type Ctx,
  envelope,
  fail,
  intList,
  noContent,
  notFound,
  ok,
  type Reply,
} from './http.ts';
import { type Mount, SYSTEM_MAX_TTL } from './state.ts';

export interface KvVersion {
  data: Record<string, unknown> | null;
  createdAt: number;
  deletedAt: number | null;
  destroyed: boolean;
}

export interface KvEntry {
  versions: Map<number, KvVersion>;
  current: number;
  createdAt: number;
  updatedAt: number;
  maxVersions: number;
  /** 0 until versions are pruned (max_versions), then the oldest version kept. */
  oldest: number;
  casRequired: boolean;
  customMetadata: Record<string, string> | null;
}

/** Store of a KV mount: v1 keeps plain maps, v2 keeps versioned entries. */
export interface KvState {
  version: 1 | 2;
  v1: Map<string, Record<string, unknown>>;
  v2: Map<string, KvEntry>;
}

export function kvState(mount: Mount): KvState {
  if (!mount.state.kv)
    mount.state.kv = { version: mount.options?.['version'] === '2' ? 2 : 1, v1: new Map(), v2: new Map() };
  return mount.state.kv as KvState;
}

/** Keys directly under `prefix` (`a`, `dir/`), sorted; used by both versions' list. */
function listKeys(keys: Iterable<string>, prefix: string): string[] {
  const out = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const tail = key.slice(prefix.length);
    if (tail === '') continue;
    const slash = tail.indexOf('/');
    out.add(slash === -1 ? tail : tail.slice(0, slash + 1));
  }
  return [...out].sort();
}

function listReply(keys: string[], mountType = 'kv'): Reply {
  return keys.length === 0 ? notFound() : ok({ data: { keys }, mount_type: mountType });
}

/** Writes one v2 version (used by the API and the seed). */
export function putVersion(kv: KvState, path: string, data: Record<string, unknown>, now: number): KvEntry {
  let entry = kv.v2.get(path);
  if (!entry) {
    entry = {
      versions: new Map(),
      current: 0,
      createdAt: now,
      updatedAt: now,
      maxVersions: 0,
      oldest: 0,
      casRequired: false,
      customMetadata: null,
    };
    kv.v2.set(path, entry);
  }
  entry.current++;
  entry.updatedAt = now;
  entry.versions.set(entry.current, { data, createdAt: now, deletedAt: null, destroyed: false });
  const max = entry.maxVersions || 10;
  for (const v of [...entry.versions.keys()]) {
    if (v > entry.current - max) continue;
    entry.versions.delete(v);
    entry.oldest = entry.current - max + 1;
  }
  return entry;
}

function versionMeta(entry: KvEntry, n: number, v: KvVersion): Record<string, unknown> {
  return {
    created_time: rfc3339(v.createdAt),
    custom_metadata: entry.customMetadata,
    deletion_time: v.deletedAt === null ? '' : rfc3339(v.deletedAt),
    destroyed: v.destroyed,
    version: n,
  };
}

function handleV1(ctx: Ctx, kv: KvState): Reply {
  const { req, rest } = ctx;
  if (req.list)
    return listReply(listKeys(kv.v1.keys(), rest === '' || rest.endsWith('/') ? rest : `${rest}/`));
  if (rest === '') return fail(405, 'unsupported operation');
  switch (req.method) {
    case 'GET':
    case 'HEAD': {
      const data = kv.v1.get(rest);
      if (!data) return notFound();
      const ttl = parseDuration(data['ttl']) ?? SYSTEM_MAX_TTL;
      return ok({ data, lease_duration: ttl, mount_type: 'kv' });
    }
    case 'POST':
      if (Object.keys(req.body).length === 0) return badRequest('missing data fields');
      kv.v1.set(rest, { ...req.body });
      return noContent;
    case 'DELETE':
      kv.v1.delete(rest);
      return noContent;
    default:
      return fail(405, 'unsupported operation');
  }
}

const V2_ROOTS = new Set(['data', 'metadata', 'delete', 'undelete', 'destroy', 'config', 'subkeys']);

function invalidPath(ctx: Ctx, bareRoot: boolean): Reply {
  const m = ctx.req.method;
  const sub = ctx.req.list ? 'list' : m === 'POST' ? 'put' : m === 'DELETE' ? 'delete' : 'get';
  const warning = bareRoot
    ? 'Non-listing operations on the root of a K/V v2 mount are not supported.'
    : `Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv ${sub}' for this operation.`;
  return { status: 404, body: envelope({ warnings: [warning], mount_type: 'kv' }) };
}

function readV2(ctx: Ctx, entry: KvEntry | undefined): Reply {
  if (!entry) return notFound();
  const raw = ctx.req.query.get('version');
  const n = raw === null || raw === '0' || raw === '' ? entry.current : Number(raw);
  if (!Number.isInteger(n)) return badRequest('invalid version');
  const v = entry.versions.get(n);
  if (!v) return notFound();
  const meta = versionMeta(entry, n, v);
  if (v.destroyed || (v.deletedAt !== null && v.deletedAt <= ctx.st.now())) {
    return { status: 404, body: envelope({ data: { data: null, metadata: meta }, mount_type: 'kv' }) };
  }
  return ok({ data: { data: v.data, metadata: meta }, mount_type: 'kv' });
}

function writeV2(ctx: Ctx, kv: KvState, path: string): Reply {
  const data = ctx.req.body['data'];
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return badRequest('no data provided');
  const entry = kv.v2.get(path);
  const cas = (ctx.req.body['options'] as { cas?: unknown } | undefined)?.cas;
  if (cas === undefined && entry?.casRequired) {
    return badRequest('check-and-set parameter required for this call');
  }
  if (cas !== undefined && Number(cas) !== (entry?.current ?? 0)) {
    return badRequest('check-and-set parameter did not match the current version');
  }
  const updated = putVersion(kv, path, { ...(data as Record<string, unknown>) }, ctx.st.now());
  const v = updated.versions.get(updated.current)!;
  return ok({ data: versionMeta(updated, updated.current, v), mount_type: 'kv' });
}

function patchV2(ctx: Ctx, kv: KvState, path: string): Reply {
  if (!ctx.req.contentType.startsWith('application/merge-patch+json')) {
    return fail(415, 'PATCH requires Content-Type application/merge-patch+json');
  }
  const entry = kv.v2.get(path);
  const latest = entry?.versions.get(entry.current);
  if (!entry || !latest || latest.data === null || latest.deletedAt !== null) return notFound();
  const patch = (ctx.req.body['data'] as Record<string, unknown> | undefined) ?? {};
  const merged: Record<string, unknown> = { ...latest.data };
  for (const [k, val] of Object.entries(patch)) {
    if (val === null) delete merged[k];
    else merged[k] = val;
  }
  const updated = putVersion(kv, path, merged, ctx.st.now());
  return ok({
    data: versionMeta(updated, updated.current, updated.versions.get(updated.current)!),
    mount_type: 'kv',
  });
}

function changeVersions(ctx: Ctx, entry: KvEntry | undefined, op: 'delete' | 'undelete' | 'destroy'): Reply {
  const versions = intList(ctx.req.body['versions']);
  if (!versions || versions.length === 0) return badRequest('no version number provided');
  if (!entry) return noContent;
  const now = ctx.st.now();
  for (const n of versions) {
    const v = entry.versions.get(n);
    if (!v || v.destroyed) continue;
    if (op === 'delete' && v.deletedAt === null) v.deletedAt = now;
    if (op === 'undelete') v.deletedAt = null;
    if (op === 'destroy') {
      v.destroyed = true;
      v.data = null;
    }
  }
  return noContent;
}

function metadata(entry: KvEntry): Record<string, unknown> {
  const versions: Record<string, unknown> = {};
  for (const [n, v] of entry.versions) {
    versions[String(n)] = {
      created_time: rfc3339(v.createdAt),
      deletion_time: v.deletedAt === null ? '' : rfc3339(v.deletedAt),
      destroyed: v.destroyed,
    };
  }
  return {
    cas_required: entry.casRequired,
    created_time: rfc3339(entry.createdAt),
    current_version: entry.current,
    custom_metadata: entry.customMetadata,
    delete_version_after: '0s',
    max_versions: entry.maxVersions,
    oldest_version: entry.oldest,
    updated_time: rfc3339(entry.updatedAt),
    versions,
  };
}

function handleMetadata(ctx: Ctx, kv: KvState, path: string): Reply {
  const { req } = ctx;
  if (req.list)
    return listReply(listKeys(kv.v2.keys(), path === '' || path.endsWith('/') ? path : `${path}/`));
  const entry = kv.v2.get(path);
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      return entry ? ok({ data: metadata(entry), mount_type: 'kv' }) : notFound();
    case 'DELETE':
      kv.v2.delete(path);
      return noContent;
    case 'POST': {
      const target = entry ?? {
        versions: new Map(),
        current: 0,
        createdAt: ctx.st.now(),
        updatedAt: ctx.st.now(),
        maxVersions: 0,
        oldest: 0,
        casRequired: false,
        customMetadata: null,
      };
      const b = req.body;
      if (b['max_versions'] !== undefined) target.maxVersions = Number(b['max_versions']) || 0;
      if (b['cas_required'] !== undefined) target.casRequired = b['cas_required'] === true;
      if (b['custom_metadata'] !== undefined)
        target.customMetadata = b['custom_metadata'] as Record<string, string>;
      kv.v2.set(path, target);
      return noContent;
    }
    default:
      return fail(405, 'unsupported operation');
  }
}

function handleV2(ctx: Ctx, kv: KvState): Reply {
  const { req, rest } = ctx;
  const slash = rest.indexOf('/');
  const root = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash + 1);
  if (!V2_ROOTS.has(root)) return invalidPath(ctx, false);
  if (root === 'metadata') return handleMetadata(ctx, kv, path);
  if (path === '' || req.list) return invalidPath(ctx, path === '');
  const entry = kv.v2.get(path);
  if (root === 'data') {
    if (req.method === 'GET' || req.method === 'HEAD') return readV2(ctx, entry);
    if (req.method === 'POST') return writeV2(ctx, kv, path);
    if (req.method === 'PATCH') return patchV2(ctx, kv, path);
    if (req.method === 'DELETE') {
      const latest = entry?.versions.get(entry.current);
      if (latest && latest.deletedAt === null && !latest.destroyed) latest.deletedAt = ctx.st.now();
      return noContent;
    }
  }
  if (req.method === 'POST' && (root === 'delete' || root === 'undelete' || root === 'destroy')) {
    return changeVersions(ctx, entry, root);
  }
  return fail(405, 'unsupported operation');
}

/** A KV mount (v1 or v2 by `options.version`). */
export function handleKv(ctx: Ctx): Reply {
  const kv = kvState(ctx.mount!);
  return kv.version === 2 ? handleV2(ctx, kv) : handleV1(ctx, kv);
}
