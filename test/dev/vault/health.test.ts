import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { openVaultTarget, realVault, type VaultTarget } from '../../helpers/vault-target.ts';

describe('vault dev server: health, mounts, HTTP core (any target)', () => {
  let t: VaultTarget;
  before(async () => {
    t = await openVaultTarget();
  });
  after(() => t.close());

  test('when sys/health is asked on an active node then 200 with the documented body fields', async () => {
    const r = await t.raw('GET', '/v1/sys/health', { token: null });
    assert.equal(r.status, 200);
    for (const k of [
      'initialized',
      'sealed',
      'standby',
      'performance_standby',
      'replication_performance_mode',
      'replication_dr_mode',
      'server_time_utc',
      'version',
      'cluster_name',
      'cluster_id',
    ]) {
      assert.ok(k in r.body, k);
    }
    assert.equal(r.body.sealed, false);
    const viaClient = await t.client().health();
    assert.equal(viaClient.initialized, true);
  });

  test('when activecode overrides the code then that status comes back with the body', async () => {
    const r = await t.raw('GET', '/v1/sys/health?activecode=299', { token: null });
    assert.equal(r.status, 299);
    assert.equal(r.body.initialized, true);
  });

  test('when a health code is not an integer then 400 with an empty errors array', async () => {
    const r = await t.raw('GET', '/v1/sys/health?activecode=abc', { token: null });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { errors: [] });
  });

  // hashicorp/vault http/sys_health.go getSysHealth: standbyok via parseutil.ParseBool (weak decode:
  // empty is false), codes via strconv.Atoi (present but empty is a 400).
  test('when standbyok is not a boolean then 400, when empty a plain health check; when a code is empty then 400', async () => {
    const maybe = await t.raw('GET', '/v1/sys/health?standbyok=maybe', { token: null });
    assert.equal(maybe.status, 400);
    assert.deepEqual(maybe.body, { errors: [] });
    const empty = await t.raw('GET', '/v1/sys/health?standbyok=', { token: null });
    assert.equal(empty.status, 200);
    const yes = await t.raw('GET', '/v1/sys/health?standbyok=True&perfstandbyok=1', { token: null });
    assert.equal(yes.status, 200);
    const emptyCode = await t.raw('GET', '/v1/sys/health?activecode=', { token: null });
    assert.equal(emptyCode.status, 400);
  });

  test('when sys/health is asked with HEAD then the status comes without a body', async () => {
    const r = await t.raw('HEAD', '/v1/sys/health', { token: null });
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
  });

  test('when the root token lists sys/mounts then secret/ is there as kv v2', async () => {
    const res = await t.client().mounts();
    assert.equal(res.data['secret/'].type, 'kv');
    assert.equal(res.data['secret/'].options.version, '2');
  });

  test('when a path has a double slash then 301 to the cleaned path with the query kept', async () => {
    const r = await t.raw('GET', '/v1/secret//data/x?version=1');
    assert.equal(r.status, 301);
    assert.equal(new URL(r.headers.get('location')!, t.addr).pathname, '/v1/secret/data/x');
    assert.equal(new URL(r.headers.get('location')!, t.addr).search, '?version=1');
  });

  test('when an unknown method is used then 405', async () => {
    const r = await t.raw('OPTIONS', '/v1/secret/data/x');
    assert.equal(r.status, 405);
  });

  // hashicorp/vault http/logical.go buildLogicalRequestNoAuth: a body that does not decode is "error parsing JSON".
  test('when a request has invalid JSON then 400 "error parsing JSON"', async () => {
    const res = await fetch(`${t.addr}/v1/secret/data/x`, {
      method: 'POST',
      headers: { 'x-vault-token': t.rootToken, 'content-type': 'application/json' },
      body: '{nope',
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { errors: string[] };
    assert.deepEqual(body.errors, ['error parsing JSON']);
  });
});

describe('vault dev server: faults, seal, standby, admin (dev only)', { skip: realVault }, () => {
  let t: VaultTarget;
  before(async () => {
    t = await openVaultTarget();
  });
  after(() => t.close());
  const dev = () => t.dev!;

  test('when failNext is set then the next request gets that status and Retry-After, then normal service', async () => {
    dev().faults.set({ failNext: { status: 429, retryAfter: 3 } });
    const r = await t.raw('GET', '/v1/secret/data/app/config');
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '3');
    assert.match(r.body.errors[0], /rate limit quota exceeded/);
    const after = await t.client().read('secret/data/app/config');
    assert.equal(after.data.data.password, 'second');
  });

  test('when failNext counts several 5xx then each request gets it in turn', async () => {
    dev().faults.set({ failNext: { status: 500, count: 2 } });
    assert.equal((await t.raw('GET', '/v1/sys/health')).status, 500);
    assert.equal((await t.raw('GET', '/v1/sys/health')).status, 500);
    assert.equal((await t.raw('GET', '/v1/sys/health')).status, 200);
  });

  test('when latency is set then responses are delayed by at least that much', async () => {
    dev().faults.set({ latencyMs: 150 });
    const started = performance.now();
    await t.raw('GET', '/v1/sys/health');
    assert.ok(performance.now() - started >= 140);
    dev().faults.clear();
  });

  test('when resetNext is set then the connection is reset and the next request works', async () => {
    dev().faults.set({ resetNext: 1 });
    await assert.rejects(t.raw('GET', '/v1/sys/health'));
    assert.equal((await t.raw('GET', '/v1/sys/health')).status, 200);
  });

  test('when trickle is on then the full body still arrives', async () => {
    dev().faults.set({ trickle: { bytes: 16, intervalMs: 1 } });
    const res = await t.client().read('secret/data/app/config');
    assert.equal(res.data.data.password, 'second');
    dev().faults.clear();
  });

  test('when sealed then everything but sys/health is 503 Vault is sealed, and health reports sealed', async () => {
    dev().setSealed(true);
    const r = await t.raw('GET', '/v1/secret/data/app/config');
    assert.equal(r.status, 503);
    assert.deepEqual(r.body, { errors: ['Vault is sealed'] });
    const h = await t.raw('GET', '/v1/sys/health', { token: null });
    assert.equal(h.status, 503);
    assert.equal(h.body.sealed, true);
    assert.equal('cluster_name' in h.body, false);
    assert.equal((await t.raw('GET', '/v1/sys/health?sealedcode=299')).status, 299);
    dev().setSealed(false);
    assert.equal((await t.raw('GET', '/v1/secret/data/app/config')).status, 200);
  });

  test('when standby then requests get 307 to the active address with path and query, health says 429', async () => {
    dev().setStandby('http://127.0.0.1:1');
    const r = await t.raw('GET', '/v1/secret/data/app/config?version=1');
    assert.equal(r.status, 307);
    assert.equal(r.headers.get('location'), 'http://127.0.0.1:1/v1/secret/data/app/config?version=1');
    const h = await t.raw('GET', '/v1/sys/health', { token: null });
    assert.equal(h.status, 429);
    assert.equal(h.body.standby, true);
    assert.equal((await t.raw('GET', '/v1/sys/health?standbyok=true')).status, 200);
    // http/sys_health.go: an empty standbyok is false, a non-boolean one a 400.
    assert.equal((await t.raw('GET', '/v1/sys/health?standbyok=')).status, 429);
    assert.equal((await t.raw('GET', '/v1/sys/health?standbyok=maybe')).status, 400);
    assert.equal((await t.raw('GET', '/v1/sys/health?standbyok=T')).status, 200);
    dev().setStandby(null);
  });

  test('when node-vault meets a standby then it follows the 307 to the active node', async () => {
    const active = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { from: 'active', path: req.url } }));
    });
    await new Promise<void>((r) => active.listen(0, '127.0.0.1', r));
    try {
      dev().setStandby(`http://127.0.0.1:${(active.address() as AddressInfo).port}`);
      const res = await t.client().read('secret/data/app/config');
      assert.deepEqual(res.data, { from: 'active', path: '/v1/secret/data/app/config' });
    } finally {
      dev().setStandby(null);
      active.closeAllConnections();
      await new Promise((r) => active.close(r));
    }
  });

  test('when the admin endpoint is used then it needs the root token, lists the log and sets faults', async () => {
    assert.equal((await t.raw('GET', '/__secrun/requests', { token: 'hvs.app-token' })).status, 403);
    assert.equal((await t.raw('DELETE', '/__secrun/requests')).status, 204);
    await t.raw('GET', '/v1/secret/data/app/config', { headers: { 'x-vault-namespace': '' } });
    const list = await t.raw('GET', '/__secrun/requests');
    assert.equal(list.status, 200);
    assert.equal(list.body.length, 1);
    assert.deepEqual(Object.keys(list.body[0]).sort(), ['durationMs', 'method', 'path', 'status', 'time']);
    assert.equal(list.body[0].path, '/v1/secret/data/app/config');
    assert.equal(list.text.includes(t.rootToken), false);
    const f = await t.raw('POST', '/__secrun/faults', { body: { failNext: { status: 502 }, sealed: false } });
    assert.equal(f.status, 204);
    assert.equal((await t.raw('GET', '/v1/sys/health')).status, 502);
    await t.raw('POST', '/__secrun/faults', { body: { sealed: true } });
    assert.equal((await t.raw('GET', '/v1/secret/data/app/config')).status, 503);
    await t.raw('POST', '/__secrun/faults', { body: { clear: true, standby: 'http://127.0.0.1:9' } });
    assert.equal((await t.raw('GET', '/v1/secret/data/app/config')).status, 307);
    await t.raw('POST', '/__secrun/faults', { body: { clear: true } });
    assert.equal((await t.raw('GET', '/v1/secret/data/app/config')).status, 200);
    assert.equal(dev().log.filter({ path: /__secrun/ }).length, 0);
  });

  test('when a host that is not loopback is asked for then startVaultServer throws', async () => {
    const { startVaultServer } = await import('../../../src/dev/vault/server.ts');
    await assert.rejects(startVaultServer({ host: '0.0.0.0' }), /loopback/);
  });
});
