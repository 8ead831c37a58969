import { capWarning, parseDuration } from './duration.ts';
import {
  badRequest,
  type Ctx,
  fail,
  noContent,
  notFound,
  ok,
  param,
  type Reply,
  str,
  strList,
} from './http.ts';
import type { Namespace, Token, VaultState } from './state.ts';
import { authBlock, findToken, issueToken, lookupData, revokeToken } from './tokens.ts';

/** Renews a token per Vault's rules: no lease -> invalid lease ID; capped at the max TTL. */
export function renewToken(st: VaultState, t: Token, increment: unknown): Reply {
  if (t.expireAt === null) return badRequest('invalid lease ID');
  if (!t.renewable) return badRequest('lease is not renewable');
  const now = st.now();
  let ttl = t.period > 0 ? t.period : (parseDuration(increment) ?? 0) || t.creationTtl;
  const warnings: string[] = [];
  if (t.maxExpireAt !== null) {
    const remaining = Math.floor((t.maxExpireAt - now) / 1000);
    if (remaining <= 0) return badRequest('past the max TTL, cannot renew');
    if (ttl > remaining) {
      warnings.push(capWarning(ttl, remaining));
      ttl = remaining;
    }
  }
  t.expireAt = now + ttl * 1000;
  t.lastRenewal = now;
  return ok({ auth: authBlock(t, ttl), warnings: warnings.length ? warnings : null, mount_type: 'token' });
}

function createToken(ctx: Ctx, ns: Namespace, orphan: boolean): Reply {
  const { req, st, caller } = ctx;
  if (!caller) return badRequest('no parent token');
  const b = req.body;
  const policies = strList(b['policies']) ?? caller.policies.filter((p) => p !== 'default');
  if (policies.includes('root') && !caller.policies.includes('root')) {
    return badRequest('root tokens may not be created without parent token being root');
  }
  const ttl = parseDuration(b['ttl']);
  if (b['ttl'] !== undefined && ttl === undefined) return badRequest('invalid ttl');
  const explicitMaxTtl = parseDuration(b['explicit_max_ttl']) ?? 0;
  const period = parseDuration(b['period']) ?? 0;
  const meta = (b['meta'] as Record<string, string> | undefined) ?? null;
  const isRootPolicy = policies.includes('root');
  const token = issueToken(st, ns, {
    ...(str(b['id']) ? { id: str(b['id'])! } : {}),
    policies,
    ttl: ttl ?? (isRootPolicy ? 0 : explicitMaxTtl || 2764800),
    explicitMaxTtl,
    period,
    renewable: b['renewable'] === undefined ? true : b['renewable'] === true || b['renewable'] === 'true',
    numUses: Number(b['num_uses'] ?? 0) || 0,
    meta,
    displayName: `token${str(b['display_name']) ? `-${str(b['display_name'])}` : ''}`,
    path: orphan ? 'auth/token/create-orphan' : 'auth/token/create',
    orphan: orphan || b['no_parent'] === true,
    ...(orphan || b['no_parent'] === true ? {} : { parent: caller.id }),
    noDefaultPolicy: b['no_default_policy'] === true,
  });
  return ok({ auth: authBlock(token), mount_type: 'token' });
}

/** `auth/token/...` endpoints. */
export function handleTokenMount(ctx: Ctx): Reply {
  const { req, st, caller, rest } = ctx;
  const ns = req.ns;
  const m = req.method;
  const post = m === 'POST';
  switch (rest) {
    case 'create':
      return post ? createToken(ctx, ns, false) : notFound();
    case 'create-orphan':
      return post ? createToken(ctx, ns, true) : notFound();
    case 'lookup-self':
      return caller ? ok({ data: lookupData(st, caller), mount_type: 'token' }) : notFound();
    case 'renew-self':
      return post && caller ? renewToken(st, caller, param(req, 'increment')) : notFound();
    case 'revoke-self':
      if (!post || !caller) return notFound();
      revokeToken(st, caller);
      return noContent;
    case 'lookup':
    case 'renew':
    case 'revoke': {
      if (!post && !(rest === 'lookup' && m === 'GET')) return notFound();
      const found = findToken(st, ns, str(param(req, 'token')));
      // vault/token_store.go: lookup of an unknown token is a permission error, renew a bad request.
      if (!found) {
        if (rest === 'revoke') return noContent;
        return rest === 'lookup' ? fail(403, 'bad token') : badRequest('token not found');
      }
      if (rest === 'lookup') return ok({ data: lookupData(st, found.token), mount_type: 'token' });
      if (rest === 'renew') return renewToken(st, found.token, param(req, 'increment'));
      revokeToken(st, found.token);
      return noContent;
    }
    default:
      return notFound();
  }
}
