import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SecretsManagerDevServer, startSecretsManagerServer } from '../../src/dev/aws/server.ts';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import { until } from '../helpers/poll.ts';

// The shared fault knobs: a rate limit (requests per second, beyond it a throttled answer with
// Retry-After) and the load counters the fleet simulation reads (in flight, peak, throttled).

const ROOT = 'hvs.faults-root-token';
let vault: VaultDevServer;
let aws: SecretsManagerDevServer;
let clock = 0;

before(async () => {
  const seed = parseSeed(
    `
vault:
  root_token: ${ROOT}
aws:
  region: eu-west-1
  account_id: "111122223333"
  secrets:
    prod/x: value
`,
    'faults-seed',
  );
  vault = await startVaultServer({ seed });
  aws = await startSecretsManagerServer({ seed });
  vault.faults.now = () => clock;
  aws.faults.now = () => clock;
});
after(async () => {
  await Promise.all([vault.close(), aws.close()]);
});

const health = () => fetch(`${vault.url}/v1/sys/health`);

describe('dev servers: rate limit and load', () => {
  test('when a rate limit is set then requests beyond it per second get 429 with Retry-After, and the next second passes', async () => {
    vault.faults.clear();
    vault.faults.resetStats();
    vault.faults.set({ rateLimit: { perSecond: 3 } });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const r = await health();
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
      await r.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assert.equal(retryAfter, '1');
    assert.equal(vault.faults.stats.throttled, 2);
    clock += 1000;
    assert.equal((await health()).status, 200, 'a second later the bucket is full again');
    vault.faults.set({ rateLimit: null });
  });

  test('when the rate limit is set over the admin endpoint then it applies (and clear lifts it)', async () => {
    const post = (body: unknown) =>
      fetch(`${vault.url}/__secrun/faults`, {
        method: 'POST',
        headers: { 'x-vault-token': ROOT, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await post({ clear: true, rateLimit: { perSecond: 1 } })).status, 204);
    assert.equal((await health()).status, 200);
    assert.equal((await health()).status, 429);
    assert.equal((await post({ clear: true })).status, 204);
    assert.equal((await health()).status, 200);
  });

  test('when Secrets Manager is rate limited then it answers 400 ThrottlingException, as the service does', async () => {
    aws.faults.clear();
    const res = await fetch(`${aws.url}/__secrun/faults`, {
      method: 'POST',
      body: JSON.stringify({ rateLimit: { perSecond: 1 } }),
    });
    assert.equal(res.status, 200);
    const call = () =>
      fetch(aws.url, {
        method: 'POST',
        headers: {
          'x-amz-target': 'secretsmanager.GetSecretValue',
          'content-type': 'application/x-amz-json-1.1',
        },
        body: JSON.stringify({ SecretId: 'prod/x' }),
      });
    await (await call()).arrayBuffer();
    const throttled = await call();
    assert.equal(throttled.status, 400);
    assert.equal(throttled.headers.get('retry-after'), '1');
    assert.match(await throttled.text(), /ThrottlingException/);
    aws.faults.clear();
  });

  test('when requests overlap then the peak in flight is counted and falls back to zero', async () => {
    vault.faults.clear();
    vault.faults.resetStats();
    vault.faults.set({ latencyMs: 200 });
    await Promise.all(Array.from({ length: 5 }, async () => (await health()).arrayBuffer()));
    vault.faults.clear();
    assert.equal(vault.faults.stats.peakInFlight, 5);
    await until('the requests to end', () => vault.faults.stats.inFlight === 0);
  });
});
