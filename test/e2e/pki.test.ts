import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import { childReport, FIXTURES, NODE, runSecrun } from '../helpers/cli.ts';
import { opensslVerify, pkiSeedYaml } from '../helpers/pki.ts';

describe('secrun run with a certificate issued at boot', () => {
  let vault: VaultDevServer;
  let env: Record<string, string>;
  const ref = 'vault:pki/sign/web?common_name=api.example.com&ttl=1h';
  before(async () => {
    vault = await startVaultServer({ seed: parseSeed(pkiSeedYaml()) });
    env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: '/nonexistent-home',
      VAULT_ADDR: vault.url,
      VAULT_TOKEN: vault.rootToken,
      TLS_CERT: `${ref}#certificate`,
      TLS_KEY: `${ref}#private_key`,
      TLS_CA: `${ref}#issuing_ca`,
    };
  });
  after(() => vault.close());

  test('when the mode is auto then secrun supervises (the certificate must be issued again) and the child gets a matching key and certificate', async () => {
    const r = await runSecrun(['run', '--log-level', 'debug', '--', NODE, `${FIXTURES}print-env.mjs`], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /launching mode=supervise/);
    const child = childReport(r.stdout).env;
    const cert = new X509Certificate(child['TLS_CERT'] ?? '');
    assert.ok(cert.checkPrivateKey(createPrivateKey(child['TLS_KEY'] ?? '')));
    assert.ok(opensslVerify(child['TLS_CA'] ?? '', child['TLS_CERT'] ?? '').ok);
    assert.equal(vault.log.entries.filter((e) => e.path === '/v1/pki/sign/web').length >= 1, true);
  });

  test('when the mode is exec then secrun warns that the certificate is not issued again and when it expires, and audits a write', async () => {
    const r = await runSecrun(
      ['run', '--mode', 'exec', '--audit', 'stderr', '--', NODE, `${FIXTURES}print-env.mjs`],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /the certificate from pki\/sign\/web is not issued again and expires at \d{4}-/);
    const records = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event?: string; path?: string });
    const issued = records.filter((e) => e.path === 'pki/sign/web');
    assert.deepEqual(
      issued.map((e) => e.event),
      ['secret.write'],
      'issuing is a write (a POST), audited as one',
    );
    const child = childReport(r.stdout).env;
    for (const value of [child['TLS_CERT'], child['TLS_KEY']]) {
      assert.ok(
        value && !r.stderr.includes(value.split('\n')[1] ?? value),
        'no certificate or key in the audit',
      );
    }
  });
});
