import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import {
  ConfigError,
  NotFoundError,
  PermissionError,
  SecrunError,
  UnavailableError,
} from '../../../src/base/errors.ts';
import { silentLogger } from '../../../src/base/log.ts';
import { isLoopbackHost } from '../../../src/providers/net.ts';
import { VaultClient } from '../../../src/providers/vault/client.ts';
import { DEFAULT_TIMEOUT_MS, readVaultSettings } from '../../../src/providers/vault/env-settings.ts';
import { parseDurationMs, parseGoBool } from '../../../src/providers/vault/env-values.ts';
import { mapVaultError } from '../../../src/providers/vault/error-map.ts';
import {
  cleanVaultMessage,
  VaultHttpError,
  VaultTransportError,
} from '../../../src/providers/vault/http-errors.ts';
import { classifyVaultError } from '../../../src/providers/vault/retry-policy.ts';
import { buildTlsOptions } from '../../../src/providers/vault/tls.ts';

const ctx = { address: 'https://vault.example:8200', timeoutMs: 60_000, path: 'secret/app/db' };

describe('readVaultSettings', () => {
  test('when nothing is set then the vault CLI defaults apply (https, 60s, retries)', () => {
    const s = readVaultSettings({});
    assert.equal(s.address, 'https://127.0.0.1:8200');
    assert.equal(s.timeoutMs, DEFAULT_TIMEOUT_MS);
    assert.equal(s.maxRetries, undefined);
    assert.equal(s.tls.skipVerify, false);
    assert.equal(s.namespace, undefined);
  });

  test('when VAULT_* are set then they are read from the given env object', () => {
    const s = readVaultSettings({
      VAULT_ADDR: 'https://vault.internal:8200/',
      VAULT_NAMESPACE: 'team-a',
      VAULT_CLIENT_TIMEOUT: '30s',
      VAULT_MAX_RETRIES: '0',
      VAULT_SKIP_VERIFY: 'true',
      VAULT_CACERT: '/ca.pem',
      VAULT_TLS_SERVER_NAME: 'vault.internal',
    });
    assert.equal(s.address, 'https://vault.internal:8200');
    assert.equal(s.namespace, 'team-a');
    assert.equal(s.timeoutMs, 30_000);
    assert.equal(s.maxRetries, 0);
    assert.equal(s.tls.skipVerify, true);
    assert.equal(s.tls.caCert, '/ca.pem');
    assert.equal(s.tls.serverName, 'vault.internal');
  });

  test('when overrides are given then they win over the variables', () => {
    const s = readVaultSettings(
      { VAULT_ADDR: 'https://a:8200', VAULT_NAMESPACE: 'x' },
      { address: 'https://b:8200', namespace: 'y', timeoutMs: 5, maxRetries: 7 },
    );
    assert.deepEqual([s.address, s.namespace, s.timeoutMs, s.maxRetries], ['https://b:8200', 'y', 5, 7]);
  });

  test('when process.env has VAULT_ADDR but the env object does not then the default is used', () => {
    const saved = process.env.VAULT_ADDR;
    process.env.VAULT_ADDR = 'https://from-process-env:1';
    try {
      assert.equal(readVaultSettings({}).address, 'https://127.0.0.1:8200');
    } finally {
      if (saved === undefined) delete process.env.VAULT_ADDR;
      else process.env.VAULT_ADDR = saved;
    }
  });

  test('when VAULT_ADDR is plain http to a remote host then it is refused unless allowed', () => {
    assert.throws(
      () => readVaultSettings({ VAULT_ADDR: 'http://vault.example:8200' }),
      (e: unknown) => e instanceof ConfigError && e.code === 'vault.insecureHttp' && e.exitCode === 78,
    );
    const s = readVaultSettings({ VAULT_ADDR: 'http://vault.example:8200' }, { allowInsecureHttp: true });
    assert.equal(s.address, 'http://vault.example:8200');
  });

  test('when VAULT_ADDR is plain http to loopback then it is allowed', () => {
    for (const a of [
      'http://127.0.0.1:8200',
      'http://localhost:8200',
      'http://[::1]:8200',
      'http://127.3.4.5',
    ]) {
      assert.doesNotThrow(() => readVaultSettings({ VAULT_ADDR: a }), a);
    }
  });

  test('when VAULT_ADDR is junk, unix, or carries credentials then it is a ConfigError', () => {
    for (const a of ['not a url', 'unix:///tmp/vault.sock', 'https://u:p@vault:8200', 'https://v:1/?x=1']) {
      assert.throws(() => readVaultSettings({ VAULT_ADDR: a }), ConfigError, a);
    }
  });

  test('when only one of VAULT_CLIENT_CERT and VAULT_CLIENT_KEY is set then it is a ConfigError', () => {
    assert.throws(() => readVaultSettings({ VAULT_CLIENT_CERT: '/c.pem' }), /must be set together/);
    assert.throws(() => readVaultSettings({ VAULT_CLIENT_KEY: '/k.pem' }), /must be set together/);
  });

  test('when VAULT_SKIP_VERIFY, VAULT_CLIENT_TIMEOUT or VAULT_MAX_RETRIES is junk then it names the variable', () => {
    assert.throws(() => readVaultSettings({ VAULT_SKIP_VERIFY: 'yes' }), /VAULT_SKIP_VERIFY/);
    assert.throws(() => readVaultSettings({ VAULT_CLIENT_TIMEOUT: 'soon' }), /VAULT_CLIENT_TIMEOUT/);
    assert.throws(() => readVaultSettings({ VAULT_MAX_RETRIES: '-1' }), /VAULT_MAX_RETRIES/);
  });
});

