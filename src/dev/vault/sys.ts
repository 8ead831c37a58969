import { badRequest, type Ctx, envelope, fail, noContent, ok, permissionDenied, type Reply } from './http.ts';
import { buildAcl, hasMountAccess } from './policy.ts';
import { descendNamespace, findMount, type Mount, type Namespace, newMount } from './state.ts';
import { findToken } from './tokens.ts';

export const VAULT_VERSION = '1.15.0';

/** Go's strconv.ParseBool: undefined for anything it refuses. */
export function parseGoBool(raw: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  return undefined;
}

/** `sys/health`: codes per state, each overridable from the query. */
export function handleHealth(ctx: Ctx): Reply {
  const { req, st } = ctx;
  if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405);
  const query = req.query;
  // http/sys_health.go: codes go through Atoi (present but empty is a 400), flags through
  // parseutil.ParseBool (empty is false, anything not a Go bool is a 400).
  const code = (name: string, dflt: number): number | undefined => {
    const raw = query.get(name);
    if (raw === null) return dflt;
    return /^[+-]?\d+$/.test(raw) ? Number(raw) : undefined;
  };
  const flag = (name: string): boolean | undefined => {
    const raw = query.get(name);
    if (raw === null || raw === '') return false;
    return parseGoBool(raw);
  };
  const standbyOk = flag('standbyok');
  const perfStandbyOk = flag('perfstandbyok');
  if (standbyOk === undefined || perfStandbyOk === undefined) return fail(400);
  const active = code('activecode', 200);
  const standby = code('standbycode', 429);
  const sealed = code('sealedcode', 503);
  const codes = [
    active,
    standby,
    sealed,
    code('drsecondarycode', 472),
    code('performancestandbycode', 473),
    code('uninitcode', 501),
  ];
  if (codes.some((c) => c === undefined)) return fail(400);
  const isStandby = st.standby !== null || st.sealed;
  let status = active!;
  if (st.sealed) status = sealed!;
  else if (st.standby !== null) status = standbyOk ? active! : standby!;
  const body: Record<string, unknown> = {
    initialized: true,
    sealed: st.sealed,
    standby: isStandby,
    performance_standby: false,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(st.now() / 1000),
    version: VAULT_VERSION,
  };
  if (!st.sealed) {
    body['cluster_name'] = 'vault-cluster-secrun-dev';
    body['cluster_id'] = st.clusterId;
  }
  return { status, body: req.method === 'HEAD' ? undefined : body };
}

export function mountInfo(m: Mount): Record<string, unknown> {
  return {
    accessor: m.accessor,
    config: { default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0 },
    description: m.description,
    external_entropy_access: false,
    local: false,
    options: m.options,
    path: `${m.path}/`,
    plugin_version: '',
    running_plugin_version: '',
    running_sha256: '',
    seal_wrap: false,
    type: m.type,
    uuid: m.uuid,
  };
}

/** A mount as the UI endpoints name it: auth methods without their `auth/` prefix. */
const tablePath = (m: Mount): string => (m.path.startsWith('auth/') ? m.path.slice(5) : m.path);

/**
 * `sys/internal/ui/mounts[/<path>]` (logical_system.go pathInternalUIMount(s)Read). With a path:
 * the mount holding it, also an auth method or a mount in a child namespace (then `data.path`
 * carries the namespace), 403 when the token can see nothing under it. Bare: the secrets engines
 * and auth methods the token can see.
 */
