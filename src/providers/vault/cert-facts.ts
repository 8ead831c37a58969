import { findCertificates } from '../../base/pem.ts';
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
    for (const { notAfter, subject } of findCertificates(src.pem.toString('utf8'))) {
      out.push({
        role: src.role,
        file: src.file,
        subject,
        notAfter: notAfter.toISOString(),
        daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000),
      });
    }
  }
  return out;
}
