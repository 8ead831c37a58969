import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openVaultTarget, type VaultTarget, vaultError } from '../../helpers/vault-target.ts';

const V1_WARNING_GET =
  "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.";

describe('vault dev server: KV v1 and v2', () => {
  let t: VaultTarget;
  let kv1: string;
  before(async () => {
    t = await openVaultTarget();
    kv1 = `${t.prefix}-kv1`;
    const r = await t.raw('POST', `/v1/sys/mounts/${kv1}`, {
      body: { type: 'kv', options: { version: '1' } },
    });
    assert.equal(r.status, 204);
  });
  after(async () => {
    await t.raw('DELETE', `/v1/sys/mounts/${kv1}`);
    await t.raw('DELETE', `/v1/secret/metadata/${t.prefix}/a`);
    await t.raw('DELETE', `/v1/secret/metadata/${t.prefix}/dir/b`);
    await t.close();
  });

  test('when a v1 secret is written then it reads back with the 768h lease_duration and 204 on write', async () => {
    const v = t.client();
    const w = await t.raw('POST', `/v1/${kv1}/app/db`, { body: { password: 'p1' } });
    assert.equal(w.status, 204);
    assert.equal(w.headers.get('cache-control'), 'no-store');
    const res = await v.read(`${kv1}/app/db`);
    assert.deepEqual(res.data, { password: 'p1' });
    assert.equal(res.lease_duration, 2764800);
    assert.equal(res.lease_id, '');
    assert.equal(res.renewable, false);
  });

  test('when a v1 secret carries a ttl key then lease_duration follows it', async () => {
    await t.client().write(`${kv1}/app/ttl`, { password: 'x', ttl: '30m' });
    const res = await t.client().read(`${kv1}/app/ttl`);
    assert.equal(res.lease_duration, 1800);
  });

  test('when a v1 secret is missing then 404 with an empty errors array', async () => {
    const r = await t.raw('GET', `/v1/${kv1}/nope`);
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { errors: [] });
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    const e = await vaultError(t.client().read(`${kv1}/nope`));
    assert.equal(e.message, 'Status 404');
  });

  test('when a v1 directory is listed with list=true then keys and sub-directories come back, empty gives 404', async () => {
    await t.client().write(`${kv1}/dir/a`, { x: '1' });
    await t.client().write(`${kv1}/dir/sub/b`, { x: '2' });
    const res = await t.client().list(`${kv1}/dir`);
    assert.deepEqual(res.data.keys, ['a', 'sub/']);
    const empty = await t.raw('GET', `/v1/${kv1}/nothing/?list=true`);
    assert.equal(empty.status, 404);
    assert.deepEqual(empty.body, { errors: [] });
  });

  test('when a v1 secret is deleted then it is gone', async () => {
    await t.client().write(`${kv1}/gone`, { x: '1' });
    const d = await t.raw('DELETE', `/v1/${kv1}/gone`);
    assert.equal(d.status, 204);
    assert.equal((await t.raw('GET', `/v1/${kv1}/gone`)).status, 404);
  });

  test('when v2 versions are written then reads return latest or ?version= with metadata', async () => {
    const v = t.client();
    const p = `secret/data/${t.prefix}/a`;
    const w1 = await v.write(p, { data: { k: 'one' } });
    assert.equal(w1.data.version, 1);
    assert.equal(w1.data.deletion_time, '');
    assert.equal(w1.data.destroyed, false);
    assert.match(w1.data.created_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
    await v.write(p, { data: { k: 'two' } });
    const latest = await v.read(p);
    assert.deepEqual(latest.data.data, { k: 'two' });
    assert.equal(latest.data.metadata.version, 2);
    assert.equal(latest.lease_duration, 0);
    const first = await v.read(`${p}?version=1`);
    assert.deepEqual(first.data.data, { k: 'one' });
    const zero = await v.read(`${p}?version=0`);
    assert.equal(zero.data.metadata.version, 2);
  });

  test('when cas does not match then 400 with the check-and-set error', async () => {
    const p = `secret/data/${t.prefix}/a`;
    const e = await vaultError(t.client().write(p, { data: { k: 'x' }, options: { cas: 1 } }));
    assert.equal(e.statusCode, 400);
    assert.match(e.body.errors[0], /check-and-set parameter did not match the current version/);
  });

  test('when v2 metadata is read then current_version, versions map and times are present', async () => {
    const res = await t.client().read(`secret/metadata/${t.prefix}/a`);
    assert.ok(res.data.current_version >= 2);
    assert.ok(res.data.versions['1']);
    assert.equal(res.data.versions['1'].destroyed, false);
    assert.equal(typeof res.data.created_time, 'string');
    assert.equal(typeof res.data.updated_time, 'string');
    assert.equal(res.data.cas_required, false);
  });

  // hashicorp/vault-plugin-secrets-kv path_data.go / path_metadata.go: OldestVersion stays 0 until
  // max_versions prunes; times are Go RFC3339Nano (fraction without trailing zeros).
  test('when versions are pruned by max_versions then oldest_version moves from 0 to the oldest kept', async () => {
    const path = `secret/metadata/${t.prefix}/pruned`;
    try {
      await t.client().write(path, { max_versions: 2 });
      for (const v of ['1', '2']) await t.client().write(`secret/data/${t.prefix}/pruned`, { data: { v } });
      const kept = await t.client().read(path);
      assert.equal(kept.data.oldest_version, 0);
      for (const time of [
        kept.data.created_time,
        kept.data.updated_time,
        kept.data.versions['1'].created_time,
      ]) {
        assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
      }
      await t.client().write(`secret/data/${t.prefix}/pruned`, { data: { v: '3' } });
      const pruned = await t.client().read(path);
      assert.equal(pruned.data.oldest_version, 2);
      assert.deepEqual(Object.keys(pruned.data.versions).sort(), ['2', '3']);
    } finally {
      await t.raw('DELETE', `/v1/${path}`);
    }
  });

  test('when the latest v2 version is soft-deleted then 404 carries the envelope with deletion_time, and undelete restores it', async () => {
    const p = `${t.prefix}/a`;
    const before = await t.client().read(`secret/data/${p}`);
    const n = before.data.metadata.version;
    assert.equal((await t.raw('DELETE', `/v1/secret/data/${p}`)).status, 204);
    const r = await t.raw('GET', `/v1/secret/data/${p}`);
    assert.equal(r.status, 404);
    assert.equal(r.body.errors, undefined);
    assert.equal(r.body.data.data, null);
    assert.notEqual(r.body.data.metadata.deletion_time, '');
    assert.equal(r.body.data.metadata.destroyed, false);
    const und = await t.raw('POST', `/v1/secret/undelete/${p}`, { body: { versions: [n] } });
    assert.equal(und.status, 204);
    const back = await t.client().read(`secret/data/${p}`);
    assert.equal(back.data.metadata.deletion_time, '');
  });

  test('when versions are deleted with POST delete/ then that version 404s and others still read', async () => {
    const p = `${t.prefix}/a`;
    assert.equal((await t.raw('POST', `/v1/secret/delete/${p}`, { body: { versions: [1] } })).status, 204);
    const r = await t.raw('GET', `/v1/secret/data/${p}?version=1`);
    assert.equal(r.status, 404);
    assert.equal(r.body.data.data, null);
    assert.equal((await t.raw('GET', `/v1/secret/data/${p}?version=2`)).status, 200);
  });

  test('when a version is destroyed then the 404 envelope says destroyed', async () => {
    const p = `${t.prefix}/a`;
    assert.equal((await t.raw('POST', `/v1/secret/destroy/${p}`, { body: { versions: [2] } })).status, 204);
    const r = await t.raw('GET', `/v1/secret/data/${p}?version=2`);
    assert.equal(r.status, 404);
    assert.equal(r.body.data.metadata.destroyed, true);
    const meta = await t.client().read(`secret/metadata/${p}`);
    assert.equal(meta.data.versions['2'].destroyed, true);
  });

  test('when a v2 key or version never existed then 404 with an empty errors array', async () => {
    const r = await t.raw('GET', `/v1/secret/data/${t.prefix}/never`);
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { errors: [] });
    const v = await t.raw('GET', `/v1/secret/data/${t.prefix}/a?version=99`);
    assert.equal(v.status, 404);
    assert.deepEqual(v.body, { errors: [] });
  });

  test('when a v1-style path is used on a v2 mount then 404 carries the versioned-path warning', async () => {
    const e = await vaultError(t.client().read(`secret/${t.prefix}/a`));
    assert.equal(e.statusCode, 404);
    assert.equal(e.message, 'Status 404');
    assert.equal(e.body.data, null);
    assert.deepEqual(e.body.warnings, [V1_WARNING_GET]);
  });

  test('when v2 metadata is listed with list=true then keys and folders come back', async () => {
    await t.client().write(`secret/data/${t.prefix}/dir/b`, { data: { x: 1 } });
    const res = await t.client().list(`secret/metadata/${t.prefix}`);
    assert.deepEqual(res.data.keys, ['a', 'dir/']);
    const empty = await t.raw('GET', `/v1/secret/metadata/${t.prefix}/none/?list=true`);
    assert.equal(empty.status, 404);
  });

  test('when the preflight asks about a v2 and a v1 path then type and options.version are reported', async () => {
    const v2 = await t.raw('GET', `/v1/sys/internal/ui/mounts/secret/${t.prefix}/a`);
    assert.equal(v2.status, 200);
    assert.equal(v2.body.data.type, 'kv');
    assert.equal(v2.body.data.path, 'secret/');
    assert.equal(v2.body.data.options.version, '2');
    const v1 = await t.raw('GET', `/v1/sys/internal/ui/mounts/${kv1}/app/db`);
    assert.equal(v1.body.data.options.version, '1');
  });

  test('when the preflight names an unknown mount then 403 with the preflight message, even for root', async () => {
    const r = await t.raw('GET', `/v1/sys/internal/ui/mounts/${t.prefix}-nomount/x`);
    assert.equal(r.status, 403);
    assert.match(
      r.body.errors[0],
      /^preflight capability check returned 403, please ensure client's policies grant access to path/,
    );
  });
});
