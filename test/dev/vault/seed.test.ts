import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadSeedFile, parseSeed, SeedError } from '../../../src/dev/seed.ts';
import { startVaultServer } from '../../../src/dev/vault/server.ts';
import { rawRequest, SEED_FILE } from '../../helpers/vault-target.ts';

async function seedError(text: string): Promise<SeedError> {
  try {
    const s = await startVaultServer({ seed: parseSeed(text, 'seed.yaml') });
    await s.close();
  } catch (err) {
    assert.ok(err instanceof SeedError, String(err));
    return err;
  }
  throw new Error('expected a SeedError');
}

describe('vault dev server: seed', () => {
  test('when the fixture seed is loaded then its root token, data and mounts are served', async (t) => {
    const s = await startVaultServer({ seed: loadSeedFile(SEED_FILE) });
    t.after(() => s.close());
    assert.equal(s.rootToken, 'hvs.dev-root-token');
    const r = await rawRequest(s.url, 'GET', '/v1/kv1/legacy/db', { token: s.rootToken });
    assert.equal(r.body.lease_duration, 1800);
    const meta = await rawRequest(s.url, 'GET', '/v1/secret/metadata/app/config', { token: s.rootToken });
    assert.equal(meta.body.data.current_version, 2);
  });

  test('when no seed is given then secret/ is KV v2 and the root token is a random hvs. token', async (t) => {
    const s = await startVaultServer();
    t.after(() => s.close());
    assert.match(s.rootToken, /^hvs\.[0-9A-Za-z]{24}$/);
    const m = await rawRequest(s.url, 'GET', '/v1/sys/internal/ui/mounts/secret/x', { token: s.rootToken });
    assert.equal(m.body.data.options.version, '2');
  });

  test('when rootToken is passed then it wins over the seed', async (t) => {
    const s = await startVaultServer({ seed: loadSeedFile(SEED_FILE), rootToken: 'explicit' });
    t.after(() => s.close());
    assert.equal(s.rootToken, 'explicit');
    assert.equal(
      (await rawRequest(s.url, 'GET', '/v1/auth/token/lookup-self', { token: 'explicit' })).status,
      200,
    );
  });

  test('when a mount type is unknown then the error names the key path and line', async () => {
    const e = await seedError('vault:\n  mounts:\n    foo:\n      type: nope\n');
    assert.match(e.message, /^seed\.yaml:4: vault\.mounts\.foo\.type: unknown mount type/);
  });

  test('when kv data names no kv mount then the error names the key', async () => {
    const e = await seedError('vault:\n  kv:\n    missing/x: { a: 1 }\n');
    assert.match(e.message, /seed\.yaml:3: vault\.kv\.missing\/x: does not name a secret under a kv mount/);
  });

  test('when a policy has an unknown capability then the error points at it', async () => {
    const e = await seedError(
      'vault:\n  policies:\n    p:\n      - path: a/*\n        capabilities: [read, fly]\n',
    );
    assert.match(e.message, /seed\.yaml:5: vault\.policies\.p\.0\.capabilities: unknown capability "fly"/);
  });

  test('when a section key is unknown or a ttl is junk then the error names it', async () => {
    assert.match((await seedError('vault:\n  bogus: 1\n')).message, /vault\.bogus: unknown key/);
    const ttl = await seedError(
      'vault:\n  mounts:\n    db:\n      type: database\n      roles:\n        r: { default_ttl: soon }\n',
    );
    assert.match(ttl.message, /vault\.mounts\.db\.roles\.r\.default_ttl: must be seconds/);
    const key = await seedError(
      'vault:\n  auth:\n    jwt:\n      type: jwt\n      jwt_validation_pubkeys: [nope]\n',
    );
    assert.match(key.message, /vault\.auth\.jwt\.jwt_validation_pubkeys: is not a valid PEM public key/);
  });
});
