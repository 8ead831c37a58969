import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import vault from 'node-vault';
import type { VaultDevServer } from '../../../src/dev/vault/server.ts';
import type { KeyPair, TestPki } from '../../helpers/tls.ts';
import { certAuthSeed, type MtlsVault, startMtlsVault } from '../../helpers/vault-auth-seed.ts';

function post(
  url: string,
  path: string,
  ca: string,
  client: KeyPair | undefined,
  body: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are asserted field by field
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      {
        method: 'POST',
        ca,
        ...(client ? { cert: client.cert, key: client.key } : {}),
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('vault dev server: HTTPS listener and cert login', () => {
  let pki: TestPki;
  let s: VaultDevServer;
  let started: MtlsVault | undefined;
  before(async () => {
    started = await startMtlsVault(({ ca }) => ({
      vault: {
        policies: { app: [{ path: 'secret/data/app/*', capabilities: ['read'] }] },
        auth: { cert: certAuthSeed(ca.cert, { policies: ['app'], token_ttl: '15m' }) },
      },
    }));
    ({ pki, server: s } = started);
  });
  after(() => started?.close());

  test('when node-vault logs in with a trusted client cert then the auth block names the cert role', async () => {
    const v = vault({
      endpoint: s.httpsUrl!,
      requestOptions: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
    });
    const res = await v.certLogin();
    assert.equal(res.auth.metadata.cert_name, 'web');
    assert.equal(res.auth.metadata.common_name, 'web.example.internal');
    assert.match(res.auth.metadata.serial_number, /^\d+$/);
    assert.deepEqual(res.auth.policies, ['app', 'default']);
    assert.equal(res.auth.lease_duration, 900);
    const health = await fetch(`${s.url}/v1/sys/health`);
    assert.equal(health.status, 200);
  });

  test('when node-vault lists with the LIST verb over HTTPS then the keys come back', async () => {
    const root = vault({ endpoint: s.httpsUrl!, token: s.rootToken, requestOptions: { ca: pki.ca.cert } });
    await root.write('secret/data/app/x', { data: { a: '1' } });
    const res = await root.list('secret/metadata/app');
    assert.deepEqual(res.data.keys, ['x']);
  });

  test('when the role is named in the body then that role is used', async () => {
    const r = await post(s.httpsUrl!, '/v1/auth/cert/login', pki.ca.cert, pki.client, { name: 'web' });
    assert.equal(r.status, 200);
    assert.equal(r.body.auth.metadata.cert_name, 'web');
    // path_login.go loadTrustedCerts(certName): an unknown name leaves no CA to trust the chain.
    const wrong = await post(s.httpsUrl!, '/v1/auth/cert/login', pki.ca.cert, pki.client, { name: 'nope' });
    assert.equal(wrong.status, 400);
    assert.deepEqual(wrong.body.errors, ['invalid certificate or no client certificate supplied']);
  });

  // vault builtin/credential/cert path_login.go verifyCredentials: connection, then certificate.
  test('when no client cert is sent then "client certificate must be supplied"; over plain HTTP "tls connection required"', async () => {
    const r = await post(s.httpsUrl!, '/v1/auth/cert/login', pki.ca.cert, undefined, {});
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.errors, ['client certificate must be supplied']);
    const plain = await fetch(`${s.url}/v1/auth/cert/login`, { method: 'POST', body: '{}' });
    assert.equal(plain.status, 400);
    assert.deepEqual(await plain.json(), { errors: ['tls connection required'] });
  });

  test('when the client cert is untrusted or expired then 400 invalid certificate', async () => {
    for (const client of [pki.untrustedClient, pki.expiredClient]) {
      const r = await post(s.httpsUrl!, '/v1/auth/cert/login', pki.ca.cert, client, {});
      assert.equal(r.status, 400);
      assert.deepEqual(r.body.errors, ['invalid certificate or no client certificate supplied']);
    }
  });

  test('when the common name is not allowed then 400 no chain matching all constraints', async () => {
    const r = await post(s.httpsUrl!, '/v1/auth/cert/login', pki.ca.cert, pki.otherCnClient, {});
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.errors, [
      'no chain matching all constraints could be found for this login certificate',
    ]);
  });
});
