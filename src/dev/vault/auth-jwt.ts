import type { KeyObject } from 'node:crypto';
import { isRecord, loginReply, type RoleTokenParams, roleTokenParams, type SeedFail } from './auth-roles.ts';
import { badRequest, type Ctx, fail, notFound, type Reply, str, strList } from './http.ts';
import { checkClaims, goGlob, publicKeys, verifyJwt } from './jwt-verify.ts';
import type { Mount } from './state.ts';

interface JwtRole {
  roleType: string;
  boundAudiences: string[];
  boundSubject: string;
  boundClaims: Record<string, string[]>;
  /** `string` (exact, the default) or `glob`. */
  boundClaimsType: string;
  userClaim: string;
  claimMappings: Record<string, string>;
  boundServiceAccountNames: string[];
  boundServiceAccountNamespaces: string[];
  /** Kubernetes `audience`: when set, the token's aud must contain it. */
  audience: string;
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
    const boundClaimsType = str(raw['bound_claims_type']) ?? 'string';
    if (boundClaimsType !== 'string' && boundClaimsType !== 'glob') {
      throw fail([...rAt, 'bound_claims_type'], `invalid 'bound_claims_type': ${boundClaimsType}`);
    }
    if (k8s && (!raw['bound_service_account_names'] || !raw['bound_service_account_namespaces'])) {
      throw fail(rAt, 'needs bound_service_account_names and bound_service_account_namespaces');
    }
    roles.set(name, {
      roleType: str(raw['role_type']) ?? 'jwt',
      boundAudiences: strList(raw['bound_audiences'] ?? []) ?? [],
      boundSubject: str(raw['bound_subject']) ?? '',
      boundClaims,
      boundClaimsType,
      userClaim: str(raw['user_claim']) ?? 'sub',
      claimMappings: isRecord(raw['claim_mappings']) ? (raw['claim_mappings'] as Record<string, string>) : {},
      boundServiceAccountNames: strList(raw['bound_service_account_names'] ?? []) ?? [],
      boundServiceAccountNamespaces: strList(raw['bound_service_account_namespaces'] ?? []) ?? [],
      audience: str(raw['audience']) ?? '',
      token: roleTokenParams(raw, rAt, fail),
    });
  }
  m.state = { keys, issuer: str(cfg[k8s ? 'issuer' : 'bound_issuer']) ?? '', roles } satisfies JwtState;
}

/** A claim by name, or by JSON pointer when the name starts with `/` (plugin claims.go getClaim). */
function getClaim(claims: Record<string, unknown>, name: string): unknown {
  if (!name.startsWith('/')) return claims[name];
  let cur: unknown = claims;
  for (const raw of name.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    cur = isRecord(cur) ? cur[key] : undefined;
  }
  return cur;
}

/** vault-plugin-auth-jwt claims.go validateBoundClaims: exact unless the role says glob. */
function boundClaimsError(role: JwtRole, c: Record<string, unknown>): string | undefined {
  for (const [claim, expected] of Object.entries(role.boundClaims)) {
    const actual = getClaim(c, claim);
    if (actual === undefined || actual === null) return `claim "${claim}" is missing`;
    const values = Array.isArray(actual) ? actual : [actual];
    const found = expected.some((exp) =>
      values.some((v) =>
        role.boundClaimsType === 'glob'
          ? typeof v === 'string' && goGlob(exp, v)
          : (typeof v === 'string' || typeof v === 'boolean') && String(v) === exp,
      ),
    );
    if (!found) return `claim "${claim}" does not match any associated bound claim values`;
  }
  return undefined;
}

/** Order and texts of vault-plugin-auth-jwt path_login.go pathLogin with hashicorp/cap's Validate. */
function jwtLogin(ctx: Ctx, s: JwtState, role: JwtRole, name: string, token: string): Reply {
  if (role.roleType === 'oidc') return badRequest('role with oidc role_type is not allowed');
  const v = verifyJwt(token, s.keys);
  if (!v.ok) return badRequest(`error validating token: error verifying token signature: ${v.reason}`);
  const c = v.jwt.claims;
  const claimErr = checkClaims(
    c,
    { issuer: s.issuer, subject: role.boundSubject, audiences: role.boundAudiences },
    ctx.st.now(),
  );
  if (claimErr) return badRequest(`error validating token: ${claimErr}`);
  const aud = c['aud'];
  if (
    role.boundAudiences.length === 0 &&
    ((Array.isArray(aud) && aud.length > 0) || (typeof aud === 'string' && aud !== ''))
  ) {
    return badRequest('audience claim found in JWT but no audiences bound to the role');
  }
  const user = c[role.userClaim];
  if (user === undefined || user === null) return badRequest(`claim "${role.userClaim}" not found in token`);
  if (typeof user !== 'string')
    return badRequest(`claim "${role.userClaim}" could not be converted to string`);
  const boundErr = boundClaimsError(role, c);
  if (boundErr) return badRequest(`error validating claims: ${boundErr}`);
  const meta: Record<string, string> = { role: name };
  for (const [claim, metaKey] of Object.entries(role.claimMappings)) {
    const value = getClaim(c, claim);
    if (value !== undefined) meta[metaKey] = String(value);
  }
  return loginReply(
    ctx.st,
    ctx.req.ns,
    ctx.mount!.path,
    role.token,
    meta,
    `${ctx.mount!.path.slice(5)}-${user}`,
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

/** The sdk's logical.ErrPermissionDenied from a login: a plain text, not Vault's ACL multierror. */
const loginDenied = (): Reply => fail(403, 'permission denied');

const listGlob = (patterns: string[], v: string): boolean => patterns.some((p) => goGlob(p, v));

/** Order and texts of vault-plugin-auth-kubernetes path_login.go (parseAndValidateJWT); no TokenReview. */
function k8sLogin(ctx: Ctx, s: JwtState, role: JwtRole, name: string, token: string): Reply {
  const v = verifyJwt(token, s.keys);
  if (!v.ok) return loginDenied();
  const c = v.jwt.claims;
  const claimErr = checkClaims(
    c,
    {
      issuer: s.issuer,
      ...(role.audience ? { audiences: [role.audience] } : {}),
      clockSkewLeeway: 0,
      allowMissingTimes: true,
    },
    ctx.st.now(),
  );
  if (claimErr) return fail(403, claimErr);
  const sa = serviceAccount(c);
  const names = role.boundServiceAccountNames;
  if ((names.length > 1 || names[0] !== '*') && !listGlob(names, sa.name))
    return fail(403, 'service account name not authorized');
  const namespaces = role.boundServiceAccountNamespaces;
  if (!(namespaces[0] === '*' || listGlob(namespaces, sa.namespace)))
    return fail(403, 'namespace not authorized');
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
