import { parseDuration } from './duration.ts';
import { ok, type Reply, strList } from './http.ts';
import type { Namespace, VaultState } from './state.ts';
import { authBlock, issueToken } from './tokens.ts';

/** Token settings shared by every auth role (`token_*` fields in Vault). */
export interface RoleTokenParams {
  policies: string[];
  ttl: number;
  maxTtl: number;
  numUses: number;
  period: number;
}

export type SeedFail = (path: (string | number)[], message: string) => Error;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads `policies`/`token_policies`, `token_ttl`, `token_max_ttl`, `token_num_uses`, `token_period`. */
export function roleTokenParams(
  cfg: Record<string, unknown>,
  at: (string | number)[],
  fail: SeedFail,
): RoleTokenParams {
  const dur = (key: string): number => {
    if (cfg[key] === undefined) return 0;
    const d = parseDuration(cfg[key]);
    if (d === undefined) throw fail([...at, key], 'must be seconds or a duration like "1h"');
    return d;
  };
  const rawPolicies = cfg['token_policies'] ?? cfg['policies'] ?? [];
  const policies = strList(rawPolicies);
  if (!policies) throw fail([...at, 'policies'], 'must be a list of policy names');
  return {
    policies,
    ttl: dur('token_ttl'),
    maxTtl: dur('token_max_ttl'),
    numUses: Number(cfg['token_num_uses'] ?? 0) || 0,
    period: dur('token_period'),
  };
}

/** Issues the login token and answers with the auth block (data null). */
export function loginReply(
  st: VaultState,
  ns: Namespace,
  mountPath: string,
  p: RoleTokenParams,
  metadata: Record<string, string>,
  displayName: string,
): Reply {
  const token = issueToken(st, ns, {
    policies: p.policies,
    ttl: p.ttl || 2764800,
    maxTtl: p.maxTtl,
    period: p.period,
    numUses: p.numUses,
    meta: metadata,
    displayName,
    path: `${mountPath}/login`,
    orphan: true,
  });
  return ok({ auth: authBlock(token), mount_type: mountPath.split('/')[1] ?? '' });
}
