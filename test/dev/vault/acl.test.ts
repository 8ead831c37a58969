import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openVaultTarget, type VaultTarget, vaultError } from '../../helpers/vault-target.ts';

// Conformance: hashicorp/vault vault/acl.go (AllowOperation, CheckAllowedFromNonExactPaths) and
// vault/logical_system.go (handlePoliciesRead/Set/List/Delete). Runs against a real Vault with
// SECRUN_TEST_VAULT_ADDR / SECRUN_TEST_VAULT_TOKEN.
describe('vault dev server: ACL most-specific rule and sys/policies/acl', () => {
  let t: VaultTarget;
  const policies: string[] = [];
  before(async () => {
    t = await openVaultTarget();
    const root = t.client();
    for (const p of ['app/config', 'app/other', 'x/config', 'x/y/config', 'p/abc', 'p/xyz']) {
      await root.write(`secret/data/${t.prefix}/${p}`, { data: { v: p } });
    }
  });
  after(async () => {
    for (const name of policies) await t.raw('DELETE', `/v1/sys/policies/acl/${name}`);
    await t.raw('DELETE', `/v1/secret/metadata/${t.prefix}`);
    for (const p of ['app/config', 'app/other', 'x/config', 'x/y/config', 'p/abc', 'p/xyz'])
      await t.raw('DELETE', `/v1/secret/metadata/${t.prefix}/${p}`);
    await t.close();
  });

  /** Writes a policy over sys/policies/acl and returns a token holding only it (and default). */
  async function tokenWith(hcl: string): Promise<string> {
    const name = `${t.prefix}-p${policies.length}`;
    policies.push(name);
    const w = await t.raw('PUT', `/v1/sys/policies/acl/${name}`, { body: { policy: hcl } });
    assert.equal(w.status, 204, w.text);
    const created = await t.client().tokenCreate({ policies: [name], ttl: '10m' });
    return created.auth.client_token as string;
  }

  const rule = (path: string, caps: string[]) =>
    `path "${path}" {\n  capabilities = ${JSON.stringify(caps)}\n}\n`;

  test('when a glob grants read and an exact rule grants only list then the exact rule alone decides: 403 (acl.go exactRules first)', async () => {
    const token = await tokenWith(
      rule(`secret/data/${t.prefix}/*`, ['read']) + rule(`secret/data/${t.prefix}/app/config`, ['list']),
    );
    const e = await vaultError(t.client(token).read(`secret/data/${t.prefix}/app/config`));
    assert.equal(e.statusCode, 403);
    const other = await t.client(token).read(`secret/data/${t.prefix}/app/other`);
    assert.equal(other.data.data.v, 'app/other');
  });

  test('when a glob denies and an exact rule grants read then the exact path reads: 200, not a union with deny', async () => {
    const token = await tokenWith(
      rule(`secret/data/${t.prefix}/*`, ['deny']) + rule(`secret/data/${t.prefix}/app/config`, ['read']),
    );
    const res = await t.client(token).read(`secret/data/${t.prefix}/app/config`);
    assert.equal(res.data.data.v, 'app/config');
    assert.equal(
      (await vaultError(t.client(token).read(`secret/data/${t.prefix}/app/other`))).statusCode,
      403,
    );
  });

  test('when two globs match then the longest prefix wins (acl.go prefixRules.LongestPrefix)', async () => {
    const token = await tokenWith(
      rule(`secret/data/${t.prefix}/*`, ['read']) + rule(`secret/data/${t.prefix}/app/*`, ['deny']),
    );
    assert.equal(
      (await vaultError(t.client(token).read(`secret/data/${t.prefix}/app/config`))).statusCode,
      403,
    );
    assert.equal((await t.client(token).read(`secret/data/${t.prefix}/x/config`)).data.data.v, 'x/config');
  });

  test('when a rule has a + segment then it matches exactly one segment', async () => {
    const token = await tokenWith(rule(`secret/data/${t.prefix}/+/config`, ['read']));
    assert.equal((await t.client(token).read(`secret/data/${t.prefix}/x/config`)).data.data.v, 'x/config');
    const e = await vaultError(t.client(token).read(`secret/data/${t.prefix}/x/y/config`));
    assert.equal(e.statusCode, 403);
  });

  test('when a + rule and a later glob both match then the rule whose first wildcard comes later wins', async () => {
    const token = await tokenWith(
      rule(`secret/data/${t.prefix}/+`, ['read']) + rule(`secret/data/${t.prefix}/a*`, ['deny']),
    );
    // Both match `<p>/abc`; the glob's wildcard sits one character later than the `+`, so it wins.
    await t.client().write(`secret/data/${t.prefix}/abc`, { data: { v: 'abc' } });
    await t.client().write(`secret/data/${t.prefix}/xyz`, { data: { v: 'xyz' } });
    try {
      assert.equal((await vaultError(t.client(token).read(`secret/data/${t.prefix}/abc`))).statusCode, 403);
      assert.equal((await t.client(token).read(`secret/data/${t.prefix}/xyz`)).data.data.v, 'xyz');
    } finally {
      await t.raw('DELETE', `/v1/secret/metadata/${t.prefix}/abc`);
      await t.raw('DELETE', `/v1/secret/metadata/${t.prefix}/xyz`);
    }
  });

  test('when a list rule covers `dir/*` then listing `dir` (no slash) is allowed, with LIST and with ?list=true (http/logical.go appends "/")', async () => {
    const token = await tokenWith(rule(`secret/metadata/${t.prefix}/app/*`, ['list']));
    const viaVerb = await t
      .client(token, { noCustomHTTPVerbs: false })
      .list(`secret/metadata/${t.prefix}/app`);
    assert.deepEqual(viaVerb.data.keys, ['config', 'other']);
    const viaQuery = await t.client(token).list(`secret/metadata/${t.prefix}/app`);
    assert.deepEqual(viaQuery.data.keys, ['config', 'other']);
    const raw = await t.raw('GET', `/v1/secret/metadata/${t.prefix}/app?list=true`, { token });
    assert.equal(raw.status, 200);
  });

  test('when list is not a Go bool then 400 with no message; when empty then a plain read (http/logical.go strconv.ParseBool)', async () => {
    const bad = await t.raw('GET', `/v1/secret/metadata/${t.prefix}/app?list=abc`);
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { errors: [] });
    const read = await t.raw('GET', `/v1/secret/data/${t.prefix}/app/config?list=`);
    assert.equal(read.status, 200);
    assert.equal(read.body.data.data.v, 'app/config');
    const one = await t.raw('GET', `/v1/secret/metadata/${t.prefix}/app?list=1`);
    assert.deepEqual(one.body.data.keys, ['config', 'other']);
  });

  test('when a policy is written, read, listed and deleted over sys/policies/acl then each step answers like Vault', async () => {
    const name = `${t.prefix}-crud`;
    policies.push(name);
    const text = rule(`secret/data/${t.prefix}/app/*`, ['read']);
    const w = await t.raw('PUT', `/v1/sys/policies/acl/${name}`, { body: { policy: text } });
    assert.equal(w.status, 204);
    const r = await t.raw('GET', `/v1/sys/policies/acl/${name}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.data.name, name);
    assert.equal(r.body.data.policy, text);
    const list = await t.client().list('sys/policies/acl');
    assert.ok(list.data.keys.includes(name));
    assert.ok(list.data.keys.includes('default'));
    assert.equal(list.data.keys.at(-1), 'root');
    const legacy = await t.client().getPolicy({ name });
    assert.equal(legacy.data.rules, text);
    const d = await t.raw('DELETE', `/v1/sys/policies/acl/${name}`);
    assert.equal(d.status, 204);
    const gone = await t.raw('GET', `/v1/sys/policies/acl/${name}`);
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.body, { errors: [] });
  });

  test('when a policy changes at run time then an existing token follows it on its next request', async () => {
    const name = `${t.prefix}-live`;
    policies.push(name);
    await t.raw('PUT', `/v1/sys/policies/acl/${name}`, {
      body: { policy: rule(`secret/data/${t.prefix}/app/config`, ['read']) },
    });
    const token = (await t.client().tokenCreate({ policies: [name], ttl: '10m' })).auth
      .client_token as string;
    assert.equal(
      (await t.client(token).read(`secret/data/${t.prefix}/app/config`)).data.data.v,
      'app/config',
    );
    await t.raw('PUT', `/v1/sys/policies/acl/${name}`, {
      body: { policy: rule(`secret/data/${t.prefix}/app/config`, ['deny']) },
    });
    assert.equal(
      (await vaultError(t.client(token).read(`secret/data/${t.prefix}/app/config`))).statusCode,
      403,
    );
  });

  test('when a policy is empty, unparsable, or root is changed then 400 with Vault texts', async () => {
    const empty = await t.raw('PUT', `/v1/sys/policies/acl/${t.prefix}-x`, { body: { policy: '' } });
    assert.equal(empty.status, 400);
    assert.deepEqual(empty.body.errors, ["'policy' parameter not supplied or empty"]);
    const bad = await t.raw('PUT', `/v1/sys/policies/acl/${t.prefix}-x`, { body: { policy: 'path {' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.errors[0], /failed to parse policy/);
    const root = await t.raw('DELETE', '/v1/sys/policies/acl/root');
    assert.equal(root.status, 400);
    assert.deepEqual(root.body.errors, ['cannot delete "root" policy']);
    const dflt = await t.raw('DELETE', '/v1/sys/policies/acl/default');
    assert.deepEqual(dflt.body.errors, ['cannot delete "default" policy']);
  });
});
