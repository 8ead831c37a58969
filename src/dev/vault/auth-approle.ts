import { randomUUID } from 'node:crypto';
import { isRecord, loginReply, type RoleTokenParams, roleTokenParams, type SeedFail } from './auth-roles.ts';
import { parseDuration } from './duration.ts';
import { badRequest, type Ctx, notFound, ok, type Reply, str } from './http.ts';
import type { Mount } from './state.ts';

interface ApproleRole {
  name: string;
  roleId: string;
  bindSecretId: boolean;
  secretIdTtl: number;
  secretIdNumUses: number;
  token: RoleTokenParams;
}

interface SecretId {
  role: string;
  accessor: string;
  createdAt: number;
  ttl: number;
  /** 0 = unlimited. */
  usesLeft: number;
}

interface ApproleState {
  roles: Map<string, ApproleRole>;
  secretIds: Map<string, SecretId>;
}

function state(m: Mount): ApproleState {
  if (!m.state.roles) m.state = { roles: new Map(), secretIds: new Map() };
  return m.state as ApproleState;
}

/** Seed: `roles: { <name>: { role_id, secret_ids: [...], bind_secret_id, secret_id_ttl, secret_id_num_uses, policies, token_ttl, ... } }`. */
export function configureApprole(
  m: Mount,
  cfg: Record<string, unknown>,
  at: (string | number)[],
  fail: SeedFail,
): void {
  const s = state(m);
  const roles = cfg['roles'] ?? {};
  if (!isRecord(roles)) throw fail([...at, 'roles'], 'must be a mapping of role name to settings');
  for (const [name, raw] of Object.entries(roles)) {
    const rAt = [...at, 'roles', name];
    const r = raw ?? {};
    if (!isRecord(r)) throw fail(rAt, 'must be a mapping');
    const role: ApproleRole = {
      name,
      roleId: str(r['role_id']) ?? randomUUID(),
      bindSecretId: r['bind_secret_id'] !== false,
      secretIdTtl: parseDuration(r['secret_id_ttl'] ?? 0) ?? 0,
      secretIdNumUses: Number(r['secret_id_num_uses'] ?? 0) || 0,
      token: roleTokenParams(r, rAt, fail),
    };
    s.roles.set(name, role);
    const ids = r['secret_ids'] ?? [];
    if (!Array.isArray(ids)) throw fail([...rAt, 'secret_ids'], 'must be a list of strings');
    for (const id of ids) {
      s.secretIds.set(String(id), {
        role: name,
        accessor: randomUUID(),
        createdAt: 0,
        ttl: 0,
        usesLeft: role.secretIdNumUses,
      });
    }
  }
}

function login(ctx: Ctx, s: ApproleState): Reply {
  const { req, st } = ctx;
  const roleId = str(req.body['role_id']);
  if (!roleId) return badRequest('missing role_id');
  const role = [...s.roles.values()].find((r) => r.roleId === roleId);
  if (!role) return badRequest('invalid role or secret ID');
  if (role.bindSecretId) {
    const secretId = str(req.body['secret_id']);
    if (!secretId) return badRequest('missing secret_id');
    const entry = s.secretIds.get(secretId);
    const expired = entry && entry.ttl > 0 && st.now() >= entry.createdAt + entry.ttl * 1000;
    if (!entry || entry.role !== role.name || expired) {
      if (expired) s.secretIds.delete(secretId);
      return badRequest('invalid role or secret ID');
    }
    if (entry.usesLeft > 0 && --entry.usesLeft === 0) s.secretIds.delete(secretId);
  }
  return loginReply(st, req.ns, ctx.mount!.path, role.token, { role_name: role.name }, `approle`);
}

function newSecretId(ctx: Ctx, s: ApproleState, role: ApproleRole): Reply {
  const b = ctx.req.body;
  const ttl = b['ttl'] !== undefined ? (parseDuration(b['ttl']) ?? role.secretIdTtl) : role.secretIdTtl;
  const uses = b['num_uses'] !== undefined ? Number(b['num_uses']) || 0 : role.secretIdNumUses;
  const secretId = randomUUID();
  const accessor = randomUUID();
  s.secretIds.set(secretId, { role: role.name, accessor, createdAt: ctx.st.now(), ttl, usesLeft: uses });
  return ok({
    data: { secret_id: secretId, secret_id_accessor: accessor, secret_id_ttl: ttl, secret_id_num_uses: uses },
    mount_type: 'approle',
  });
}

/** `auth/<approle mount>/...`: login, role-id read, secret-id generation. */
export function handleApprole(ctx: Ctx): Reply {
  const s = state(ctx.mount!);
  const { req, rest } = ctx;
  if (rest === 'login') return req.method === 'POST' ? login(ctx, s) : notFound();
  const parts = rest.split('/');
  if (parts[0] !== 'role' || parts.length !== 3) return notFound();
  const name = parts[1]!;
  const role = s.roles.get(name);
  if (parts[2] === 'role-id' && req.method === 'GET') {
    return role ? ok({ data: { role_id: role.roleId }, mount_type: 'approle' }) : notFound();
  }
  if (parts[2] === 'secret-id' && req.method === 'POST') {
    return role ? newSecretId(ctx, s, role) : badRequest(`role "${name}" does not exist`);
  }
  return notFound();
}
