/**
 * The PKI secrets engine: a root CA (from the seed, generated at start, or by
 * `root/generate/internal`), roles (pki-roles.ts), `issue/<role>` / `sign/<role>` with Vault's
 * response shape, and the unauthenticated fetch paths (pki-fetch.ts).
 */
import { generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { isRecord, type SeedFail } from './auth-roles.ts';
import { parseDuration } from './duration.ts';
import { badRequest, type Ctx, fail, noContent, ok, param, type Reply, str, strList } from './http.ts';
import { createLease } from './leases.ts';
import { handlePkiFetch, isPkiPublic, normalizeSerial } from './pki-fetch.ts';
import { nameAllowed, type PkiRole, roleData, roleOf, uriSansError } from './pki-roles.ts';
import { type Mount, SYSTEM_MAX_TTL } from './state.ts';
import { parseGoBool } from './sys.ts';
import {
  buildCertificate,
  type CertificateAuthority,
  generateCa,
  isSelfSigned,
  loadCa,
  newSerial,
  parseCsr,
  serialText,
} from './x509.ts';

export interface PkiState {
  ca: CertificateAuthority | undefined;
  roles: Map<string, PkiRole>;
  /** Issued certificates (PEM) by normalized serial, for `cert/<serial>`. */
  certs: Map<string, string>;
  /** The cRLNumber of the last CRL built. */
  crlNumber: number;
}

const NOT_BEFORE_BACKDATE_MS = 30_000;

export function pkiState(m: Mount): PkiState {
  if (!m.state.roles)
    m.state = { ca: undefined, roles: new Map(), certs: new Map(), crlNumber: 0 } satisfies PkiState;
  return m.state as PkiState;
}

/** A request flag as Vault's TypeBool reads it (JSON true, or Go's strconv.ParseBool texts). */
const bool = (v: unknown): boolean =>
  v === true || v === 1 || (typeof v === 'string' && parseGoBool(v) === true);

/**
 * Seed: `{ type: pki, ca: { certificate, private_key }, common_name, ttl, roles: { <name>: {
 * allowed_domains, allow_subdomains, allow_bare_domains, allow_any_name, allow_localhost,
 * allow_ip_sans, allowed_uri_sans, ttl, max_ttl, key_type, key_bits, generate_lease } } }`.
 * Without `ca` a root CA is generated at start (EC P-256, `common_name` default
 * "secrun dev root CA", `ttl` default 87600h).
 */
export function configurePki(
  m: Mount,
  cfg: Record<string, unknown>,
  at: (string | number)[],
  failAt: SeedFail,
  now: number,
): void {
  const s = pkiState(m);
  const ca = cfg['ca'];
  if (ca !== undefined) {
    if (!isRecord(ca) || typeof ca['certificate'] !== 'string' || typeof ca['private_key'] !== 'string') {
      throw failAt([...at, 'ca'], 'needs `certificate` and `private_key` (PEM strings)');
    }
    try {
      s.ca = loadCa(ca['certificate'], ca['private_key']);
    } catch (err) {
      throw failAt([...at, 'ca'], (err as Error).message);
    }
  } else {
    const ttl = parseDuration(cfg['ttl'] ?? '87600h');
    if (ttl === undefined) throw failAt([...at, 'ttl'], 'must be seconds or a duration like "87600h"');
    s.ca = generateCa(
      String(cfg['common_name'] ?? 'secrun dev root CA'),
      new Date(now - NOT_BEFORE_BACKDATE_MS),
      new Date(now + ttl * 1000),
    );
  }
  const roles = cfg['roles'] ?? {};
  if (!isRecord(roles)) throw failAt([...at, 'roles'], 'must be a mapping of role name to settings');
  for (const [name, raw] of Object.entries(roles)) {
    if (!isRecord(raw)) throw failAt([...at, 'roles', name], 'must be a mapping');
    const role = roleOf(raw);
    if (typeof role === 'string') throw failAt([...at, 'roles', name], role);
    s.roles.set(name, role);
  }
}

function newKey(role: PkiRole): { privateKey: KeyObject; publicKey: KeyObject; pem: string } {
  if (role.keyType === 'ec') {
    const curve = { 384: 'secp384r1', 521: 'secp521r1' }[role.keyBits] ?? 'prime256v1';
    const k = generateKeyPairSync('ec', { namedCurve: curve });
    return { ...k, pem: k.privateKey.export({ type: 'sec1', format: 'pem' }).toString() };
  }
  if (role.keyType === 'rsa') {
    const k = generateKeyPairSync('rsa', { modulusLength: role.keyBits || 2048 });
    return { ...k, pem: k.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString() };
  }
  const k = generateKeyPairSync('ed25519');
  return { ...k, pem: k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

interface Request {
  commonName: string;
  dnsNames: string[];
  ipSans: string[];
  uriSans: string[];
  /** `exclude_cn_from_sans`: the common name is checked but not added to the DNS names. */
  excludeCn: boolean;
  /** `remove_roots_from_chain`: self-signed certificates are left out of `ca_chain`. */
  removeRoots: boolean;
  publicKey: KeyObject;
}

/** Checks names and TTL, signs, and answers like Vault (with a lease when the role asks for one). */
function issueCertificate(
  ctx: Ctx,
  roleName: string,
  role: PkiRole,
  r: Request,
): Reply | Record<string, unknown> {
  const { st, req, mount } = ctx;
  const ca = pkiState(mount!).ca;
  if (!ca) return badRequest('no default issuer currently configured');
  if (r.commonName === '')
    return badRequest('the common_name field is required, or must be provided in a CSR');
  if (!nameAllowed(role, r.commonName))
    return badRequest(`common name ${r.commonName} not allowed by this role`);
  for (const n of r.dnsNames) {
    if (!nameAllowed(role, n)) return badRequest(`subject alternate name ${n} not allowed by this role`);
  }
  const uriError = uriSansError(role, r.uriSans, ctx.rest.startsWith('sign/') ? 'CSR' : 'the API');
  if (uriError) return badRequest(uriError);
  if (r.ipSans.length > 0 && !role.allowIpSans) {
    return badRequest(
      `IP Subject Alternative Names are not allowed in this role, but was provided ${r.ipSans.join(', ')}`,
    );
  }
  const bad = r.ipSans.find((ip) => isIP(ip) === 0);
  if (bad !== undefined) return badRequest(`the value "${bad}" is not a valid IP address`);
  const asked = param(req, 'ttl');
  let ttl = asked === undefined || asked === '' ? role.ttl || SYSTEM_MAX_TTL : parseDuration(asked);
  if (ttl === undefined) return badRequest(`error parsing ttl: invalid duration ${String(asked)}`);
  const maxTtl = role.maxTtl || SYSTEM_MAX_TTL;
  const warnings: string[] = [];
  if (ttl > maxTtl) {
    warnings.push(`TTL "${ttl}s" is longer than permitted maxTTL "${maxTtl}s", so maxTTL is being used`);
    ttl = maxTtl;
  }
  const now = st.now();
  const notAfter = new Date(Math.floor((now + ttl * 1000) / 1000) * 1000);
  if (notAfter.getTime() > new Date(ca.cert.validTo).getTime()) {
    return badRequest(
      `cannot satisfy request, as TTL would result in notAfter of ${notAfter.toISOString()} that is beyond the expiration of the CA certificate at ${new Date(ca.cert.validTo).toISOString()}`,
    );
  }
  const sans = [...new Set([...(r.excludeCn ? [] : [r.commonName]), ...r.dnsNames])].filter(
    (n) => isIP(n) === 0,
  );
  const serial = newSerial();
  const certificate = buildCertificate(
    {
      commonName: r.commonName,
      dnsNames: sans,
      ipSans: [...new Set(r.ipSans)],
      uriSans: [...new Set(r.uriSans)],
      publicKey: r.publicKey,
      notBefore: new Date(now - NOT_BEFORE_BACKDATE_MS),
      notAfter,
      issuer: ca,
    },
    serial,
  ).trimEnd();
  const issuing = ca.certPem.trimEnd();
  // The CA chain is the issuer alone (a root or a seeded CA without its parents).
  const chain = r.removeRoots && isSelfSigned(ca.cert) ? [] : [issuing];
  const data = {
    certificate,
    issuing_ca: issuing,
    ...(chain.length > 0 ? { ca_chain: chain } : {}),
    serial_number: serialText(serial),
    expiration: Math.floor(notAfter.getTime() / 1000),
  };
  pkiState(mount!).certs.set(normalizeSerial(data.serial_number), certificate);
  const fields: Record<string, unknown> = {
    data,
    mount_type: 'pki',
    ...(warnings.length ? { warnings } : {}),
  };
  if (role.generateLease) {
    const lease = createLease(st, req.ns, {
      prefix: `${mount!.path}/${ctx.rest.split('/')[0]}/${roleName}`,
      ttl,
      maxTtl: ttl,
      token: ctx.caller?.id,
      mountType: 'pki',
    });
    lease.renewable = false;
    Object.assign(fields, { lease_id: lease.id, lease_duration: ttl, renewable: false });
  }
  return fields;
}

const names = (v: unknown): string[] => (strList(v) ?? []).filter((n) => n !== '');

/** `<pki mount>/...`: issue, sign, roles, the CA certificate and root generation. */
export function handlePki(ctx: Ctx): Reply {
  const { req, rest, mount, st } = ctx;
  const s = pkiState(mount!);
  if (isPkiPublic(rest)) return handlePkiFetch(ctx, s);
  const [head, name, ...extra] = rest.split('/');
  if (head === 'roles' && name === '' && extra.length === 0 && req.list) {
    const keys = [...s.roles.keys()].sort();
    return keys.length ? ok({ data: { keys }, mount_type: 'pki' }) : fail(404);
  }
  if (head === 'roles' && name && extra.length === 0) {
    if (req.method === 'GET') {
      const role = s.roles.get(name);
      return role ? ok({ data: roleData(role), mount_type: 'pki' }) : fail(404);
    }
    if (req.method === 'DELETE') {
      s.roles.delete(name);
      return noContent;
    }
    if (req.method !== 'POST') return fail(405);
    const role = roleOf(req.body);
    if (typeof role === 'string') return badRequest(role);
    s.roles.set(name, role);
    return noContent;
  }
  if (head === 'root' && name === 'generate' && (extra[0] === 'internal' || extra[0] === 'exported')) {
    if (req.method !== 'POST') return fail(405);
    const ttl = parseDuration(param(req, 'ttl') ?? '87600h');
    if (ttl === undefined) return badRequest('error parsing ttl');
    const cn = str(param(req, 'common_name'));
    if (!cn) return badRequest('the common_name field is required');
    const now = st.now();
    s.ca = generateCa(cn, new Date(now - NOT_BEFORE_BACKDATE_MS), new Date(now + ttl * 1000));
    const cert = new X509Certificate(s.ca.certPem);
    return ok({
      mount_type: 'pki',
      data: {
        certificate: s.ca.certPem.trimEnd(),
        issuing_ca: s.ca.certPem.trimEnd(),
        serial_number: cert.serialNumber.toLowerCase().match(/../g)?.join(':'),
        expiration: Math.floor(new Date(cert.validTo).getTime() / 1000),
      },
    });
  }
  if ((head === 'issue' || head === 'sign') && name && extra.length === 0) {
    if (req.method !== 'POST') return fail(405);
    const role = s.roles.get(name);
    if (!role) return badRequest(`unknown role: ${name}`);
    const dnsParams = names(param(req, 'alt_names'));
    const ipParams = names(param(req, 'ip_sans'));
    const flags = {
      excludeCn: bool(param(req, 'exclude_cn_from_sans')),
      removeRoots: bool(param(req, 'remove_roots_from_chain')),
    };
    let result: Reply | Record<string, unknown>;
    if (head === 'issue') {
      const key = newKey(role);
      result = issueCertificate(ctx, name, role, {
        commonName: str(param(req, 'common_name')) ?? '',
        dnsNames: dnsParams,
        ipSans: ipParams,
        uriSans: names(param(req, 'uri_sans')),
        ...flags,
        publicKey: key.publicKey,
      });
      if (!('status' in result)) {
        const data = result['data'] as Record<string, unknown>;
        const format = str(param(req, 'private_key_format'));
        data['private_key'] =
          format === 'pkcs8' ? key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() : key.pem;
        data['private_key'] = String(data['private_key']).trimEnd();
        data['private_key_type'] = role.keyType;
      }
    } else {
      const csrText = str(param(req, 'csr'));
      if (!csrText) return badRequest('"csr" is empty');
      let csr: ReturnType<typeof parseCsr>;
      try {
        csr = parseCsr(csrText);
      } catch (err) {
        return badRequest((err as Error).message);
      }
      result = issueCertificate(ctx, name, role, {
        commonName: csr.commonName ?? str(param(req, 'common_name')) ?? '',
        dnsNames: [...dnsParams, ...csr.dnsNames],
        ipSans: [...ipParams, ...csr.ipSans],
        // use_csr_sans: the URI names come from the request, the uri_sans field is not read.
        uriSans: csr.uriSans,
        ...flags,
        publicKey: csr.publicKey,
      });
    }
    return 'status' in result ? (result as Reply) : ok(result);
  }
  return fail(404, 'unsupported path');
}
