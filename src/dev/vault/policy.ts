import type { Namespace, PolicyRule } from './state.ts';

/** Vault's built-in `default` policy, trimmed to what a client of this server touches. */
const DEFAULT_POLICY: PolicyRule[] = [
  { path: 'auth/token/lookup-self', capabilities: ['read'] },
  { path: 'auth/token/renew-self', capabilities: ['update'] },
  { path: 'auth/token/revoke-self', capabilities: ['update'] },
  { path: 'sys/capabilities-self', capabilities: ['update'] },
  { path: 'sys/leases/renew', capabilities: ['update'] },
  { path: 'sys/leases/lookup', capabilities: ['update'] },
  { path: 'sys/renew', capabilities: ['update'] },
  { path: 'sys/wrapping/lookup', capabilities: ['update'] },
  { path: 'sys/wrapping/unwrap', capabilities: ['update'] },
  { path: 'sys/wrapping/wrap', capabilities: ['update'] },
  { path: 'sys/internal/ui/resultant-acl', capabilities: ['read'] },
  { path: 'cubbyhole/*', capabilities: ['create', 'read', 'update', 'delete', 'list'] },
];

const CAPABILITIES = new Set(['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny']);

export function isCapability(c: string): boolean {
  return CAPABILITIES.has(c);
}

/**
 * The policies of a token compiled as Vault does (vault/acl.go NewACL): rules for the same path
 * are merged (union, `deny` wins), kept apart by kind: exact paths, prefix globs (`a/b*`, stored
 * without the `*`) and paths with `+` segments (kept whole).
 */
export interface Acl {
  root: boolean;
  exact: Map<string, Set<string>>;
  prefix: Map<string, Set<string>>;
  segment: Map<string, Set<string>>;
}

function rulesFor(ns: Namespace, name: string): PolicyRule[] {
  if (name === 'default') return [...DEFAULT_POLICY, ...(ns.policies.get('default') ?? [])];
  return ns.policies.get(name) ?? [];
}

const hasSegmentWildcard = (path: string): boolean => path.startsWith('+/') || path.includes('/+');

function merge(into: Map<string, Set<string>>, key: string, caps: string[]): void {
  const existing = into.get(key);
  if (existing?.has('deny')) return;
  if (caps.includes('deny')) into.set(key, new Set(['deny']));
  else into.set(key, new Set([...(existing ?? []), ...caps]));
}

/** Compiles the named policies of namespace `ns` into one ACL. */
export function buildAcl(ns: Namespace, policies: string[]): Acl {
  const acl: Acl = {
    root: policies.includes('root'),
    exact: new Map(),
    prefix: new Map(),
    segment: new Map(),
  };
  if (acl.root) return acl;
  for (const name of policies) {
    for (const rule of rulesFor(ns, name)) {
      if (hasSegmentWildcard(rule.path)) merge(acl.segment, rule.path, rule.capabilities);
      else if (rule.path.endsWith('*')) merge(acl.prefix, rule.path.slice(0, -1), rule.capabilities);
      else merge(acl.exact, rule.path, rule.capabilities);
    }
  }
  return acl;
}

interface Candidate {
  firstWildcard: number;
  isPrefix: boolean;
  wildcards: number;
  path: string;
  caps: Set<string>;
}

/** Is `b` more specific than `a`? The priority order of CheckAllowedFromNonExactPaths. */
function moreSpecific(a: Candidate, b: Candidate): boolean {
  if (a.firstWildcard !== b.firstWildcard) return b.firstWildcard > a.firstWildcard;
  if (a.isPrefix !== b.isPrefix) return a.isPrefix;
  if (a.wildcards !== b.wildcards) return b.wildcards < a.wildcards;
  if (a.path.length !== b.path.length) return b.path.length > a.path.length;
  return b.path > a.path;
}

/** The one glob or `+` rule that governs `path`: the longest prefix glob, ranked against `+` rules. */
function nonExactRule(acl: Acl, path: string): Set<string> | undefined {
  let best: Candidate | undefined;
  for (const [prefix, caps] of acl.prefix) {
    if (path.startsWith(prefix) && (!best || prefix.length > best.path.length)) {
      best = { firstWildcard: prefix.length, isPrefix: true, wildcards: 0, path: prefix, caps };
    }
  }
  const parts = path.split('/');
  for (const [full, caps] of acl.segment) {
    const isPrefix = full.endsWith('*');
    const pattern = isPrefix ? full.slice(0, -1) : full;
    const segs = pattern.split('/');
    if (parts.length < segs.length || (!isPrefix && parts.length !== segs.length)) continue;
    let wildcards = 0;
    const matches = segs.every((seg, i) => {
      if (seg === '+') {
        wildcards++;
        return true;
      }
      if (seg === parts[i]) return true;
      return isPrefix && i === segs.length - 1 && parts[i]!.startsWith(seg);
    });
    if (!matches) continue;
    const c: Candidate = { firstWildcard: full.indexOf('+'), isPrefix, wildcards, path: pattern, caps };
    if (!best || moreSpecific(best, c)) best = c;
  }
  return best?.caps;
}

/**
 * The capabilities of the single most specific rule for `path` (vault/acl.go AllowOperation): an
 * exact rule, else the best glob / `+` rule. A list request (path ending in `/`) also tries the
 * path without the slash first. Undefined when no rule matches.
 */
export function ruleFor(acl: Acl, path: string, list: boolean): Set<string> | undefined {
  const exact = acl.exact.get(path) ?? (list ? acl.exact.get(path.replace(/\/$/, '')) : undefined);
  if (exact) return exact;
  if (list && path.endsWith('/')) {
    const trimmed = nonExactRule(acl, path.slice(0, -1));
    if (trimmed) return trimmed;
  }
  return nonExactRule(acl, path);
}

/** The capability an operation needs (any one of them). */
export function neededCapabilities(method: string, list: boolean): string[] {
  if (method === 'GET' || method === 'HEAD') return list ? ['list'] : ['read'];
  if (method === 'POST') return ['create', 'update'];
  if (method === 'PATCH') return ['patch'];
  if (method === 'DELETE') return ['delete'];
  return [];
}

/** Does the ACL allow `method` on `path` (relative to the token's namespace)? */
export function allowed(acl: Acl, path: string, method: string, list: boolean): boolean {
  if (acl.root) return true;
  const caps = ruleFor(acl, path, list);
  if (!caps || caps.has('deny')) return false;
  return neededCapabilities(method, list).some((c) => caps.has(c));
}

const usable = (caps: Set<string>): boolean => !caps.has('deny') && caps.size > 0;

/**
 * Can the token see anything under a mount (logical_system.go hasMountAccess)? Its own rule for
 * the mount path, else any non-deny rule at or below it.
 */
export function hasMountAccess(acl: Acl, mountPath: string): boolean {
  if (acl.root) return true;
  const own = ruleFor(acl, mountPath, true);
  if (own && usable(own)) return true;
  for (const map of [acl.exact, acl.prefix]) {
    for (const [key, caps] of map) if (key.startsWith(mountPath) && usable(caps)) return true;
  }
  const mountSegs = mountPath.replace(/\/$/, '').split('/');
  for (const [full, caps] of acl.segment) {
    if (!usable(caps)) continue;
    const segs = full.replace(/\*$/, '').split('/');
    if (mountSegs.every((m, i) => i >= segs.length || segs[i] === '+' || segs[i] === m)) return true;
  }
  return false;
}
