/**
 * The hygiene review of `secrun check`: how old each secret is (from metadata, never a second
 * read of the value), when every certificate found in a value expires, and which of them break
 * `--max-age` / `--min-validity`. Pure, except {@link describeDocuments}, which asks providers.
 */
import { errorFields } from '../base/error-fields.ts';
import type { Logger } from '../base/log.ts';
import { findCertificates } from '../base/pem.ts';
import type { Provider, ProviderCertificate, SecretDates } from '../providers/provider.ts';
import type { Resolution, ResolvedDocument } from '../resolve/resolve.ts';

/** The age of one document. */
export interface SecretAgeRow {
  provider: string;
  path: string;
  variables: string[];
  /** The secret was created (metadata). */
  createdAt?: string;
  /** The secret last changed (KV v2 updated_time, Secrets Manager LastChangedDate). */
  updatedAt?: string;
  /** Secrets Manager LastRotatedDate. */
  rotatedAt?: string;
  /** The version read was created. */
  versionCreatedAt?: string;
  /** Seconds since the last change, where anything tells. */
  ageSeconds?: number;
  /**
   * Why there is no age: `dynamic` (a lease, or a credential a write minted), `issued` (a
   * certificate issued at boot), `unknown`.
   */
  noAge?: 'dynamic' | 'issued' | 'unknown';
}

/** One certificate found in a value (PEM, any variable). Never the value itself. */
export interface CertificateRow {
  variable: string;
  subject: string;
  issuer: string;
  serial: string;
  notAfter: string;
  /** Seconds until notAfter (negative once expired). */
  secondsLeft: number;
  /** Issued at boot: secrun issues it again before it expires, so its short life is no finding. */
  reissued?: boolean;
}

/** A finding that fails the check (exit 79) when its threshold was given. */
export interface Finding {
  kind: 'max-age' | 'min-validity';
  message: string;
  variables: string[];
}

/** The hygiene part of the `secrun check --json` document. */
export interface Hygiene {
  secrets: SecretAgeRow[];
  certificates: CertificateRow[];
  maxAgeSeconds?: number;
  minValiditySeconds?: number;
  findings: Finding[];
}

/** Every PEM certificate in every value; blocks that do not parse are skipped. */
export function certificatesIn(
  values: ReadonlyMap<string, string>,
  now: Date,
  reissued: ReadonlySet<string> = new Set(),
): CertificateRow[] {
  const rows: CertificateRow[] = [];
  for (const [variable, value] of values) {
    for (const { cert, notAfter, subject, issuer } of findCertificates(value)) {
      const row: CertificateRow = {
        variable,
        subject,
        issuer,
        serial: cert.serialNumber,
        notAfter: notAfter.toISOString(),
        secondsLeft: Math.floor((notAfter.getTime() - now.getTime()) / 1000),
      };
      if (reissued.has(variable)) row.reissued = true;
      rows.push(row);
    }
  }
  return rows;
}

/** Where describe() comes from: the registry (or a stub in tests). */
export interface DescribeSource {
  get(scheme: ResolvedDocument['scheme']): Promise<Provider>;
}

/**
 * Metadata dates of every document that has an age (not leased, not issued), in parallel. A
 * failure is logged and leaves that document without dates: the review never fails a check that
 * resolved.
 */
export async function describeDocuments(
  documents: readonly ResolvedDocument[],
  providers: DescribeSource,
  signal: AbortSignal,
  logger: Logger,
): Promise<Map<string, SecretDates>> {
  const out = new Map<string, SecretDates>();
  await Promise.all(
    documents
      .filter((d) => !d.lease && !d.issued && !d.write)
      .map(async (doc) => {
        try {
          const provider = await providers.get(doc.scheme);
          const dates = await provider.describe?.(
            { scheme: doc.scheme, path: doc.path, options: doc.options, key: doc.key },
            signal,
          );
          if (dates) out.set(doc.key, dates);
        } catch (err) {
          logger.warn(`could not read the metadata of ${doc.path}; its age is unknown`, errorFields(err));
        }
      }),
  );
  return out;
}

const iso = (d: Date | undefined): string | undefined => d?.toISOString();
const latest = (...dates: (Date | undefined)[]): Date | undefined =>
  dates.reduce<Date | undefined>((a, b) => (b && (!a || b > a) ? b : a), undefined);

/** `90d`, `36h`, `15m`: the largest whole unit. */
export function formatSpan(seconds: number): string {
  const s = Math.abs(seconds);
  const text =
    s >= 172_800
      ? `${Math.floor(s / 86_400)}d`
      : s >= 7200
        ? `${Math.floor(s / 3600)}h`
        : `${Math.floor(s / 60)}m`;
  return seconds < 0 ? `-${text}` : text;
}

