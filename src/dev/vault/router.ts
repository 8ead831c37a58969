import { handleApprole } from './auth-approle.ts';
import { handleCert } from './auth-cert.ts';
import { handleJwt } from './auth-jwt.ts';
import { handleTokenMount } from './auth-token.ts';
import { handleAwsEngine } from './aws-engine.ts';
import { handleDatabase } from './database.ts';
import {
  type Ctx,
  type Envelope,
  fail,
  invalidToken,
  permissionDenied,
  type Reply,
  type VaultRequest,
} from './http.ts';
import { handleKv } from './kv.ts';
import { handleLeases } from './leases.ts';
import { handlePki } from './pki.ts';
import { isPkiPublic } from './pki-fetch.ts';
import { allowed, buildAcl } from './policy.ts';
import { descendNamespace, findMount, type Mount, type VaultState } from './state.ts';
import { handleAuths, handleHealth, handleMountEdit, handleMounts, handleUiMounts } from './sys.ts';
import { handlePolicies } from './sys-policies.ts';
import { findToken, useToken } from './tokens.ts';
import { handleWrapping, wrapResponse } from './wrapping.ts';

type Handler = (ctx: Ctx) => Reply;

const MOUNT_HANDLERS: Record<string, Handler> = {
  kv: handleKv,
  database: handleDatabase,
  approle: handleApprole,
  jwt: handleJwt,
  kubernetes: handleJwt,
  cert: handleCert,
  pki: handlePki,
  aws: handleAwsEngine,
};

/** Login endpoints need no token. */
const isLogin = (m: Mount, rest: string): boolean =>
  (m.path.startsWith('auth/') && (rest === 'login' || rest.startsWith('login/'))) ||
  (m.type === 'pki' && isPkiPublic(rest));

const noRoute = (path: string): Reply => fail(404, `no handler for route "${path}". route entry not found.`);

function dispatch(ctx: Ctx, path: string): Reply {
  const sys = /^sys\/(.*)$/.exec(path)?.[1];
  if (sys !== undefined) {
    if (sys === 'mounts') return handleMounts(ctx);
    if (sys === 'auth') return handleAuths(ctx);
    if (sys.startsWith('mounts/')) return handleMountEdit({ ...ctx, rest: sys.slice('mounts/'.length) });
    if (sys === 'policies/acl' || sys.startsWith('policies/acl/'))
      return handlePolicies({ ...ctx, rest: sys.slice('policies/acl/'.length) });
    if (sys === 'policy' || sys.startsWith('policy/'))
      return handlePolicies({ ...ctx, rest: sys.slice('policy/'.length) }, true);
    const leases = /^leases\/(.*)$/.exec(sys)?.[1] ?? (/^(renew|revoke)(\/|$)/.test(sys) ? sys : undefined);
    if (leases !== undefined) return handleLeases({ ...ctx, rest: leases }) ?? fail(405);
    return noRoute(path);
  }
  if (path === 'auth/token' || path.startsWith('auth/token/')) {
    return handleTokenMount({ ...ctx, rest: path.slice('auth/token/'.length) });
  }
  const found = findMount(ctx.req.ns, path);
  const handler = found && MOUNT_HANDLERS[found.mount.type];
  if (!found || !handler) return noRoute(path);
  return handler({ ...ctx, mount: found.mount, rest: found.rest });
}

/** Routes one request inside its namespace: unauthenticated paths, token + ACL check, handler, wrapping. */
export function route(st: VaultState, input: VaultRequest): Reply {
  const { ns, path } = descendNamespace(input.ns, input.path);
  const req = { ...input, ns, path };
  const base: Ctx = { st, req, caller: undefined, rest: '', mount: undefined };
  if (path === 'sys/health') return handleHealth(base);
  if (path.startsWith('sys/internal/ui/mounts/') || path === 'sys/internal/ui/mounts') {
    return handleUiMounts({ ...base, rest: path.slice('sys/internal/ui/mounts/'.length) });
  }
  if (path === 'sys/wrapping/unwrap' || path === 'sys/wrapping/lookup') {
    return handleWrapping({ ...base, rest: path.slice('sys/wrapping/'.length) }) ?? fail(405);
  }
  const found = findMount(ns, path);
  let reply: Reply;
  if (found && isLogin(found.mount, found.rest)) {
    reply = dispatch(base, path);
  } else {
    if (!req.token) return permissionDenied();
    const caller = findToken(st, ns, req.token);
    if (!caller) return invalidToken();
    const relative = ns.path.slice(caller.ns.path.length) + path;
    if (!allowed(buildAcl(caller.ns, caller.token.policies), relative, req.method, req.list))
      return permissionDenied();
    useToken(st, caller.token);
    reply = dispatch({ ...base, caller: caller.token }, path);
  }
  if (req.wrapTtl !== undefined && req.wrapTtl > 0 && reply.status === 200 && reply.body) {
    return wrapResponse(st, ns, reply.body as Envelope, req.wrapTtl, path);
  }
  return reply;
}
