import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openVaultTarget, realVault, type VaultTarget } from '../../helpers/vault-target.ts';

// Conformance: hashicorp/vault vault/logical_system.go pathInternalUIMountRead and
// pathInternalUIMountsRead (openbao internal/vault/logical_system.go has the same shape).
describe('vault dev server: sys/internal/ui/mounts', () => {
  let t: VaultTarget;
  before(async () => {
    t = await openVaultTarget();
  });
  after(() => t.close());

  test('when an auth method is asked for then 200 with its type and a path without auth/', async () => {
    const r = await t.raw('GET', '/v1/sys/internal/ui/mounts/auth/token');
    assert.equal(r.status, 200);
    assert.equal(r.body.data.type, 'token');
    assert.equal(r.body.data.path, 'token/');
  });

  test('when nothing is named then 200 with the secrets engines and auth methods the token can see', async () => {
    const r = await t.raw('GET', '/v1/sys/internal/ui/mounts');
    assert.equal(r.status, 200);
    assert.equal(r.body.data.secret['secret/'].type, 'kv');
    assert.equal(r.body.data.auth['token/'].type, 'token');
  });

  test('when a token can see nothing under a mount then 403 with the preflight text', async () => {
    const created = await t.client().tokenCreate({ policies: ['default'], ttl: '5m' });
    const r = await t.raw('GET', '/v1/sys/internal/ui/mounts/secret/app/config', {
      token: created.auth.client_token,
    });
    assert.equal(r.status, 403);
    assert.deepEqual(r.body.errors, [
      `preflight capability check returned 403, please ensure client's policies grant access to path "secret/app/config/"`,
    ]);
  });

  test('when the path starts with a child namespace then 200 and data.path carries the namespace', {
    skip: realVault,
  }, async () => {
    const r = await t.raw('GET', '/v1/sys/internal/ui/mounts/team-a/secret/svc');
    assert.equal(r.status, 200);
    assert.equal(r.body.data.path, 'team-a/secret/');
    assert.equal(r.body.data.options.version, '2');
    const inside = await t.raw('GET', '/v1/sys/internal/ui/mounts/secret/svc', {
      headers: { 'x-vault-namespace': 'team-a' },
      token: 'hvs.team-a-token',
    });
    assert.equal(inside.status, 200);
    assert.equal(inside.body.data.path, 'secret/');
  });
});
