import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadSeedFile } from '../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../src/dev/vault/server.ts';
import {
  openVaultTarget,
  rawRequest,
  realVault,
  SEED_FILE,
  type VaultTarget,
  vaultError,
} from '../../helpers/vault-target.ts';

describe('vault dev server: tokens (any target)', () => {
  let t: VaultTarget;
  before(async () => {
    t = await openVaultTarget();
  });
  after(() => t.close());

  // hashicorp/vault vault/token_store.go handleLookup / handleRenew: unknown tokens.
  test('when an unknown token is looked up then 403 "bad token"; renewed then 400 "token not found"', async () => {
    const lookup = await t.raw('POST', '/v1/auth/token/lookup', { body: { token: 'hvs.no-such-token' } });
    assert.equal(lookup.status, 403);
    assert.deepEqual(lookup.body, { errors: ['bad token'] });
    const renew = await t.raw('POST', '/v1/auth/token/renew', { body: { token: 'hvs.no-such-token' } });
    assert.equal(renew.status, 400);
    assert.deepEqual(renew.body, { errors: ['token not found'] });
  });

  // vault/token_store.go handleLookup: last_renewal / last_renewal_time appear once renewed;
  // times are RFC 3339 as Go marshals them (no trailing zeros in the fraction).
  test('when a token is renewed then lookup-self has last_renewal and last_renewal_time', async () => {
    const created = await t.client().tokenCreate({ policies: ['default'], ttl: '10m' });
    const token = created.auth.client_token as string;
    const before = await t.client(token).tokenLookupSelf();
    assert.equal('last_renewal' in before.data, false);
    assert.equal('last_renewal_time' in before.data, false);
    await t.client(token).tokenRenewSelf({ increment: '5m' });
    const after = await t.client(token).tokenLookupSelf();
    assert.match(after.data.last_renewal, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
    assert.equal(typeof after.data.last_renewal_time, 'number');
    assert.equal(after.data.last_renewal_time, Math.floor(Date.parse(after.data.last_renewal) / 1000));
    assert.match(after.data.issue_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
  });

  // sdk/framework/lease.go CalculateTTL + humanDuration: zero minutes/seconds are dropped.
  test('when a renewal is capped then the warning prints durations without zero units', async () => {
    const created = await t
      .client()
      .tokenCreate({ policies: ['default'], ttl: '1h', explicit_max_ttl: '2h' });
    const renewed = await t.client(created.auth.client_token).tokenRenewSelf({ increment: '10h' });
    assert.equal(renewed.warnings.length, 1);
    assert.match(
      renewed.warnings[0],
      /^TTL of "10h" exceeded the effective max_ttl of "(2h|1h59m[\d.]+s)"; TTL value is capped accordingly$/,
    );
  });

  test('when the root token looks itself up then ttl 0, expire_time null and no renewable key', async () => {
    const res = await t.client().tokenLookupSelf();
    assert.equal(res.data.ttl, 0);
    assert.equal(res.data.expire_time, null);
    assert.equal(res.data.creation_ttl, 0);
    assert.ok(res.data.policies.includes('root'));
    assert.equal('renewable' in res.data, false);
    assert.equal('issue_time' in res.data, false);
  });

  test('when a token is created with ttl and policies then the auth block has the Vault keys', async () => {
    const res = await t.client().tokenCreate({ ttl: '1h', policies: ['p1'] });
    assert.equal(res.data, null);
    const a = res.auth;
    assert.match(a.client_token, /^hvs\./);
    assert.equal(a.lease_duration, 3600);
    assert.equal(a.renewable, true);
    assert.deepEqual(a.policies, ['default', 'p1']);
    assert.deepEqual(a.token_policies, ['default', 'p1']);
    assert.equal(a.token_type, 'service');
    assert.equal(typeof a.accessor, 'string');
    const me = await t.client(a.client_token).tokenLookupSelf();
    assert.ok(me.data.ttl > 3500 && me.data.ttl <= 3600);
    assert.equal(typeof me.data.expire_time, 'string');
    assert.equal(me.data.renewable, true);
  });

  test('when a token renews itself then lease_duration follows the increment', async () => {
    const { auth } = await t.client().tokenCreate({ ttl: '10m', explicit_max_ttl: '1h' });
    const res = await t.client(auth.client_token).tokenRenewSelf({ increment: '30m' });
    assert.equal(res.auth.lease_duration, 1800);
  });

  test('when renewal passes explicit_max_ttl then it is capped with the TTL warning', async () => {
    const { auth } = await t.client().tokenCreate({ ttl: '10m', explicit_max_ttl: '20m' });
    const res = await t.client(auth.client_token).tokenRenewSelf({ increment: '1h' });
    assert.ok(res.auth.lease_duration <= 1200 && res.auth.lease_duration > 1100);
    assert.match(
      res.warnings[0],
      /^TTL of "1h" exceeded the effective max_ttl of "[0-9hms]+"; TTL value is capped accordingly$/,
    );
  });

  test('when the root token renews itself then 400 invalid lease ID', async () => {
    const e = await vaultError(t.client().tokenRenewSelf());
    assert.equal(e.statusCode, 400);
    assert.match(e.body.errors[0], /invalid lease ID/);
  });

  test('when a non-renewable token renews itself then 400 lease is not renewable', async () => {
    const { auth } = await t.client().tokenCreate({ ttl: '10m', renewable: false });
    const e = await vaultError(t.client(auth.client_token).tokenRenewSelf());
    assert.equal(e.statusCode, 400);
    assert.match(e.body.errors[0], /lease is not renewable/);
  });

  test('when a token revokes itself then 204 and later use is 403 permission denied', async () => {
    const { auth } = await t.client().tokenCreate({ ttl: '10m' });
    const r = await t.raw('POST', '/v1/auth/token/revoke-self', { token: auth.client_token });
    assert.equal(r.status, 204);
    const e = await vaultError(t.client(auth.client_token).tokenLookupSelf());
    assert.equal(e.statusCode, 403);
    assert.match(e.body.errors[0], /permission denied/);
  });

  test('when no token or a garbage token is sent then 403 permission denied', async () => {
    const none = await t.raw('GET', '/v1/secret/data/x', { token: null });
    assert.equal(none.status, 403);
    assert.match(none.body.errors[0], /permission denied/);
    const bad = await t.raw('GET', '/v1/auth/token/lookup-self', { token: 'hvs.garbage' });
    assert.equal(bad.status, 403);
    assert.match(bad.body.errors[0], /permission denied/);
  });

  test('when a token is looked up by another token then its data comes back', async () => {
    const { auth } = await t.client().tokenCreate({ ttl: '10m' });
    const r = await t.raw('POST', '/v1/auth/token/lookup', { body: { token: auth.client_token } });
    assert.equal(r.status, 200);
    assert.equal(r.body.data.id, auth.client_token);
  });

  test('when Authorization: Bearer carries the token then it is accepted', async () => {
    const r = await t.raw('GET', '/v1/auth/token/lookup-self', {
      token: null,
      headers: { authorization: `Bearer ${t.rootToken}` },
    });
    assert.equal(r.status, 200);
  });
});

describe('vault dev server: token clock, policies, namespaces (dev only)', { skip: realVault }, () => {
  let now = Date.now();
  let s: VaultDevServer;
  before(async () => {
    s = await startVaultServer({ seed: loadSeedFile(SEED_FILE), now: () => now });
  });
  after(() => s.close());
  const get = (path: string, token: string, headers: Record<string, string> = {}) =>
    rawRequest(s.url, 'GET', path, { token, headers });

  test('when the clock passes a token ttl then the token is invalid (403 invalid token)', async () => {
    const created = await rawRequest(s.url, 'POST', '/v1/auth/token/create', {
      token: s.rootToken,
      body: { ttl: 60 },
    });
    const token = created.body.auth.client_token;
    assert.equal((await get('/v1/auth/token/lookup-self', token)).status, 200);
    now += 61_000;
    const r = await get('/v1/auth/token/lookup-self', token);
    assert.equal(r.status, 403);
    assert.match(r.body.errors[0], /invalid token/);
  });

  test('when a renewal is asked past the max TTL then 400 past the max TTL', async () => {
    const created = await rawRequest(s.url, 'POST', '/v1/auth/token/create', {
      token: s.rootToken,
      body: { ttl: 60, explicit_max_ttl: 60 },
    });
    now += 59_500;
    const r = await rawRequest(s.url, 'POST', '/v1/auth/token/renew-self', {
      token: created.body.auth.client_token,
    });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.errors, ['past the max TTL, cannot renew']);
  });

  test('when the seeded app policy allows secret/data/app/* then reads pass and other paths are 403', async () => {
    assert.equal((await get('/v1/secret/data/app/config', 'hvs.app-token')).status, 200);
    const listed = await get('/v1/secret/metadata/app/?list=true', 'hvs.app-token');
    assert.equal(listed.status, 200);
    const denied = await get('/v1/secret/data/other', 'hvs.app-token');
    assert.equal(denied.status, 403);
    assert.equal(denied.body.errors[0], '1 error occurred:\n\t* permission denied\n\n');
    const write = await rawRequest(s.url, 'POST', '/v1/secret/data/app/config', {
      token: 'hvs.app-token',
      body: { data: { a: 1 } },
    });
    assert.equal(write.status, 403);
  });

  test('when a policy uses + then exactly one segment matches', async () => {
    const c = await rawRequest(s.url, 'POST', '/v1/auth/token/create', {
      token: s.rootToken,
      body: { policies: ['one-level'] },
    });
    const token = c.body.auth.client_token;
    assert.equal((await get('/v1/secret/data/app/config', token)).status, 200);
    assert.equal((await get('/v1/secret/data/app/x/config', token)).status, 403);
  });

  test('when the default policy is all a token has then it can look itself up but not read secrets', async () => {
    const c = await rawRequest(s.url, 'POST', '/v1/auth/token/create', {
      token: s.rootToken,
      body: { policies: ['default'] },
    });
    const token = c.body.auth.client_token;
    assert.equal((await get('/v1/auth/token/lookup-self', token)).status, 200);
    assert.equal((await get('/v1/secret/data/app/config', token)).status, 403);
  });

  test('when a num_uses=1 token is used once then the second use is 403', async () => {
    assert.equal((await get('/v1/secret/data/app/config', 'hvs.once-token')).status, 200);
    assert.equal((await get('/v1/secret/data/app/config', 'hvs.once-token')).status, 403);
  });

  test('when X-Vault-Namespace or a path prefix names a namespace then its own secrets and tokens apply', async () => {
    const viaHeader = await get('/v1/secret/data/svc', 'hvs.team-a-token', { 'x-vault-namespace': 'team-a' });
    assert.equal(viaHeader.status, 200);
    assert.deepEqual(viaHeader.body.data.data, { token: 'team-a-value' });
    const viaPath = await get('/v1/team-a/secret/data/svc', 'hvs.team-a-token');
    assert.equal(viaPath.status, 200);
    assert.equal((await get('/v1/secret/data/svc', 'hvs.team-a-token')).status, 403);
    const rootInNs = await get('/v1/secret/data/svc', s.rootToken, { 'x-vault-namespace': 'team-a/' });
    assert.equal(rootInNs.status, 200);
    assert.equal(s.log.entries.at(-1)?.namespace, 'team-a/');
  });
});