describe('parsers', () => {
  test('when a Go boolean is parsed then the ParseBool spellings are accepted and others refused', () => {
    for (const t of ['1', 't', 'T', 'true', 'TRUE', 'True']) assert.equal(parseGoBool(t, 'X'), true);
    for (const f of ['0', 'f', 'F', 'false', 'FALSE', 'False']) assert.equal(parseGoBool(f, 'X'), false);
    for (const j of ['yes', 'no', 'on', '2', 'tRuE']) assert.throws(() => parseGoBool(j, 'X'), ConfigError);
  });

  test('when a duration is parsed then seconds and Go durations work and zero or junk fail', () => {
    assert.equal(parseDurationMs('30', 'X'), 30_000);
    assert.equal(parseDurationMs('30s', 'X'), 30_000);
    assert.equal(parseDurationMs('1m30s', 'X'), 90_000);
    assert.equal(parseDurationMs('500ms', 'X'), 500);
    assert.equal(parseDurationMs('1.5s', 'X'), 1500);
    for (const j of ['0', '0s', '', 's', '10 s', '-1s', '1x'])
      assert.throws(() => parseDurationMs(j, 'X'), ConfigError, j);
  });

  test('when hosts are checked then only loopback counts as loopback', () => {
    assert.ok(isLoopbackHost('127.0.0.1'));
    assert.ok(isLoopbackHost('[::1]'));
    assert.ok(isLoopbackHost('LOCALHOST'));
    assert.ok(!isLoopbackHost('10.0.0.1'));
    assert.ok(!isLoopbackHost('127.0.0.1.nip.io'));
    assert.ok(!isLoopbackHost('vault.example'));
  });

  test('when Vault wraps an error in multierror decoration then the text is cleaned', () => {
    assert.equal(cleanVaultMessage('1 error occurred:\n\t* permission denied\n\n'), 'permission denied');
    assert.equal(cleanVaultMessage('2 errors occurred:\n\t* a\n\t* b\n\n'), 'a; b');
    assert.equal(cleanVaultMessage('  plain\u001b[31m  '), 'plain [31m');
    assert.equal(cleanVaultMessage('x'.repeat(500)).length, 300);
  });
});

