import { badRequest, type Ctx, envelope, fail, noContent, ok, permissionDenied, type Reply } from './http.ts';
import { anyAccessUnder } from './policy.ts';
import { findMount, type Mount, newMount } from './state.ts';
import { findToken } from './tokens.ts';

export const VAULT_VERSION = '1.15.0';

/** `sys/health`: codes per state, each overridable from the query. */
export function handleHealth(ctx: Ctx): Reply {
  const { req, st } = ctx;
  if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405);
  const code = (name: string, dflt: number): number | undefined => {
    const raw = req.query.get(name);
    if (raw === null || raw === '') return dflt;
    return /^\d+$/.test(raw) ? Number(raw) : undefined;
  };
  const flag = (name: string): boolean => {
    const raw = req.query.get(name);
    return raw !== null && raw !== 'false' && raw !== '0';
  };
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
  else if (st.standby !== null) status = flag('standbyok') ? active! : standby!;
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

/** `sys/internal/ui/mounts/<path>`: the KV preflight. 403 for unknown or unreachable mounts. */
export function handleUiMounts(ctx: Ctx): Reply {
  const { req, st, rest } = ctx;
  const target = rest.replace(/\/+$/, '');
  const denied = fail(
    403,
    `preflight capability check returned 403, please ensure client's policies grant access to path "${target}/"`,
  );
  const found = findMount(req.ns, target);
  const token = findToken(st, req.ns, req.token);
  if (!found || found.mount.path.startsWith('auth/') || !token) return denied;
  if (!anyAccessUnder(token.ns, token.token.policies, `${found.mount.path}/`)) return denied;
  return ok({ data: mountInfo(found.mount), mount_type: 'system' });
}

const BUILTIN: Array<[string, string, string]> = [
  ['cubbyhole', 'cubbyhole', 'per-token private secret storage'],
  ['identity', 'identity', 'identity store'],
  ['sys', 'system', 'system endpoints used for control, policy and debugging'],
];

/** `sys/mounts` (read-only): secrets engines, as both top-level keys and `data`. */
export function handleMounts(ctx: Ctx): Reply {
  if (ctx.req.method !== 'GET') return permissionDenied();
  const data: Record<string, unknown> = {};
  for (const m of ctx.req.ns.mounts.values())
    if (!m.path.startsWith('auth/')) data[`${m.path}/`] = mountInfo(m);
  for (const [path, type, description] of BUILTIN) {
    data[`${path}/`] = {
      ...mountInfo({ path, type, description, options: null, accessor: `${type}_0`, uuid: '', state: {} }),
    };
  }
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

/** `sys/mounts/<path>`: enable (POST, kv only) or disable (DELETE) a secrets engine, so tests can set up a real Vault and this one alike. */
export function handleMountEdit(ctx: Ctx): Reply {
  const path = ctx.rest.replace(/^\/+|\/+$/g, '');
  const { req } = ctx;
  if (req.method === 'DELETE') {
    req.ns.mounts.delete(path);
    return noContent;
  }
  if (req.method !== 'POST') return fail(405);
  if (req.ns.mounts.has(path)) return badRequest(`path is already in use at ${path}/`);
  if (req.body['type'] !== 'kv')
    return badRequest(`plugin not found in the catalog: ${String(req.body['type'])}`);
  const options = (req.body['options'] ?? {}) as Record<string, unknown>;
  const version = String(options['version'] ?? '1') === '2' ? '2' : '1';
  req.ns.mounts.set(path, newMount(path, 'kv', { version }));
  return noContent;
}