/**
 * Builds the review: each document's age (the latest of its metadata change dates, else the
 * creation of the version read), each certificate's remaining validity (values and the Vault
 * TLS files), and the findings against the thresholds given.
 */
export function buildHygiene(o: {
  resolution: Resolution;
  dates: ReadonlyMap<string, SecretDates>;
  providerCertificates?: readonly ProviderCertificate[];
  now: Date;
  maxAgeMs?: number;
  minValidityMs?: number;
}): Hygiene {
  const { resolution, now } = o;
  const issuedKeys = new Set(resolution.documents.filter((d) => d.issued).map((d) => d.key));
  const reissued = new Set(
    resolution.variables.filter((v) => issuedKeys.has(v.documentKey)).map((v) => v.variable),
  );
  const secrets = resolution.documents.map((doc): SecretAgeRow => {
    const row: SecretAgeRow = { provider: doc.scheme, path: doc.path, variables: doc.variables };
    if (doc.issued) return { ...row, noAge: 'issued' };
    if (doc.lease || doc.write) return { ...row, noAge: 'dynamic' };
    const d = o.dates.get(doc.key);
    const fields: Array<[keyof SecretAgeRow, Date | undefined]> = [
      ['createdAt', d?.createdAt],
      ['updatedAt', d?.updatedAt],
      ['rotatedAt', d?.rotatedAt],
      ['versionCreatedAt', doc.createdAt],
    ];
    for (const [k, v] of fields) if (v) (row as unknown as Record<string, string>)[k] = iso(v) as string;
    const changed = latest(d?.updatedAt, d?.rotatedAt) ?? doc.createdAt ?? d?.createdAt;
    if (changed) row.ageSeconds = Math.max(0, Math.floor((now.getTime() - changed.getTime()) / 1000));
    else row.noAge = 'unknown';
    return row;
  });
  const certificates = certificatesIn(resolution.values, now, reissued);
  const findings: Finding[] = [];
  if (o.maxAgeMs !== undefined) {
    const limit = Math.floor(o.maxAgeMs / 1000);
    for (const s of secrets) {
      if (s.ageSeconds !== undefined && s.ageSeconds > limit) {
        findings.push({
          kind: 'max-age',
          variables: s.variables,
          message: `${s.provider}:${s.path} last changed ${formatSpan(s.ageSeconds)} ago (--max-age ${formatSpan(limit)}); rotate it`,
        });
      }
    }
  }
  if (o.minValidityMs !== undefined) {
    const limit = Math.floor(o.minValidityMs / 1000);
    for (const c of certificates) {
      if (c.reissued || c.secondsLeft >= limit) continue;
      const when =
        c.secondsLeft < 0
          ? `expired ${formatSpan(-c.secondsLeft)} ago`
          : `expires in ${formatSpan(c.secondsLeft)}`;
      findings.push({
        kind: 'min-validity',
        variables: [c.variable],
        message: `the certificate "${c.subject}" in ${c.variable} ${when} (--min-validity ${formatSpan(limit)}); renew it`,
      });
    }
    for (const c of o.providerCertificates ?? []) {
      const left = Math.floor((new Date(c.notAfter).getTime() - now.getTime()) / 1000);
      if (left >= limit) continue;
      findings.push({
        kind: 'min-validity',
        variables: [],
        message: `the ${c.label} ("${c.subject}") ${left < 0 ? 'has expired' : `expires in ${formatSpan(left)}`} (--min-validity ${formatSpan(limit)})`,
      });
    }
  }
  const hygiene: Hygiene = { secrets, certificates, findings };
  if (o.maxAgeMs !== undefined) hygiene.maxAgeSeconds = Math.floor(o.maxAgeMs / 1000);
  if (o.minValidityMs !== undefined) hygiene.minValiditySeconds = Math.floor(o.minValidityMs / 1000);
  return hygiene;
}

/** The review as text: certificates, then findings (nothing when there is nothing to say). */
export function formatHygiene(h: Hygiene): string {
  const lines: string[] = [];
  if (h.certificates.length > 0) {
    lines.push('certificates in values:');
    for (const c of h.certificates) {
      const left = c.secondsLeft < 0 ? 'EXPIRED' : `${formatSpan(c.secondsLeft)} left`;
      lines.push(
        `  ${c.variable}: ${c.subject}, expires ${c.notAfter} (${left})${c.reissued ? ', issued again before expiry' : ''}`,
      );
    }
  }
  for (const f of h.findings) lines.push(`FINDING ${f.kind}: ${f.message}`);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
