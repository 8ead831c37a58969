import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import vault from 'node-vault';
import { parseSeed } from '../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../src/dev/vault/server.ts';
import { buildCsr, generateKey } from '../../../src/providers/vault/csr.ts';
import { opensslDir } from '../../helpers/openssl.ts';
import { opensslVerify, pkiSeedYaml } from '../../helpers/pki.ts';
import { rawRequest, vaultError } from '../../helpers/vault-target.ts';

describe('vault dev server: PKI secrets engine', () => {
  const now = Date.now();
  let s: VaultDevServer;
  let v: vault.client;
  before(async () => {
    s = await startVaultServer({ seed: parseSeed(pkiSeedYaml({ generateLease: true })), now: () => now });
    v = vault({ endpoint: s.url, token: s.rootToken, noCustomHTTPVerbs: true });
  });
  after(() => s.close());

  test("when a certificate is issued then it has Vault's shape, matches its key and openssl verifies it against the CA", async () => {
    const r = await v.write('pki/issue/web', {
      common_name: 'api.example.com',
      alt_names: 'www.example.com',
      ip_sans: '10.1.2.3',
      ttl: '2h',
    });
    const d = r.data;
    assert.deepEqual(Object.keys(d).sort(), [
      'ca_chain',
      'certificate',
      'expiration',
      'issuing_ca',
      'private_key',
      'private_key_type',
      'serial_number',
    ]);
    assert.equal(d.private_key_type, 'ec');
    assert.match(d.private_key, /^-----BEGIN EC PRIVATE KEY-----/);
    assert.deepEqual(d.ca_chain, [d.issuing_ca]);
    assert.match(d.serial_number, /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    const cert = new X509Certificate(d.certificate);
    assert.ok(cert.checkPrivateKey(createPrivateKey(d.private_key)));
    assert.equal(cert.subject, 'CN=api.example.com');
    assert.equal(cert.subjectAltName, 'DNS:api.example.com, DNS:www.example.com, IP Address:10.1.2.3');
    assert.equal(d.expiration, Math.floor(new Date(cert.validTo).getTime() / 1000));
    assert.ok(Math.abs(d.expiration - (now / 1000 + 7200)) <= 1);
    assert.ok(cert.verify(new X509Certificate(d.issuing_ca).publicKey));
    const verdict = opensslVerify(d.issuing_ca, d.certificate, 'sslserver');
    assert.ok(verdict.ok, verdict.text);
    assert.ok(opensslVerify(d.issuing_ca, d.certificate, 'sslclient').ok);
    assert.match(r.lease_id, /^pki\/issue\/web\//);
    assert.equal(r.lease_duration, 7200);
    assert.equal(r.renewable, false);
  });

  test('when a certificate from another CA is checked then openssl refuses it (the verification can fail)', async () => {
    const other = await startVaultServer({ seed: parseSeed(pkiSeedYaml()) });
    try {
      const r = await vault({ endpoint: other.url, token: other.rootToken }).write('pki/issue/web', {
        common_name: 'a.example.com',
      });
      const ours = await v.read('pki/cert/ca');
      assert.equal(opensslVerify(ours.data.certificate, r.data.certificate).ok, false);
    } finally {
      await other.close();
    }
  });

  test('when a CSR is signed then the certificate carries its key and names, and no private key is returned', async () => {
    const key = generateKey('ec');
    const csr = buildCsr(key, {
      commonName: 'svc.example.com',
      dnsNames: ['svc.example.com', 'alt.example.com'],
    });
    const r = await v.write('pki/sign/web', { csr, ttl: '1h' });
    assert.equal(r.data.private_key, undefined);
    const cert = new X509Certificate(r.data.certificate);
    assert.ok(cert.checkPrivateKey(key.privateKey));
    assert.equal(cert.subjectAltName, 'DNS:svc.example.com, DNS:alt.example.com');
    assert.ok(opensslVerify(r.data.issuing_ca, r.data.certificate).ok);
  });

  test('when a tampered CSR is sent then 400 names the bad signature', async () => {
    const csr = buildCsr(generateKey('ec'), { commonName: 'svc.example.com' });
    const der = Buffer.from(csr.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.indexOf(Buffer.from('svc'))] = 'x'.charCodeAt(0);
    const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----`;
    const e = await vaultError(v.write('pki/sign/web', { csr: bad }));
    assert.equal(e.statusCode, 400);
    assert.match(e.body.errors[0], /signature is invalid/);
  });

  test('when exclude_cn_from_sans is set then the common name is checked but left out of the DNS names', async () => {
    const r = await v.write('pki/issue/web', {
      common_name: 'api.example.com',
      alt_names: 'www.example.com',
      exclude_cn_from_sans: true,
    });
    const cert = new X509Certificate(r.data.certificate);
    assert.equal(cert.subject, 'CN=api.example.com');
    assert.equal(cert.subjectAltName, 'DNS:www.example.com');
    const alone = await v.write('pki/issue/web', {
      common_name: 'b.example.com',
      exclude_cn_from_sans: 'true',
    });
    assert.equal(new X509Certificate(alone.data.certificate).subjectAltName, undefined);
    const key = generateKey('ec');
    const signed = await v.write('pki/sign/web', {
      csr: buildCsr(key, { commonName: 'svc.example.com', dnsNames: ['alt.example.com'] }),
      exclude_cn_from_sans: true,
    });
    assert.equal(new X509Certificate(signed.data.certificate).subjectAltName, 'DNS:alt.example.com');
    const denied = await vaultError(
      v.write('pki/issue/web', { common_name: 'evil.com', exclude_cn_from_sans: true }),
    );
    assert.equal(denied.body.errors[0], 'common name evil.com not allowed by this role');
  });

  test('when remove_roots_from_chain is set then the self-signed root is left out of ca_chain', async () => {
    const r = await v.write('pki/issue/web', { common_name: 'a.example.com', remove_roots_from_chain: true });
    assert.equal('ca_chain' in r.data, false, 'the chain held only the root');
    assert.match(r.data.issuing_ca, /^-----BEGIN CERTIFICATE-----/);
    const csr = buildCsr(generateKey('ec'), { commonName: 'svc.example.com' });
    const signed = await v.write('pki/sign/web', { csr, remove_roots_from_chain: 'true' });
    assert.equal('ca_chain' in signed.data, false);
    const kept = await v.write('pki/issue/web', {
      common_name: 'a.example.com',
      remove_roots_from_chain: false,
    });
    assert.deepEqual(kept.data.ca_chain, [kept.data.issuing_ca]);
  });

  test("when a name is outside allowed_domains then 400 with Vault's wording", async () => {
    const e = await vaultError(v.write('pki/issue/web', { common_name: 'evil.com' }));
    assert.equal(e.statusCode, 400);
    assert.equal(e.body.errors[0], 'common name evil.com not allowed by this role');
    const bare = await vaultError(v.write('pki/issue/web', { common_name: 'example.com' }));
    assert.match(bare.body.errors[0], /not allowed/);
    const alt = await vaultError(
      v.write('pki/issue/web', { common_name: 'a.example.com', alt_names: 'b.other.org' }),
    );
    assert.equal(alt.body.errors[0], 'subject alternate name b.other.org not allowed by this role');
  });

  test('when the TTL asked is above max_ttl then it is capped with a warning', async () => {
    const r = await v.write('pki/issue/web', { common_name: 'a.example.com', ttl: '100h' });
    assert.ok(Math.abs(r.data.expiration - (now / 1000 + 72 * 3600)) <= 1);
    assert.match(r.warnings[0], /maxTTL/);
  });

  test("when the role is unknown or the method is GET then Vault's errors", async () => {
    assert.equal(
      (await vaultError(v.write('pki/issue/nope', { common_name: 'a.example.com' }))).statusCode,
      400,
    );
    const get = await rawRequest(s.url, 'GET', '/v1/pki/issue/web', { token: s.rootToken });
    assert.equal(get.status, 405);
  });

  test('when the CA is read without a token then it is served (cert/ca is public)', async () => {
    const r = await rawRequest(s.url, 'GET', '/v1/pki/cert/ca', {});
    assert.equal(r.status, 200);
    const ca = new X509Certificate((r.body as { data: { certificate: string } }).data.certificate);
    assert.equal(ca.ca, true);
    assert.equal(ca.subject, 'CN=secrun test root');
  });

  test('when a pki mount is enabled through the API then roles and root/generate make it issue', async () => {
    await rawRequest(s.url, 'POST', '/v1/sys/mounts/pki2', { token: s.rootToken, body: { type: 'pki' } });
    const none = await vaultError(v.write('pki2/issue/r', { common_name: 'a.test' }));
    assert.equal(none.statusCode, 400);
    await v.write('pki2/root/generate/internal', { common_name: 'api root', ttl: '48h' });
    await v.write('pki2/roles/r', {
      allowed_domains: 'test',
      allow_subdomains: true,
      key_type: 'rsa',
      max_ttl: '1h',
    });
    const r = await v.write('pki2/issue/r', { common_name: 'a.test', private_key_format: 'pkcs8' });
    assert.match(r.data.private_key, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(r.data.private_key_type, 'rsa');
    assert.ok(opensslVerify(r.data.issuing_ca, r.data.certificate).ok);
    const mounts = await rawRequest(s.url, 'GET', '/v1/sys/internal/ui/mounts/pki2/issue/r', {
      token: s.rootToken,
    });
    assert.equal((mounts.body as { data: { type: string } }).data.type, 'pki');
  });

  test('when the seed gives a CA then issued certificates chain to it, and a mismatched key is a seed error', async () => {
    const dir = opensslDir('secrun-pki-seed-');
    try {
      const ca = dir.selfSigned(
        'ca',
        'seeded root',
        '30',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      );
      const other = dir.selfSigned('other', 'other root');
      const seedWith = (key: string) =>
        `${pkiSeedYaml()}\n      ca:\n        certificate: |\n${indent(ca.cert)}\n        private_key: |\n${indent(key)}`;
      const seeded = await startVaultServer({ seed: parseSeed(seedWith(ca.key)) });
      try {
        const r = await vault({ endpoint: seeded.url, token: seeded.rootToken }).write('pki/issue/web', {
          common_name: 'a.example.com',
        });
        assert.equal(r.data.issuing_ca.trim(), ca.cert.trim());
        const verdict = opensslVerify(ca.cert, r.data.certificate);
        assert.ok(verdict.ok, verdict.text);
      } finally {
        await seeded.close();
      }
      await assert.rejects(startVaultServer({ seed: parseSeed(seedWith(other.key)) }), /does not match/);
    } finally {
      dir.remove();
    }
  });
});

const indent = (pem: string): string =>
  pem
    .trim()
    .split('\n')
    .map((l) => `          ${l}`)
    .join('\n');
