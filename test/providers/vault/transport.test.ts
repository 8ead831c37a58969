import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ConfigError, type SecrunError } from '../../../src/base/errors.ts';
import { createLogger } from '../../../src/base/log.ts';
import { parseSeed } from '../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../src/dev/vault/server.ts';
import type { DocumentRequest } from '../../../src/providers/provider.ts';
import { createVaultAuth } from '../../../src/providers/vault/auth/index.ts';
import { readVaultSettings } from '../../../src/providers/vault/env-settings.ts';
import { mapVaultError } from '../../../src/providers/vault/error-map.ts';
import {
  createVaultProvider,
  type VaultProvider,
  type VaultProviderOptions,
} from '../../../src/providers/vault/provider.ts';
import { HttpTransport } from '../../../src/providers/vault/transport.ts';
import { makeTestPki, type TestPki } from '../../helpers/tls.ts';
import { haveOpenssl } from '../../helpers/tls-certs.ts';
import { assertNoCanary, authContext, captureLogger, devClient } from '../../helpers/vault-auth.ts';

const ROOT = 'hvs.CANARY-ROOT-transport-000';
const SECRET = 'CANARY-SECRET-transport';
const TEAM_SECRET = 'CANARY-SECRET-team-a';
const ROLE_ID = 'CANARY-ROLE-ID-transport';
const SECRET_ID = 'CANARY-SECRET-ID-transport';
const seedYaml = `
vault:
  root_token: ${ROOT}
  kv:
    secret/app/db: { password: ${SECRET} }
  auth:
    approle:
      type: approle
      roles:
        web: { role_id: ${ROLE_ID}, secret_ids: [${SECRET_ID}], policies: [default], token_ttl: 10m }
  namespaces:
    team-a:
      mounts:
        kv: { type: kv, version: 2 }
      kv:
        kv/app: { token: ${TEAM_SECRET} }
      policies:
        reader:
          - { path: "kv/data/app", capabilities: [read] }
          - { path: "sys/internal/ui/mounts/*", capabilities: [read] }
      auth:
        approle:
          type: approle
          roles:
            web: { role_id: ${ROLE_ID}, secret_ids: [${SECRET_ID}], policies: [reader], token_ttl: 10m }
`;
const seed = () => parseSeed(seedYaml, 'transport-seed');
const REQ: DocumentRequest = {
  scheme: 'vault',
  path: 'secret/app/db',
  options: {},
  key: 'vault:secret/app/db',
};

let main: VaultDevServer;
const providers: VaultProvider[] = [];
const closers: Array<() => Promise<unknown> | unknown> = [];
let lines: string[] = [];

before(async () => {
  main = await startVaultServer({ seed: seed() });
});
after(async () => {
  await Promise.all(providers.map((p) => p.close()));
  for (const c of closers.reverse()) await c();
  await main.close();
});
beforeEach(() => {
  lines = [];
  main.log.clear();
  main.setStandby(null);
  main.faults.clear();
});

function provider(
  env: Record<string, string | undefined>,
  extra: Partial<VaultProviderOptions> = {},
): VaultProvider {
  const p = createVaultProvider({
    env: { VAULT_ADDR: main.url, VAULT_TOKEN: ROOT, VAULT_MAX_RETRIES: '0', ...env },
    logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
    homeDir: '/nonexistent-home',
    retry: { baseMs: 1, capMs: 5 },
    ...extra,
  });
  providers.push(p);
  return p;
}

async function readOne(p: VaultProvider, req: DocumentRequest = REQ) {
  const out = (await p.readAll([req], AbortSignal.timeout(20_000))).get(req.key);
  assert.ok(out);
  return out;
}

function expectCode(out: Awaited<ReturnType<typeof readOne>>, code: string): SecrunError {
  if (out.ok) assert.fail(`expected ${code}, got a document`);
  assert.equal(out.error.code, code, out.error.message);
  assertNoCanary(out.error, [ROOT, SECRET, SECRET_ID, ROLE_ID], code);
  return out.error;
}

