import { X509Certificate } from 'node:crypto';
import type { TlsCertSource } from './tls.ts';

/** Expiry facts about one certificate in use (`secrun check`). */
export interface VaultCertFact {
  role: 'ca' | 'client';
  file: string;
  subject: string;
  /** ISO time. */
  notAfter: string;
  /** Whole days until `notAfter` (negative once expired). */
  daysLeft: number;
}

/** Parses every certificate in the sources (CA bundles hold several); unparsable blocks are skipped. */
export function certificateFacts(sources: readonly TlsCertSource[], now: Date): VaultCertFact[] {
  const out: VaultCertFact[] = [];
  for (const src of sources) {
    const blocks = src.pem
      .toString('utf8')
      .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
    for (const block of blocks ?? []) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(block);
      } catch {
        continue;
      }
      const notAfter = new Date(cert.validTo);
      if (Number.isNaN(notAfter.getTime())) continue;
      out.push({
        role: src.role,
        file: src.file,
        subject: cert.subject.split('\n').join(', '),
        notAfter: notAfter.toISOString(),
        daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000),
      });
    }
  }
  return out;
}
