import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { type SecrunError, UnavailableError } from '../../../src/base/errors.ts';
import { createLogger, type Logger } from '../../../src/base/log.ts';
import { parseSeed } from '../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../src/dev/vault/server.ts';
import type { DocumentRequest, DocumentResult } from '../../../src/providers/provider.ts';
import {
  createVaultProvider,
  type VaultProvider,
  type VaultProviderOptions,
} from '../../../src/providers/vault/provider.ts';
import { until } from '../../helpers/poll.ts';
import { vaultMountsYaml } from '../../helpers/seed-yaml.ts';

const ROOT = 'hvs.CANARYROOTTOKEN0123456789';
const SECRETS = {
  v1: 'CANARY-SECRET-kv2-version-one',
  v2: 'CANARY-SECRET-kv2-version-two',
  v3: 'CANARY-SECRET-kv2-version-three',
  legacy: 'CANARY-SECRET-kv1-legacy',
  team: 'CANARY-SECRET-namespace',
};
const CANARIES = [ROOT, 'hvs.CANARYREADER', 'hvs.CANARYRENEW', 'hvs.CANARYOWNED', ...Object.values(SECRETS)];

const seedYaml = `
vault:
${vaultMountsYaml({ kv1: 1 }, '24h')}
  kv:
    secret/app/db:
      - { password: ${SECRETS.v1} }
      - { password: ${SECRETS.v2} }
      - { password: ${SECRETS.v3}, username: app }
    secret/app/other: { x: "1" }
    secret/gone:
      - { password: ${SECRETS.v1} }
      - { password: ${SECRETS.v2} }
      - { password: ${SECRETS.v3} }
    secret/s1: { a: "1" }
    secret/s2: { a: "2" }
    secret/s3: { a: "3" }
    kv1/legacy: { api_key: ${SECRETS.legacy} }
    kv1/other: { api_key: x }
  policies:
    reader:
      - { path: "secret/data/app/db", capabilities: [read] }
  tokens:
    - { id: hvs.CANARYREADER, policies: [reader], ttl: 1h }
    - { id: hvs.CANARYRENEW, policies: [default], ttl: 1h, renewable: true }
    - { id: hvs.CANARYOWNED, policies: [default], ttl: 1h }
  namespaces:
    team-a:
      mounts:
        kv: { type: kv, version: 2 }
      kv:
        kv/app: { token: ${SECRETS.team} }
      namespaces:
        sub:
          mounts:
            kv: { type: kv, version: 2 }
          kv:
            kv/app: { token: ${SECRETS.team}-sub }
`;

function docReq(path: string, options: Record<string, string> = {}): DocumentRequest {
  const opts = Object.entries(options)
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return { scheme: 'vault', path, options, key: `vault:${path}${opts ? `?${opts}` : ''}` };
}

/** Collects every log line, so tests can check no canary was ever logged. */
const logLines: string[] = [];
const logger: Logger = createLogger({ level: 'debug', write: (l) => logLines.push(l) });
/** Every error any test saw, for the hygiene check at the end. */
const seenErrors: unknown[] = [];

let server: VaultDevServer;
let home: string;
const providers: VaultProvider[] = [];

function provider(env: Record<string, string | undefined> = {}, extra: Partial<VaultProviderOptions> = {}) {
  const p = createVaultProvider({
    env: { VAULT_ADDR: server.url, VAULT_TOKEN: ROOT, ...env },
    logger,
    homeDir: home,
    retry: { baseMs: 1, capMs: 20 },
    ...extra,
  });
  providers.push(p);
  return p;
}

async function readOne(p: VaultProvider, r: DocumentRequest, signal = AbortSignal.timeout(30_000)) {
  const res = await p.readAll([r], signal);
  const out = res.get(r.key);
  assert.ok(out, `no result for ${r.key}`);
  if (!out.ok) seenErrors.push(out.error);
  return out;
}

