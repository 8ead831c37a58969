import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspect, promisify } from 'node:util';
import {
  NotFoundError,
  PermissionError,
  type SecrunError,
  UnavailableError,
} from '../../../src/base/errors.ts';
import { createLogger, silentLogger } from '../../../src/base/log.ts';
import { type SecretsManagerDevServer, startSecretsManagerServer } from '../../../src/dev/aws/server.ts';
import { parseSeed } from '../../../src/dev/seed.ts';
import { arnRegion, entryMatches } from '../../../src/providers/aws/documents.ts';
import { classifyAwsError } from '../../../src/providers/aws/errors.ts';
import {
  createSecretsManagerProvider,
  type SecretsManagerProviderOptions,
} from '../../../src/providers/aws/provider.ts';
import type {
  DocumentRequest,
  DocumentResult,
  Provider,
  SecretDocument,
} from '../../../src/providers/provider.ts';
import { documentKeyOf, pickField } from '../../../src/refs/index.ts';

const canary = `canary-${randomUUID()}`;
const ACCOUNT = '123456789012';
const bulk = Array.from(
  { length: 25 },
  (_, i) => `    bulk/s${String(i).padStart(2, '0')}: bulk-value-${i}`,
).join('\n');
const seedText = `
aws:
  region: us-east-1
  account_id: "${ACCOUNT}"
  credentials:
    - access_key_id: AKIATESTSECRUN000001
      secret_access_key: test/secret/key/for/provider/tests/01
  secrets:
    prod/db:
      engine: postgres
      username: app
      password: ${canary}
      port: 5432
    prod/api-token: ${canary}-token
    prod/not-json: "{not json"
    prod/cert-utf8:
      binary: ${Buffer.from('héllo wörld').toString('base64')}
    prod/cert-raw:
      binary: ${Buffer.from([0xff, 0xfe, 0x00, 0x80]).toString('base64')}
    prod/rotating:
      arn_suffix: Ab12Cd
      versions:
        - id: 11111111-1111-4111-8111-111111111111
          value: old-value
          stages: []
        - id: 22222222-2222-4222-8222-222222222222
          value: previous-value
          stages: [AWSPREVIOUS]
        - id: 33333333-3333-4333-8333-333333333333
          json: { user: app, password: current-pw }
          stages: [AWSCURRENT, blue]
    prod/retired:
      value: ${canary}-retired
      deleted: true
    prod/empty:
      description: created without a value
${bulk}
`;

