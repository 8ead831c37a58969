import { rfc3339 } from './duration.ts';
import {
  type Namespace,
  newTokenId,
  randomId,
  SYSTEM_MAX_TTL,
  type Token,
  type VaultState,
} from './state.ts';

export interface IssueOptions {
  id?: string;
  policies: string[];
  /** Seconds; 0 = no expiry. */
  ttl: number;
  /** Seconds; caps renewals. 0 = the system max (768h). */
  maxTtl?: number;
  explicitMaxTtl?: number;
  period?: number;
  renewable?: boolean;
  numUses?: number;
  meta?: Record<string, string> | null;
  displayName?: string;
  path: string;
  orphan?: boolean;
  parent?: string;
  noDefaultPolicy?: boolean;
}

/** Sorted policies with `default` added, as Vault reports them (root stays alone). */
export function normalizePolicies(policies: string[], noDefault = false): string[] {
  if (policies.includes('root')) return ['root'];
  const set = new Set(policies);
  if (!noDefault) set.add('default');
  return [...set].sort();
}

export function issueToken(st: VaultState, ns: Namespace, o: IssueOptions): Token {
  const now = st.now();
  const policies = normalizePolicies(o.policies, o.noDefaultPolicy);
  const isRoot = policies.includes('root') && o.ttl === 0;
  const period = o.period ?? 0;
  const ttl = period > 0 ? period : o.ttl;
  const cap = o.explicitMaxTtl || o.maxTtl || (period > 0 ? 0 : SYSTEM_MAX_TTL);
  const token: Token = {
    id: o.id ?? newTokenId(),
    accessor: randomId(24),
    policies,
    createdAt: now,
    creationTtl: isRoot ? 0 : ttl,
    expireAt: ttl > 0 ? now + ttl * 1000 : null,
    maxExpireAt: ttl > 0 && cap > 0 ? now + cap * 1000 : null,
    explicitMaxTtl: o.explicitMaxTtl ?? 0,
    period,
    renewable: isRoot ? false : (o.renewable ?? true),
    numUses: o.numUses ?? 0,
    meta: o.meta ?? null,
    displayName: o.displayName ?? 'token',
    path: o.path,
    orphan: o.orphan ?? false,
    parent: o.parent,
    revoked: false,
    lastRenewal: null,
  };
  if (token.maxExpireAt !== null && token.expireAt !== null && token.expireAt > token.maxExpireAt) {
    token.expireAt = token.maxExpireAt;
  }
  ns.tokens.set(token.id, token);
  return token;
}

export function tokenAlive(st: VaultState, t: Token): boolean {
  return !t.revoked && (t.expireAt === null || st.now() < t.expireAt);
}

/** Finds a live token in the namespace or its ancestors. */
export function findToken(
  st: VaultState,
  ns: Namespace,
  id: string | undefined,
): { token: Token; ns: Namespace } | undefined {
  if (!id) return undefined;
  for (let n: Namespace | undefined = ns; n; n = n.parent) {
    const token = n.tokens.get(id);
    if (token) return tokenAlive(st, token) ? { token, ns: n } : undefined;
  }
  return undefined;
}

function* allNamespaces(ns: Namespace): Generator<Namespace> {
  yield ns;
  for (const child of ns.children.values()) yield* allNamespaces(child);
}

/** Revokes a token, its non-orphan children and every lease it created. */
export function revokeToken(st: VaultState, token: Token): void {
  if (token.revoked) return;
  token.revoked = true;
  for (const ns of allNamespaces(st.root)) {
    ns.tokens.delete(token.id);
    for (const lease of ns.leases.values()) if (lease.token === token.id) lease.revoked = true;
    for (const child of [...ns.tokens.values()]) if (child.parent === token.id) revokeToken(st, child);
  }
}

/** Counts one use of a limited-use token; revokes it after the last one. */
export function useToken(st: VaultState, token: Token): void {
  if (token.numUses <= 0) return;
  token.numUses--;
  if (token.numUses === 0) revokeToken(st, token);
}

/** The `auth` block of a login or token-create response. */
export function authBlock(t: Token, leaseDuration?: number): Record<string, unknown> {
  return {
    client_token: t.id,
    accessor: t.accessor,
    policies: t.policies,
    token_policies: t.policies,
    metadata: t.meta,
    lease_duration: leaseDuration ?? t.creationTtl,
    renewable: t.renewable,
    entity_id: '',
    token_type: 'service',
    orphan: t.orphan,
    mfa_requirement: null,
    num_uses: t.numUses,
  };
}

/** `data` of auth/token/lookup(-self). Root tokens have no renewable/issue_time keys. */
export function lookupData(st: VaultState, t: Token): Record<string, unknown> {
  const ttl = t.expireAt === null ? 0 : Math.max(0, Math.floor((t.expireAt - st.now()) / 1000));
  const data: Record<string, unknown> = {
    accessor: t.accessor,
    creation_time: Math.floor(t.createdAt / 1000),
    creation_ttl: t.creationTtl,
    display_name: t.displayName,
    entity_id: '',
    expire_time: t.expireAt === null ? null : rfc3339(t.expireAt),
    explicit_max_ttl: t.explicitMaxTtl,
    id: t.id,
    meta: t.meta,
    num_uses: t.numUses,
    orphan: t.orphan,
    path: t.path,
    policies: t.policies,
    ttl,
    type: 'service',
  };
  if (t.expireAt !== null) {
    data['issue_time'] = rfc3339(t.createdAt);
    data['renewable'] = t.renewable;
  }
  if (t.period > 0) data['period'] = t.period;
  if (t.lastRenewal !== null) {
    data['last_renewal'] = rfc3339(t.lastRenewal);
    data['last_renewal_time'] = Math.floor(t.lastRenewal / 1000);
  }
  return data;
}