function expectError(out: DocumentResult, code: string): SecrunError {
  assert.equal(out.ok, false, `expected ${code}, got a document`);
  if (out.ok) throw new Error('unreachable');
  assert.equal(out.error.code, code, out.error.message);
  return out.error;
}

function expectDoc(out: DocumentResult) {
  if (!out.ok) assert.fail(`expected a document, got ${out.error.code}: ${out.error.message}`);
  return out.doc;
}

const previews = (path: RegExp | string) => server.log.filter({ path }).length;
const PREFLIGHT = /^\/v1\/sys\/internal\/ui\/mounts\//;

async function vaultApi(method: string, path: string, body?: unknown, token = ROOT): Promise<number> {
  const res = await fetch(`${server.url}/v1/${path}`, {
    method,
    headers: { 'x-vault-token': token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

before(async () => {
  server = await startVaultServer({ seed: parseSeed(seedYaml, 'vault-test-seed'), rootToken: ROOT });
  home = mkdtempSync(join(tmpdir(), 'secrun-vault-home-'));
});

after(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

beforeEach(() => {
  server.faults.clear();
  server.setSealed(false);
  server.setStandby(null);
  server.log.clear();
});

afterEach(() => server.faults.clear());

describe('KV', () => {
  test('when a KV v2 secret is read with and without data/ then they share one read of secret/data/app/db and one preflight', async () => {
    const p = provider();
    const a = docReq('secret/app/db');
    const b = docReq('secret/data/app/db');
    const res = await p.readAll([a, b], AbortSignal.timeout(30_000));
    for (const r of [a, b]) {
      const doc = expectDoc(res.get(r.key)!);
      assert.deepEqual(doc.value, { password: SECRETS.v3, username: 'app' });
      assert.equal(doc.version, 3);
      assert.ok(doc.createdAt instanceof Date && !Number.isNaN(doc.createdAt.getTime()));
      assert.deepEqual(doc.info, { mount: 'secret/', mountType: 'kv', kvVersion: 2 });
      assert.equal(doc.lease, undefined);
    }
    assert.equal(previews(PREFLIGHT), 1);
    assert.equal(previews('/v1/secret/data/app/db'), 1);
  });

  test('when ?version=1 is asked then that version is read', async () => {
    const doc = expectDoc(await readOne(provider(), docReq('secret/app/db', { version: '1' })));
    assert.deepEqual(doc.value, { password: SECRETS.v1 });
    assert.equal(doc.version, 1);
  });

  test('when a version was deleted or destroyed then the error says so', async () => {
    assert.equal(await vaultApi('POST', 'secret/delete/gone', { versions: [2] }), 204);
    assert.equal(await vaultApi('POST', 'secret/destroy/gone', { versions: [1] }), 204);
    const p = provider();
    const deleted = expectError(await readOne(p, docReq('secret/gone', { version: '2' })), 'vault.deleted');
    assert.match(deleted.message, /^version 2 of secret\/gone was deleted at \d{4}-/);
    assert.equal(deleted.exitCode, 65);
    const destroyed = expectError(
      await readOne(p, docReq('secret/gone', { version: '1' })),
      'vault.destroyed',
    );
    assert.match(destroyed.message, /^version 1 of secret\/gone was destroyed/);
    assert.equal(expectDoc(await readOne(p, docReq('secret/gone'))).version, 3);
  });

  test('when a KV v1 secret is read then its data is the value and it has no version', async () => {
    const p = provider();
    const doc = expectDoc(await readOne(p, docReq('kv1/legacy')));
    assert.deepEqual(doc.value, { api_key: SECRETS.legacy });
    assert.equal(doc.version, undefined);
    assert.equal(doc.lease, undefined);
    assert.deepEqual(doc.info, { mount: 'kv1/', mountType: 'kv', kvVersion: 1 });
    assert.equal(previews('/v1/kv1/legacy'), 1);
    const err = expectError(
      await readOne(p, docReq('kv1/legacy', { version: '1' })),
      'vault.versionUnsupported',
    );
    assert.match(err.message, /KV v1/);
  });

  test('when the secret does not exist then it is vault.notFound naming the path', async () => {
    const err = expectError(await readOne(provider(), docReq('secret/nope')), 'vault.notFound');
    assert.equal(err.message, 'secret not found at secret/nope');
    assert.equal(err.details.status, 404);
    assert.equal(server.log.filter({ path: '/v1/secret/data/nope' }).length, 1);
  });

  test('when many paths share mounts then there is one preflight per mount, also across reads', async () => {
    const p = provider();
    const reqs = ['secret/s1', 'secret/s2', 'secret/s3', 'secret/app/db', 'kv1/legacy', 'kv1/other'].map(
      (x) => docReq(x),
    );
    const res = await p.readAll(reqs, AbortSignal.timeout(30_000));
    for (const r of reqs) expectDoc(res.get(r.key)!);
    const mounts = server.log.filter({ path: PREFLIGHT }).map((e) => e.path.split('/')[6]);
    assert.deepEqual(mounts.sort(), ['kv1', 'secret']);
    await p.readAll([docReq('secret/app/other')], AbortSignal.timeout(30_000));
    assert.equal(previews(PREFLIGHT), 2);
  });

  test('when two requests share a key then the document is read once', async () => {
    const p = provider();
    const r = docReq('database/creds/app');
    const res = await p.readAll([r, { ...r }], AbortSignal.timeout(30_000));
    assert.equal(res.size, 1);
    assert.equal(previews('/v1/database/creds/app'), 1);
  });
});

describe('permissions and fallbacks', () => {
  test('when the token may not read the path then it is vault.permission (403, exit 77)', async () => {
    const p = provider({ VAULT_TOKEN: 'hvs.CANARYREADER' });
    expectDoc(await readOne(p, docReq('secret/app/db')));
    const err = expectError(await readOne(p, docReq('secret/app/other')), 'vault.permission');
    assert.equal(err.message, 'permission denied (403) at secret/app/other');
    assert.equal(err.exitCode, 77);
    assert.equal(err.details.path, 'secret/app/other');
  });

  test('when the preflight is denied then the path is read as is and its error is the one reported', async () => {
    const p = provider({ VAULT_TOKEN: 'hvs.CANARYREADER' });
    const err = expectError(await readOne(p, docReq('kv1/legacy')), 'vault.permission');
    assert.equal(err.details.path, 'kv1/legacy');
    assert.equal(server.log.filter({ path: '/v1/sys/internal/ui/mounts/kv1/legacy' })[0]?.status, 403);
    assert.equal(server.log.filter({ path: '/v1/kv1/legacy' })[0]?.status, 403);
  });

  test('when the preflight is denied but the v2 data path is readable then the KV v2 answer is unwrapped', async () => {
    const p = provider();
    server.faults.set({ failNext: { status: 403, count: 1 } });
    const doc = expectDoc(await readOne(p, docReq('secret/data/app/db')));
    assert.deepEqual(doc.value, { password: SECRETS.v3, username: 'app' });
    assert.equal(doc.version, 3);
  });

  test('when there is no token anywhere then readAll rejects with vault.noToken', async () => {
    const p = provider({ VAULT_TOKEN: undefined });
    await assert.rejects(
      p.readAll([docReq('secret/app/db')], AbortSignal.timeout(5000)),
      (e: SecrunError) => {
        seenErrors.push(e);
        return e.code === 'vault.noToken' && e.exitCode === 77 && /VAULT_TOKEN/.test(e.message);
      },
    );
    assert.equal(server.log.entries.length, 0);
  });

  test('when ~/.vault-token holds the token then it is used, trimmed', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'secrun-vault-home-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, '.vault-token'), `  ${ROOT}\n`, { mode: 0o600 });
    const p = provider({ VAULT_TOKEN: undefined }, { homeDir: dir });
    expectDoc(await readOne(p, docReq('secret/app/db')));
    assert.equal(p.authMethod, 'token');
  });

  test('when VAULT_NAMESPACE is set then every request carries it', async () => {
    const p = provider({ VAULT_NAMESPACE: 'team-a' });
    const doc = expectDoc(await readOne(p, docReq('kv/app')));
    assert.deepEqual(doc.value, { token: SECRETS.team });
    assert.ok(server.log.entries.length >= 2);
    for (const e of server.log.entries) assert.equal(e.namespace, 'team-a');
  });

  // hashicorp/vault vault/logical_system.go pathInternalUIMountRead: a mount in a child namespace
  // is answered with data.path prefixed by that namespace's full path ("team-a/sub/kv/").
  test('when the path names a child of VAULT_NAMESPACE then the KV v2 mount is still detected', async () => {
    const p = provider({ VAULT_NAMESPACE: 'team-a' });
    const doc = expectDoc(await readOne(p, docReq('sub/kv/app')));
    assert.deepEqual(doc.value, { token: `${SECRETS.team}-sub` });
    const nested = provider();
    const fromRoot = expectDoc(await readOne(nested, docReq('team-a/sub/kv/app')));
    assert.deepEqual(fromRoot.value, { token: `${SECRETS.team}-sub` });
  });
});

describe('dynamic secrets and the session', () => {
  test('when database creds are read then the lease is kept and the path is read as is', async () => {
    const p = provider();
    const doc = expectDoc(await readOne(p, docReq('database/creds/app')));
    const value = doc.value as Record<string, string>;
    assert.match(value.username ?? '', /^v-token-app-/);
    assert.ok(value.password);
    assert.ok(doc.lease);
    assert.ok(doc.lease.id.startsWith('database/creds/app/'));
    assert.equal(doc.lease.duration, 3600);
    assert.equal(doc.lease.renewable, true);
    assert.deepEqual(doc.info, { mount: 'database/', mountType: 'database' });

    const renewed = await p.renewLease(doc.lease.id, 600);
    assert.equal(renewed.id, doc.lease.id);
    assert.ok(renewed.duration > 0 && renewed.duration <= 3600);
    await p.revokeLease(doc.lease.id);
    await assert.rejects(p.renewLease(doc.lease.id, 600), (e: SecrunError) => {
      seenErrors.push(e);
      return e.code === 'vault.badRequest' && /lease not found/.test(e.message);
    });
  });

  test('when the token is looked up, renewed and revoked then the session reports it', async () => {
    const root = await provider().lookupSelf();
    assert.equal(root.ttl, 0);
    assert.equal(root.expireTime, null);
    assert.ok(root.policies.includes('root'));

    const p = provider({ VAULT_TOKEN: 'hvs.CANARYRENEW' });
    const info = await p.lookupSelf();
    assert.ok(info.ttl > 0 && info.renewable);
    const r = await p.renewSelf(1800);
    assert.ok(r.duration > 0);
    await p.revokeSelf();
    await assert.rejects(p.lookupSelf(), (e: SecrunError) => {
      seenErrors.push(e);
      return e.code === 'vault.permission';
    });
  });

  test('when a custom auth hook owns its token then close() revokes it', async () => {
    const p = provider(
      { VAULT_TOKEN: undefined },
      { auth: async () => ({ token: 'hvs.CANARYOWNED', method: 'test', owned: true }) },
    );
    assert.deepEqual((await p.lookupSelf()).policies, ['default']);
    assert.equal(p.authMethod, 'test');
    await p.close();
    assert.equal(server.log.filter({ path: '/v1/auth/token/revoke-self' }).length, 1);
    assert.equal(await vaultApi('GET', 'auth/token/lookup-self', undefined, 'hvs.CANARYOWNED'), 403);
  });
});

describe('retries', () => {
  /** A provider whose mount cache is warm, so faults hit the document read. */
  async function warm(env: Record<string, string> = {}) {
    const p = provider(env);
    expectDoc(await readOne(p, docReq('secret/app/db')));
    server.log.clear();
    return p;
  }
  const reads = () => server.log.filter({ path: '/v1/secret/data/app/db' }).map((e) => e.status);

  for (const status of [503, 500, 502, 412]) {
    test(`when Vault answers ${status} twice then the read is retried and succeeds`, async () => {
      const p = await warm();
      server.faults.set({ failNext: { status, count: 2 } });
      expectDoc(await readOne(p, docReq('secret/app/db')));
      assert.deepEqual(reads(), [status, status, 200]);
    });
  }

  test('when Vault answers 429 with Retry-After then the wait is honoured', async () => {
    const p = await warm();
    server.faults.set({ failNext: { status: 429, count: 1, retryAfter: 1 } });
    const started = Date.now();
    expectDoc(await readOne(p, docReq('secret/app/db')));
    assert.ok(Date.now() - started >= 900, 'Retry-After: 1 should delay the retry by about a second');
    assert.deepEqual(reads(), [429, 200]);
  });

  test('when the connection is reset then the read is retried', async () => {
    const p = await warm();
    server.faults.set({ resetNext: 1 });
    expectDoc(await readOne(p, docReq('secret/app/db')));
    assert.deepEqual(reads(), [0, 200]);
  });

  test('when a KV mount is upgrading (400) then the read is retried', async () => {
    const p = await warm();
    const body = JSON.stringify({
      errors: [
        'Upgrading from non-versioned to versioned data. This backend will be unavailable for a brief period and will resume service shortly.',
      ],
    });
    server.faults.set({ failNext: { status: 400, count: 1, body } });
    expectDoc(await readOne(p, docReq('secret/app/db')));
    assert.deepEqual(reads(), [400, 200]);
  });

  for (const [status, code] of [
    [400, 'vault.badRequest'],
    [403, 'vault.permission'],
    [501, 'vault.unavailable'],
    [404, 'vault.notFound'],
  ] as const) {
    test(`when Vault answers ${status} then it is not retried (${code})`, async () => {
      const p = await warm();
      server.faults.set({ failNext: { status, count: 5 } });
      expectError(await readOne(p, docReq('secret/app/db')), code);
      assert.deepEqual(reads(), [status]);
    });
  }

  test('when 500s outlast VAULT_MAX_RETRIES then it gives up after 1 + retries tries', async () => {
    const p = await warm({ VAULT_MAX_RETRIES: '2' });
    server.faults.set({ failNext: { status: 500, count: 10 } });
    const err = expectError(await readOne(p, docReq('secret/app/db')), 'vault.unavailable');
    assert.match(err.message, /server error \(500\)/);
    assert.deepEqual(reads(), [500, 500, 500]);
  });

  test('when Vault is sealed then it is vault.sealed after the retries', async () => {
    const p = provider({ VAULT_MAX_RETRIES: '1' });
    server.setSealed(true);
    const err = expectError(await readOne(p, docReq('secret/app/db')), 'vault.sealed');
    assert.match(err.message, /Vault is sealed \(503\)/);
    assert.equal(server.log.entries.length, 2);
  });

  test('when nothing listens then it is connection refused naming the address', async () => {
    const p = provider({ VAULT_ADDR: 'http://127.0.0.1:1', VAULT_MAX_RETRIES: '1' });
    const err = expectError(await readOne(p, docReq('secret/app/db')), 'vault.unavailable');
    assert.equal(err.message, 'connection refused to http://127.0.0.1:1');
  });

  test('when the server is slower than VAULT_CLIENT_TIMEOUT then it is vault.timeout', async () => {
    const p = provider({ VAULT_CLIENT_TIMEOUT: '200ms', VAULT_MAX_RETRIES: '1' });
    server.faults.set({ latencyMs: 2000 });
    const err = expectError(await readOne(p, docReq('secret/app/db')), 'vault.timeout');
    assert.match(err.message, /timed out after 0\.2s/);
    // The server notices the dropped connections a moment later; let it log them in this test.
    await until(
      'both timeouts were logged',
      () => server.log.entries.filter((e) => e.status === 0).length === 2,
    );
  });
});

describe('deadline and redirects', () => {
  test('when the deadline passes during a slow request then the read stops at once', async () => {
    const p = provider();
    server.faults.set({ latencyMs: 3000 });
    const started = Date.now();
    const err = expectError(
      await readOne(p, docReq('secret/app/db'), AbortSignal.timeout(300)),
      'provider.deadline',
    );
    assert.ok(err instanceof UnavailableError);
    assert.ok(Date.now() - started < 10_000);
    await until('the server saw the aborted request', () => server.log.entries.some((e) => e.status === 0));
  });

  test('when the deadline passes during a Retry-After wait then it gives up without waiting', async () => {
    const p = provider();
    server.faults.set({ failNext: { status: 503, count: 5, retryAfter: 60 } });
    const started = Date.now();
    const out = await readOne(p, docReq('secret/app/db'), AbortSignal.timeout(300));
    assert.equal(out.ok, false);
    assert.ok(Date.now() - started < 10_000);
    assert.equal(server.log.filter({ path: PREFLIGHT }).filter((e) => e.status === 503).length, 1);
  });

  test('when a standby redirects to the active node on the same host but another port then the token is not sent there', async (t) => {
    const active = await startVaultServer({ seed: parseSeed(seedYaml, 'active'), rootToken: ROOT });
    t.after(() => active.close());
    server.setStandby(active.url);
    const err = expectError(await readOne(provider(), docReq('secret/app/db')), 'vault.redirect');
    assert.match(err.message, /token was not sent/);
    assert.equal(active.log.entries.length, 0);
  });

  test('when a standby redirects to another host then the token is not sent there', async (t) => {
    const active = await startVaultServer({ seed: parseSeed(seedYaml, 'active'), rootToken: ROOT });
    t.after(() => active.close());
    server.setStandby(active.url.replace('127.0.0.1', 'localhost'));
    const err = expectError(await readOne(provider(), docReq('secret/app/db')), 'vault.redirect');
    assert.match(err.message, /localhost.*token was not sent/);
    assert.equal(active.log.entries.length, 0);
  });

  test('when VAULT_ADDR is plain http to a remote host then no connection is made', () => {
    assert.throws(
      () => provider({ VAULT_ADDR: 'http://vault.example.com:8200' }),
      (e: SecrunError) => e.code === 'vault.insecureHttp' && e.exitCode === 78,
    );
  });
});

describe('error hygiene', () => {
  test('when any error the provider raised is inspected or serialised then no token or secret value appears', async () => {
    // A few more failure kinds on top of those the other tests collected.
    const p = provider({ VAULT_MAX_RETRIES: '0' });
    for (const status of [500, 429, 412, 502]) {
      server.faults.set({ failNext: { status, count: 1 } });
      await readOne(p, docReq(`secret/app/db`, { version: String(status) }));
    }
    assert.ok(seenErrors.length >= 15, `only ${seenErrors.length} errors collected`);
    const codes = new Set(seenErrors.map((e) => (e as SecrunError).code));
    for (const c of [
      'vault.notFound',
      'vault.permission',
      'vault.deleted',
      'vault.sealed',
      'vault.redirect',
    ]) {
      assert.ok(codes.has(c), `no ${c} error was collected`);
    }
    for (const err of seenErrors) {
      const text = `${inspect(err, { showHidden: true, depth: 20 })}\n${JSON.stringify(err)}\n${String(err)}`;
      for (const canary of CANARIES) assert.ok(!text.includes(canary), `${canary} leaked in ${text}`);
      assert.equal((err as Error).cause, undefined);
    }
  });

  test('when everything ran at debug level then no log line holds a token or secret value', () => {
    assert.ok(logLines.length > 0);
    const all = logLines.join('');
    for (const canary of CANARIES) assert.ok(!all.includes(canary), `${canary} leaked into the log`);
  });
});
