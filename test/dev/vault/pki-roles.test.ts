import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import vault from 'node-vault';
import { parseSeed } from '../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../src/dev/vault/server.ts';
import { opensslDir } from '../../helpers/openssl.ts';
import { pkiSeedYaml } from '../../helpers/pki.ts';
import { rawRequest, vaultError } from '../../helpers/vault-target.ts';

/** A PEM CSR for CN=`cn` with the subjectAltName `san` (openssl syntax), made by openssl. */
function csrWith(cn: string, san: string): string {
  const dir = opensslDir('secrun-pki-csr-');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        dir.path('k.key'),
        '-out',
        dir.path('r.csr'),
        '-subj',
        `/CN=${cn}`,
        '-addext',
        `subjectAltName=${san}`,
      ],
      { stdio: 'pipe' },
    );
    return readFileSync(dir.path('r.csr'), 'utf8');
  } finally {
    dir.remove();
  }
}

describe('vault dev server: PKI roles', () => {
  let s: VaultDevServer;
  let v: vault.client;
  before(async () => {
    s = await startVaultServer({ seed: parseSeed(pkiSeedYaml({ generateLease: true })) });
    v = vault({ endpoint: s.url, token: s.rootToken, noCustomHTTPVerbs: true });
    await v.write('pki/roles/spiffe', {
      allowed_domains: 'example.com',
      allow_subdomains: true,
      allowed_uri_sans: 'spiffe://example.com/*',
      key_type: 'ec',
    });
  });
  after(() => s.close());

  test("when a role is read then Vault's snake_case fields, TTLs in seconds and the pki envelope", async () => {
    const r = await rawRequest(s.url, 'GET', '/v1/pki/roles/web', { token: s.rootToken });
    assert.equal(r.status, 200);
    assert.equal(r.body.mount_type, 'pki');
    assert.equal(r.body.lease_id, '');
    const d = r.body.data;
    assert.deepEqual(d.allowed_domains, ['example.com']);
    assert.equal(d.allow_subdomains, true);
    assert.equal(d.allow_bare_domains, false);
    assert.equal(d.allow_localhost, true);
    assert.equal(d.key_type, 'ec');
    assert.equal(d.key_bits, 256);
    assert.equal(d.ttl, 24 * 3600);
    assert.equal(d.max_ttl, 72 * 3600);
    assert.equal(d.generate_lease, true);
    assert.deepEqual(d.allowed_uri_sans, []);
    assert.equal(
      Object.keys(d).some((k) => /[A-Z]/.test(k)),
      false,
      `no camelCase field: ${Object.keys(d).join(', ')}`,
    );
    await v.write('pki/roles/plain', { allow_any_name: true });
    const plain = await v.read('pki/roles/plain');
    assert.equal(plain.data.key_type, 'rsa');
    assert.equal(plain.data.key_bits, 2048);
    assert.equal(plain.data.ttl, 0);
  });

  test('when roles are listed then their names; an unknown role reads as 404', async () => {
    const list = await rawRequest(s.url, 'LIST', '/v1/pki/roles', { token: s.rootToken });
    assert.ok(list.body.data.keys.includes('web'));
    assert.ok(list.body.data.keys.includes('spiffe'));
    assert.equal((await rawRequest(s.url, 'GET', '/v1/pki/roles/nope', { token: s.rootToken })).status, 404);
  });

  test('when uri_sans are asked of a role without allowed_uri_sans then 400 as Vault words it', async () => {
    const e = await vaultError(
      v.write('pki/issue/web', { common_name: 'a.example.com', uri_sans: 'spiffe://example.com/web' }),
    );
    assert.equal(e.statusCode, 400);
    assert.equal(
      e.body.errors[0],
      'URI Subject Alternative Names are not allowed in this role, but were provided via the API',
    );
  });

  test('when uri_sans match allowed_uri_sans then the certificate carries them; others are refused', async () => {
    const r = await v.write('pki/issue/spiffe', {
      common_name: 'a.example.com',
      uri_sans: 'spiffe://example.com/web,spiffe://example.com/api',
    });
    const cert = new X509Certificate(r.data.certificate);
    assert.equal(
      cert.subjectAltName,
      'DNS:a.example.com, URI:spiffe://example.com/web, URI:spiffe://example.com/api',
    );
    const e = await vaultError(
      v.write('pki/issue/spiffe', { common_name: 'a.example.com', uri_sans: 'spiffe://other.org/web' }),
    );
    assert.equal(e.statusCode, 400);
    assert.equal(
      e.body.errors[0],
      'URI Subject Alternative Names were provided via the API which are not valid for this role',
    );
  });

  test('when a CSR carries URI names then they are checked against the role and kept', async () => {
    const good = await v.write('pki/sign/spiffe', {
      csr: csrWith('svc.example.com', 'DNS:svc.example.com,URI:spiffe://example.com/svc'),
    });
    assert.match(
      new X509Certificate(good.data.certificate).subjectAltName ?? '',
      /URI:spiffe:\/\/example\.com\/svc/,
    );
    const e = await vaultError(
      v.write('pki/sign/web', { csr: csrWith('svc.example.com', 'URI:spiffe://example.com/svc') }),
    );
    assert.equal(
      e.body.errors[0],
      'URI Subject Alternative Names are not allowed in this role, but were provided via CSR',
    );
  });
});
