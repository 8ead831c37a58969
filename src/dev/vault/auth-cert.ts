import { X509Certificate } from 'node:crypto';
import { isRecord, loginReply, type RoleTokenParams, roleTokenParams, type SeedFail } from './auth-roles.ts';
import { badRequest, type Ctx, notFound, type Reply, str, strList } from './http.ts';
import { goGlob } from './jwt-verify.ts';
import type { Mount } from './state.ts';

interface CertRole {
  name: string;
  ca: X509Certificate;
  allowedCommonNames: string[];
  token: RoleTokenParams;
}

const INVALID = 'invalid certificate or no client certificate supplied';
const NO_CHAIN = 'no chain matching all constraints could be found for this login certificate';

/** Seed: `roles: { <name>: { certificate: <CA PEM>, allowed_common_names: [...], policies, token_ttl } }`. */
export function configureCert(
  m: Mount,
  cfg: Record<string, unknown>,
  at: (string | number)[],
  fail: SeedFail,
): void {
  const roles = new Map<string, CertRole>();
  const raw = cfg['roles'] ?? {};
  if (!isRecord(raw)) throw fail([...at, 'roles'], 'must be a mapping of role name to settings');
  for (const [name, r] of Object.entries(raw)) {
    const rAt = [...at, 'roles', name];
    if (!isRecord(r)) throw fail(rAt, 'must be a mapping');
    let ca: X509Certificate;
    try {
      ca = new X509Certificate(String(r['certificate'] ?? ''));
    } catch {
      throw fail([...rAt, 'certificate'], 'must be a PEM certificate');
    }
    roles.set(name, {
      name,
      ca,
      allowedCommonNames: strList(r['allowed_common_names'] ?? []) ?? [],
      token: roleTokenParams(r, rAt, fail),
    });
  }
  m.state = { roles };
}

function commonName(cert: X509Certificate): string {
  const line = cert.subject.split('\n').find((l) => l.startsWith('CN='));
  return line ? line.slice(3) : '';
}

function trusted(cert: X509Certificate, ca: X509Certificate, nowMs: number): boolean {
  const inDate = nowMs >= Date.parse(cert.validFrom) && nowMs <= Date.parse(cert.validTo);
  return inDate && cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

const cnMatch = (allowed: string[], cn: string): boolean =>
  allowed.length === 0 || allowed.some((p) => goGlob(p, cn));

/**
 * `auth/<cert mount>/login`, in the order of vault's builtin/credential/cert path_login.go
 * verifyCredentials: a TLS connection, a client certificate, trust by the CAs of the named role
 * (or of every role), then the role constraints.
 */
export function handleCert(ctx: Ctx): Reply {
  const { req, st } = ctx;
  if (ctx.rest !== 'login' || req.method !== 'POST') return notFound();
  if (!req.tls) return badRequest('tls connection required');
  const cert = req.peerCert;
  if (!cert) return badRequest('client certificate must be supplied');
  const roles = (ctx.mount!.state as { roles: Map<string, CertRole> }).roles;
  const now = st.now();
  const wanted = str(req.body['name']) ?? '';
  const candidates = [...roles.values()].filter((r) => wanted === '' || r.name === wanted);
  const trustedRoles = candidates.filter((r) => trusted(cert, r.ca, now));
  if (trustedRoles.length === 0) return badRequest(INVALID);
  const cn = commonName(cert);
  const role = trustedRoles.find((r) => cnMatch(r.allowedCommonNames, cn));
  if (!role) return badRequest(NO_CHAIN);
  const meta = {
    cert_name: role.name,
    common_name: cn,
    serial_number: BigInt(`0x${cert.serialNumber}`).toString(10),
    subject_key_id: '',
    authority_key_id: '',
  };
  return loginReply(
    st,
    req.ns,
    ctx.mount!.path,
    role.token,
    meta,
    `${ctx.mount!.path.slice(5)}-${role.name}`,
  );
}
