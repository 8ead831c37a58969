// Follows Vault's builtin/logical/aws path_user.go (pathCredsRead) and secret_access_keys.go.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import vault from 'node-vault';
import { loadSeedFile, parseSeed, SeedError } from '../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../src/dev/vault/server.ts';
import { rawRequest, SEED_FILE, vaultError } from '../../helpers/vault-target.ts';

describe('vault dev server: AWS secrets engine', () => {
  let s: VaultDevServer;
  let v: vault.client;
  before(async () => {
    s = await startVaultServer({ seed: loadSeedFile(SEED_FILE) });
    v = vault({ endpoint: s.url, token: s.rootToken, noCustomHTTPVerbs: true });
  });
  after(() => s.close());

  test('when sts/<assumed_role> is written with a ttl then STS credentials come under a non-renewable lease of that ttl', async () => {
    const r = await v.write('aws/sts/deploy', {
      ttl: '15m',
      role_arn: 'arn:aws:iam::111122223333:role/ops/audit',
      role_session_name: 'ci run',
    });
    assert.match(r.lease_id, /^aws\/sts\/deploy\/[0-9A-Za-z]{24}$/);
    assert.equal(r.lease_duration, 900);
    assert.equal(r.renewable, false);
    assert.match(r.data.access_key, /^ASIA[A-Z2-7]{16}$/);
    assert.equal(r.data.secret_key.length, 40);
    assert.equal(typeof r.data.security_token, 'string');
    assert.equal(r.data.arn, 'arn:aws:sts::111122223333:assumed-role/audit/ci_run');
    const e = await vaultError(v.write('sys/leases/renew', { lease_id: r.lease_id }));
    assert.match(e.body.errors[0], /lease is not renewable/);
  });

  test('when sts/<role> is read then the default_sts_ttl applies, and a ttl over max_sts_ttl is capped', async () => {
    const two = await v.write('aws/sts/deploy', { role_arn: 'arn:aws:iam::111122223333:role/deploy' });
    assert.equal(two.lease_duration, 1800);
    const capped = await v.write('aws/sts/deploy', {
      ttl: '5h',
      role_arn: 'arn:aws:iam::111122223333:role/deploy',
    });
    assert.equal(capped.lease_duration, 3600);
    const fed = await v.read('aws/creds/federated');
    assert.equal(fed.lease_duration, 3600);
    assert.equal(fed.renewable, false);
  });

  test('when an assumed_role role has several ARNs and none is given then 400 as Vault says it', async () => {
    const e = await vaultError(v.read('aws/sts/deploy'));
    assert.equal(e.statusCode, 400);
    assert.deepEqual(e.body.errors, ['did not supply a role_arn parameter and unable to determine one']);
    const other = await vaultError(v.write('aws/sts/deploy', { role_arn: 'arn:aws:iam::1:role/x' }));
    assert.deepEqual(other.body.errors, [
      'role_arn "arn:aws:iam::1:role/x" not in allowed role arns for Vault role "deploy"',
    ]);
  });

  test('when an iam_user role is read then an access key comes under a renewable lease; an unknown role is 400', async () => {
    const r = await v.read('aws/creds/user');
    assert.match(r.data.access_key, /^AKIA/);
    assert.equal(r.data.security_token, null);
    assert.equal(r.renewable, true);
    const e = await vaultError(v.read('aws/creds/nope'));
    assert.deepEqual(e.body.errors, ['Role "nope" not found']);
  });

  test('when the credentials are revoked then their lease is gone', async () => {
    const r = await v.write('aws/sts/deploy', { role_arn: 'arn:aws:iam::111122223333:role/deploy' });
    const revoke = await rawRequest(s.url, 'POST', '/v1/sys/leases/revoke', {
      token: s.rootToken,
      body: { lease_id: r.lease_id },
    });
    assert.equal(revoke.status, 204);
    const look = await rawRequest(s.url, 'POST', '/v1/sys/leases/lookup', {
      token: s.rootToken,
      body: { lease_id: r.lease_id },
    });
    assert.equal(look.status, 400);
  });

  test('when a seed role has a bad credential_type then the seed error names the key', async () => {
    const seed = parseSeed(
      'vault:\n  mounts:\n    aws:\n      type: aws\n      roles:\n        x: { credential_type: root }\n',
      'seed.yaml',
    );
    await assert.rejects(
      startVaultServer({ seed }),
      (err: Error) =>
        err instanceof SeedError &&
        /credential_type/.test(err.message) &&
        /must be one of iam_user, assumed_role, federation_token/.test(err.message),
    );
  });
});