const ROTATING_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:prod/rotating-Ab12Cd`;

function req(path: string, options: Record<string, string> = {}): DocumentRequest {
  return { scheme: 'awssm', path, options, key: documentKeyOf('awssm', path, options) };
}

function okDoc(result: DocumentResult | undefined): SecretDocument {
  assert.ok(result, 'no result for the document');
  if (!result.ok) assert.fail(`expected a document, got ${result.error.code}: ${result.error.message}`);
  return result.doc;
}

function failed(result: DocumentResult | undefined): SecrunError {
  assert.ok(result, 'no result for the document');
  if (result.ok) assert.fail('expected an error, got a document');
  return result.error;
}

/** Every rendering of an error a log line or report could use. */
function renderings(err: unknown): string[] {
  return [String(err), JSON.stringify(err), inspect(err, { showHidden: true, depth: 20 })];
}

function assertNoCanary(err: unknown): void {
  for (const text of renderings(err))
    assert.ok(!text.includes(canary), `canary leaked: ${text.slice(0, 300)}`);
}

const never = new AbortController().signal;

describe('Secrets Manager provider against the dev server', () => {
  let server: SecretsManagerDevServer;
  const providers: Provider[] = [];

  function provider(extra: Partial<SecretsManagerProviderOptions> = {}): Provider {
    const p = createSecretsManagerProvider({
      env: {
        AWS_REGION: server.region,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: server.url,
        AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      },
      logger: silentLogger,
      retry: { baseMs: 5, capMs: 20 },
      ...extra,
    });
    providers.push(p);
    return p;
  }

  before(async () => {
    server = await startSecretsManagerServer({ seed: parseSeed(seedText, 'provider-test-seed') });
  });
  beforeEach(() => {
    server.faults.clear();
    server.log.clear();
    server.deny('BatchGetSecretValue', false);
    server.deny('GetSecretValue', false);
  });
  after(async () => {
    for (const p of providers) await p.close();
    await server.close();
  });

  const ops = () => server.log.entries.map((e) => e.operation);

  test('when a JSON secret is read by name then its fields, version, stages and date come from one batch call', async () => {
    const r = req('prod/db');
    const results = await provider().readAll([r], never);
    const doc = okDoc(results.get(r.key));
    assert.deepEqual(doc.value, { engine: 'postgres', username: 'app', password: canary, port: 5432 });
    assert.equal(typeof doc.version, 'string');
    assert.deepEqual(doc.stages, ['AWSCURRENT']);
    assert.ok(doc.createdAt instanceof Date && !Number.isNaN(doc.createdAt.getTime()));
    assert.match(String(doc.info?.arn), /^arn:aws:secretsmanager:us-east-1:123456789012:secret:prod\/db-/);
    assert.deepEqual(ops(), ['BatchGetSecretValue']);
    assert.equal(pickField(doc.value, { kind: 'key', name: 'port' }, { raw: 'awssm:prod/db#port' }), '5432');
  });

  test('when a plain or non-JSON string secret is read then the value is the string as stored', async () => {
    const a = req('prod/api-token');
    const b = req('prod/not-json');
    const results = await provider().readAll([a, b], never);
    assert.equal(okDoc(results.get(a.key)).value, `${canary}-token`);
    assert.equal(okDoc(results.get(b.key)).value, '{not json');
  });

  test('when one secret is named by name, full ARN and partial ARN then each request gets it from one batch', async () => {
    const byName = req('prod/rotating');
    const byArn = req(ROTATING_ARN);
    const byPartial = req(ROTATING_ARN.slice(0, -'-Ab12Cd'.length));
    const results = await provider().readAll([byName, byArn, byPartial], never);
    for (const r of [byName, byArn, byPartial]) {
      const doc = okDoc(results.get(r.key));
      assert.deepEqual(doc.value, { user: 'app', password: 'current-pw' });
      assert.equal(doc.version, '33333333-3333-4333-8333-333333333333');
    }
    assert.deepEqual(ops(), ['BatchGetSecretValue']);
    assert.equal(server.log.entries[0]?.secretIds?.length, 3);
  });

  test('when a version stage or version id is given then GetSecretValue reads exactly that version', async () => {
    const prev = req('prod/rotating', { 'version-stage': 'AWSPREVIOUS' });
    const old = req(ROTATING_ARN, { 'version-id': '11111111-1111-4111-8111-111111111111' });
    const blue = req('prod/rotating', { 'version-stage': 'blue' });
    const results = await provider().readAll([prev, old, blue], never);
    assert.equal(okDoc(results.get(prev.key)).value, 'previous-value');
    assert.deepEqual(okDoc(results.get(prev.key)).stages, ['AWSPREVIOUS']);
    assert.equal(okDoc(results.get(old.key)).value, 'old-value');
    assert.deepEqual(okDoc(results.get(blue.key)).value, { user: 'app', password: 'current-pw' });
    assert.deepEqual(ops(), ['GetSecretValue', 'GetSecretValue', 'GetSecretValue']);
  });

  test('when a secret is binary then the value is its bytes, usable as UTF-8 only when valid', async () => {
    const utf8 = req('prod/cert-utf8');
    const raw = req('prod/cert-raw');
    const results = await provider().readAll([utf8, raw], never);
    const u = okDoc(results.get(utf8.key)).value;
    const r = okDoc(results.get(raw.key)).value;
    assert.ok(u instanceof Uint8Array && r instanceof Uint8Array);
    assert.equal(pickField(u, undefined, { raw: 'awssm:prod/cert-utf8' }), 'héllo wörld');
    assert.deepEqual([...r], [0xff, 0xfe, 0x00, 0x80]);
    assert.throws(
      () => pickField(r, undefined, { raw: 'awssm:prod/cert-raw' }),
      (e: unknown) => e instanceof NotFoundError && /encoding=base64/.test(e.message),
    );
    assert.equal(pickField(r, undefined, { raw: 'awssm:prod/cert-raw', encoding: 'base64' }), '//4AgA==');
  });

  test('when secrets are missing, deleted or empty then each gets its own typed error, in batch and singly', async () => {
    const missing = req('prod/nope');
    const deleted = req('prod/retired');
    const empty = req('prod/empty');
    const missingStage = req('prod/nope', { 'version-stage': 'AWSCURRENT' });
    const deletedStage = req('prod/retired', { 'version-stage': 'AWSCURRENT' });
    const badVersion = req('prod/rotating', { 'version-id': '99999999-9999-4999-8999-999999999999' });
    const ok = req('prod/api-token');
    const results = await provider().readAll(
      [missing, deleted, empty, missingStage, deletedStage, badVersion, ok],
      never,
    );
    okDoc(results.get(ok.key));
    for (const [r, code] of [
      [missing, 'awssm.notFound'],
      [missingStage, 'awssm.notFound'],
      [deleted, 'awssm.deleted'],
      [deletedStage, 'awssm.deleted'],
      [empty, 'awssm.notFound'],
      [badVersion, 'awssm.notFound'],
    ] as const) {
      const err = failed(results.get(r.key));
      assert.ok(err instanceof NotFoundError, `${r.key}: ${err.name}`);
      assert.equal(err.code, code, r.key);
      assert.equal(err.exitCode, 65);
      assertNoCanary(err);
    }
    const notFound = failed(results.get(missing.key));
    assert.equal(notFound.message, 'secret not found: prod/nope');
    assert.equal(typeof notFound.details.requestId, 'string');
    const single = failed(results.get(missingStage.key));
    assert.equal(single.details.status, 400);
    assert.equal(typeof single.details.requestId, 'string');
    assert.match(failed(results.get(badVersion.key)).message, /version-id 99999999/);
    assert.deepEqual(ops().sort(), [
      'BatchGetSecretValue',
      'GetSecretValue',
      'GetSecretValue',
      'GetSecretValue',
    ]);
  });

  test('when 25 secrets are read then two batch calls carry 20 and 5 ids', async () => {
    const reqs = Array.from({ length: 25 }, (_, i) => req(`bulk/s${String(i).padStart(2, '0')}`));
    const results = await provider().readAll(reqs, never);
    reqs.forEach((r, i) => {
      assert.equal(okDoc(results.get(r.key)).value, `bulk-value-${i}`);
    });
    assert.deepEqual(ops(), ['BatchGetSecretValue', 'BatchGetSecretValue']);
    assert.deepEqual(server.log.entries.map((e) => e.secretIds?.length).sort(), [20, 5].sort());
  });

  test('when BatchGetSecretValue is denied then GetSecretValue is used for each secret, and batch is not tried again', async () => {
    server.deny('BatchGetSecretValue');
    const p = provider();
    const a = req('prod/api-token');
    const b = req('prod/db');
    const first = await p.readAll([a, b], never);
    assert.equal(okDoc(first.get(a.key)).value, `${canary}-token`);
    assert.equal(okDoc(first.get(b.key)).value instanceof Object, true);
    assert.deepEqual(ops().sort(), ['BatchGetSecretValue', 'GetSecretValue', 'GetSecretValue']);
    assert.equal(server.log.filter({ operation: 'BatchGetSecretValue' })[0]?.status, 400);
    server.log.clear();
    const second = await p.readAll([a], never);
    okDoc(second.get(a.key));
    assert.deepEqual(ops(), ['GetSecretValue']);
  });

  test('when GetSecretValue is denied then each secret fails with access denied from the batch Errors', async () => {
    server.deny('GetSecretValue');
    const a = req('prod/api-token');
    const b = req('prod/db', { 'version-stage': 'AWSCURRENT' });
    const results = await provider().readAll([a, b], never);
    for (const r of [a, b]) {
      const err = failed(results.get(r.key));
      assert.ok(err instanceof PermissionError);
      assert.equal(err.code, 'awssm.accessDenied');
      assert.equal(err.exitCode, 77);
    }
    assert.equal(failed(results.get(b.key)).details.status, 400);
    assert.equal(server.log.entries.length, 2, 'access denied must not be retried');
  });

  test('when the server throttles, fails with 5xx or resets the connection then the call is retried', async () => {
    server.faults.set({ failNext: { status: 429, count: 2, retryAfter: 0 } });
    const p = provider();
    const a = req('prod/api-token');
    okDoc((await p.readAll([a], never)).get(a.key));
    assert.deepEqual(
      server.log.entries.map((e) => e.status),
      [400, 400, 200],
    );
    server.log.clear();
    server.faults.set({ failNext: { status: 503, count: 1 } });
    server.faults.set({ failNext: { status: 500, count: 1 } });
    okDoc((await p.readAll([a], never)).get(a.key));
    assert.deepEqual(
      server.log.entries.map((e) => e.status),
      [503, 500, 200],
    );
    server.log.clear();
    server.faults.set({ resetNext: 1 });
    okDoc((await p.readAll([a], never)).get(a.key));
    assert.deepEqual(
      server.log.entries.map((e) => e.status),
      [0, 200],
    );
  });

  test('when 5xx persists past the attempts then the secret fails as unavailable after exactly that many tries', async () => {
    server.faults.set({ failNext: { status: 500, count: 10 } });
    const a = req('prod/api-token');
    const results = await provider({ retry: { maxAttempts: 3, baseMs: 1, capMs: 5 } }).readAll([a], never);
    const err = failed(results.get(a.key));
    assert.ok(err instanceof UnavailableError);
    assert.equal(err.code, 'awssm.unavailable');
    assert.equal(err.details.status, 500);
    assert.equal(server.log.entries.length, 3);
  });

  test('when the server answers a 4xx client error then it is not retried', async () => {
    server.faults.set({ failNext: { status: 400, count: 5 } });
    const a = req('prod/api-token', { 'version-stage': 'AWSCURRENT' });
    const err = failed((await provider().readAll([a], never)).get(a.key));
    assert.equal(err.code, 'awssm.invalidRequest');
    assert.equal(server.log.entries.length, 1);
  });

  test('when the response carries no value then the document fails instead of being empty', async () => {
    server.faults.set({ failNext: { status: 200, body: '{}' } });
    const a = req('prod/api-token', { 'version-stage': 'AWSCURRENT' });
    const err = failed((await provider().readAll([a], never)).get(a.key));
    assert.equal(err.code, 'awssm.noValue');
  });

  test('when a response body is not JSON or a server error body holds a secret then the error does not carry it', async () => {
    server.faults.set({ failNext: { status: 200, body: `{"SecretString":"${canary}` } });
    const a = req('prod/api-token', { 'version-stage': 'AWSCURRENT' });
    const err = failed((await provider().readAll([a], never)).get(a.key));
    assert.equal(err.code, 'awssm.badResponse');
    assertNoCanary(err);
    server.faults.set({
      failNext: { status: 500, count: 9, body: `{"__type":"InternalServiceError","Message":"${canary}"}` },
    });
    const err2 = failed(
      (await provider({ retry: { maxAttempts: 2, baseMs: 1 } }).readAll([a], never)).get(a.key),
    );
    assert.equal(err2.code, 'awssm.unavailable');
    assertNoCanary(err2);
  });

  test('when the credentials are unknown then the secret fails with a permission error, not retried', async () => {
    const p = createSecretsManagerProvider({
      env: { AWS_REGION: server.region, AWS_ENDPOINT_URL_SECRETS_MANAGER: server.url },
      credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: `${canary}-key` },
      logger: silentLogger,
    });
    providers.push(p);
    const a = req('prod/api-token');
    const b = req('prod/db', { 'version-id': '33333333-3333-4333-8333-333333333333' });
    const results = await p.readAll([a, b], never);
    for (const r of [a, b]) {
      const err = failed(results.get(r.key));
      assert.ok(err instanceof PermissionError);
      assert.equal(err.code, 'awssm.authFailed');
      assertNoCanary(err);
    }
    assert.equal(server.log.entries.length, 2);
  });

  test('when an ARN names another region then its request is signed for that region', async () => {
    const foreign = req(`arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:prod/db`);
    const local = req('prod/db');
    const results = await provider().readAll([foreign, local], never);
    okDoc(results.get(local.key));
    // The dev server serves one region only, so a request signed for eu-west-1 is refused.
    assert.equal(failed(results.get(foreign.key)).code, 'awssm.authFailed');
    assert.deepEqual(ops(), ['BatchGetSecretValue', 'BatchGetSecretValue']);
  });

  test('when the boot deadline passes during a slow response then reads give up promptly with a deadline error', async () => {
    // The answer would take 60 s: a 30 s bound is 150x the 200 ms deadline.
    server.faults.set({ latencyMs: 60_000 });
    const a = req('prod/api-token');
    const b = req('prod/db', { 'version-stage': 'AWSCURRENT' });
    const started = Date.now();
    const results = await provider().readAll([a, b], AbortSignal.timeout(200));
    assert.ok(Date.now() - started < 30_000, 'the abort signal was not honoured');
    for (const r of [a, b]) {
      const err = failed(results.get(r.key));
      assert.ok(err instanceof UnavailableError);
      assert.equal(err.code, 'provider.deadline');
    }
  });

  test('when the per-request timeout passes then the attempt is retried and then reported unavailable', async () => {
    server.faults.set({ latencyMs: 1000 });
    const a = req('prod/api-token', { 'version-stage': 'AWSCURRENT' });
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(l) });
    const p = provider({ logger, requestTimeoutMs: 100, retry: { maxAttempts: 2, baseMs: 1, capMs: 2 } });
    const err = failed((await p.readAll([a], never)).get(a.key));
    assert.equal(err.code, 'awssm.unavailable');
    assert.equal(lines.filter((l) => l.includes('secrets manager: retrying')).length, 1);
  });

  test('when the server sends Retry-After then the retry waits that long and logs no value', async () => {
    server.faults.set({ failNext: { status: 503, retryAfter: 1 } });
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(l) });
    const a = req('prod/db');
    const doc = okDoc(
      (await provider({ logger, retry: { baseMs: 1, capMs: 5 } }).readAll([a], never)).get(a.key),
    );
    assert.equal((doc.value as Record<string, unknown>).password, canary);
    const retries = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'secrets manager: retrying');
    assert.equal(retries.length, 1);
    assert.equal(retries[0]?.waitMs, 1000);
    assert.equal(retries[0]?.status, 503);
    assert.ok(!lines.join('').includes(canary));
  });
});

