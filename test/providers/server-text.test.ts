import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { SecrunError } from '../../src/base/errors.ts';
import { createLogger } from '../../src/base/log.ts';
import { redactServerText } from '../../src/base/redact.ts';
import { createProviderRegistry } from '../../src/providers/registry.ts';

// Server error text is untrusted: a hostile or buggy server echoes the token and values back.
const TOKEN = 'hvs.CANARYTOKENabcdefghijklmnopqrstuvwxyz0123';
const VALUE = 'CANARY-VALUE-read-earlier-9f8e7d';
const UNKNOWN_TOKEN = 'hvs.UNKNOWNabcdefghijklmnopqrstuvwxyz98765';
const LEGACY_TOKEN = 's.AbCdEfGhIjKlMnOpQrStUvWx';
const SECRET_ID = '0b6c4a1e-7c2d-4f3e-9a8b-1c2d3e4f5a6b';
const REQUEST_ID = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const CANARIES = [TOKEN, VALUE, UNKNOWN_TOKEN, LEGACY_TOKEN, SECRET_ID];
const echo = `permission denied; token ${TOKEN} value ${VALUE} other ${UNKNOWN_TOKEN} legacy ${LEGACY_TOKEN} secret_id ${SECRET_ID}`;

let server: http.Server;
let base: string;

before(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.startsWith('/v1/sys/internal/ui/mounts')) return send(404, { errors: [] });
    if (url === '/v1/ok/doc') return send(200, { request_id: REQUEST_ID, data: { password: VALUE } });
    if (url === '/v1/denied/doc') {
      return send(403, { request_id: REQUEST_ID, errors: [`${echo} ${'x'.repeat(1000)}`] });
    }
    if (url === '/v1/missing/doc') {
      return send(404, { request_id: TOKEN, errors: [], warnings: [`no secret; ${echo}`] });
    }
    if (url === '/v1/broken/doc') return send(500, { request_id: VALUE, errors: [echo] });
    if (url.startsWith('/aws')) return undefined;
    return send(404, { errors: [] });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const req = (path: string) => ({ scheme: 'vault' as const, path, options: {}, key: `vault:${path}` });

function assertClean(err: unknown, what: string): void {
  assert.ok(err instanceof SecrunError, what);
  const shown = [err.message, JSON.stringify(err.toJSON()), inspect(err, { depth: 5 })].join('\n');
  for (const c of CANARIES) assert.ok(!shown.includes(c), `${what}: ${c} leaked in ${err.message}`);
}

describe('server error text is redacted', () => {
  test('when Vault echoes the token, a value read earlier, token- and secret-id-shaped text then only the useful part is printed', async () => {
    const logs: string[] = [];
    const registry = createProviderRegistry({
      env: { VAULT_ADDR: base, VAULT_TOKEN: TOKEN, VAULT_MAX_RETRIES: '0' },
      logger: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
      homeDir: '/nonexistent',
      vault: { maxRetries: 0 },
    });
    const vault = await registry.get('vault');
    const results = await vault.readAll(
      [req('ok/doc'), req('denied/doc'), req('missing/doc'), req('broken/doc')],
      AbortSignal.timeout(20_000),
    );
    await registry.closeAll();
    assert.equal(results.get('vault:ok/doc')?.ok, true);
    const denied = results.get('vault:denied/doc');
    assert.ok(denied && !denied.ok);
    assertClean(denied.error, '403');
    // The useful part stays: status, path, request id, Vault's own words.
    assert.equal(denied.error.details.status, 403);
    assert.equal(denied.error.details.requestId, REQUEST_ID);
    assert.match(denied.error.message, /permission denied \(403\) at denied\/doc/);
    assert.match(
      denied.error.message,
      /token <redacted> value <redacted> other <redacted> legacy <redacted> secret_id <redacted>/,
    );
    assert.ok(String(denied.error.details.vaultError).length <= 300);
    const missing = results.get('vault:missing/doc');
    assert.ok(missing && !missing.ok);
    assertClean(missing.error, '404 warnings');
    assert.equal(missing.error.details.requestId, undefined, 'a request id carrying the token is dropped');
    const broken = results.get('vault:broken/doc');
    assert.ok(broken && !broken.ok);
    assertClean(broken.error, '500');
    for (const line of logs) for (const c of CANARIES) assert.ok(!line.includes(c), line);
  });

  test('when the Secrets Manager path gets an error whose type, message and request id echo a value then none of it is printed', async () => {
    const aws = http.createServer((_req, res) => {
      res.writeHead(400, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': VALUE,
        'x-amzn-errortype': `${VALUE}:`,
      });
      res.end(JSON.stringify({ __type: VALUE, message: echo, Message: echo }));
    });
    await new Promise<void>((r) => aws.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(aws.address() as AddressInfo).port}`;
    try {
      const registry = createProviderRegistry({
        env: {
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'CANARY-aws-secret-key',
          AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
        },
        logger: createLogger({ level: 'silent', write: () => {} }),
        aws: { retry: { maxAttempts: 1 } },
      });
      const p = await registry.get('awssm');
      const results = await p.readAll(
        [
          {
            scheme: 'awssm',
            path: 'prod/x',
            options: { 'version-stage': 'AWSCURRENT' },
            key: 'awssm:prod/x',
          },
        ],
        AbortSignal.timeout(20_000),
      );
      await registry.closeAll();
      const r = results.get('awssm:prod/x');
      assert.ok(r && !r.ok);
      assertClean(r.error, 'awssm');
      assert.ok(!JSON.stringify(r.error.toJSON()).includes('CANARY'), r.error.message);
      assert.equal(r.error.details.status, 400);
    } finally {
      aws.closeAllConnections();
      await new Promise((r) => aws.close(r));
    }
  });

  test('when text is redacted then known values go first, longest first, shapes after, and the length is capped', () => {
    assert.equal(redactServerText('a abcd abcdef b', ['abcd', 'abcdef']), 'a <redacted> <redacted> b');
    assert.equal(redactServerText(`x ${SECRET_ID.toUpperCase()} y`), 'x <redacted> y');
    assert.equal(
      redactServerText('hvb.AAAAAAAAAAAAAAAAAAAAAAAA and r.BBBBBBBBBBBBBBBBBBBB'),
      '<redacted> and <redacted>',
    );
    assert.equal(redactServerText('permission denied'), 'permission denied');
    assert.equal(redactServerText('use kv.get on secret/data'), 'use kv.get on secret/data');
    assert.equal(redactServerText('y'.repeat(400)).length, 300);
    assert.equal(redactServerText('a\u001b[31mb\nc'), 'a [31mb c');
  });
});
