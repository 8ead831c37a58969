import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
} from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerDevServer } from '../../../src/dev/aws/server.ts';
import { startSecretsManagerServer } from '../../../src/dev/aws/server.ts';
import {
  canonicalRequest,
  formatAmzDate,
  sha256Hex,
  signingKey,
  stringToSign,
} from '../../../src/dev/aws/sigv4.ts';
import { clientFor, rejection, startServer } from './helpers.ts';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** A raw, correctly signed request (for checks the SDK hides, such as the error body). */
async function rawCall(server: SecretsManagerDevServer, target: string, input: unknown) {
  const body = JSON.stringify(input);
  const url = new URL(server.url);
  const amzDate = formatAmzDate(Date.now());
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    host: url.host,
    'x-amz-content-sha256': sha256Hex(body),
    'x-amz-date': amzDate,
    'x-amz-target': target,
  };
  const signed = Object.keys(headers).sort();
  const scope = `${date}/${server.region}/secretsmanager/aws4_request`;
  const canonical = canonicalRequest(
    { method: 'POST', path: '/', headers, body: Buffer.from(body) },
    signed,
    sha256Hex(body),
  );
  const signature = createHmac(
    'sha256',
    signingKey(server.credentials.secretAccessKey, date, server.region, 'secretsmanager'),
  )
    .update(stringToSign(amzDate, scope, canonical))
    .digest('hex');
  headers['authorization'] =
    `AWS4-HMAC-SHA256 Credential=${server.credentials.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
  const res = await fetch(`${server.url}/`, { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe('server setup', () => {
  test('when a non-loopback host is asked for then it throws', async () => {
    await assert.rejects(startSecretsManagerServer({ host: '0.0.0.0' }), {
      name: 'TypeError',
      message: /loopback/,
    });
  });

  test('when started with the fixture seed then url, region, account and first credential come from it', async (t) => {
    const server = await startServer(t);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.region, 'us-east-1');
    assert.equal(server.accountId, '123456789012');
    assert.deepEqual(server.credentials, {
      accessKeyId: 'AKIADEVSECRUN0000001',
      secretAccessKey: 'dev/secret/key/for/tests/only/0000000001',
    });
  });

  test('when started without a seed then generated credentials and a 12-digit account work', async (t) => {
    const server = await startSecretsManagerServer({ region: 'eu-central-1' });
    t.after(() => server.close());
    assert.equal(server.region, 'eu-central-1');
    assert.match(server.accountId, /^\d{12}$/);
    assert.match(server.credentials.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
    const client = clientFor(server);
    const created = await client.send(new CreateSecretCommand({ Name: 'fresh', SecretString: 'v' }));
    assert.match(
      created.ARN ?? '',
      new RegExp(`^arn:aws:secretsmanager:eu-central-1:${server.accountId}:secret:fresh-`),
    );
    assert.equal((await client.send(new GetSecretValueCommand({ SecretId: 'fresh' }))).SecretString, 'v');
  });
});

describe('SigV4 through the SDK', () => {
  test('when the secret key is wrong then InvalidSignatureException, 400', async (t) => {
    const server = await startServer(t);
    const err = await rejection(() =>
      clientFor(server, { credentials: { ...server.credentials, secretAccessKey: 'wrong' } }).send(
        new GetSecretValueCommand({ SecretId: 'prod/db' }),
      ),
    );
    assert.equal(err.name, 'InvalidSignatureException');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.match(
      err.message,
      /^The request signature we calculated does not match the signature you provided/,
    );
  });

  test('when the access key is unknown then UnrecognizedClientException', async (t) => {
    const server = await startServer(t);
    const err = await rejection(() =>
      clientFor(server, { credentials: { accessKeyId: 'AKIANOBODY', secretAccessKey: 'x' } }).send(
        new GetSecretValueCommand({ SecretId: 'prod/db' }),
      ),
    );
    assert.equal(err.name, 'UnrecognizedClientException');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal(err.message, 'The security token included in the request is invalid.');
  });

  test('when a seeded session credential is used then its token is required', async (t) => {
    const server = await startServer(t);
    const session = {
      accessKeyId: 'ASIADEVSECRUN0000002',
      secretAccessKey: 'dev/secret/key/for/tests/only/0000000002',
      sessionToken: 'dev-session-token-0002',
    };
    const ok = await clientFor(server, { credentials: session }).send(
      new GetSecretValueCommand({ SecretId: 'prod/db' }),
    );
    assert.equal(ok.Name, 'prod/db');
    for (const bad of [
      { ...session, sessionToken: 'stolen' },
      { ...session, sessionToken: undefined },
    ]) {
      const err = await rejection(() =>
        clientFor(server, { credentials: bad }).send(new GetSecretValueCommand({ SecretId: 'prod/db' })),
      );
      assert.equal(err.name, 'UnrecognizedClientException');
    }
  });

  test('when the client clock is 10 minutes behind then "Signature expired", and a retry corrects the skew', async (t) => {
    const server = await startServer(t);
    const behind = (maxAttempts: number) => {
      const client = clientFor(server, { maxAttempts });
      client.config.systemClockOffset = -10 * 60_000;
      return client;
    };
    const err = await rejection(() => behind(1).send(new GetSecretValueCommand({ SecretId: 'prod/db' })));
    assert.equal(err.name, 'InvalidSignatureException');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.match(
      err.message,
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
    );
    const out = await behind(2).send(new GetSecretValueCommand({ SecretId: 'prod/db' }));
    assert.equal(out.$metadata.attempts, 2);
  });

  test('when the client signs for another region then InvalidSignatureException', async (t) => {
    const server = await startServer(t);
    const err = await rejection(() =>
      clientFor(server, { region: 'eu-west-1' }).send(new GetSecretValueCommand({ SecretId: 'prod/db' })),
    );
    assert.equal(err.name, 'InvalidSignatureException');
  });
});

describe('protocol', () => {
  test('when a request is answered then x-amzn-RequestId and a current Date header are sent', async (t) => {
    const server = await startServer(t);
    const ok = await rawCall(server, 'secretsmanager.GetSecretValue', { SecretId: 'prod/api-token' });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(Math.abs(Date.parse(ok.headers.get('date') ?? '') - Date.now()) < 60_000);
    assert.equal(typeof ok.body['CreatedDate'], 'number');
  });

  test('when a service error is sent then the body is {__type, Message}', async (t) => {
    const server = await startServer(t);
    const res = await rawCall(server, 'secretsmanager.GetSecretValue', { SecretId: 'prod/none' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      __type: 'ResourceNotFoundException',
      Message: "Secrets Manager can't find the specified secret.",
    });
    assert.match(res.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/);
  });

  test('when a binary secret is read raw then SecretBinary is base64 on the wire', async (t) => {
    const server = await startServer(t);
    const res = await rawCall(server, 'secretsmanager.GetSecretValue', { SecretId: 'prod/cert' });
    assert.equal(res.body['SecretBinary'], 'AQIDBA==');
  });

  test('when the request is unsigned then MissingAuthenticationTokenException', async (t) => {
    const server = await startServer(t);
    const res = await fetch(`${server.url}/`, {
      method: 'POST',
      headers: {
        'x-amz-target': 'secretsmanager.GetSecretValue',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{"SecretId":"prod/db"}',
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { __type: string }).__type, 'MissingAuthenticationTokenException');
  });

  test('when the target is unknown then UnknownOperationException through the SDK', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-amz-target'] =
          'secretsmanager.FlyToMoon';
        return next(args);
      },
      { step: 'build' },
    );
    const err = await rejection(() => client.send(new GetSecretValueCommand({ SecretId: 'prod/db' })));
    assert.equal(err.name, 'UnknownOperationException');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.match(err.message, /FlyToMoon/);
  });
});

describe('request log and admin endpoint', () => {
  test('when requests are made then the log has operation and ids but never values, keys or bodies', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    await client.send(new GetSecretValueCommand({ SecretId: 'prod/api-token' }));
    await client.send(new BatchGetSecretValueCommand({ SecretIdList: ['prod/db', 'prod/cert'] }));
    await rejection(() => client.send(new GetSecretValueCommand({ SecretId: 'prod/none' })));
    assert.deepEqual(
      server.log.entries.map((e) => [e.method, e.path, e.operation, e.secretIds, e.status]),
      [
        ['POST', '/', 'GetSecretValue', ['prod/api-token'], 200],
        ['POST', '/', 'BatchGetSecretValue', ['prod/db', 'prod/cert'], 200],
        ['POST', '/', 'GetSecretValue', ['prod/none'], 400],
      ],
    );
    for (const e of server.log.entries) {
      assert.deepEqual(Object.keys(e).sort(), [
        'durationMs',
        'method',
        'operation',
        'path',
        'secretIds',
        'status',
        'time',
      ]);
      assert.ok(e.durationMs >= 0);
    }
    const text = JSON.stringify(server.log.entries);
    for (const secret of ['tok-123', 's3cr3t-pw', server.credentials.secretAccessKey, 'AWS4-HMAC']) {
      assert.equal(text.includes(secret), false, secret);
    }
    assert.equal(server.log.filter({ operation: 'GetSecretValue' }).length, 2);
  });

  test('when the admin endpoint is used then it lists, clears, sets faults and the deny list, unlogged', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    await client.send(new GetSecretValueCommand({ SecretId: 'prod/db' }));
    const listed = (await (await fetch(`${server.url}/__secrun/requests`)).json()) as { requests: unknown[] };
    assert.equal(listed.requests.length, 1);
    assert.equal((await fetch(`${server.url}/__secrun/requests`, { method: 'DELETE' })).status, 204);
    assert.equal(server.log.entries.length, 0);

    const post = (body: unknown) =>
      fetch(`${server.url}/__secrun/faults`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal(
      (await post({ deny: ['GetSecretValue'], failNext: { status: 503, retryAfter: 7 } })).status,
      200,
    );
    const failed = await rejection(() => client.send(new GetSecretValueCommand({ SecretId: 'prod/db' })));
    assert.equal(failed.$metadata.httpStatusCode, 503);
    assert.equal(failed.$response?.headers['retry-after'], '7');
    const denied = await rejection(() => client.send(new GetSecretValueCommand({ SecretId: 'prod/db' })));
    assert.equal(denied.name, 'AccessDeniedException');
    assert.match(denied.message, /secretsmanager:GetSecretValue on resource: prod\/db because/);

    assert.equal((await post({ clear: true, failNext: { status: 500, count: 5 } })).status, 200);
    assert.equal((await post({ clear: true })).status, 200);
    assert.equal((await client.send(new GetSecretValueCommand({ SecretId: 'prod/db' }))).Name, 'prod/db');
    assert.deepEqual(
      server.log.entries.map((e) => e.status),
      [503, 400, 200],
    );
    assert.equal((await post('not json')).status, 400);
    assert.equal((await fetch(`${server.url}/__secrun/faults`, { method: 'POST', body: '{' })).status, 400);
  });
});

describe('faults through the SDK', () => {
  // AWS Secrets Manager API reference, Common Errors: ThrottlingException "Rate exceeded", HTTP 400.
  test('when failNext 429 (throttling) is set then the SDK sees ThrottlingException "Rate exceeded" with HTTP 400 and the header', async (t) => {
    const server = await startServer(t);
    server.faults.set({ failNext: { status: 429, retryAfter: 1 } });
    const err = await rejection(() =>
      clientFor(server).send(new GetSecretValueCommand({ SecretId: 'prod/db' })),
    );
    assert.equal(err.name, 'ThrottlingException');
    assert.equal(err.message, 'Rate exceeded');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal(err.$response?.headers['retry-after'], '1');
    assert.match(err.$response?.headers['x-amzn-requestid'] ?? '', /^[0-9a-f-]{36}$/);
  });

  test('when one 500 is injected then a retrying client succeeds on attempt 2', async (t) => {
    const server = await startServer(t);
    server.faults.set({ failNext: { status: 500 } });
    const out = await clientFor(server, { maxAttempts: 2 }).send(
      new GetSecretValueCommand({ SecretId: 'prod/db' }),
    );
    assert.equal(out.$metadata.attempts, 2);
    assert.deepEqual(
      server.log.entries.map((e) => e.status),
      [500, 200],
    );
    server.faults.set({ failNext: { status: 500 } });
    const err = await rejection(() =>
      clientFor(server).send(new GetSecretValueCommand({ SecretId: 'prod/db' })),
    );
    assert.ok(err instanceof InternalServiceError);
    assert.equal(err.$fault, 'server');
  });

  test('when the connection is reset then the SDK fails, and the next call works', async (t) => {
    const server = await startServer(t);
    server.faults.set({ resetNext: 1 });
    const err = (await rejection(() =>
      clientFor(server).send(new GetSecretValueCommand({ SecretId: 'prod/db' })),
    )) as unknown as { code?: string };
    assert.equal(err.code, 'ECONNRESET');
    assert.equal(
      (await clientFor(server).send(new GetSecretValueCommand({ SecretId: 'prod/db' }))).Name,
      'prod/db',
    );
    assert.equal(server.log.entries[0]?.status, 0);
  });

  test('when latency is set then the call takes at least that long, and clear removes it', async (t) => {
    const server = await startServer(t);
    server.faults.set({ latencyMs: 300 });
    const client = clientFor(server);
    const started = performance.now();
    await client.send(new GetSecretValueCommand({ SecretId: 'prod/db' }));
    assert.ok(performance.now() - started >= 290);
    server.faults.clear();
    assert.equal(server.faults.latencyMs, 0);
  });
});

describe('AWS_ENDPOINT_URL_SECRETS_MANAGER', () => {
  test('when only env variables are set then a default-constructed client in a child process reaches the server', async (t) => {
    const server = await startServer(t);
    const script = [
      "import { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';",
      'const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: "prod/api-token" }));',
      'process.stdout.write(JSON.stringify({ name: out.Name, len: out.SecretString.length }));',
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: REPO,
      timeout: 60_000,
      env: {
        PATH: process.env['PATH'] ?? '',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: server.url,
        AWS_REGION: server.region,
        AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
        AWS_CONFIG_FILE: '/nonexistent/secrun-test-aws-config',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/secrun-test-aws-credentials',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    assert.deepEqual(JSON.parse(stdout), { name: 'prod/api-token', len: 7 });
    assert.deepEqual(
      server.log.entries.map((e) => [e.operation, e.status]),
      [['GetSecretValue', 200]],
    );
  });
});
