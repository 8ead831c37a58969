import { X509Certificate } from 'node:crypto';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** One certificate found in a text, with its end of validity. */
export interface FoundCertificate {
  cert: X509Certificate;
  notAfter: Date;
  /** `CN=a, O=b` (the one-per-line form Node gives, joined). */
  subject: string;
  issuer: string;
}

/** Every PEM certificate in `text` (a bundle holds several); unparsable blocks are skipped. */
export function findCertificates(text: string): FoundCertificate[] {
  const out: FoundCertificate[] = [];
  for (const block of text.match(PEM_CERT) ?? []) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch {
      continue;
    }
    const notAfter = new Date(cert.validTo);
    if (Number.isNaN(notAfter.getTime())) continue;
    const oneLine = (dn: string): string => dn.split('\n').join(', ');
    out.push({ cert, notAfter, subject: oneLine(cert.subject), issuer: oneLine(cert.issuer) });
  }
  return out;
}