/** A plain HTTP listener that records every request's headers and body and answers 200 `{}`. */
async function recorder(
  host: string,
): Promise<{ url: string; seen: Array<{ headers: http.IncomingHttpHeaders; body: string }> }> {
  const seen: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      res.setHeader('content-type', 'application/json');
      res.end('{"data":{"password":"from-the-wrong-host"}}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  closers.push(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return { url: `http://${host}:${(server.address() as AddressInfo).port}`, seen };
}

/** A second loopback address other than 127.0.0.1 when this host can bind one, else `localhost`. */
async function otherLoopbackRecorder() {
  try {
    return await recorder('127.0.0.2');
  } catch {
    const r = await recorder('127.0.0.1');
    return { ...r, url: r.url.replace('127.0.0.1', 'localhost') };
  }
}

/** A tiny Vault-shaped server on 127.0.0.1 answering with `handle`. */
async function tinyVault(
  handle: (
    req: http.IncomingMessage,
    send: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ) => void,
): Promise<string> {
  const server = http.createServer((req, res) => {
    handle(req, (status, body, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A lookup that sends every name to `address` and counts the calls. */
function lookupTo(address: string): { lookup: LookupFunction; calls: string[] } {
  const calls: string[] = [];
  const family = address.includes(':') ? 6 : 4;
  const lookup = ((hostname: string, options: { all?: boolean }, cb: (...a: unknown[]) => void) => {
    calls.push(hostname);
    if (options?.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  }) as unknown as LookupFunction;
  return { lookup, calls };
}

/** A non-loopback address of this host (to listen on), if it has one. */
function nonLoopbackAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return undefined;
}

/** A lookup that sends every name to 127.0.0.1 and counts the calls. */
function spyLookup(): { lookup: LookupFunction; calls: string[] } {
  const calls: string[] = [];
  const lookup = ((hostname: string, options: { all?: boolean }, cb: (...a: unknown[]) => void) => {
    calls.push(hostname);
    if (options?.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
    else cb(null, '127.0.0.1', 4);
  }) as unknown as LookupFunction;
  return { lookup, calls };
}

describe('plain http', () => {
  for (const addr of ['http://vault.example:8200', 'http://10.255.255.1:8200', 'http://[fd00::1]:8200']) {
    test(`when VAULT_ADDR is ${addr} then it is refused before any connection`, () => {
      const spy = spyLookup();
      assert.throws(
        () => provider({ VAULT_ADDR: addr }, { lookup: spy.lookup }),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.code === 'vault.insecureHttp' &&
          /--allow-insecure-http/.test(e.message) &&
          !e.message.includes(ROOT),
      );
      assert.deepEqual(spy.calls, []);
    });
  }

  test('when a remote name would resolve to a live listener then the refusal still sends nothing, and --allow-insecure-http reaches it with a warning', async () => {
    const port = new URL(main.url).port;
    const spy = spyLookup();
    assert.throws(
      () => provider({ VAULT_ADDR: `http://vault.example:${port}` }, { lookup: spy.lookup }),
      /refusing plain http to vault\.example/,
    );
    assert.equal(spy.calls.length, 0);
    assert.equal(main.log.entries.length, 0);

    // Control: the same address with the flag does connect (so the test above could have seen it).
    const allowed = provider(
      { VAULT_ADDR: `http://vault.example:${port}` },
      { lookup: spy.lookup, allowInsecureHttp: true },
    );
    const out = await readOne(allowed);
    assert.ok(out.ok, out.ok ? '' : out.error.message);
    assert.ok(spy.calls.includes('vault.example'));
    assert.ok(main.log.entries.length >= 1);
    assert.ok(
      lines.some((l) => /warn: plain http to a non-loopback Vault/.test(l)),
      lines.join(''),
    );
  });

  test('when a *.localhost name resolves to a non-loopback address then plain http is refused and nothing is sent there', async () => {
    const outside = nonLoopbackAddress();
    const target = outside ? await recorder(outside) : undefined;
    const port = target ? new URL(target.url).port : '8200';
    const spy = lookupTo(outside ?? '10.255.255.1');
    const p = provider({ VAULT_ADDR: `http://vault.localhost:${port}` }, { lookup: spy.lookup });
    const out = await readOne(p);
    const err = expectCode(out, 'vault.insecureHttp');
    assert.equal(err.exitCode, 78);
    assert.match(err.message, /vault\.localhost resolves to [0-9.]+, not a loopback address/);
    assert.match(err.message, /--allow-insecure-http/);
    assert.ok(spy.calls.includes('vault.localhost'));
    if (target) assert.deepEqual(target.seen, [], 'the token went to a non-loopback address');
  });

  test('when a *.localhost name resolves to loopback then plain http is allowed without the flag', async () => {
    const port = new URL(main.url).port;
    const spy = lookupTo('127.0.0.1');
    const out = await readOne(
      provider({ VAULT_ADDR: `http://vault.localhost:${port}` }, { lookup: spy.lookup }),
    );
    assert.ok(out.ok, out.ok ? '' : out.error.message);
    assert.ok(spy.calls.includes('vault.localhost'));
  });

  test('when the http address is loopback (127.0.0.0/8, ::1, localhost) then it is allowed without the flag', async () => {
    for (const addr of [
      'http://127.0.0.1:8200',
      'http://127.9.8.7:1',
      'http://[::1]:8200',
      'http://localhost:8200',
      'http://LOCALHOST',
    ]) {
      assert.doesNotThrow(() => readVaultSettings({ VAULT_ADDR: addr }), addr);
    }
    const out = await readOne(provider({}));
    assert.ok(out.ok);
    assert.ok(!lines.some((l) => /plain http/.test(l)));
  });
});

describe('redirects', () => {
  test('when a standby redirects to a different host then neither the token nor the request goes there', async () => {
    const other = await otherLoopbackRecorder();
    main.setStandby(other.url);
    const err = expectCode(await readOne(provider({})), 'vault.redirect');
    assert.match(err.message, /token was not sent/);
    assert.deepEqual(other.seen, []);
    assert.ok(main.log.entries.every((e) => e.status === 307));
  });

  test('when a login is redirected to a different host then the secret id is not sent there either', async () => {
    const other = await otherLoopbackRecorder();
    main.setStandby(other.url);
    const p = provider(
      { VAULT_TOKEN: undefined, SECRET_ID: SECRET_ID },
      {
        auth: createVaultAuth(
          { method: 'approle', roleId: ROLE_ID, secretIdEnv: 'SECRET_ID' },
          { env: { SECRET_ID }, homeDir: '/h', logger: createLogger({ level: 'silent' }) },
        ),
      },
    );
    await assert.rejects(p.readAll([REQ], AbortSignal.timeout(10_000)), (e: SecrunError) => {
      assertNoCanary(e, [SECRET_ID, ROLE_ID], 'login redirect error');
      return e.code === 'vault.redirect';
    });
    assert.deepEqual(other.seen, []);
    assert.deepEqual(
      main.log.entries.map((e) => `${e.path} ${e.status}`),
      ['/v1/auth/approle/login 307'],
    );
  });

  test('when a standby redirects to the same host on another port then that is another origin: nothing is sent there', async () => {
    const other = await recorder('127.0.0.1');
    main.setStandby(other.url);
    const err = expectCode(await readOne(provider({})), 'vault.redirect');
    assert.match(err.message, /token was not sent/);
    assert.deepEqual(other.seen, []);
  });

  test('when a redirect stays on the same origin then it is followed once and the answer used', async () => {
    const seen: string[] = [];
    const url = await tinyVault((req, send) => {
      seen.push(`${req.url} ${req.headers['x-vault-token'] === ROOT ? 'token' : 'no token'}`);
      if (req.url === '/v1/app/cfg') return send(307, {}, { location: '/v1/app/cfg-moved' });
      if (req.url === '/v1/app/cfg-moved') return send(200, { data: { password: 'moved' } });
      return send(404, { errors: [] });
    });
    const req: DocumentRequest = { scheme: 'vault', path: 'app/cfg', options: {}, key: 'vault:app/cfg' };
    const out = await readOne(provider({ VAULT_ADDR: url }), req);
    assert.ok(out.ok, out.ok ? '' : out.error.message);
    assert.deepEqual(out.doc.value, { password: 'moved' });
    assert.deepEqual(seen.slice(-2), ['/v1/app/cfg token', '/v1/app/cfg-moved token']);
  });

  test('when a server keeps redirecting to itself then one hop is followed and the loop is refused', async () => {
    let hits = 0;
    const url = await tinyVault((req, send) => {
      if (req.url?.startsWith('/v1/sys/')) return send(404, { errors: [] });
      hits++;
      return send(307, {}, { location: req.url ?? '/' });
    });
    const err = expectCode(await readOne(provider({ VAULT_ADDR: url })), 'vault.redirect');
    assert.match(err.message, /more than once/);
    assert.equal(hits, 2);
  });

  describe('https', { skip: !haveOpenssl() && 'openssl not installed' }, () => {
    let pki: TestPki;
    before(() => {
      pki = makeTestPki();
    });
    after(() => pki?.cleanup());

    test('when an https standby redirects to http then the downgrade is refused and nothing goes over http', async (t) => {
      const { tempFiles } = await import('../../helpers/tls-certs.ts');
      const tmp = tempFiles();
      t.after(() => tmp.cleanup());
      const secure = await startVaultServer({
        seed: seed(),
        https: { cert: pki.server.cert, key: pki.server.key },
      });
      t.after(() => secure.close());
      const plain = await startVaultServer({ seed: seed() });
      t.after(() => plain.close());
      secure.setStandby(plain.url);
      const p = provider({ VAULT_ADDR: secure.httpsUrl, VAULT_CACERT: tmp.write('ca.pem', pki.ca.cert) });
      const err = expectCode(await readOne(p), 'vault.redirect');
      assert.match(err.message, /another scheme \(http\)/);
      assert.equal(plain.log.entries.length, 0);
      assert.equal(secure.log.entries.length, 1);
    });
  });
});

describe('namespace', () => {
  test('when VAULT_NAMESPACE is set then every request carries it: login, preflight, read and revoke', async () => {
    const p = provider(
      { VAULT_TOKEN: undefined, VAULT_NAMESPACE: 'team-a' },
      {
        auth: createVaultAuth(
          { method: 'approle', roleId: ROLE_ID, secretIdEnv: 'SECRET_ID' },
          { env: { SECRET_ID }, homeDir: '/h', logger: createLogger({ level: 'silent' }) },
        ),
      },
    );
    const req: DocumentRequest = { scheme: 'vault', path: 'kv/app', options: {}, key: 'vault:kv/app' };
    const out = await readOne(p, req);
    assert.ok(out.ok, out.ok ? '' : out.error.message);
    assert.deepEqual(out.doc.value, { token: TEAM_SECRET });
    await p.close();
    const trail = main.log.entries.map((e) => `${e.namespace ?? '-'} ${e.method} ${e.path} ${e.status}`);
    assert.deepEqual(trail, [
      'team-a POST /v1/auth/approle/login 200',
      'team-a GET /v1/sys/internal/ui/mounts/kv/app 200',
      'team-a GET /v1/kv/data/app 200',
      'team-a POST /v1/auth/token/revoke-self 204',
    ]);
  });

  test('when the config namespace is given then it wins over VAULT_NAMESPACE on logins too', async () => {
    const { logger } = captureLogger();
    const client = devClient({ VAULT_ADDR: main.url, VAULT_NAMESPACE: 'elsewhere' }, logger, {
      namespace: 'team-a',
    });
    const auth = createVaultAuth(
      { method: 'approle', roleId: ROLE_ID, secretIdEnv: 'SECRET_ID' },
      { env: { SECRET_ID }, homeDir: '/h', logger },
    );
    try {
      const r = await auth(authContext(client, logger, { SECRET_ID }));
      assert.deepEqual(r.policies?.includes('reader'), true);
    } finally {
      client.close();
    }
    assert.deepEqual(
      main.log.entries.map((e) => e.namespace),
      ['team-a'],
    );
  });
});

describe('retries: VAULT_MAX_RETRIES and single attempts', () => {
  test('when VAULT_MAX_RETRIES=0 then a 503 is tried once; with 3 it is tried four times', async () => {
    main.faults.set({ failNext: { status: 503, count: 10 } });
    const p0 = provider({ VAULT_MAX_RETRIES: '0' });
    expectCode(await readOne(p0), 'vault.unavailable');
    assert.equal(main.log.entries.length, 1);
    main.log.clear();
    const p3 = provider({ VAULT_MAX_RETRIES: '3' });
    expectCode(await readOne(p3), 'vault.unavailable');
    assert.equal(main.log.entries.length, 4);
  });

  test('when VAULT_CLIENT_TIMEOUT is whole seconds then it is read as seconds', async () => {
    // The answer would take 30 s: a 15 s bound is a 15x margin over the 1 s timeout.
    main.faults.set({ latencyMs: 30_000 });
    const started = Date.now();
    const err = expectCode(await readOne(provider({ VAULT_CLIENT_TIMEOUT: '1' })), 'vault.timeout');
    assert.match(err.message, /timed out after 1s/);
    assert.ok(Date.now() - started < 15_000, 'gave up before the server answered');
    // Let the server log the dropped request here, not in the next test.
    const deadline = Date.now() + 10_000;
    while (!main.log.entries.some((e) => e.status === 0)) {
      assert.ok(Date.now() < deadline, 'the server never saw the dropped request');
      await new Promise((r) => setTimeout(r, 10));
    }
  });

  test('when a request says retry: false then a retryable failure is tried exactly once', async () => {
    main.faults.set({ failNext: { status: 503, count: 10 } });
    const { logger } = captureLogger();
    const c = devClient({ VAULT_ADDR: main.url }, logger, { maxRetries: 3 });
    try {
      await assert.rejects(
        c.request({ method: 'GET', path: 'secret/data/app/db', retry: false }),
        (e: unknown) => {
          return mapVaultError(e, c.errorContext()).code === 'vault.unavailable';
        },
      );
      assert.equal(main.log.entries.length, 1);
      main.log.clear();
      await assert.rejects(c.request({ method: 'GET', path: 'secret/data/app/db' }));
      assert.equal(main.log.entries.length, 4, 'without it the same client retries');
    } finally {
      c.close();
    }
  });

  test('when the unwrap answers 503 then it is not retried (the wrapping token is single-use)', async (t) => {
    const hits: string[] = [];
    const server = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v1/sys/wrapping/lookup') {
        res.end(
          JSON.stringify({ data: { creation_path: 'auth/approle/role/web/secret-id', creation_ttl: 60 } }),
        );
        return;
      }
      res.statusCode = 503;
      res.end('{"errors":["overloaded"]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    });
    const { logger } = captureLogger();
    const env = { WRAPPED: 'hvs.CANARY-WRAPPING-TOKEN' };
    const client = devClient(
      { VAULT_ADDR: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
      logger,
      {
        maxRetries: 3,
      },
    );
    t.after(() => client.close());
    const auth = createVaultAuth(
      { method: 'approle', roleId: ROLE_ID, role: 'web', wrapped: true, secretIdEnv: 'WRAPPED' },
      { env, homeDir: '/h', logger },
    );
    await assert.rejects(auth(authContext(client, logger, env)), (e: SecrunError) => {
      assertNoCanary(e, [env.WRAPPED, ROLE_ID], 'unwrap error');
      return e.code === 'vault.unavailable';
    });
    assert.deepEqual(hits, ['/v1/sys/wrapping/lookup', '/v1/sys/wrapping/unwrap']);
  });
});

describe('HttpTransport request paths', () => {
  let server: http.Server;
  let addr: string;
  const seen: string[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      res.end('{"data":{}}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    addr = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const sent = async (uri: string): Promise<{ path: string; reported: string }> => {
    const transport = new HttpTransport(readVaultSettings({ VAULT_ADDR: addr }), {});
    try {
      seen.length = 0;
      const res = await transport.send({ method: 'GET', uri });
      return { path: seen[0] ?? '', reported: res.request.path };
    } finally {
      transport.close();
    }
  };

  for (const path of [
    '/v1/secret/data/app',
    '/v1/secret/data/app%20x?version=2',
    "/v1/kv/a-b_c.d~e!$&'()*+,;=:@",
    // What URL rewrites: dot segments (also percent-encoded) and characters it escapes.
    '/v1/secret/../sys/mounts',
    '/v1/secret/%2e%2E/sys/mounts',
    '/v1/secret/./data/x',
    '/v1/secret/data/a b"{}|^`',
    '/v1/secret/data/x/..',
  ]) {
    test(`when node-vault asks for ${path} then the server gets what URL makes of it`, async () => {
      const url = new URL(`${addr}${path}`);
      assert.deepEqual(await sent(`${addr}${path}`), {
        path: url.pathname + url.search,
        reported: url.pathname,
      });
    });
  }
});
