import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `openssl verify -CAfile <ca>` on `cert` (with `purpose`, e.g. sslserver, and `at`, the time in
 * ms to verify at, for certificates issued on a test clock): ok and what it said.
 */
export function opensslVerify(
  caPem: string,
  certPem: string,
  purpose?: string,
  at?: number,
): { ok: boolean; text: string } {
  const dir = mkdtempSync(join(tmpdir(), 'secrun-pki-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), caPem);
    const args = [
      'verify',
      '-CAfile',
      join(dir, 'ca.pem'),
      ...(purpose ? ['-purpose', purpose] : []),
      ...(at !== undefined ? ['-attime', String(Math.floor(at / 1000))] : []),
    ];
    const r = spawnSync('openssl', args, { input: certPem });
    const text = `${r.stdout}${r.stderr}`;
    return { ok: r.status === 0 && /: OK/.test(text), text };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A dev Vault seed (YAML) with a KV v2 `secret/` and a `pki` mount whose role `web` issues EC certificates for example.com. */
export function pkiSeedYaml(
  o: { ttl?: string; maxTtl?: string; generateLease?: boolean; allowedUriSans?: string } = {},
): string {
  return [
    'vault:',
    '  mounts:',
    '    pki:',
    '      type: pki',
    '      common_name: secrun test root',
    '      roles:',
    '        web:',
    '          allowed_domains: [example.com]',
    '          allow_subdomains: true',
    '          key_type: ec',
    `          ttl: ${o.ttl ?? '24h'}`,
    `          max_ttl: ${o.maxTtl ?? '72h'}`,
    `          generate_lease: ${o.generateLease === true}`,
    ...(o.allowedUriSans ? [`          allowed_uri_sans: ["${o.allowedUriSans}"]`] : []),
  ].join('\n');
}
