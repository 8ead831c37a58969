import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { ConfigError, type SecrunError, UnavailableError } from '../../../src/base/errors.ts';
import { createLogger } from '../../../src/base/log.ts';
import { type SecretsManagerDevServer, startSecretsManagerServer } from '../../../src/dev/aws/server.ts';
import { parseSeed } from '../../../src/dev/seed.ts';
import { classifyAwsError, tlsErrorCode } from '../../../src/providers/aws/errors.ts';
import { createSecretsManagerProvider } from '../../../src/providers/aws/provider.ts';
import { awsTlsOptions } from '../../../src/providers/aws/tls.ts';
import type { DocumentRequest, DocumentResult, Provider } from '../../../src/providers/provider.ts';
import { documentKeyOf } from '../../../src/refs/index.ts';
import { awsEnvFor } from '../../dev/aws/helpers.ts';
import { readInInsecureChild } from '../../helpers/insecure-child.ts';
import type { KeyPair, TestPki } from '../../helpers/tls.ts';
import {
  type ExtraCerts,
  haveOpenssl,
  type TempFiles,
  type TlsMaterial,
  tlsMaterial,
} from '../../helpers/tls-certs.ts';

const canary = `canary-${randomUUID()}`;
const seedText = `
aws:
  region: us-east-1
  account_id: "123456789012"
  credentials:
    - access_key_id: AKIATESTSECRUNTLS001
      secret_access_key: test/secret/key/for/tls/tests/000001
  secrets:
    prod/payments/stripe:
      api_key: ${canary}
    prod/db: ${canary}-db
`;

function req(path: string, options: Record<string, string> = {}): DocumentRequest {
  return { scheme: 'awssm', path, options, key: documentKeyOf('awssm', path, options) };
}

const STRIPE = req('prod/payments/stripe');
const DB = req('prod/db');

/** An HTTPS reverse proxy on 127.0.0.1 that counts TCP connections and proxied requests. */
interface TlsProxy {
  url: string;
  /** TCP connections accepted: one per attempt, whether or not the handshake succeeds. */
  connections: number;
  /** HTTP requests that crossed a completed handshake. */
  requests: number;
  reset(): void;
  close(): Promise<void>;
}

