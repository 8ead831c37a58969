/**
 * The PKI engine's read-only fetch paths, which Vault serves without a token: the CA (`ca` DER,
 * `ca/pem`, `cert/ca`), its chain (`ca_chain`, `cert/ca_chain`), the CRL (`crl` DER, `crl/pem`,
 * `cert/crl`) and issued certificates by serial (`cert/<serial>`, `/raw`, `/raw/pem`).
 * Raw answers carry Vault's content types (builtin/logical/pki/path_fetch.go).
 */
import { toPem } from '../../base/der.ts';
import { type Ctx, fail, ok, type Reply } from './http.ts';
import type { PkiState } from './pki.ts';
import { buildCrl, type CertificateAuthority } from './x509.ts';

/** How long a CRL built on request is valid (Vault's default `expiry` of config/crl). */
const CRL_EXPIRY_MS = 72 * 3600 * 1000;

/** Paths of a PKI mount that Vault serves without a token (its PathsSpecial.Unauthenticated). */
export function isPkiPublic(rest: string): boolean {
  return ['ca', 'ca/pem', 'ca_chain', 'crl', 'crl/pem'].includes(rest) || rest.startsWith('cert/');
}

/** Vault's storage form of a serial: lower case, hyphen-separated. */
export const normalizeSerial = (serial: string): string => serial.toLowerCase().replace(/:/g, '-');

const raw = (contentType: string, body: string | Buffer): Reply =>
  body.length === 0 ? { status: 204 } : { status: 200, raw: body, headers: { 'content-type': contentType } };

const pem = (text: string): string => text.trimEnd();

/** A JSON fetch answer: the PEM in `certificate` and no revocation (nothing is revoked here). */
const fetched = (certificate: string, extra: Record<string, unknown> = {}): Reply =>
  ok({
    data: { certificate, revocation_time: 0, revocation_time_rfc3339: '', ...extra },
    mount_type: 'pki',
  });

function crlDer(ctx: Ctx, s: PkiState, ca: CertificateAuthority): Buffer {
  const now = ctx.st.now();
  s.crlNumber += 1;
  return buildCrl(ca, new Date(now), new Date(now + CRL_EXPIRY_MS), s.crlNumber);
}

/** Answers one fetch path; `rest` is the path inside the mount. */
export function handlePkiFetch(ctx: Ctx, s: PkiState): Reply {
  const { req, rest } = ctx;
  if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405);
  const ca = s.ca;
  const caPem = ca ? pem(ca.certPem) : '';
  const chain = caPem;
  switch (rest) {
    case 'ca':
    case 'cert/ca/raw':
      return raw('application/pkix-cert', ca ? ca.cert.raw : '');
    case 'ca/pem':
    case 'cert/ca/raw/pem':
      return raw('application/pem-certificate-chain', caPem);
    case 'ca_chain':
      // Vault labels the PEM chain application/pkix-cert on this path.
      return raw('application/pkix-cert', chain);
    case 'crl':
      return raw('application/pkix-crl', ca ? crlDer(ctx, s, ca) : '');
    case 'crl/pem':
      return raw('application/x-pem-file', ca ? pem(toPem('X509 CRL', crlDer(ctx, s, ca))) : '');
  }
  if (!ca && (rest === 'cert/ca' || rest === 'cert/ca_chain' || rest === 'cert/crl')) {
    return fail(400, 'no default issuer currently configured');
  }
  if (ca && rest === 'cert/ca') return fetched(caPem);
  if (ca && rest === 'cert/ca_chain') return fetched(chain, { ca_chain: chain });
  if (ca && rest === 'cert/crl') return fetched(pem(toPem('X509 CRL', crlDer(ctx, s, ca))));
  const m = /^cert\/([0-9A-Fa-f:-]+)(\/raw(\/pem)?)?$/.exec(rest);
  if (!m?.[1]) return fail(404, 'unsupported path');
  const cert = s.certs.get(normalizeSerial(m[1]));
  if (m[3]) return raw('application/pem-certificate-chain', cert ?? '');
  if (m[2])
    return raw(
      'application/pkix-cert',
      cert ? Buffer.from(cert.replace(/-----[^-]+-----|\s/g, ''), 'base64') : '',
    );
  return cert ? fetched(cert) : fail(404);
}
