import type { KeyObject } from 'node:crypto';
import { isRecord, loginReply, type RoleTokenParams, roleTokenParams, type SeedFail } from './auth-roles.ts';
import { badRequest, type Ctx, fail, notFound, permissionDenied, type Reply, str, strList } from './http.ts';
import { checkTimes, publicKeys, verifyJwt } from './jwt-verify.ts';
import type { Mount } from './state.ts';

interface JwtRole {
  roleType: string;
  boundAudiences: string[];
  boundSubject: string;
  boundClaims: Record<string, string[]>;
  userClaim: string;
  claimMappings: Record<string, string>;
  boundServiceAccountNames: string[];
  boundServiceAccountNamespaces: string[];
  token: RoleTokenParams;
}

interface JwtState {
  keys: KeyObject[];
  issuer: string;
  roles: Map<string, JwtRole>;
}

/**
 * Seed for `type: jwt` (`jwt_validation_pubkeys`, `bound_issuer`, roles with bound_audiences,
 * bound_subject, bound_claims, user_claim, claim_mappings, role_type) and `type: kubernetes`
 * (`pem_keys`, `issuer`, roles with bound_service_account_names/namespaces).
 */
export function configureJwt(
  m: Mount,
  cfg: Record<string, unknown>,
  at: (string | number)[],
  fail: SeedFail,
): void {
  const k8s = m.type === 'kubernetes';
  const keyField = k8s ? 'pem_keys' : 'jwt_validation_pubkeys';
  const pems = strList(cfg[keyField] ?? []);
  if (!pems || pems.length === 0) throw fail([...at, keyField], 'must list at least one PEM public key');
  let keys: KeyObject[];
  try {
    keys = publicKeys(pems);
  } catch {
    throw fail([...at, keyField], 'is not a valid PEM public key');
  }
  const roles = new Map<string, JwtRole>();
  const rawRoles = cfg['roles'] ?? {};
  if (!isRecord(rawRoles)) throw fail([...at, 'roles'], 'must be a mapping of role name to settings');
  for (const [name, raw] of Object.entries(rawRoles)) {
    const rAt = [...at, 'roles', name];
    if (!isRecord(raw)) throw fail(rAt, 'must be a mapping');
    const boundClaims: Record<string, string[]> = {};
    if (raw['bound_claims'] !== undefined) {
      if (!isRecord(raw['bound_claims'])) throw fail([...rAt, 'bound_claims'], 'must be a mapping');
      for (const [k, v] of Object.entries(raw['bound_claims']))
        boundClaims[k] = Array.isArray(v) ? v.map(String) : [String(v)];
    }
    if (k8s && (!raw['bound_service_account_names'] || !raw['bound_service_account_namespaces'])) {
      throw fail(rAt, 'needs bound_service_account_names and bound_service_account_namespaces');
    }
    roles.set(name, {
      roleType: str(raw['role_type']) ?? 'jwt',
      boundAudiences: strList(raw['bound_audiences'] ?? []) ?? [],
      boundSubject: str(raw['bound_subject']) ?? '',
      boundClaims,
      userClaim: str(raw['user_claim']) ?? 'sub',
      claimMappings: isRecord(raw['claim_mappings']) ? (raw['claim_mappings'] as Record<string, string>) : {},
      boundServiceAccountNames: strList(raw['bound_service_account_names'] ?? []) ?? [],
      boundServiceAccountNamespaces: strList(raw['bound_service_account_namespaces'] ?? []) ?? [],
      token: roleTokenParams(raw, rAt, fail),
    });
  }
  m.state = { keys, issuer: str(cfg[k8s ? 'issuer' : 'bound_issuer']) ?? '', roles } satisfies JwtState;
}

const globMatch = (list: string[], v: string): boolean =>
  list.some((p) => p === '*' || p === v || (p.endsWith('*') && v.startsWith(p.slice(0, -1))));