describe('TLS options', () => {
  const files = (contents: Record<string, string>, modes: Record<string, number> = {}) => ({
    readFile: (p: string) => {
      const c = contents[p];
      if (c === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return Buffer.from(c);
    },
    readDir: (p: string) =>
      Object.keys(contents)
        .filter((k) => k.startsWith(`${p}/`))
        .map((k) => k.slice(p.length + 1)),
    mode: (p: string) => modes[p],
  });

  test('when VAULT_SKIP_VERIFY=false even with process.env.VAULT_SKIP_VERIFY=1 then verification stays on', () => {
    const saved = process.env.VAULT_SKIP_VERIFY;
    process.env.VAULT_SKIP_VERIFY = '1';
    try {
      const settings = readVaultSettings({ VAULT_SKIP_VERIFY: 'false' });
      const client = new VaultClient(settings, { logger: silentLogger });
      try {
        assert.equal(client.tlsOptions.rejectUnauthorized, true);
        assert.equal(client.tlsOptions.minVersion, 'TLSv1.2');
      } finally {
        client.close();
      }
    } finally {
      if (saved === undefined) delete process.env.VAULT_SKIP_VERIFY;
      else process.env.VAULT_SKIP_VERIFY = saved;
    }
  });

  test('when VAULT_SKIP_VERIFY=1 then verification is off', () => {
    const opts = buildTlsOptions(readVaultSettings({ VAULT_SKIP_VERIFY: '1' }).tls);
    assert.equal(opts.rejectUnauthorized, false);
  });

  test('when VAULT_CACERT and a client pair are set then they are loaded into the agent options', () => {
    const tls = readVaultSettings({
      VAULT_CACERT: '/ca.pem',
      VAULT_CLIENT_CERT: '/c.pem',
      VAULT_CLIENT_KEY: '/k.pem',
      VAULT_TLS_SERVER_NAME: 'vault.internal',
    }).tls;
    const opts = buildTlsOptions(
      tls,
      undefined,
      files({ '/ca.pem': 'CA', '/c.pem': 'CERT', '/k.pem': 'KEY' }),
    );
    assert.deepEqual((opts.ca as Buffer[]).map(String), ['CA']);
    assert.equal(String(opts.cert), 'CERT');
    assert.equal(String(opts.key), 'KEY');
    assert.equal(opts.servername, 'vault.internal');
  });

  test('when VAULT_CAPATH is set then every PEM file in it is trusted', () => {
    const tls = readVaultSettings({ VAULT_CAPATH: '/cas' }).tls;
    const opts = buildTlsOptions(
      tls,
      undefined,
      files({ '/cas/a.pem': 'A', '/cas/b.crt': 'B', '/cas/x.txt': 'X' }),
    );
    assert.deepEqual((opts.ca as Buffer[]).map(String), ['A', 'B']);
  });

  test('when a TLS file is missing then it is a ConfigError naming the file, not its contents', () => {
    const tls = readVaultSettings({ VAULT_CACERT: '/missing.pem' }).tls;
    assert.throws(
      () => buildTlsOptions(tls, undefined, files({})),
      /cannot read VAULT_CACERT \/missing\.pem \(ENOENT\)/,
    );
  });

  test('when the client key is group-readable then a warning is logged', () => {
    const lines: string[] = [];
    const logger = { ...silentLogger, warn: (m: string) => lines.push(m) };
    const tls = readVaultSettings({ VAULT_CLIENT_CERT: '/c.pem', VAULT_CLIENT_KEY: '/k.pem' }).tls;
    buildTlsOptions(tls, logger, files({ '/c.pem': 'C', '/k.pem': 'K' }, { '/k.pem': 0o100640 }));
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /chmod 600/);
  });
});

