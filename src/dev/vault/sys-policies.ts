import { badRequest, type Ctx, fail, noContent, notFound, ok, type Reply } from './http.ts';
import { parsePolicy, renderPolicy } from './policy-text.ts';

/** Policies that exist without being stored, as `vault policy list` shows them. */
const BUILTIN = ['default'];

/**
 * `sys/policies/acl[/<name>]`: list, read, write (HCL or JSON, optionally base64) and delete ACL
 * policies of the request's namespace (vault/logical_system.go handlePolicies*). `legacy` serves
 * the older `sys/policy[/<name>]` that node-vault's policy commands use: listed by a plain read,
 * `rules` instead of `policy`.
 */
export function handlePolicies(ctx: Ctx, legacy = false): Reply {
  const { req } = ctx;
  const ns = req.ns;
  const name = ctx.rest.replace(/\/+$/, '');
  if (name === '') {
    if (!(req.list || (legacy && req.method === 'GET'))) return fail(405);
    const names = new Set([...BUILTIN, ...ns.policies.keys()]);
    const keys = [...names].sort();
    if (ns.parent === undefined) keys.push('root');
    return ok({ data: legacy ? { keys, policies: keys } : { keys }, mount_type: 'system' });
  }
  if (req.list) return fail(405);
  const lower = name.toLowerCase();
  switch (req.method) {
    case 'GET':
    case 'HEAD': {
      const field = legacy ? 'rules' : 'policy';
      if (lower === 'root' && ns.parent === undefined)
        return ok({ data: { name: 'root', [field]: '' }, mount_type: 'system' });
      const rules = ns.policies.get(lower);
      if (!rules && lower !== 'default') return notFound();
      const policy = ns.policyText.get(lower) ?? renderPolicy(rules ?? []);
      return ok({ data: { name: lower, [field]: policy }, mount_type: 'system' });
    }
    case 'POST': {
      if (lower === 'root') return badRequest('cannot update "root" policy');
      const warnings: string[] = [];
      let raw = req.body['policy'];
      if ((raw === undefined || raw === '') && legacy && typeof req.body['rules'] === 'string') {
        raw = req.body['rules'];
        warnings.push("'rules' is deprecated, please use 'policy' instead");
      }
      if (typeof raw !== 'string' || raw === '')
        return badRequest("'policy' parameter not supplied or empty");
      const text = decodeBase64(raw) ?? raw;
      const parsed = parsePolicy(text);
      if (!parsed.ok) return badRequest(parsed.error);
      ns.policies.set(lower, parsed.rules);
      ns.policyText.set(lower, text);
      if (lower !== name) warnings.unshift(`policy name was converted to ${lower}`);
      return warnings.length > 0 ? ok({ warnings, mount_type: 'system' }) : noContent;
    }
    case 'DELETE':
      if (lower === 'root' || lower === 'default') return badRequest(`cannot delete "${lower}" policy`);
      ns.policies.delete(lower);
      ns.policyText.delete(lower);
      return noContent;
    default:
      return fail(405);
  }
}

/** Vault accepts the policy base64-encoded: a body that decodes cleanly is taken decoded. */
function decodeBase64(text: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const decoded = Buffer.from(text, 'base64').toString('utf8');
  return decoded.includes('\uFFFD') ? undefined : decoded;
}
