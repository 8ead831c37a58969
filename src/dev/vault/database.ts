import { badRequest, type Ctx, fail, ok, type Reply } from './http.ts';
import { createLease } from './leases.ts';
import { randomId, SYSTEM_MAX_TTL } from './state.ts';

export interface DbRole {
  defaultTtl: number;
  maxTtl: number;
}

/** Roles of a database mount (filled from the seed). */
export function dbRoles(ctx: Ctx): Map<string, DbRole> {
  const m = ctx.mount!;
  if (!m.state.roles) m.state.roles = new Map<string, DbRole>();
  return m.state.roles as Map<string, DbRole>;
}

/** `<mount>/creds/<role>`: a fresh username/password under a renewable lease. */
export function handleDatabase(ctx: Ctx): Reply {
  const { req, rest, st, mount } = ctx;
  const [head, name, ...extra] = rest.split('/');
  if (head !== 'creds' || !name || extra.length > 0) return fail(404, 'unsupported path');
  if (req.method !== 'GET') return fail(405, 'unsupported operation');
  const role = dbRoles(ctx).get(name);
  if (!role) return badRequest(`unknown role: ${name}`);
  const ttl = role.defaultTtl || SYSTEM_MAX_TTL;
  const lease = createLease(st, req.ns, {
    prefix: `${mount!.path}/creds/${name}`,
    ttl,
    maxTtl: role.maxTtl || SYSTEM_MAX_TTL,
    token: ctx.caller?.id,
    mountType: 'database',
  });
  const username = `v-token-${name}-${randomId(20)}-${Math.floor(st.now() / 1000)}`;
  return ok({
    lease_id: lease.id,
    renewable: true,
    lease_duration: ttl,
    data: { username, password: `A1a-${randomId(20)}` },
    mount_type: 'database',
  });
}