describe('classifyVaultError', () => {
  const http = (status: number, errors: string[] = [], retryAfterMs?: number) =>
    new VaultHttpError(status, { errors, retryAfterMs });

  test('when the status is 412, 429 or 5xx other than 501 then it is retried', () => {
    for (const s of [412, 429, 500, 502, 503, 504])
      assert.equal(classifyVaultError(http(s)).retry, true, String(s));
  });

  test('when the status is another 4xx or 501 then it is not retried', () => {
    for (const s of [400, 401, 403, 404, 405, 501])
      assert.equal(classifyVaultError(http(s)).retry, false, String(s));
  });

  test('when a KV mount is upgrading (400) then it is retried', () => {
    const e = http(400, ['Upgrading from non-versioned to versioned data. This backend will be unavailable']);
    assert.equal(classifyVaultError(e).retry, true);
  });

  test('when Retry-After came with a 429 then its wait is used', () => {
    assert.deepEqual(classifyVaultError(http(429, [], 2000)), { retry: true, afterMs: 2000 });
  });

  test('when the transport failed then connections and timeouts retry, TLS, aborts and redirects do not', () => {
    assert.equal(classifyVaultError(new VaultTransportError('connection', 'ECONNRESET', 'x')).retry, true);
    assert.equal(classifyVaultError(new VaultTransportError('timeout', 'ETIMEDOUT', 'x')).retry, true);
    assert.equal(
      classifyVaultError(new VaultTransportError('tls', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'x')).retry,
      false,
    );
    assert.equal(classifyVaultError(new VaultTransportError('abort', 'ABORTED', 'x')).retry, false);
    assert.equal(classifyVaultError(new VaultTransportError('redirect', 'REDIRECT_HOST', 'x')).retry, false);
    assert.equal(classifyVaultError(new Error('other')).retry, false);
  });
});

describe('mapVaultError', () => {
  test('when Vault says 404 then it is vault.notFound naming the path', () => {
    const e = mapVaultError(new VaultHttpError(404), ctx);
    assert.ok(e instanceof NotFoundError);
    assert.equal(e.code, 'vault.notFound');
    assert.equal(e.message, 'secret not found at secret/app/db');
    assert.equal(e.details.status, 404);
  });

  test('when Vault says 403 then it is vault.permission with exit 77', () => {
    const e = mapVaultError(new VaultHttpError(403, { errors: ['permission denied'] }), ctx);
    assert.ok(e instanceof PermissionError);
    assert.equal(e.message, 'permission denied (403) at secret/app/db');
    assert.equal(e.exitCode, 77);
    const e2 = mapVaultError(new VaultHttpError(403, { errors: ['permission denied; invalid token'] }), ctx);
    assert.equal(e2.message, 'permission denied (403) at secret/app/db: invalid token');
  });

  test('when Vault is sealed then it is vault.sealed', () => {
    const e = mapVaultError(new VaultHttpError(503, { errors: ['Vault is sealed'] }), ctx);
    assert.ok(e instanceof UnavailableError);
    assert.equal(e.code, 'vault.sealed');
  });

  test('when Vault answers 400 then it is vault.badRequest carrying the text', () => {
    const e = mapVaultError(
      new VaultHttpError(400, { errors: ['invalid role name "x"'], requestId: 'r-1' }),
      ctx,
    );
    assert.equal(e.code, 'vault.badRequest');
    assert.equal(e.message, 'bad request (400): invalid role name "x"');
    assert.equal(e.details.requestId, 'r-1');
  });

  test('when the connection failed then the message names the cause and the address', () => {
    const refused = mapVaultError(new VaultTransportError('connection', 'ECONNREFUSED', 'x'), ctx);
    assert.equal(refused.code, 'vault.unavailable');
    assert.equal(refused.message, 'connection refused to https://vault.example:8200');
    const timeout = mapVaultError(new VaultTransportError('timeout', 'ETIMEDOUT', 'x'), ctx);
    assert.equal(timeout.code, 'vault.timeout');
    assert.match(timeout.message, /timed out after 60s/);
  });

  test('when the host is not found or reset the connection then the message reads as English', () => {
    const dns = mapVaultError(new VaultTransportError('connection', 'ENOTFOUND', 'x'), ctx);
    assert.equal(dns.message, 'cannot reach https://vault.example:8200: host not found');
    const reset = mapVaultError(new VaultTransportError('connection', 'ECONNRESET', 'x'), ctx);
    assert.equal(reset.message, 'connection reset by https://vault.example:8200');
  });

  test('when VAULT_ADDR is unset then connection, TLS and deadline failures say so and name the default tried', () => {
    const unset = { ...ctx, address: 'https://127.0.0.1:8200', addressFrom: 'default' as const };
    const tls = mapVaultError(
      new VaultTransportError('tls', 'ERR_SSL_WRONG_VERSION_NUMBER', 'x', 'wrong version number'),
      unset,
    );
    assert.equal(tls.code, 'vault.noAddress');
    assert.match(
      tls.message,
      /^VAULT_ADDR is not set; secrun tried the default address https:\/\/127\.0\.0\.1:8200: the TLS handshake failed/,
    );
    assert.doesNotMatch(tls.message, /wrong version number|VAULT_CACERT/);
    const refused = mapVaultError(new VaultTransportError('connection', 'ECONNREFUSED', 'x'), unset);
    assert.match(refused.message, /VAULT_ADDR is not set.*: connection refused\. Set VAULT_ADDR/);
    const gaveUp = mapVaultError(
      new VaultTransportError('abort', 'ABORTED', 'deadline exceeded (--timeout 60s)'),
      unset,
    );
    assert.equal(gaveUp.code, 'provider.deadline');
    assert.match(gaveUp.message, /VAULT_ADDR is not set.*gave up: deadline exceeded \(--timeout 60s\)/);
  });

  test('when TLS verification failed then it is vault.tls naming the code and VAULT_CACERT', () => {
    const e = mapVaultError(new VaultTransportError('tls', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'x'), ctx);
    assert.equal(e.code, 'vault.tls');
    assert.match(e.message, /DEPTH_ZERO_SELF_SIGNED_CERT.*VAULT_CACERT/);
  });

  test('when something unknown is thrown then only its name survives', () => {
    const leaky = Object.assign(new Error('token hvs.CANARY'), {
      config: { headers: { 'X-Vault-Token': 'hvs.CANARY' } },
    });
    const e = mapVaultError(leaky, ctx);
    assert.equal(e.code, 'vault.internal');
    assert.doesNotMatch(JSON.stringify(e) + e.message, /CANARY/);
    assert.equal((e as Error).cause, undefined);
  });

  test('when a SecrunError is mapped then it passes through', () => {
    const orig = new ConfigError('x');
    assert.equal(mapVaultError(orig, ctx), orig);
    assert.ok(mapVaultError(new VaultHttpError(500), ctx) instanceof SecrunError);
  });
});

