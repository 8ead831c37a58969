/**
 * The hygiene review of `secrun check`: how old each secret is (from metadata, never a second
 * read of the value), when every certificate found in a value expires, and which of them break
 * `--max-age` / `--min-validity`. Pure, except {@link describeDocuments}, which asks providers.
 */

import { formatDuration } from '../base/duration.ts';
import { errorFields } from '../base/error-fields.ts';
import type { Logger } from '../base/log.ts';
import { type FoundCertificate, findCertificatesInValue } from '../base/pem.ts';
import type { IssuedCredential, Provider, ProviderCertificate, SecretDates } from '../providers/provider.ts';
import { variableOf } from '../refs/index.ts';
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

/** One certificate found in a value (PEM, any variable, JSON strings too). Never the value itself. */
export interface CertificateRow {
  /** The variable (a template's name for a certificate in one of its placeholders). */
  variable: string;
  subject: string;
  issuer: string;
  serial: string;
  notAfter: string;
  /** Seconds until notAfter (negative once expired). */
  secondsLeft: number;
  /**
   * The leaf certificate issued at boot (pki issue/sign, matched by its serial): secrun issues it
   * again before it expires, so its short life is no finding. Never its CA or chain.
   */
  reissued?: boolean;
}

/**
 * A finding fails the check (exit 79): `expired` always (a certificate past its notAfter),
 * `max-age` / `min-validity` when that threshold was given.
 */
export interface Finding {
  kind: 'expired' | 'max-age' | 'min-validity';
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

/**
 * Every PEM certificate in every value (and in the strings of a JSON value); blocks that do not
 * parse are skipped. `issued` maps a variable (or template part) filled from a document issued at
 * boot to what was issued, so that its leaf certificate, and only it, is marked reissued.
 */
export function certificatesIn(
  values: ReadonlyMap<string, string>,
  now: Date,
  issued: ReadonlyMap<string, IssuedCredential> = new Map(),
): CertificateRow[] {
  const rows: CertificateRow[] = [];
  for (const [name, value] of values) {
    const credential = issued.get(name);
    for (const found of findCertificatesInValue(value)) {
      const { cert, notAfter, subject, issuer } = found;
      const row: CertificateRow = {
        variable: variableOf(name),
        subject,
        issuer,
        serial: cert.serialNumber,
        notAfter: notAfter.toISOString(),
        secondsLeft: Math.floor((notAfter.getTime() - now.getTime()) / 1000),
      };
      if (credential && isIssuedLeaf(found, credential)) row.reissued = true;
      rows.push(row);
    }
  }
  return rows;
}

/**
 * The certificate an issue/sign call returned, not its CA: never a CA certificate, and the serial
 * the answer named (else the notAfter it had). `issuing_ca` and `ca_chain` are not renewed by a
 * new issue, so they stay subject to the review.
 */
function isIssuedLeaf(found: FoundCertificate, credential: IssuedCredential): boolean {
  if (found.cert.ca) return false;
  if (credential.serial !== undefined) {
    return sameSerial(credential.serial, found.cert.serialNumber);
  }
  return found.notAfter.getTime() === credential.expiresAt.getTime();
}

/** Vault writes serials as `3a:0f:...`, Node as `3A0F...`; leading zeros aside. */
function sameSerial(a: string, b: string): boolean {
  const norm = (s: string): string =>
    s
      .replace(/[^0-9a-f]/gi, '')
      .toLowerCase()
      .replace(/^0+/, '');
  return norm(a) !== '' && norm(a) === norm(b);
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
  const issuedByKey = new Map(
    resolution.documents.flatMap((d) => (d.issued ? [[d.key, d.issued] as const] : [])),
  );
  const issued = new Map<string, IssuedCredential>();
  for (const v of resolution.variables) {
    const credential = issuedByKey.get(v.documentKey);
    if (credential) issued.set(v.variable, credential);
  }
  const secrets = resolution.documents.map((doc): SecretAgeRow => {
    const variables = [...new Set(doc.variables.map(variableOf))];
    const row: SecretAgeRow = { provider: doc.scheme, path: doc.path, variables };
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
  const certificates = certificatesIn(resolution.values, now, issued);
  const findings: Finding[] = [];
  // Expired is a finding with or without --min-validity: no threshold makes it usable.
  for (const c of certificates) {
    if (c.secondsLeft >= 0) continue;
    findings.push({
      kind: 'expired',
      variables: [c.variable],
      message: `the certificate "${c.subject}" in ${c.variable} expired ${formatDuration(-c.secondsLeft)} ago (${c.notAfter}); renew it`,
    });
  }
  const providerLeft = (o.providerCertificates ?? []).map((c) => ({
    ...c,
    left: Math.floor((new Date(c.notAfter).getTime() - now.getTime()) / 1000),
  }));
  for (const c of providerLeft) {
    if (c.left >= 0) continue;
    findings.push({
      kind: 'expired',
      variables: [],
      message: `the ${c.label} ("${c.subject}") expired ${formatDuration(-c.left)} ago (${c.notAfter})`,
    });
  }
  if (o.maxAgeMs !== undefined) {
    const limit = Math.floor(o.maxAgeMs / 1000);
    for (const s of secrets) {
      if (s.ageSeconds !== undefined && s.ageSeconds > limit) {
        findings.push({
          kind: 'max-age',
          variables: s.variables,
          message: `${s.provider}:${s.path} last changed ${formatDuration(s.ageSeconds)} ago (--max-age ${formatDuration(limit)}); rotate it`,
        });
      }
    }
  }
  if (o.minValidityMs !== undefined) {
    const limit = Math.floor(o.minValidityMs / 1000);
    for (const c of certificates) {
      if (c.reissued || c.secondsLeft < 0 || c.secondsLeft >= limit) continue;
      findings.push({
        kind: 'min-validity',
        variables: [c.variable],
        message: `the certificate "${c.subject}" in ${c.variable} expires in ${formatDuration(c.secondsLeft)} (--min-validity ${formatDuration(limit)}); renew it`,
      });
    }
    for (const c of providerLeft) {
      if (c.left < 0 || c.left >= limit) continue;
      findings.push({
        kind: 'min-validity',
        variables: [],
        message: `the ${c.label} ("${c.subject}") expires in ${formatDuration(c.left)} (--min-validity ${formatDuration(limit)})`,
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
      const left = c.secondsLeft < 0 ? 'EXPIRED' : `${formatDuration(c.secondsLeft)} left`;
      lines.push(
        `  ${c.variable}: ${c.subject}, expires ${c.notAfter} (${left})${c.reissued ? ', issued again before expiry' : ''}`,
      );
    }
  }
  for (const f of h.findings) lines.push(`FINDING ${f.kind}: ${f.message}`);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
