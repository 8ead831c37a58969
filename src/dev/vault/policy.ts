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

function toRegex(pattern: string): RegExp {
  const glob = pattern.endsWith('*');
  const body = glob ? pattern.slice(0, -1) : pattern;
  const src = body
    .split('/')
    .map((seg) => (seg === '+' ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${src}${glob ? '.*' : ''}$`);
}

/** Does a rule path match a request path? */
export function pathMatches(pattern: string, path: string): boolean {
  return toRegex(pattern).test(path);
}

function rulesFor(ns: Namespace, name: string): PolicyRule[] {
  if (name === 'default') return [...DEFAULT_POLICY, ...(ns.policies.get('default') ?? [])];
  return ns.policies.get(name) ?? [];
}

/** Capabilities a set of policies grants on a path (union; `deny` wins). */
export function capabilities(ns: Namespace, policies: string[], path: string): Set<string> {
  if (policies.includes('root')) return new Set(['root']);
  const caps = new Set<string>();
  for (const name of policies) {
    for (const rule of rulesFor(ns, name)) {
      if (pathMatches(rule.path, path)) for (const c of rule.capabilities) caps.add(c);
    }
  }
  if (caps.has('deny')) return new Set();
  return caps;
}

/** The capability an operation needs. */
export function neededCapabilities(method: string, list: boolean): string[] {
  if (method === 'GET' || method === 'HEAD') return list ? ['list'] : ['read'];
  if (method === 'POST') return ['create', 'update'];
  if (method === 'PATCH') return ['patch', 'update'];
  if (method === 'DELETE') return ['delete'];
  return [];
}

export function allowed(
  ns: Namespace,
  policies: string[],
  path: string,
  method: string,
  list: boolean,
): boolean {
  const caps = capabilities(ns, policies, path);
  if (caps.has('root')) return true;
  return neededCapabilities(method, list).some((c) => caps.has(c));
}

/** True when any rule of the policies could reach something under `prefix` (preflight check). */
export function anyAccessUnder(ns: Namespace, policies: string[], prefix: string): boolean {
  if (policies.includes('root')) return true;
  for (const name of policies) {
    for (const rule of rulesFor(ns, name)) {
      if (rule.capabilities.includes('deny') || rule.capabilities.length === 0) continue;
      const literal = rule.path.split(/[*+]/)[0] ?? '';
      if (literal.startsWith(prefix) || prefix.startsWith(literal)) return true;
    }
  }
  return false;
}