async function startProxy(pair: KeyPair, target: string): Promise<TlsProxy> {
  const upstream = new URL(target);
  const server = https.createServer({ cert: pair.cert, key: pair.key }, (inbound, outbound) => {
    proxy.requests++;
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: inbound.method,
        path: inbound.url,
        headers: inbound.headers,
      },
      (res) => {
        outbound.writeHead(res.statusCode ?? 502, res.headers);
        res.pipe(outbound);
      },
    );
    forward.on('error', () => {
      outbound.writeHead(502);
      outbound.end();
    });
    inbound.pipe(forward);
  });
  server.on('connection', () => {
    proxy.connections++;
  });
  server.on('tlsClientError', () => {
    // Expected: the client rejects the certificate.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: TlsProxy = {
    url: `https://127.0.0.1:${port}`,
    connections: 0,
    requests: 0,
    reset() {
      proxy.connections = 0;
      proxy.requests = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}

function failed(result: DocumentResult | undefined): SecrunError {
  assert.ok(result, 'no result for the document');
  if (result.ok) assert.fail('expected an error, got a document');
  return result.error;
}

function assertNoCanary(err: unknown): void {
  for (const text of [String(err), JSON.stringify(err), inspect(err, { showHidden: true, depth: 20 })]) {
    assert.ok(!text.includes(canary), `canary leaked: ${text.slice(0, 300)}`);
  }
}

const skip = !haveOpenssl() && 'openssl not installed';

describe('Secrets Manager over TLS through a reverse proxy', { skip }, () => {
  let pki: TestPki;
  let extra: ExtraCerts;
  let tmp: TempFiles;
  let server: SecretsManagerDevServer;
  const proxies: Record<string, TlsProxy> = {};
  let tls: TlsMaterial | undefined;
  let paths: Record<string, string> = {};
  const providers: Provider[] = [];
  let lines: string[] = [];

  before(async () => {
    tls = tlsMaterial('secrun-awssm-tls-');
    ({ pki, extra, tmp, paths } = tls);
    paths.notPem = tmp.write('not-pem.pem', 'this is not a certificate\n');
    server = await startSecretsManagerServer({ seed: parseSeed(seedText, 'tls-seed') });
    proxies.self = await startProxy(extra.selfSigned, server.url);
    proxies.good = await startProxy(pki.server, server.url);
    proxies.expired = await startProxy(extra.expiredServer, server.url);
    proxies.named = await startProxy(extra.namedServer, server.url);
  });

  after(async () => {
    await Promise.all(providers.map((p) => p.close?.()));
    await Promise.all(Object.values(proxies).map((p) => p.close()));
    await server?.close();
    tls?.cleanup();
  });

  beforeEach(() => {
    lines = [];
    server.log.clear();
    for (const p of Object.values(proxies)) p.reset();
  });

  function provider(proxy: TlsProxy, env: Record<string, string> = {}): Provider {
    const p = createSecretsManagerProvider({
      env: { ...awsEnvFor(server, proxy.url), ...env },
      logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
      retry: { maxAttempts: 3, baseMs: 1, capMs: 5 },
    });
    providers.push(p);
    return p;
  }

  function expectTls(err: SecrunError, code: RegExp): void {
    assert.ok(err instanceof UnavailableError, `${err.code}: ${err.message}`);
    assert.equal(err.code, 'awssm.tls', err.message);
    assert.match(err.message, code);
    assert.match(String(err.details.tlsCode), code);
    assertNoCanary(err);
  }

  test('when the endpoint has a self-signed certificate then a batch fails as awssm.tls after one attempt and no fallback', async () => {
    const out = await provider(proxies.self!).readAll([STRIPE, DB], AbortSignal.timeout(20_000));
    for (const r of [STRIPE, DB]) {
      const err = failed(out.get(r.key));
      expectTls(err, /DEPTH_ZERO_SELF_SIGNED_CERT/);
      assert.match(err.message, /AWS_CA_BUNDLE/);
      assert.match(err.message, /prod\/(payments\/stripe|db)/);
      assert.ok(err.message.includes(proxies.self!.url), 'the message names the endpoint');
    }
    assert.equal(proxies.self!.connections, 1, 'one attempt: no retry, no GetSecretValue fallback');
    assert.equal(proxies.self!.requests, 0, 'no request crossed the unverified connection');
    assert.equal(server.log.entries.length, 0);
    assert.equal(lines.filter((l) => /retrying|using GetSecretValue/.test(l)).length, 0, lines.join('\n'));
  });

  test('when a pinned version is read or probed against a self-signed endpoint then each fails as awssm.tls in one attempt', async () => {
    const pinned = req('prod/payments/stripe', { 'version-stage': 'AWSCURRENT' });
    const p = provider(proxies.self!);
    expectTls(failed((await p.readAll([pinned], AbortSignal.timeout(20_000))).get(pinned.key)), /DEPTH_ZERO/);
    assert.equal(proxies.self!.connections, 1);
    assert.ok(p.probe, 'the provider probes');
    await assert.rejects(p.probe(STRIPE, AbortSignal.timeout(20_000)), (e: SecrunError) => {
      expectTls(e, /DEPTH_ZERO_SELF_SIGNED_CERT/);
      return true;
    });
    assert.equal(proxies.self!.connections, 2);
    assert.equal(server.log.entries.length, 0);
  });

  test('when AWS_CA_BUNDLE names the CA that signed the endpoint certificate then the secrets are read', async () => {
    const out = await provider(proxies.good!, { AWS_CA_BUNDLE: paths.ca! }).readAll(
      [STRIPE, DB],
      AbortSignal.timeout(20_000),
    );
    const stripe = out.get(STRIPE.key);
    assert.ok(stripe?.ok, stripe && !stripe.ok ? stripe.error.message : 'no result');
    assert.deepEqual(stripe.doc.value, { api_key: canary });
    assert.equal(out.get(DB.key)?.ok, true);
    assert.equal(proxies.good!.requests, 1, 'one batch call through the proxy');
    assert.deepEqual(
      server.log.entries.map((e) => e.operation),
      ['BatchGetSecretValue'],
    );
  });

  test('when no CA bundle is set then the private CA is not trusted (awssm.tls with the AWS_CA_BUNDLE hint)', async () => {
    const err = failed(
      (await provider(proxies.good!).readAll([STRIPE], AbortSignal.timeout(20_000))).get(STRIPE.key),
    );
    expectTls(err, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
    assert.match(err.message, /AWS_CA_BUNDLE/);
    assert.equal(proxies.good!.requests, 0);
  });

  test('when AWS_CA_BUNDLE names another CA then it replaces the default roots and the endpoint is refused', async () => {
    const p = provider(proxies.good!, { AWS_CA_BUNDLE: paths.otherCa! });
    const err = failed((await p.readAll([STRIPE], AbortSignal.timeout(20_000))).get(STRIPE.key));
    expectTls(err, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
    assert.equal(proxies.good!.requests, 0);
  });

  test('when the endpoint certificate has expired or names another host then the TLS code and a matching hint are given', async () => {
    const expired = failed(
      (
        await provider(proxies.expired!, { AWS_CA_BUNDLE: paths.ca! }).readAll(
          [STRIPE],
          AbortSignal.timeout(20_000),
        )
      ).get(STRIPE.key),
    );
    expectTls(expired, /CERT_HAS_EXPIRED/);
    assert.match(expired.message, /validity|renew/);
    const named = failed(
      (
        await provider(proxies.named!, { AWS_CA_BUNDLE: paths.ca! }).readAll(
          [STRIPE],
          AbortSignal.timeout(20_000),
        )
      ).get(STRIPE.key),
    );
    expectTls(named, /ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.match(named.message, /does not name the endpoint host/);
    assert.equal(proxies.expired!.connections + proxies.named!.connections, 2, 'neither was retried');
  });

  test('when AWS_CA_BUNDLE is missing or not PEM then reads fail with awssm.caBundle before connecting', async () => {
    for (const bundle of [`${tmp.dir}/missing.pem`, paths.notPem!]) {
      const out = await provider(proxies.good!, { AWS_CA_BUNDLE: bundle }).readAll(
        [STRIPE, DB],
        AbortSignal.timeout(20_000),
      );
      for (const r of [STRIPE, DB]) {
        const err = failed(out.get(r.key));
        assert.ok(err instanceof ConfigError, `${err.code}: ${err.message}`);
        assert.equal(err.code, 'awssm.caBundle');
        assert.ok(err.message.includes(bundle), err.message);
      }
    }
    assert.equal(proxies.good!.connections, 0);
  });

  test('when NODE_TLS_REJECT_UNAUTHORIZED=0 is in the environment then Secrets Manager certificates are still verified', async () => {
    const report = await readInInsecureChild({
      url: proxies.self!.url,
      controlPath: '/control',
      module: 'providers/aws/provider.ts',
      factory: 'createSecretsManagerProvider',
      options: '{ env: process.env, retry: { maxAttempts: 3, baseMs: 1, capMs: 5 } }',
      scheme: 'awssm',
      path: 'prod/payments/stripe',
      env: awsEnvFor(server, proxies.self!.url),
    });
    assert.equal(
      typeof report.control,
      'number',
      `the variable is in effect for plain https there: ${String(report.control)}`,
    );
    assert.equal(report.ok, false);
    assert.equal(report.code, 'awssm.tls', report.message);
    assert.match(report.message, /DEPTH_ZERO_SELF_SIGNED_CERT/);
    assert.equal(
      report.lines.filter((l) => /NODE_TLS_REJECT_UNAUTHORIZED=0 is set; secrun ignores it/.test(l)).length,
      1,
      report.lines.join('\n'),
    );
    assert.equal(proxies.self!.requests, 1, 'only the control request crossed the proxy');
    assert.equal(proxies.self!.connections, 2, 'the control connection and one provider attempt');
    assert.equal(server.log.filter({ operation: 'BatchGetSecretValue' }).length, 0);
  });
});

describe('Secrets Manager TLS helpers', () => {
  test('when an error or its cause carries a TLS code then it is found and the error is not retried', () => {
    assert.equal(tlsErrorCode({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.equal(
      tlsErrorCode({ name: 'Error', cause: { cause: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' } } }),
      'ERR_TLS_CERT_ALTNAME_INVALID',
    );
    assert.equal(tlsErrorCode({ code: 'CERT_HAS_EXPIRED' }), 'CERT_HAS_EXPIRED');
    assert.equal(tlsErrorCode({ code: 'ECONNRESET' }), undefined);
    assert.equal(tlsErrorCode(new Error('plain')), undefined);
    assert.equal(
      classifyAwsError({ name: 'Error', code: 'SELF_SIGNED_CERT_IN_CHAIN', $metadata: {} }).retry,
      false,
    );
    assert.equal(
      classifyAwsError({ name: 'Error', cause: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } }).retry,
      false,
    );
    assert.equal(classifyAwsError({ name: 'Error', code: 'ECONNRESET' }).retry, true);
  });

  test('when the agent options are built then verification and TLS 1.2 are pinned, with the bundle as the only CA', () => {
    const plain = awsTlsOptions({ NODE_TLS_REJECT_UNAUTHORIZED: '0' });
    assert.equal(plain.rejectUnauthorized, true);
    assert.equal(plain.minVersion, 'TLSv1.2');
    assert.equal(plain.keepAlive, true);
    assert.equal(plain.ca, undefined);
    const pem = Buffer.from('not read');
    assert.throws(
      () => awsTlsOptions({ AWS_CA_BUNDLE: '/bundle.pem' }, () => pem),
      (e: unknown) => e instanceof ConfigError && e.code === 'awssm.caBundle',
    );
  });
});