function jwtLogin(ctx: Ctx, s: JwtState, role: JwtRole, name: string, token: string): Reply {
  if (role.roleType !== 'jwt') return badRequest('role with oidc role_type is not allowed');
  const v = verifyJwt(token, s.keys);
  if (!v.ok) return badRequest(`error validating token: error verifying token signature: ${v.reason}`);
  const c = v.jwt.claims;
  const timeErr = checkTimes(c, ctx.st.now(), 60);
  if (timeErr) return badRequest(`error validating token: ${timeErr}`);
  if (s.issuer && c['iss'] !== s.issuer)
    return badRequest('error validating token: validation failed, invalid issuer claim (iss)');
  const aud =
    c['aud'] === undefined ? [] : Array.isArray(c['aud']) ? c['aud'].map(String) : [String(c['aud'])];
  if (role.boundAudiences.length === 0 && aud.length > 0) {
    return badRequest('audience claim found in JWT but no audiences bound to the role');
  }
  if (role.boundAudiences.length > 0 && !aud.some((a) => role.boundAudiences.includes(a))) {
    return badRequest('error validating claims: aud claim does not match any bound audience');
  }
  if (role.boundSubject && c['sub'] !== role.boundSubject) {
    return badRequest('error validating claims: sub claim does not match bound subject');
  }
  for (const [claim, allowed] of Object.entries(role.boundClaims)) {
    const actual = c[claim];
    const values = Array.isArray(actual) ? actual.map(String) : actual === undefined ? [] : [String(actual)];
    if (!values.some((x) => globMatch(allowed, x))) {
      return badRequest(
        `error validating claims: claim "${claim}" does not match any associated bound claim values`,
      );
    }
  }
  const user = c[role.userClaim];
  if (user === undefined)
    return badRequest(`error validating claims: claim "${role.userClaim}" not found in token`);
  const meta: Record<string, string> = { role: name };
  for (const [claim, metaKey] of Object.entries(role.claimMappings)) {
    if (c[claim] !== undefined) meta[metaKey] = String(c[claim]);
  }
  return loginReply(
    ctx.st,
    ctx.req.ns,
    ctx.mount!.path,
    role.token,
    meta,
    `${ctx.mount!.path.slice(5)}-${String(user)}`,
  );
}

/** Service account identity from a legacy or projected token. */
function serviceAccount(c: Record<string, unknown>): {
  name: string;
  namespace: string;
  uid: string;
  secret: string;
} {
  const k = isRecord(c['kubernetes.io']) ? c['kubernetes.io'] : undefined;
  const sa = k && isRecord(k['serviceaccount']) ? k['serviceaccount'] : undefined;
  return {
    name: String(sa?.['name'] ?? c['kubernetes.io/serviceaccount/service-account.name'] ?? ''),
    namespace: String(k?.['namespace'] ?? c['kubernetes.io/serviceaccount/namespace'] ?? ''),
    uid: String(sa?.['uid'] ?? c['kubernetes.io/serviceaccount/service-account.uid'] ?? ''),
    secret: String(c['kubernetes.io/serviceaccount/secret.name'] ?? ''),
  };
}

function k8sLogin(ctx: Ctx, s: JwtState, role: JwtRole, name: string, token: string): Reply {
  const v = verifyJwt(token, s.keys);
  if (!v.ok) return permissionDenied();
  const c = v.jwt.claims;
  if (checkTimes(c, ctx.st.now(), 0)) return permissionDenied();
  if (s.issuer && c['iss'] !== s.issuer) return permissionDenied();
  const sa = serviceAccount(c);
  if (!globMatch(role.boundServiceAccountNamespaces, sa.namespace))
    return fail(403, 'namespace not authorized');
  if (!globMatch(role.boundServiceAccountNames, sa.name))
    return fail(403, 'service account name not authorized');
  const meta = {
    role: name,
    service_account_name: sa.name,
    service_account_namespace: sa.namespace,
    service_account_uid: sa.uid,
    service_account_secret_name: sa.secret,
  };
  return loginReply(
    ctx.st,
    ctx.req.ns,
    ctx.mount!.path,
    role.token,
    meta,
    `${ctx.mount!.path.slice(5)}-${sa.namespace}-${sa.name}`,
  );
}

/** `auth/<jwt|kubernetes mount>/login`. */
export function handleJwt(ctx: Ctx): Reply {
  const { req, rest } = ctx;
  if (rest !== 'login' || req.method !== 'POST') return notFound();
  const k8s = ctx.mount!.type === 'kubernetes';
  const s = ctx.mount!.state as JwtState;
  const name = str(req.body['role']);
  const token = str(req.body['jwt']);
  if (!name) return badRequest('missing role');
  if (!token) return badRequest(k8s ? 'missing jwt' : 'missing token');
  const role = s.roles.get(name);
  if (!role) return badRequest(k8s ? `invalid role name "${name}"` : `role "${name}" could not be found`);
  return k8s ? k8sLogin(ctx, s, role, name, token) : jwtLogin(ctx, s, role, name, token);
}