describe('Secrets Manager provider helpers', () => {
  test('when a batch entry is matched then name, full ARN and partial ARN match and other ids do not', () => {
    const entry = { ARN: ROTATING_ARN, Name: 'prod/rotating' };
    assert.ok(entryMatches('prod/rotating', entry));
    assert.ok(entryMatches(ROTATING_ARN, entry));
    assert.ok(entryMatches(ROTATING_ARN.slice(0, -7), entry));
    assert.ok(!entryMatches('prod/rotatin', entry));
    assert.ok(!entryMatches(ROTATING_ARN.slice(0, -8), entry));
    assert.ok(!entryMatches('prod/rotating-Ab12Cd', entry));
  });

  test('when an id is an ARN then its region is used, and a name has none', () => {
    assert.equal(arnRegion(ROTATING_ARN), 'us-east-1');
    assert.equal(arnRegion('arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x'), 'cn-north-1');
    assert.equal(arnRegion('prod/db'), undefined);
  });

  test('when errors are classified then only transient ones are retried, honouring Retry-After', () => {
    const meta = (status: number) => ({ $metadata: { httpStatusCode: status } });
    assert.deepEqual(classifyAwsError({ name: 'ThrottlingException', ...meta(400) }), { retry: true });
    assert.deepEqual(
      classifyAwsError({ name: 'X', ...meta(429), $response: { headers: { 'retry-after': '2' } } }),
      { retry: true, afterMs: 2000 },
    );
    assert.equal(classifyAwsError({ name: 'InternalServiceError', ...meta(500) }).retry, true);
    assert.equal(classifyAwsError({ name: 'X', ...meta(502) }).retry, true);
    assert.equal(classifyAwsError({ name: 'X', ...meta(501) }).retry, false);
    assert.equal(classifyAwsError({ name: 'Error', code: 'ECONNRESET' }).retry, true);
    assert.equal(classifyAwsError({ name: 'TimeoutError' }).retry, true);
    for (const name of [
      'AccessDeniedException',
      'ResourceNotFoundException',
      'InvalidRequestException',
      'InvalidParameterException',
      'DecryptionFailure',
      'InvalidSignatureException',
      'UnrecognizedClientException',
      'AbortError',
      'CredentialsProviderError',
    ]) {
      assert.equal(classifyAwsError({ name, ...meta(400) }).retry, false, name);
    }
    assert.equal(
      classifyAwsError({
        name: 'InvalidSignatureException',
        $metadata: { httpStatusCode: 400, clockSkewCorrected: true },
      }).retry,
      true,
    );
  });
});

