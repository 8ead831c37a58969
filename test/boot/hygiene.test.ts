import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { formatDuration } from '../../src/base/duration.ts';
import { buildHygiene, certificatesIn, formatHygiene } from '../../src/boot/hygiene.ts';
import type { Resolution, ResolvedDocument } from '../../src/resolve/resolve.ts';
import { type OpensslDir, opensslDir } from '../helpers/openssl.ts';

const DAY = 86_400_000;
const now = new Date('2026-12-02T00:00:00Z');

/** A resolution whose documents fill their variables (default `V<i>`), with values. */
function resolution(docs: Partial<ResolvedDocument>[], values: Record<string, string> = {}): Resolution {
  const documents = docs.map(
    (d, i): ResolvedDocument => ({
      key: `vault:p${i}`,
      scheme: 'vault',
      path: `secret/p${i}`,
      options: {},
      readMs: 1,
      variables: [`V${i}`],
      ...d,
    }),
  );
  const r = {
    variables: documents.flatMap((d) =>
      d.variables.map((variable) => ({
        variable,
        ref: `${d.key}#x`,
        provider: d.scheme,
        documentKey: d.key,
        source: 'entry' as const,
        readMs: 1,
      })),
    ),
    documents,
    shadowed: [],
  } as unknown as Resolution;
  Object.defineProperty(r, 'values', { value: new Map(Object.entries(values)) });
  return r;
}

describe('hygiene review', () => {
  test('when a secret was rotated after its last change then the age counts from the latest date', () => {
    const h = buildHygiene({
      resolution: resolution([{ createdAt: new Date(now.getTime() - 300 * DAY) }]),
      dates: new Map([
        [
          'vault:p0',
          {
            createdAt: new Date(now.getTime() - 400 * DAY),
            updatedAt: new Date(now.getTime() - 100 * DAY),
            rotatedAt: new Date(now.getTime() - 10 * DAY),
          },
        ],
      ]),
      now,
      maxAgeMs: 30 * DAY,
    });
    assert.equal(h.secrets[0]?.ageSeconds, 10 * 86_400);
    assert.deepEqual(h.findings, []);
  });

  test('when no metadata is there then the version date decides; leased and issued documents have no age', () => {
    const h = buildHygiene({
      resolution: resolution([
        { createdAt: new Date(now.getTime() - 100 * DAY) },
        { lease: { id: 'l', duration: 60, renewable: true } },
        { issued: { expiresAt: new Date(now.getTime() + DAY) } },
        {},
      ]),
      dates: new Map(),
      now,
      maxAgeMs: 90 * DAY,
    });
    assert.deepEqual(
      h.secrets.map((s) => s.noAge ?? s.ageSeconds),
      [100 * 86_400, 'dynamic', 'issued', 'unknown'],
    );
    assert.equal(h.findings.length, 1);
    assert.match(h.findings[0]?.message ?? '', /vault:secret\/p0 last changed 100d ago \(--max-age 90d\)/);
  });

  test('when a provider certificate expires within --min-validity then it is a finding', () => {
    const h = buildHygiene({
      resolution: resolution([]),
      dates: new Map(),
      providerCertificates: [
        {
          label: 'Vault client certificate /c.pem',
          subject: 'CN=agent',
          notAfter: new Date(now.getTime() + 3 * DAY).toISOString(),
        },
        {
          label: 'Vault CA certificate /ca.pem',
          subject: 'CN=ca',
          notAfter: new Date(now.getTime() + 300 * DAY).toISOString(),
        },
      ],
      now,
      minValidityMs: 14 * DAY,
    });
    assert.deepEqual(
      h.findings.map((f) => f.message),
      ['the Vault client certificate /c.pem ("CN=agent") expires in 3d (--min-validity 14d)'],
    );
  });

  test('when values hold PEM blocks then each certificate is found and anything else is skipped', () => {
    const ssl = opensslDir('secrun-hygiene-unit-');
    try {
      const a = ssl.selfSigned('a', 'a.example.com', '5').cert;
      const junk = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----';
      const rows = certificatesIn(
        new Map([
          ['X', `text ${a} ${junk}`],
          ['Y', 'plain'],
        ]),
        new Date(),
      );
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.subject, 'CN=a.example.com');
      assert.ok((rows[0]?.secondsLeft ?? 0) > 4 * 86_400);
    } finally {
      ssl.remove();
    }
  });

  test('when durations are formatted then the largest unit is used, with the next one under 10 and seconds under 2 minutes', () => {
    assert.equal(formatDuration(90 * 86_400), '90d');
    assert.equal(formatDuration(36 * 3600), '36h');
    assert.equal(formatDuration(125 * 60), '2h5m');
    assert.equal(formatDuration(84 * 3600), '3d12h');
    assert.equal(formatDuration(390), '6m30s');
    assert.equal(formatDuration(30), '30s');
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(-3 * 86_400), '-3d');
  });
});