export function handleUiMounts(ctx: Ctx): Reply {
  const { req, st, rest } = ctx;
  const token = req.token === undefined ? undefined : findToken(st, req.ns, req.token);
  if (req.token !== undefined && !token) return permissionDenied();
  const acl = token ? buildAcl(token.ns, token.token.policies) : undefined;
  const tokenRelative = (ns: Namespace, path: string): string =>
    ns.path.slice(token?.ns.path.length ?? 0) + path;
  if (rest === '') {
    const secret: Record<string, unknown> = {};
    const auth: Record<string, unknown> = {};
    const all = [...req.ns.mounts.values(), ...builtinMounts()];
    for (const m of all) {
      if (!acl || !hasMountAccess(acl, tokenRelative(req.ns, `${m.path}/`))) continue;
      const info = { ...mountInfo(m), path: `${tablePath(m)}/` };
      if (m.path.startsWith('auth/')) auth[`${tablePath(m)}/`] = info;
      else secret[`${m.path}/`] = info;
    }
    return ok({ data: { auth, secret }, mount_type: 'system' });
  }
  const target = `${rest.replace(/^\/+|\/+$/g, '')}/`;
  const denied = fail(
    403,
    `preflight capability check returned 403, please ensure client's policies grant access to path "${target}"`,
  );
  const { ns, path } = descendNamespace(req.ns, target);
  const found = findMount(ns, path) ?? builtinMount(path);
  if (!found || !acl) return denied;
  const mount = found.mount;
  if (!hasMountAccess(acl, tokenRelative(ns, `${mount.path}/`))) return denied;
  const shown = ns === req.ns ? `${tablePath(mount)}/` : `${ns.path}${mount.path}/`;
  return ok({ data: { ...mountInfo(mount), path: shown }, mount_type: 'system' });
}

const BUILTIN: Array<[string, string, string]> = [
  ['cubbyhole', 'cubbyhole', 'per-token private secret storage'],
  ['identity', 'identity', 'identity store'],
  ['sys', 'system', 'system endpoints used for control, policy and debugging'],
  ['auth/token', 'token', 'token based credentials'],
];

function builtinMounts(): Mount[] {
  return BUILTIN.map(([path, type, description]) => ({
    path,
    type,
    description,
    options: null,
    accessor: `${type}_0`,
    uuid: '',
    state: {},
  }));
}

function builtinMount(path: string): { mount: Mount; rest: string } | undefined {
  const mount = builtinMounts().find((m) => path === `${m.path}/` || path.startsWith(`${m.path}/`));
  return mount ? { mount, rest: path.slice(mount.path.length + 1) } : undefined;
}

/** `sys/mounts` (read-only): secrets engines, as both top-level keys and `data`. */
export function handleMounts(ctx: Ctx): Reply {
  if (ctx.req.method !== 'GET') return permissionDenied();
  const data: Record<string, unknown> = {};
  for (const m of [...ctx.req.ns.mounts.values(), ...builtinMounts()])
    if (!m.path.startsWith('auth/')) data[`${m.path}/`] = mountInfo(m);
  const body = { ...data, ...envelope({ data, mount_type: 'system' }) };
  return { status: 200, body };
}

/** `sys/auth`: auth methods. */
export function handleAuths(ctx: Ctx): Reply {
  const data: Record<string, unknown> = {};
  for (const m of ctx.req.ns.mounts.values()) {
    if (m.path.startsWith('auth/')) data[`${m.path.slice(5)}/`] = mountInfo(m);
  }
  data['token/'] = mountInfo({
    path: 'token',
    type: 'token',
    description: 'token based credentials',
    options: null,
    accessor: 'auth_token_0',
    uuid: '',
    state: {},
  });
  return { status: 200, body: { ...data, ...envelope({ data, mount_type: 'system' }) } };
}

/** `sys/mounts/<path>`: enable (POST, kv or pki) or disable (DELETE) a secrets engine, so tests can set up a real Vault and this one alike. */
export function handleMountEdit(ctx: Ctx): Reply {
  const path = ctx.rest.replace(/^\/+|\/+$/g, '');
  const { req } = ctx;
  if (req.method === 'DELETE') {
    req.ns.mounts.delete(path);
    return noContent;
  }
  if (req.method !== 'POST') return fail(405);
  if (req.ns.mounts.has(path)) return badRequest(`path is already in use at ${path}/`);
  if (req.body['type'] === 'pki') {
    // Like Vault: no CA until root/generate/internal.
    req.ns.mounts.set(path, newMount(path, 'pki', null));
    return noContent;
  }
  if (req.body['type'] !== 'kv')
    return badRequest(`plugin not found in the catalog: ${String(req.body['type'])}`);
  const options = (req.body['options'] ?? {}) as Record<string, unknown>;
  const version = String(options['version'] ?? '1') === '2' ? '2' : '1';
  req.ns.mounts.set(path, newMount(path, 'kv', { version }));
  return noContent;
}
