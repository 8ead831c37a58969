import { rfc3339 } from './duration.ts';
import { badRequest, type Ctx, type Envelope, envelope, invalidToken, ok, type Reply, str } from './http.ts';
import { type Namespace, newTokenId, randomId, type VaultState, type WrapEntry } from './state.ts';
import { findToken } from './tokens.ts';

const INVALID = 'wrapping token is not valid or does not exist';

/** Stores a response behind a single-use wrapping token and answers with `wrap_info`. */
export function wrapResponse(
  st: VaultState,
  ns: Namespace,
  response: Envelope,
  ttl: number,
  creationPath: string,
): Reply {
  const entry: WrapEntry = {
    token: newTokenId(),
    accessor: randomId(24),
    createdAt: st.now(),
    ttl,
    creationPath,
    response,
  };
  ns.wraps.set(entry.token, entry);
  const wrapInfo: Record<string, unknown> = {
    token: entry.token,
    accessor: entry.accessor,
    ttl,
    creation_time: rfc3339(entry.createdAt),
    creation_path: creationPath,
  };
  const wrappedAccessor = (response.auth as { accessor?: string } | null)?.accessor;
  if (wrappedAccessor) wrapInfo['wrapped_accessor'] = wrappedAccessor;
  return {
    status: 200,
    body: envelope({ request_id: '', wrap_info: wrapInfo, mount_type: response.mount_type }),
  };
}

function findWrap(st: VaultState, ns: Namespace, token: string | undefined): WrapEntry | undefined {
  if (!token) return undefined;
  for (let n: Namespace | undefined = ns; n; n = n.parent) {
    const entry = n.wraps.get(token);
    if (!entry) continue;
    if (st.now() >= entry.createdAt + entry.ttl * 1000) {
      n.wraps.delete(token);
      return undefined;
    }
    return entry;
  }
  return undefined;
}

function burn(ns: Namespace, token: string): void {
  for (let n: Namespace | undefined = ns; n; n = n.parent) n.wraps.delete(token);
}

/** Picks the wrapping token: from the body (header must then be a real token) or the header. */
function pick(ctx: Ctx): { token: string | undefined; error?: Reply } {
  const { req, st } = ctx;
  const inBody = str(req.body['token']);
  if (!inBody) return { token: req.token };
  if (req.token === inBody) {
    burn(req.ns, inBody);
    return { token: undefined, error: badRequest(INVALID) };
  }
  if (req.token && !findToken(st, req.ns, req.token) && !findWrap(st, req.ns, req.token)) {
    return { token: undefined, error: invalidToken() };
  }
  return { token: inBody };
}

/** `sys/wrapping/unwrap` and `sys/wrapping/lookup`. */
export function handleWrapping(ctx: Ctx): Reply | undefined {
  const { req, st, rest } = ctx;
  if (req.method !== 'POST' && !(rest === 'lookup' && req.method === 'GET')) return undefined;
  if (rest !== 'unwrap' && rest !== 'lookup') return undefined;
  const picked = pick(ctx);
  if (picked.error) return picked.error;
  const entry = findWrap(st, req.ns, picked.token);
  if (!entry) return badRequest(INVALID);
  if (rest === 'lookup') {
    return ok({
      data: {
        creation_path: entry.creationPath,
        creation_time: rfc3339(entry.createdAt),
        creation_ttl: entry.ttl,
      },
      mount_type: 'system',
    });
  }
  burn(req.ns, entry.token);
  return { status: 200, body: { ...entry.response, request_id: envelope().request_id } };
}
