/**
 * The AWS secrets engine's credential endpoints, `<mount>/creds/<role>` and `<mount>/sts/<role>`
 * (a read or a write; the write takes `ttl`, `role_arn`, `role_session_name`), modelled on
 * Vault's builtin/logical/aws (path_user.go pathCredsRead, secret_access_keys.go): an `iam_user`
 * role mints an access key under a renewable lease; `assumed_role` and `federation_token` roles
 * mint STS credentials whose non-renewable lease lasts the asked `ttl` (default the role's
 * `default_sts_ttl`, else 3600 s), capped by `max_sts_ttl`. No AWS call is made: the keys are
 * random strings in AWS's shapes.
 */
import type { SeedFail } from './auth-roles.ts';
import { isRecord } from './auth-roles.ts';
import { parseDuration } from './duration.ts';
import { badRequest, type Ctx, fail, ok, param, type Reply, str, strList } from './http.ts';
import { createLease } from './leases.ts';
import { type Mount, randomId, SYSTEM_MAX_TTL } from './state.ts';

type CredentialType = 'iam_user' | 'assumed_role' | 'federation_token';

export interface AwsRole {
  credentialType: CredentialType;
  roleArns: string[];
  defaultStsTtl: number;
  maxStsTtl: number;
}

const TYPES: readonly string[] = ['iam_user', 'assumed_role', 'federation_token'];
/** path_user.go: the `ttl` field's default. */
const DEFAULT_STS_TTL = 3600;

/**
 * Seed: `{ type: aws, roles: { <name>: { credential_type, role_arns, default_sts_ttl,
 * max_sts_ttl } } }`.
 */
export function configureAws(
  mount: Mount,
  cfg: Record<string, unknown>,
  at: (string | number)[],
  failAt: SeedFail,
): void {
  const roles = new Map<string, AwsRole>();
  const raw = cfg['roles'] ?? {};
  if (!isRecord(raw)) throw failAt([...at, 'roles'], 'must be a mapping');
  for (const [name, r] of Object.entries(raw)) {
    const rAt = [...at, 'roles', name];
    if (!isRecord(r)) throw failAt(rAt, 'must be a mapping');
    const type = String(r['credential_type'] ?? '');
    if (!TYPES.includes(type))
      throw failAt([...rAt, 'credential_type'], `must be one of ${TYPES.join(', ')}`);
    const arns = r['role_arns'] === undefined ? [] : strList(r['role_arns']);
    if (!arns) throw failAt([...rAt, 'role_arns'], 'must be a list of ARNs');
    if (type === 'assumed_role' && arns.length === 0)
      throw failAt([...rAt, 'role_arns'], 'an assumed_role role needs role_arns');
    const ttl = (key: string): number => {
      const d = parseDuration(r[key] ?? 0);
      if (d === undefined) throw failAt([...rAt, key], 'must be seconds or a duration like "1h"');
      return d;
    };
    roles.set(name, {
      credentialType: type as CredentialType,
      roleArns: arns,
      defaultStsTtl: ttl('default_sts_ttl'),
      maxStsTtl: ttl('max_sts_ttl'),
    });
  }
  mount.state.roles = roles;
}

/** `<mount>/(creds|sts)/<role>`, GET or POST. */
export function handleAwsEngine(ctx: Ctx): Reply {
  const { req, rest, mount } = ctx;
  const [head, name, ...extra] = rest.split('/');
  if ((head !== 'creds' && head !== 'sts') || !name || extra.length > 0) return fail(404, 'unsupported path');
  if (req.method !== 'GET' && req.method !== 'POST') return fail(405, 'unsupported operation');
  const role = (mount!.state.roles as Map<string, AwsRole> | undefined)?.get(name);
  if (!role) return badRequest(`Role "${name}" not found`);
  const asked = param(req, 'ttl');
  let ttl: number;
  if (asked !== undefined && asked !== '') {
    const parsed = parseDuration(asked);
    if (parsed === undefined) return badRequest(`error converting input ${String(asked)} for field "ttl"`);
    ttl = parsed;
  } else {
    ttl = role.defaultStsTtl > 0 ? role.defaultStsTtl : DEFAULT_STS_TTL;
  }
  ttl = Math.min(ttl, role.maxStsTtl > 0 ? role.maxStsTtl : SYSTEM_MAX_TTL);
  if (role.credentialType === 'iam_user') return credentials(ctx, name, SYSTEM_MAX_TTL, true, 'AKIA', {});
  if (role.credentialType === 'federation_token') return credentials(ctx, name, ttl, false, 'ASIA', {});
  let roleArn = str(param(req, 'role_arn')) ?? '';
  if (roleArn === '') {
    if (role.roleArns.length !== 1)
      return badRequest('did not supply a role_arn parameter and unable to determine one');
    roleArn = role.roleArns[0] ?? '';
  } else if (!role.roleArns.includes(roleArn)) {
    return badRequest(`role_arn "${roleArn}" not in allowed role arns for Vault role "${name}"`);
  }
  const session = (str(param(req, 'role_session_name')) || `vault-token-${name}-${randomId(8)}`).replace(
    /[^a-zA-Z0-9+=,.@_-]/g,
    '_',
  );
  const [, account = '000000000000', roleName = name] =
    /^arn:aws[^:]*:iam::(\d+):role\/(?:.*\/)?([^/]+)$/.exec(roleArn) ?? [];
  return credentials(ctx, name, ttl, false, 'ASIA', {
    arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${session}`,
  });
}

/** A key pair (and an STS session token unless `iam_user`) under a lease of `ttl` seconds. */
function credentials(
  ctx: Ctx,
  name: string,
  ttl: number,
  renewable: boolean,
  keyPrefix: string,
  extra: Record<string, string>,
): Reply {
  const { st, req, rest, mount } = ctx;
  const lease = createLease(st, req.ns, {
    prefix: `${mount!.path}/${rest.split('/')[0]}/${name}`,
    ttl,
    maxTtl: ttl,
    token: ctx.caller?.id,
    mountType: 'aws',
  });
  lease.renewable = renewable;
  const upper = (n: number) =>
    randomId(n * 2)
      .replace(/[^A-Z2-7]/g, '')
      .padEnd(n, 'Q')
      .slice(0, n);
  return ok({
    lease_id: lease.id,
    renewable,
    lease_duration: ttl,
    data: {
      access_key: `${keyPrefix}${upper(16)}`,
      secret_key: randomId(40),
      security_token: renewable ? null : `FwoGZXIvYXdzE${randomId(120)}`,
      ...extra,
    },
    mount_type: 'aws',
  });
}