describe('Secrets Manager provider without region or credentials', () => {
  test('when no region or no credentials can be found then the errors say so with a hint', async () => {
    const providerUrl = new URL('../../../src/providers/aws/provider.ts', import.meta.url).href;
    const logUrl = new URL('../../../src/base/log.ts', import.meta.url).href;
    const script = `
      const { createSecretsManagerProvider } = await import(${JSON.stringify(providerUrl)});
      const { silentLogger } = await import(${JSON.stringify(logUrl)});
      const out = {};
      const req = { scheme: 'awssm', path: 'prod/db', options: {}, key: 'k' };
      for (const [name, env] of [['noRegion', {}], ['noCredentials', { AWS_REGION: 'us-east-1' }]]) {
        const p = createSecretsManagerProvider({ env, endpoint: 'http://127.0.0.1:9', logger: silentLogger });
        const r = (await p.readAll([req], AbortSignal.timeout(20000))).get('k');
        out[name] = r.ok ? 'ok' : { code: r.error.code, exitCode: r.error.exitCode, message: r.error.message };
        await p.close();
      }
      process.stdout.write(JSON.stringify(out));
    `;
    // A controlled environment: no AWS variables, no shared config files, no instance metadata.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: '/nonexistent-home',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env,
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      timeout: 60_000,
    });
    const out = JSON.parse(stdout) as Record<string, { code: string; exitCode: number; message: string }>;
    assert.equal(out.noRegion?.code, 'awssm.noRegion');
    assert.equal(out.noRegion?.exitCode, 78);
    assert.match(out.noRegion?.message ?? '', /AWS_REGION/);
    assert.equal(out.noCredentials?.code, 'awssm.noCredentials');
    assert.equal(out.noCredentials?.exitCode, 77);
    assert.match(out.noCredentials?.message ?? '', /AWS_ACCESS_KEY_ID/);
  });
});