/** A tiny HTTP server on 127.0.0.1 for transport behaviour the dev server does not model. */
async function tinyServer(
  handler: http.RequestListener,
  t: { after: (fn: () => unknown) => void },
): Promise<{ url: string; seen: http.IncomingHttpHeaders[] }> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function clientFor(url: string, over: Partial<Parameters<typeof readVaultSettings>[1]> = {}): VaultClient {
  const c = new VaultClient(readVaultSettings({ VAULT_ADDR: url }, { maxRetries: 0, ...over }), {
    logger: silentLogger,
    retry: { baseMs: 1, capMs: 5 },
  });
  c.setToken('hvs.CANARYTOKEN');
  return c;
}

describe('transport', () => {
  test('when a standby redirects to another host then it is refused and the token is not sent there', async (t) => {
    let hits = 0;
    const other = await tinyServer((_q, res) => {
      hits++;
      res.end('{}');
    }, t);
    const port = new URL(other.url).port;
    const { url } = await tinyServer((_q, res) => {
      res.writeHead(307, { location: `http://localhost:${port}/v1/secret/x` });
      res.end();
    }, t);
    const c = clientFor(url);
    t.after(() => c.close());
    await assert.rejects(c.request({ method: 'GET', path: 'secret/x' }), (e: unknown) => {
      const m = mapVaultError(e, c.errorContext('secret/x'));
      return m.code === 'vault.redirect' && /localhost/.test(m.message);
    });
    assert.equal(hits, 0);
  });

  test('when a redirect stays on the same origin then it is followed once with the token', async (t) => {
    const { url, seen } = await tinyServer((req, res) => {
      if (req.url === '/v1/secret/x') {
        res.writeHead(307, { location: '/v1/secret/moved' });
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data: { ok: true } }));
    }, t);
    const c = clientFor(url);
    t.after(() => c.close());
    const env = await c.request({ method: 'GET', path: 'secret/x' });
    assert.deepEqual(env?.data, { ok: true });
    assert.equal(seen[1]?.['x-vault-token'], 'hvs.CANARYTOKEN');
  });

  test('when a standby redirects to the same host on another port then the token is not sent there', async (t) => {
    const active = await tinyServer((_q, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data: { ok: true } }));
    }, t);
    const { url } = await tinyServer((req, res) => {
      res.writeHead(307, { location: `${active.url}${req.url}` });
      res.end();
    }, t);
    const c = clientFor(url);
    t.after(() => c.close());
    await assert.rejects(c.request({ method: 'GET', path: 'secret/x' }), (e: unknown) => {
      const m = mapVaultError(e, c.errorContext('secret/x'));
      return m.code === 'vault.redirect' && /token was not sent/.test(m.message);
    });
    assert.equal(active.seen.length, 0);
  });

  test('when the redirect goes to another scheme then it is refused', async (t) => {
    const { url } = await tinyServer((_q, res) => {
      res.writeHead(307, { location: 'https://127.0.0.1:1/v1/secret/x' });
      res.end();
    }, t);
    const c = clientFor(url);
    t.after(() => c.close());
    await assert.rejects(c.request({ method: 'GET', path: 'secret/x' }), /another scheme/);
  });

  test('when a redirect loops then only one hop is followed', async (t) => {
    let hits = 0;
    const { url } = await tinyServer((req, res) => {
      hits++;
      res.writeHead(307, { location: req.url ?? '/' });
      res.end();
    }, t);
    const c = clientFor(url);
    t.after(() => c.close());
    await assert.rejects(c.request({ method: 'GET', path: 'secret/x' }), /more than once/);
    assert.equal(hits, 2);
  });

  test('when the server is slower than VAULT_CLIENT_TIMEOUT then the request times out', async (t) => {
    const { url } = await tinyServer(() => {
      /* never answers */
    }, t);
    const c = clientFor(url, { timeoutMs: 100 });
    t.after(() => c.close());
    await assert.rejects(c.request({ method: 'GET', path: 'secret/x' }), (e: unknown) => {
      const m = mapVaultError(e, c.errorContext());
      return m.code === 'vault.timeout' && /0\.1s/.test(m.message);
    });
  });

  test('when the signal aborts mid-request then the request stops at once', async (t) => {
    const { url } = await tinyServer(() => {
      /* never answers */
    }, t);
    const c = clientFor(url, { timeoutMs: 60_000 });
    t.after(() => c.close());
    const ac = new AbortController();
    const p = c.request({ method: 'GET', path: 'secret/x', signal: ac.signal });
    setImmediate(() => ac.abort());
    const started = Date.now();
    await assert.rejects(p, (e: unknown) => mapVaultError(e, c.errorContext()).code === 'provider.deadline');
    assert.ok(Date.now() - started < 10_000);
  });

  test('when nobody listens then it is connection refused and retried VAULT_MAX_RETRIES times', async (t) => {
    const { url } = await tinyServer(() => undefined, t);
    const dead = url.replace(/:\d+$/, ':1');
    const retries: number[] = [];
    const logger = { ...silentLogger, level: 'debug' as const, debug: () => retries.push(1) };
    const c2 = new VaultClient(readVaultSettings({ VAULT_ADDR: dead }, { maxRetries: 2 }), {
      logger,
      retry: { baseMs: 1, capMs: 2 },
    });
    t.after(() => c2.close());
    await assert.rejects(c2.request({ method: 'GET', path: 'x' }), (e: unknown) => {
      const m = mapVaultError(e, c2.errorContext());
      return m.message === `connection refused to ${dead}`;
    });
    assert.equal(retries.length, 2);
  });

  test('when process.env holds VAULT_TOKEN, VAULT_NAMESPACE and VAULT_PREFIX then node-vault does not use them', async (t) => {
    const saved = { ...process.env };
    process.env.VAULT_TOKEN = 'hvs.FROM_PROCESS_ENV';
    process.env.VAULT_NAMESPACE = 'from-process-env';
    process.env.VAULT_PREFIX = '/prefix';
    t.after(() => {
      for (const k of ['VAULT_TOKEN', 'VAULT_NAMESPACE', 'VAULT_PREFIX']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    });
    const paths: string[] = [];
    const { url, seen } = await tinyServer((req, res) => {
      paths.push(req.url ?? '');
      res.end('{"data":{}}');
    }, t);
    const c = new VaultClient(readVaultSettings({ VAULT_ADDR: url }), { logger: silentLogger });
    t.after(() => c.close());
    await c.request({ method: 'GET', path: 'secret/x' });
    assert.equal(seen[0]?.['x-vault-token'], undefined);
    assert.equal(seen[0]?.['x-vault-namespace'], undefined);
    assert.equal(seen[0]?.['x-vault-request'], 'true');
    assert.deepEqual(paths, ['/v1/secret/x']);
  });

  test('when a path has odd characters then each segment is URL-encoded and dot segments are refused', async (t) => {
    const paths: string[] = [];
    const { url } = await tinyServer((req, res) => {
      paths.push(req.url ?? '');
      res.end('{"data":{}}');
    }, t);
    const c = clientFor(url);
    t.after(() => c.close());
    await c.request({ method: 'GET', path: 'secret/a b?c#d', query: { version: '2' } });
    assert.deepEqual(paths, ['/v1/secret/a%20b%3Fc%23d?version=2']);
    await assert.rejects(c.request({ method: 'GET', path: 'secret/../sys' }), /invalid Vault path/);
  });

  test('when a 200 body is not JSON then it is vault.badResponse', async (t) => {
    const { url } = await tinyServer((_q, res) => res.end('<html>proxy</html>'), t);
    const c = clientFor(url);
    t.after(() => c.close());
    await assert.rejects(
      c.request({ method: 'GET', path: 'x' }),
      (e: unknown) => mapVaultError(e, c.errorContext()).code === 'vault.badResponse',
    );
  });
});

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('TLS verification', { skip: !haveOpenssl() && 'openssl not installed' }, () => {
  test('when the server certificate is self-signed and VAULT_SKIP_VERIFY=false then it fails as vault.tls, not retried', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'secrun-tls-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    let hits = 0;
    const server = https.createServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (_q, res) => {
        hits++;
        res.end('{"data":{"ok":true}}');
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    });
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const saved = process.env.VAULT_SKIP_VERIFY;
    process.env.VAULT_SKIP_VERIFY = 'false'; // node-vault would read any non-empty value as "skip"
    t.after(() => {
      if (saved === undefined) delete process.env.VAULT_SKIP_VERIFY;
      else process.env.VAULT_SKIP_VERIFY = saved;
    });

    let retries = 0;
    const strict = new VaultClient(readVaultSettings({ VAULT_ADDR: url, VAULT_SKIP_VERIFY: 'false' }), {
      logger: { ...silentLogger, debug: () => retries++ },
      retry: { baseMs: 1, capMs: 2 },
    });
    t.after(() => strict.close());
    strict.setToken('hvs.CANARYTLSTOKEN');
    await assert.rejects(strict.request({ method: 'GET', path: 'x' }), (e: unknown) => {
      const m = mapVaultError(e, strict.errorContext());
      for (const x of [e, m]) {
        const text = `${inspect(x, { showHidden: true, depth: 20 })}${JSON.stringify(x)}`;
        assert.ok(!text.includes('CANARYTLSTOKEN'), text);
      }
      return m.code === 'vault.tls' && /DEPTH_ZERO_SELF_SIGNED_CERT/.test(m.message);
    });
    assert.equal(hits, 0);
    assert.equal(retries, 0);

    const caFile = join(dir, 'cert.pem');
    const trusting = new VaultClient(readVaultSettings({ VAULT_ADDR: url, VAULT_CACERT: caFile }), {
      logger: silentLogger,
    });
    t.after(() => trusting.close());
    assert.deepEqual((await trusting.request({ method: 'GET', path: 'x' }))?.data, { ok: true });

    const skipping = new VaultClient(readVaultSettings({ VAULT_ADDR: url, VAULT_SKIP_VERIFY: 'true' }), {
      logger: silentLogger,
    });
    t.after(() => skipping.close());
    assert.deepEqual((await skipping.request({ method: 'GET', path: 'x' }))?.data, { ok: true });
  });
});
