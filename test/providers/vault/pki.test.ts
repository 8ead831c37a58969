import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../../src/base/log.ts';
import { parseSeed } from '../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../src/dev/vault/server.ts';
import type { DocumentRequest, SecretDocument } from '../../../src/providers/provider.ts';
import { createVaultProvider, type VaultProvider } from '../../../src/providers/vault/provider.ts';
import { parseRef } from '../../../src/refs/parse.ts';
import { opensslVerify, pkiSeedYaml } from '../../helpers/pki.ts';

const request = (ref: string): DocumentRequest => {
  const r = parseRef(ref);
  return { scheme: 'vault', path: r.path, options: r.options, key: r.documentKey };
};

describe('vault provider: certificates issued at boot', () => {
  let server: VaultDevServer;
  let vault: VaultProvider;
  before(async () => {
    server = await startVaultServer({
      seed: parseSeed(
        `${pkiSeedYaml({ generateLease: true, allowedUriSans: 'spiffe://cluster.local/*' })}\n  kv:\n    secret/app: { a: "1" }`,
      ),
    });
    vault = createVaultProvider({
      env: { VAULT_ADDR: server.url, VAULT_TOKEN: server.rootToken },
      logger: createLogger({ level: 'silent' }),
      homeDir: '/nonexistent',
    });
  });
  after(async () => {
    await vault.close();
    await server.close();
  });

  const read = async (ref: string): Promise<SecretDocument> => {
    const req = request(ref);
    const out = (await vault.readAll([req], AbortSignal.timeout(30_000))).get(req.key);
    assert.ok(out?.ok, out && !out.ok ? out.error.message : 'no result');
    return out.doc;
  };
  const fails = async (ref: string): Promise<{ code: string; message: string }> => {
    const req = request(ref);
    const out = (await vault.readAll([req], AbortSignal.timeout(30_000))).get(req.key);
    assert.ok(out && !out.ok, 'expected a failure');
    return { code: out.error.code, message: out.error.message };
  };

  test('when issue/<role> is referenced then one POST issues a certificate whose key matches and openssl verifies', async () => {
    server.log.clear();
    const doc = await read(
      'vault:pki/issue/web?common_name=api.example.com&alt_names=www.example.com&ttl=2h',
    );
    const v = doc.value as Record<string, string>;
    const cert = new X509Certificate(v.certificate ?? '');
    assert.ok(cert.checkPrivateKey(createPrivateKey(v.private_key ?? '')));
    assert.ok(opensslVerify(v.issuing_ca ?? '', v.certificate ?? '').ok);
    assert.equal(typeof v.ca_chain, 'string', 'ca_chain is one PEM bundle');
    assert.match(v.ca_chain ?? '', /^-----BEGIN CERTIFICATE-----/);
    assert.equal(doc.issued?.expiresAt.getTime(), new Date(cert.validTo).getTime());
    assert.match(doc.issued?.serial ?? '', /^[0-9a-f:]+$/);
    assert.match(doc.lease?.id ?? '', /^pki\/issue\/web\//);
    const writes = server.log.entries.filter((e) => e.path === '/v1/pki/issue/web');
    assert.deepEqual(
      writes.map((e) => e.method),
      ['POST'],
    );
  });

  test('when sign/<role> is referenced then the key is generated here: the answer carries none, the document does', async () => {
    server.log.clear();
    const doc = await read('vault:pki/sign/web?common_name=svc.example.com&key_type=ec&ttl=1h');
    const v = doc.value as Record<string, string>;
    assert.match(v.private_key ?? '', /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(v.private_key_type, 'ec');
    const cert = new X509Certificate(v.certificate ?? '');
    assert.ok(cert.checkPrivateKey(createPrivateKey(v.private_key ?? '')));
    assert.equal(cert.subjectAltName, 'DNS:svc.example.com');
    assert.ok(opensslVerify(v.issuing_ca ?? '', v.certificate ?? '').ok);
    assert.ok(server.log.entries.some((e) => e.method === 'POST' && e.path === '/v1/pki/sign/web'));
  });

  test('when sign/ has uri_sans then they go into the request secrun signs, so the certificate carries them', async () => {
    const doc = await read(
      'vault:pki/sign/web?common_name=svc.example.com&uri_sans=spiffe://cluster.local/ns/app/sa/svc',
    );
    const cert = new X509Certificate((doc.value as Record<string, string>).certificate ?? '');
    assert.equal(cert.subjectAltName, 'DNS:svc.example.com, URI:spiffe://cluster.local/ns/app/sa/svc');
  });

  test('when sign/ asks for an RSA key then the certificate carries an RSA key', async () => {
    const doc = await read('vault:pki/sign/web?common_name=rsa.example.com&key_type=rsa&key_bits=2048');
    const cert = new X509Certificate((doc.value as Record<string, string>).certificate ?? '');
    assert.equal(cert.publicKey.asymmetricKeyType, 'rsa');
  });

  test('when the role refuses the name then the read fails with the reason', async () => {
    const e = await fails('vault:pki/issue/web?common_name=evil.org');
    assert.match(e.message, /not allowed by this role/);
  });

  test('when parameters are given on a path that is not an issuing one then it is refused, never written', async () => {
    server.log.clear();
    const e = await fails('vault:secret/app?common_name=x.example.com');
    assert.equal(e.code, 'vault.notIssuing');
    assert.match(e.message, /kv mount and is read, never written/);
    const other = await fails('vault:pki/cert/ca?ttl=1h');
    assert.equal(other.code, 'vault.notIssuing');
    assert.equal(server.log.entries.filter((x) => x.method === 'POST').length, 0);
  });

  test('when key_type is given on issue/ then it is refused (the role decides the key there)', async () => {
    const e = await fails('vault:pki/issue/web?common_name=a.example.com&key_type=ec');
    assert.equal(e.code, 'vault.badKeyType');
  });

  test('when a pki path is not an issuing one then it stays a read', async () => {
    server.log.clear();
    const doc = await read('vault:pki/cert/ca');
    assert.match((doc.value as Record<string, string>).certificate ?? '', /BEGIN CERTIFICATE/);
    assert.equal(doc.issued, undefined);
    assert.deepEqual(
      server.log.entries.filter((e) => e.path === '/v1/pki/cert/ca').map((e) => e.method),
      ['GET'],
    );
  });
});
