import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildHygiene, certificatesIn, formatSpan } from '../../src/boot/hygiene.ts';
import type { Resolution, ResolvedDocument } from '../../src/resolve/resolve.ts';
import { opensslDir } from '../helpers/openssl.ts';

const DAY = 86_400_000;
const now = new Date('2026-12-02T00:00:00Z');

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
    variables: documents.map((d) => ({
      variable: d.variables[0] ?? '',
      ref: d.key,
      provider: d.scheme,
      documentKey: d.key,
      source: 'entry' as const,
      readMs: 1,
    })),
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

  test('when spans are formatted then the largest whole unit is used', () => {
    assert.equal(formatSpan(90 * 86_400), '90d');
    assert.equal(formatSpan(36 * 3600), '36h');
    assert.equal(formatSpan(125 * 60), '2h');
    assert.equal(formatSpan(-3 * 86_400), '-3d');
  });
});