describe('hygiene review: what is a finding and how it is named', () => {
  let ssl: OpensslDir;
  let ca: string;
  let leaf: string;
  let expired: string;
  before(() => {
    ssl = opensslDir('secrun-hygiene-review-');
    ca = ssl.selfSigned('ca', 'short-lived CA', '5').cert;
    ssl.csr('leaf', 's.example.com');
    leaf = ssl.sign('leaf', 'ca', 'basicConstraints=CA:FALSE\n', '1').cert;
    expired = ssl.expired('old', 'old.example.com', 'ca', '1001', 'basicConstraints=CA:FALSE\n').cert;
  });
  after(() => ssl.remove());

  /** Vault's spelling of a serial: lower-case hex pairs joined by colons. */
  const vaultSerial = (pem: string): string =>
    (new X509Certificate(pem).serialNumber.toLowerCase().match(/../g) ?? []).join(':');

  test('when a certificate is issued at boot then only its leaf is exempt: its issuing CA and chain are findings', () => {
    const h = buildHygiene({
      resolution: resolution(
        [
          {
            path: 'pki/issue/web',
            issued: { expiresAt: new X509Certificate(leaf).validToDate, serial: vaultSerial(leaf) },
            variables: ['CERT', 'CA', 'CH', 'ALL'],
          },
        ],
        { CERT: leaf, CA: ca, CH: ca, ALL: JSON.stringify({ certificate: leaf, issuing_ca: ca }) },
      ),
      dates: new Map(),
      now: new Date(),
      minValidityMs: 14 * DAY,
    });
    assert.deepEqual(
      h.certificates.map((c) => `${c.variable}:${c.subject}:${c.reissued === true}`),
      [
        'CERT:CN=s.example.com:true',
        'CA:CN=short-lived CA:false',
        'CH:CN=short-lived CA:false',
        'ALL:CN=s.example.com:true',
        'ALL:CN=short-lived CA:false',
      ],
    );
    assert.deepEqual(
      h.findings.map((f) => `${f.kind}:${f.variables.join()}`),
      ['min-validity:CA', 'min-validity:CH', 'min-validity:ALL'],
    );
    assert.match(formatHygiene(h), /^ {2}CA: CN=short-lived CA, expires \S+ \(4d\d+h left\)$/m);
  });

  test('when an issued document names no serial then a certificate with another notAfter is not its leaf', () => {
    const rows = certificatesIn(
      new Map([['CA', ca]]),
      new Date(),
      new Map([['CA', { expiresAt: new X509Certificate(leaf).validToDate }]]),
    );
    assert.equal(rows[0]?.reissued, undefined);
  });

  test('when a certificate is in a template placeholder then the review names the variable, not the placeholder', () => {
    const h = buildHygiene({
      resolution: resolution(
        [
          { variables: ['T=0', 'T=1'], createdAt: new Date(now.getTime() - 100 * DAY) },
          { variables: ['T=2', 'PLAIN'] },
        ],
        { 'T=0': 'x', 'T=1': 'y', 'T=2': leaf, PLAIN: 'z' },
      ),
      dates: new Map(),
      now: new Date(),
      maxAgeMs: 90 * DAY,
      minValidityMs: 14 * DAY,
    });
    assert.deepEqual(
      h.secrets.map((s) => s.variables),
      [['T'], ['T', 'PLAIN']],
    );
    assert.deepEqual(
      h.findings.map((f) => f.variables),
      [['T'], ['T']],
    );
    const text = formatHygiene(h);
    assert.match(text, /^ {2}T: CN=s\.example\.com/m);
    assert.match(text, /in T expires in/);
    assert.doesNotMatch(text, /T=\d/);
  });

  test('when a threshold is under a minute then it is shown in seconds, and ages are whole seconds rounded down', () => {
    const h = buildHygiene({
      resolution: resolution([{ createdAt: new Date(now.getTime() - 390_900) }]),
      dates: new Map(),
      now,
      maxAgeMs: 30_000,
    });
    assert.equal(h.secrets[0]?.ageSeconds, 390);
    assert.match(h.findings[0]?.message ?? '', /last changed 6m30s ago \(--max-age 30s\)/);
  });

  test('when a certificate has expired then it is a finding without any threshold', () => {
    const h = buildHygiene({
      resolution: resolution([{ variables: ['OLD', 'OK'] }], { OLD: expired, OK: leaf }),
      dates: new Map(),
      providerCertificates: [
        { label: 'Vault CA certificate /ca.pem', subject: 'CN=ca', notAfter: '2001-01-01T00:00:00.000Z' },
      ],
      now: new Date(),
    });
    assert.deepEqual(
      h.findings.map((f) => `${f.kind}:${f.variables.join()}`),
      ['expired:OLD', 'expired:'],
    );
    assert.match(h.findings[0]?.message ?? '', /"CN=old\.example\.com" in OLD expired \d+d ago/);
    assert.match(h.findings[1]?.message ?? '', /Vault CA certificate \/ca\.pem \("CN=ca"\) expired/);
  });

  test('when --min-validity is given then an expired certificate is one finding, not two', () => {
    const h = buildHygiene({
      resolution: resolution([{ variables: ['OLD'] }], { OLD: expired }),
      dates: new Map(),
      now: new Date(),
      minValidityMs: 14 * DAY,
    });
    assert.deepEqual(
      h.findings.map((f) => f.kind),
      ['expired'],
    );
  });

  test('when a value is JSON then the certificates in its strings are found, at any depth and once each', () => {
    const rows = certificatesIn(
      new Map([
        ['NESTED', JSON.stringify({ tls: { chain: [leaf, { ca }] }, user: 'u' })],
        ['ESCAPED', JSON.stringify(leaf)],
        ['TWICE', JSON.stringify({ inner: JSON.stringify({ c: leaf }) })],
        ['BOTH', JSON.stringify([leaf, { same: leaf }])],
        ['NOT_JSON', '{"broken": '],
      ]),
      new Date(),
    );
    assert.deepEqual(
      rows.map((r) => `${r.variable}:${r.subject}`),
      [
        'NESTED:CN=s.example.com',
        'NESTED:CN=short-lived CA',
        'ESCAPED:CN=s.example.com',
        'TWICE:CN=s.example.com',
        'BOTH:CN=s.example.com',
      ],
    );
  });

  test('when JSON nests deeper than the bound then the review stops there instead of walking it', () => {
    let deep: unknown = leaf;
    for (let i = 0; i < 40; i++) deep = [deep];
    const rows = certificatesIn(new Map([['DEEP', JSON.stringify(deep)]]), new Date());
    assert.deepEqual(rows, []);
  });
});
