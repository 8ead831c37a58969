import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import vault from 'node-vault';
import { loadSeedFile } from '../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../src/dev/vault/server.ts';
import { rawRequest, SEED_FILE, vaultError } from '../../helpers/vault-target.ts';

describe('vault dev server: database credentials and leases', () => {
  let now = Date.now();
  let s: VaultDevServer;
  let v: vault.client;
  before(async () => {
    s = await startVaultServer({ seed: loadSeedFile(SEED_FILE), now: () => now });
    v = vault({ endpoint: s.url, token: s.rootToken, noCustomHTTPVerbs: true });
  });
  after(() => s.close());
  const post = (path: string, body: unknown, token = s.rootToken) =>
    rawRequest(s.url, 'POST', path, { token, body });

  test('when creds are read twice then each read mints a new user under a renewable lease', async () => {
    const a = await v.generateDatabaseCredentials({ databasePath: 'database', name: 'app' });
    const b = await v.generateDatabaseCredentials({ databasePath: 'database', name: 'app' });
    assert.notEqual(a.data.username, b.data.username);
    assert.notEqual(a.data.password, b.data.password);
    assert.match(a.lease_id, /^database\/creds\/app\/[0-9A-Za-z]{24}$/);
    assert.equal(a.renewable, true);
    assert.equal(a.lease_duration, 3600);
  });

  test('when an unknown role is read then 400', async () => {
    const e = await vaultError(v.read('database/creds/nope'));
    assert.equal(e.statusCode, 400);
    assert.match(e.body.errors[0], /unknown role/);
  });

  test('when a lease is renewed inside max_ttl then the increment is granted', async () => {
    const c = await v.read('database/creds/app');
    const r = await v.renew({ lease_id: c.lease_id, increment: 1800 });
    assert.equal(r.lease_id, c.lease_id);
    assert.equal(r.lease_duration, 1800);
    assert.equal(r.renewable, true);
    assert.equal(r.data, null);
    assert.equal(r.warnings, null);
  });

  test('when a renewal would pass max_ttl then it is capped with the exact warning text', async () => {
    const c = await v.read('database/creds/short');
    now += 30_000;
    const r = await v.renew({ lease_id: c.lease_id, increment: 3600 });
    assert.equal(r.lease_duration, 60);
    assert.deepEqual(r.warnings, [
      'TTL of "1h" exceeded the effective max_ttl of "1m"; TTL value is capped accordingly',
    ]);
  });

  test('when the max_ttl has been reached then renewal is 400 past the max TTL', async () => {
    const c = await v.read('database/creds/short');
    await v.renew({ lease_id: c.lease_id, increment: 90 });
    now += 89_500;
    const e = await vaultError(v.renew({ lease_id: c.lease_id, increment: 60 }));
    assert.equal(e.statusCode, 400);
    assert.deepEqual(e.body.errors, ['past the max TTL, cannot renew']);
  });

  test('when the lease id is in the URL then renew works too, and a duration string increment is accepted', async () => {
    const c = await v.read('database/creds/app');
    const r = await post(`/v1/sys/leases/renew/${c.lease_id}`, { increment: '10m' });
    assert.equal(r.status, 200);
    assert.equal(r.body.lease_duration, 600);
  });

  test('when a lease expires by the clock then renew says lease expired and lookup fails', async () => {
    const c = await v.read('database/creds/short');
    now += 61_000;
    const e = await vaultError(v.renew({ lease_id: c.lease_id }));
    assert.equal(e.statusCode, 400);
    assert.deepEqual(e.body.errors, ['lease expired']);
    assert.equal((await post('/v1/sys/leases/lookup', { lease_id: c.lease_id })).status, 400);
  });

  test('when a lease is revoked then 204, renew says lease not found; sync=false gives 202', async () => {
    const c = await v.read('database/creds/app');
    const r = await rawRequest(s.url, 'PUT', '/v1/sys/leases/revoke', {
      token: s.rootToken,
      body: { lease_id: c.lease_id },
    });
    assert.equal(r.status, 204);
    const e = await vaultError(v.renew({ lease_id: c.lease_id }));
    assert.deepEqual(e.body.errors, ['lease not found']);
    const d = await v.read('database/creds/app');
    const async = await post('/v1/sys/leases/revoke', { lease_id: d.lease_id, sync: false });
    assert.equal(async.status, 202);
  });

  test('when a lease is looked up then id, issue_time, expire_time, last_renewal, renewable and ttl come back', async () => {
    const c = await v.read('database/creds/app');
    const l1 = await post('/v1/sys/leases/lookup', { lease_id: c.lease_id });
    assert.equal(l1.status, 200);
    assert.equal(l1.body.data.id, c.lease_id);
    assert.equal(l1.body.data.last_renewal, null);
    assert.equal(l1.body.data.renewable, true);
    assert.equal(l1.body.data.ttl, 3600);
    assert.equal(typeof l1.body.data.issue_time, 'string');
    assert.equal(typeof l1.body.data.expire_time, 'string');
    await v.renew({ lease_id: c.lease_id, increment: 100 });
    const l2 = await post('/v1/sys/leases/lookup', { lease_id: c.lease_id });
    assert.equal(typeof l2.body.data.last_renewal, 'string');
    assert.equal(l2.body.data.ttl, 100);
  });

  test('when a token lease id is renewed here then 400 tokens cannot be renewed through this endpoint', async () => {
    const e = await vaultError(v.renew({ lease_id: 'auth/token/create/abc' }));
    assert.deepEqual(e.body.errors, ['tokens cannot be renewed through this endpoint']);
  });

  test('when the token that created a lease is revoked then the lease is gone', async () => {
    const created = await post('/v1/auth/token/create', { policies: ['app'], ttl: '1h' });
    const token = created.body.auth.client_token;
    const app = vault({ endpoint: s.url, token, noCustomHTTPVerbs: true });
    const c = await app.read('database/creds/app');
    assert.equal((await post('/v1/sys/leases/lookup', { lease_id: c.lease_id }, token)).status, 200);
    assert.equal((await post('/v1/auth/token/revoke-self', {}, token)).status, 204);
    const e = await vaultError(v.renew({ lease_id: c.lease_id }));
    assert.deepEqual(e.body.errors, ['lease not found']);
  });
});
