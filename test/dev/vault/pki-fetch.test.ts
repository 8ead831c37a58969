import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import vault from 'node-vault';
import { parseSeed } from '../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../src/dev/vault/server.ts';
import { pkiSeedYaml } from '../../helpers/pki.ts';
import { rawRequest } from '../../helpers/vault-target.ts';

/** `openssl crl` on a DER CRL with the CA: did the signature verify, and what it printed. */
function opensslCrl(caPem: string, der: Buffer): { ok: boolean; text: string } {
  const dir = mkdtempSync(join(tmpdir(), 'secrun-crl-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), caPem);
    const r = spawnSync(
      'openssl',
      ['crl', '-inform', 'DER', '-CAfile', join(dir, 'ca.pem'), '-noout', '-text'],
      { input: der },
    );
    const text = `${r.stdout}${r.stderr}`;
    return { ok: r.status === 0 && /verify OK/.test(text), text };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rawBytes(url: string): Promise<{ status: number; type: string | null; body: Buffer }> {
  const res = await fetch(url);
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    body: Buffer.from(await res.arrayBuffer()),
  };
}

describe('vault dev server: PKI fetch paths (served without a token, as Vault does)', () => {
  const now = Date.now();
  let s: VaultDevServer;
  let v: vault.client;
  let caPem: string;
  before(async () => {
    s = await startVaultServer({ seed: parseSeed(pkiSeedYaml()), now: () => now });
    v = vault({ endpoint: s.url, token: s.rootToken, noCustomHTTPVerbs: true });
    caPem = (await v.read('pki/cert/ca')).data.certificate;
  });
  after(() => s.close());

  test('when ca/pem is read without a token then it is the CA as raw PEM text', async () => {
    const r = await rawRequest(s.url, 'GET', '/v1/pki/ca/pem', {});
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/pem-certificate-chain');
    assert.equal(r.text, caPem);
    assert.match(r.text, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----$/);
  });

  test('when ca is read without a token then it is the CA in DER', async () => {
    const r = await rawBytes(`${s.url}/v1/pki/ca`);
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/pkix-cert');
    assert.equal(r.body[0], 0x30, 'a DER SEQUENCE');
    assert.ok(new X509Certificate(r.body).raw.equals(new X509Certificate(caPem).raw));
  });

  test('when ca_chain and cert/ca_chain are read without a token then the chain is the root', async () => {
    const raw = await rawRequest(s.url, 'GET', '/v1/pki/ca_chain', {});
    assert.equal(raw.status, 200);
    assert.equal(raw.headers.get('content-type'), 'application/pkix-cert');
    assert.equal(raw.text, caPem);
    const json = await rawRequest(s.url, 'GET', '/v1/pki/cert/ca_chain', {});
    assert.equal(json.status, 200);
    assert.equal(json.body.mount_type, 'pki');
    assert.equal(json.body.data.ca_chain, caPem);
    assert.equal(json.body.data.certificate, caPem);
    assert.equal(json.body.data.revocation_time, 0);
  });

  test('when the CRL is read without a token then openssl verifies it against the CA (DER, PEM and cert/crl)', async () => {
    const der = await rawBytes(`${s.url}/v1/pki/crl`);
    assert.equal(der.status, 200);
    assert.equal(der.type, 'application/pkix-crl');
    const verdict = opensslCrl(caPem, der.body);
    assert.ok(verdict.ok, verdict.text);
    assert.match(verdict.text, /No Revoked Certificates/);
    const pem = await rawRequest(s.url, 'GET', '/v1/pki/crl/pem', {});
    assert.equal(pem.headers.get('content-type'), 'application/x-pem-file');
    assert.match(pem.text, /^-----BEGIN X509 CRL-----/);
    const json = await rawRequest(s.url, 'GET', '/v1/pki/cert/crl', {});
    assert.match(json.body.data.certificate, /^-----BEGIN X509 CRL-----/);
  });

  test('when a CRL is checked against another CA then openssl refuses it (the check can fail)', async () => {
    const other = await startVaultServer({ seed: parseSeed(pkiSeedYaml()) });
    try {
      const der = await rawBytes(`${other.url}/v1/pki/crl`);
      assert.equal(opensslCrl(caPem, der.body).ok, false);
    } finally {
      await other.close();
    }
  });

  test('when an issued certificate is read by serial without a token then it is served (colon or hyphen form)', async () => {
    const issued = await v.write('pki/issue/web', { common_name: 'a.example.com' });
    const serial: string = issued.data.serial_number;
    const colon = await rawRequest(s.url, 'GET', `/v1/pki/cert/${serial}`, {});
    assert.equal(colon.status, 200);
    assert.equal(colon.body.data.certificate, issued.data.certificate);
    const hyphen = await rawRequest(s.url, 'GET', `/v1/pki/cert/${serial.replace(/:/g, '-')}`, {});
    assert.equal(hyphen.body.data.certificate, issued.data.certificate);
    const pem = await rawRequest(s.url, 'GET', `/v1/pki/cert/${serial}/raw/pem`, {});
    assert.equal(pem.text, issued.data.certificate);
    const unknown = await rawRequest(s.url, 'GET', '/v1/pki/cert/00-11-22', {});
    assert.equal(unknown.status, 404);
  });

  test('when a path that is not a fetch path is read without a token then 403 (roles stay private)', async () => {
    const r = await rawRequest(s.url, 'GET', '/v1/pki/roles/web', {});
    assert.equal(r.status, 403);
    const write = await rawRequest(s.url, 'POST', '/v1/pki/ca/pem', { body: {} });
    assert.equal(write.status, 405);
  });

  test('when the mount has no CA yet then ca is empty (204) and cert/ca names the missing issuer', async () => {
    await rawRequest(s.url, 'POST', '/v1/sys/mounts/empty-pki', {
      token: s.rootToken,
      body: { type: 'pki' },
    });
    assert.equal((await rawRequest(s.url, 'GET', '/v1/empty-pki/ca/pem', {})).status, 204);
    const json = await rawRequest(s.url, 'GET', '/v1/empty-pki/cert/ca', {});
    assert.equal(json.status, 400);
    assert.match(json.body.errors[0], /no default issuer/);
  });
});
