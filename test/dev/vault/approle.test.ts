import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import vault from 'node-vault';
import { loadSeedFile } from '../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../src/dev/vault/server.ts';
import { rawRequest, SEED_FILE, vaultError } from '../../helpers/vault-target.ts';

describe('vault dev server: AppRole and response wrapping', () => {
  let now = Date.now();
  let s: VaultDevServer;
  before(async () => {
    s = await startVaultServer({ seed: loadSeedFile(SEED_FILE), now: () => now });
  });
  after(() => s.close());
  const client = (token?: string) =>
    vault({ endpoint: s.url, noCustomHTTPVerbs: true, ...(token ? { token } : {}) });
  const wrapSecretId = async (ttl = '120s') =>
    rawRequest(s.url, 'POST', '/v1/auth/approle/role/web/secret-id', {
      token: s.rootToken,
      body: {},
      headers: { 'x-vault-wrap-ttl': ttl },
    });

  test('when role_id and secret_id are right then the auth block carries role_name and the role policies', async () => {
    const v = client();
    const res = await v.approleLogin({ role_id: 'web-role-id', secret_id: 'web-secret-id' });
    assert.equal(res.data, null);
    assert.deepEqual(res.auth.metadata, { role_name: 'web' });
    assert.deepEqual(res.auth.policies, ['app', 'default']);
    assert.equal(res.auth.lease_duration, 1200);
    assert.equal(res.auth.renewable, true);
    assert.equal(res.auth.orphan, true);
    assert.equal(v.token, res.auth.client_token);
    const read = await v.read('secret/data/app/config');
    assert.equal(read.data.data.password, 'second');
  });

  test('when the role_id or secret_id is wrong or missing then 400 with the exact texts', async () => {
    const v = client();
    const bad = await vaultError(v.approleLogin({ role_id: 'web-role-id', secret_id: 'nope' }));
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.body, { errors: ['invalid role or secret ID'] });
    const badRole = await vaultError(v.approleLogin({ role_id: 'nope', secret_id: 'web-secret-id' }));
    assert.deepEqual(badRole.body.errors, ['invalid role or secret ID']);
    const noRole = await rawRequest(s.url, 'POST', '/v1/auth/approle/login', { body: { secret_id: 'x' } });
    assert.deepEqual(noRole.body.errors, ['missing role_id']);
    const noSecret = await rawRequest(s.url, 'POST', '/v1/auth/approle/login', {
      body: { role_id: 'web-role-id' },
    });
    assert.deepEqual(noSecret.body.errors, ['missing secret_id']);
  });

  test('when the role id is read and a secret id generated then both log in', async () => {
    const admin = client(s.rootToken);
    const roleId = await admin.read('auth/approle/role/web/role-id');
    assert.equal(roleId.data.role_id, 'web-role-id');
    const sid = await admin.write('auth/approle/role/web/secret-id', { num_uses: 1 });
    assert.equal(typeof sid.data.secret_id, 'string');
    assert.equal(typeof sid.data.secret_id_accessor, 'string');
    assert.equal(sid.data.secret_id_num_uses, 1);
    await client().approleLogin({ role_id: 'web-role-id', secret_id: sid.data.secret_id });
    const again = await vaultError(
      client().approleLogin({ role_id: 'web-role-id', secret_id: sid.data.secret_id }),
    );
    assert.deepEqual(again.body.errors, ['invalid role or secret ID']);
  });

  test('when a secret id has a ttl then it stops working after it', async () => {
    const sid = await client(s.rootToken).write('auth/approle/role/web/secret-id', { ttl: 30 });
    now += 31_000;
    const e = await vaultError(
      client().approleLogin({ role_id: 'web-role-id', secret_id: sid.data.secret_id }),
    );
    assert.deepEqual(e.body.errors, ['invalid role or secret ID']);
  });

  test('when secret-id is asked with X-Vault-Wrap-TTL then only wrap_info comes back', async () => {
    const r = await wrapSecretId();
    assert.equal(r.status, 200);
    assert.equal(r.body.request_id, '');
    assert.equal(r.body.data, null);
    assert.equal(r.body.auth, null);
    const w = r.body.wrap_info;
    assert.equal(w.ttl, 120);
    assert.equal(w.creation_path, 'auth/approle/role/web/secret-id');
    assert.equal(typeof w.token, 'string');
    assert.equal(typeof w.accessor, 'string');
    assert.equal(typeof w.creation_time, 'string');
    assert.equal('wrapped_accessor' in w, false);
  });

  test('when unwrapped with the wrapping token as X-Vault-Token then the secret id comes back once', async () => {
    const { body } = await wrapSecretId();
    const token = body.wrap_info.token;
    const lookup = await rawRequest(s.url, 'POST', '/v1/sys/wrapping/lookup', { body: { token } });
    assert.equal(lookup.status, 200);
    assert.equal(lookup.body.data.creation_path, 'auth/approle/role/web/secret-id');
    assert.equal(lookup.body.data.creation_ttl, 120);
    assert.equal(typeof lookup.body.data.creation_time, 'string');
    const r = await rawRequest(s.url, 'POST', '/v1/sys/wrapping/unwrap', { token });
    assert.equal(r.status, 200);
    assert.equal(typeof r.body.data.secret_id, 'string');
    await client().approleLogin({ role_id: 'web-role-id', secret_id: r.body.data.secret_id });
    const again = await rawRequest(s.url, 'POST', '/v1/sys/wrapping/unwrap', { token });
    assert.equal(again.status, 400);
    assert.deepEqual(again.body, { errors: ['wrapping token is not valid or does not exist'] });
  });

  test('when unwrapped with node-vault (token in body, own token in header) then it works and is single use', async () => {
    const { body } = await wrapSecretId();
    const v = client(s.rootToken);
    const r = await v.unwrap({ token: body.wrap_info.token });
    assert.equal(typeof r.data.secret_id, 'string');
    const e = await vaultError(v.unwrap({ token: body.wrap_info.token }));
    assert.equal(e.statusCode, 400);
    assert.equal(e.message, 'wrapping token is not valid or does not exist');
  });

  test('when the wrapping token outlives its ttl then unwrap is 400', async () => {
    const { body } = await wrapSecretId('60s');
    now += 61_000;
    const r = await rawRequest(s.url, 'POST', '/v1/sys/wrapping/unwrap', { token: body.wrap_info.token });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.errors, ['wrapping token is not valid or does not exist']);
  });

  test('when a wrapping token is used as a normal token then 403', async () => {
    const { body } = await wrapSecretId();
    const r = await rawRequest(s.url, 'GET', '/v1/secret/data/app/config', { token: body.wrap_info.token });
    assert.equal(r.status, 403);
  });

  test('when a login is wrapped then wrapped_accessor names the token accessor', async () => {
    const r = await rawRequest(s.url, 'POST', '/v1/auth/approle/login', {
      body: { role_id: 'web-role-id', secret_id: 'web-secret-id' },
      headers: { 'x-vault-wrap-ttl': '5m' },
    });
    assert.equal(r.body.wrap_info.ttl, 300);
    const u = await rawRequest(s.url, 'POST', '/v1/sys/wrapping/unwrap', { token: r.body.wrap_info.token });
    assert.equal(u.body.auth.accessor, r.body.wrap_info.wrapped_accessor);
  });
});
