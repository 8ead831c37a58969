import { capWarning, parseDuration, rfc3339 } from './duration.ts';
import { badRequest, type Ctx, fail, noContent, ok, param, type Reply, str } from './http.ts';
import { type Lease, type Namespace, randomId, type VaultState } from './state.ts';
import { findToken } from './tokens.ts';

/** Registers a lease under `<prefix>/<random>`, owned by the calling token. */
export function createLease(
  st: VaultState,
  ns: Namespace,
  o: { prefix: string; ttl: number; maxTtl: number; token: string | undefined; mountType: string },
): Lease {
  const now = st.now();
  const lease: Lease = {
    id: `${o.prefix}/${randomId(24)}`,
    issuedAt: now,
    expireAt: now + o.ttl * 1000,
    maxExpireAt: now + o.maxTtl * 1000,
    lastRenewal: null,
    renewable: true,
    defaultTtl: o.ttl,
    token: o.token,
    revoked: false,
    mountType: o.mountType,
  };
  ns.leases.set(lease.id, lease);
  return lease;
}

export type LeaseStatus = 'valid' | 'expired' | 'revoked';

/** A lease dies when revoked, expired, or when the token that created it is gone. */
export function leaseStatus(st: VaultState, ns: Namespace, lease: Lease): LeaseStatus {
  if (lease.revoked) return 'revoked';
  if (st.now() >= lease.expireAt) return 'expired';
  if (lease.token && !findToken(st, ns, lease.token)) return 'revoked';
  return 'valid';
}

function leaseId(ctx: Ctx): string | undefined {
  return (
    str(param(ctx.req, 'lease_id')) ||
    (ctx.rest.includes('/') ? ctx.rest.slice(ctx.rest.indexOf('/') + 1) : undefined)
  );
}

function renew(ctx: Ctx): Reply {
  const { st, req } = ctx;
  const id = leaseId(ctx);
  if (!id) return badRequest('lease_id must be specified');
  if (id.startsWith('auth/')) return badRequest('tokens cannot be renewed through this endpoint');
  const lease = req.ns.leases.get(id);
  if (!lease) return badRequest('lease not found');
  const status = leaseStatus(st, req.ns, lease);
  if (status === 'revoked') return badRequest('lease not found');
  if (status === 'expired') return badRequest('lease expired');
  if (!lease.renewable) return badRequest('lease is not renewable');
  const now = st.now();
  const raw = param(req, 'increment');
  const increment = parseDuration(raw);
  if (raw !== undefined && increment === undefined) return badRequest('invalid increment');
  let ttl = increment || lease.defaultTtl;
  const remaining = Math.floor((lease.maxExpireAt - now) / 1000);
  if (remaining <= 0) return badRequest('past the max TTL, cannot renew');
  const warnings: string[] = [];
  if (ttl > remaining) {
    warnings.push(capWarning(ttl, remaining));
    ttl = remaining;
  }
  lease.expireAt = now + ttl * 1000;
  lease.lastRenewal = now;
  return ok({
    lease_id: lease.id,
    renewable: true,
    lease_duration: ttl,
    warnings: warnings.length ? warnings : null,
    mount_type: lease.mountType,
  });
}

function revoke(ctx: Ctx): Reply {
  const id = leaseId(ctx);
  if (!id) return badRequest('lease_id must be specified');
  const lease = ctx.req.ns.leases.get(id);
  if (lease) lease.revoked = true;
  const sync = param(ctx.req, 'sync');
  return sync === false || sync === 'false' ? { status: 202 } : noContent;
}

function lookup(ctx: Ctx): Reply {
  const { st, req } = ctx;
  const id = leaseId(ctx);
  if (!id) return badRequest('missing lease ID');
  const lease = req.ns.leases.get(id);
  if (!lease || leaseStatus(st, req.ns, lease) !== 'valid') return badRequest('invalid lease');
  return ok({
    data: {
      id: lease.id,
      issue_time: rfc3339(lease.issuedAt),
      expire_time: rfc3339(lease.expireAt),
      last_renewal: lease.lastRenewal === null ? null : rfc3339(lease.lastRenewal),
      renewable: lease.renewable,
      ttl: Math.max(0, Math.floor((lease.expireAt - st.now()) / 1000)),
    },
    mount_type: 'system',
  });
}

/** `sys/leases/{renew,revoke,lookup}[/<id>]` and the legacy `sys/renew`, `sys/revoke`. */
export function handleLeases(ctx: Ctx): Reply | undefined {
  if (ctx.req.method !== 'POST') return undefined;
  const head = ctx.rest.split('/')[0];
  if (head === 'renew') return renew(ctx);
  if (head === 'revoke') return revoke(ctx);
  if (head === 'lookup') return lookup(ctx);
  return fail(404);
}
