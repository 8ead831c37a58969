import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  DeleteSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { SecrunError } from '../../../src/base/errors.ts';
import { createLogger } from '../../../src/base/log.ts';
import { type SecretsManagerDevServer, startSecretsManagerServer } from '../../../src/dev/aws/server.ts';
import { parseSeed } from '../../../src/dev/seed.ts';
import { describeToken } from '../../../src/providers/aws/documents.ts';
import { createSecretsManagerProvider } from '../../../src/providers/aws/provider.ts';
import {
  DELETED_TOKEN,
  documentToken,
  NO_STAGE_TOKEN,
  PINNED_TOKEN,
} from '../../../src/providers/fingerprint.ts';
import type { DocumentRequest, Provider } from '../../../src/providers/provider.ts';
import { documentKeyOf } from '../../../src/refs/index.ts';
import { awsEnvFor, clientFor, V1, V2, V3 } from '../../dev/aws/helpers.ts';

const CANARY = 'CANARY-sm-probe-value-0001';

const seedText = `
aws:
  region: us-east-1
  account_id: "123456789012"
  credentials:
    - access_key_id: AKIATESTSECRUNPROBE1
      secret_access_key: test/secret/key/for/probe/tests/0001
  secrets:
    prod/db: { password: ${CANARY} }
    prod/rotating:
      versions:
        - { id: ${V1}, value: old-${CANARY}, stages: [] }
        - { id: ${V2}, value: previous-${CANARY}, stages: [AWSPREVIOUS] }
        - { id: ${V3}, value: current-${CANARY}, stages: [AWSCURRENT, blue] }
    prod/staged:
      versions:
        - { id: ${V1}, value: a-${CANARY}, stages: [AWSPREVIOUS] }
        - { id: ${V2}, value: b-${CANARY}, stages: [AWSCURRENT] }
    prod/to-delete: ${CANARY}
    prod/to-erase: ${CANARY}
    prod/retired: { value: ${CANARY}, deleted: true }
`;

const lines: string[] = [];
const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) });
let server: SecretsManagerDevServer;
let admin: SecretsManagerClient;
let provider: Provider;

function req(path: string, options: Record<string, string> = {}): DocumentRequest {
  return { scheme: 'awssm', path, options, key: documentKeyOf('awssm', path, options) };
}

function newProvider(): Provider {
  return createSecretsManagerProvider({
    env: awsEnvFor(server),
    logger,
    retry: { maxAttempts: 2, baseMs: 1, capMs: 5 },
  });
}

async function probe(r: DocumentRequest, p: Provider = provider): Promise<string | undefined> {
  assert.ok(p.probe, 'the provider has no probe');
  return p.probe(r, AbortSignal.timeout(10_000));
}

const operations = () => server.log.entries.map((e) => e.operation);

before(async () => {
  server = await startSecretsManagerServer({ seed: parseSeed(seedText, 'sm-probe-seed') });
  admin = clientFor(server);
  provider = newProvider();
});
beforeEach(() => {
  server.faults.clear();
  server.log.clear();
  server.deny('DescribeSecret', false);
});
after(async () => {
  await provider.close();
  admin.destroy();
  await server.close();
  assert.ok(!lines.join('').includes(CANARY), 'a secret value reached the log');
});

describe('Secrets Manager probe against the dev server', () => {
  test('when a new value is put then the AWSCURRENT token changes, through DescribeSecret only', async () => {
    const r = req('prod/db');
    const first = await probe(r);
    assert.ok(first && first.length >= 32, `expected a VersionId, got ${first}`);
    assert.equal(await probe(r), first);
    const put = await admin.send(new PutSecretValueCommand({ SecretId: 'prod/db', SecretString: 'new' }));
    const second = await probe(r);
    assert.equal(second, put.VersionId);
    assert.notEqual(second, first);
    assert.deepEqual(
      operations().filter((op) => op !== 'PutSecretValue'),
      ['DescribeSecret', 'DescribeSecret', 'DescribeSecret'],
    );
  });

  test('when AWSCURRENT is moved with UpdateSecretVersionStage then stage references follow their stage', async () => {
    const current = req('prod/staged');
    const previous = req('prod/staged', { 'version-stage': 'AWSPREVIOUS' });
    assert.equal(await probe(current), V2);
    assert.equal(await probe(previous), V1);
    await admin.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'prod/staged',
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: V1,
        RemoveFromVersionId: V2,
      }),
    );
    assert.equal(await probe(current), V1);
    assert.equal(await probe(previous), V2, 'AWSPREVIOUS moved to the old current version');
    assert.equal(
      operations().filter((op) => op === 'GetSecretValue' || op === 'BatchGetSecretValue').length,
      0,
    );
  });

  test('when a custom stage is probed then its version is the token, and a missing stage says so', async () => {
    assert.equal(await probe(req('prod/rotating', { 'version-stage': 'blue' })), V3);
    assert.equal(await probe(req('prod/rotating', { 'version-stage': 'green' })), NO_STAGE_TOKEN);
  });

  test('when a version-id is pinned then the token is constant and nothing is requested', async () => {
    assert.equal(await probe(req('prod/rotating', { 'version-id': V2 })), PINNED_TOKEN);
    assert.equal(server.log.entries.length, 0);
  });

  test('when a secret is scheduled for deletion or erased then the token is deleted', async () => {
    assert.equal(await probe(req('prod/retired')), DELETED_TOKEN);
    const doomed = req('prod/to-delete');
    assert.notEqual(await probe(doomed), DELETED_TOKEN);
    await admin.send(new DeleteSecretCommand({ SecretId: 'prod/to-delete', RecoveryWindowInDays: 7 }));
    assert.equal(await probe(doomed), DELETED_TOKEN);
    const erased = req('prod/to-erase');
    assert.notEqual(await probe(erased), DELETED_TOKEN);
    await admin.send(
      new DeleteSecretCommand({ SecretId: 'prod/to-erase', ForceDeleteWithoutRecovery: true }),
    );
    assert.equal(await probe(erased), DELETED_TOKEN);
  });

  test('when the boot read and the probe see the same version then their tokens are equal', async () => {
    const p = newProvider();
    try {
      const reqs = [req('prod/rotating'), req('prod/rotating', { 'version-stage': 'AWSPREVIOUS' })];
      const results = await p.readAll(reqs, AbortSignal.timeout(10_000));
      for (const r of reqs) {
        const read = results.get(r.key);
        assert.ok(read?.ok, `boot read of ${r.key} failed`);
        assert.equal(await probe(r, p), documentToken(r, read.doc), r.key);
      }
    } finally {
      await p.close();
    }
  });

  test('when DescribeSecret is denied then the probe answers undefined once and stops asking', async () => {
    const p = newProvider();
    try {
      const before = lines.length;
      server.deny('DescribeSecret');
      assert.equal(await probe(req('prod/rotating'), p), undefined);
      assert.equal(await probe(req('prod/rotating'), p), undefined);
      assert.deepEqual(operations(), ['DescribeSecret']);
      const logged = lines.slice(before).filter((l) => l.includes('DescribeSecret is not permitted'));
      assert.equal(logged.length, 1);
    } finally {
      await p.close();
    }
  });

  test('when the server keeps answering 503 then the probe retries and rejects with a typed error', async () => {
    server.faults.set({ failNext: { status: 503, count: 2 } });
    const err = await probe(req('prod/rotating')).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SecrunError);
    assert.equal(err.code, 'awssm.unavailable');
    assert.deepEqual(operations(), ['DescribeSecret', 'DescribeSecret']);
    assert.equal(await probe(req('prod/rotating')), V3, 'the next probe works again');
  });
});

describe('describeToken', () => {
  test('when the stage sits on a version then that VersionId is the token', () => {
    const out = { VersionIdsToStages: { a: ['AWSPREVIOUS'], b: ['AWSCURRENT', 'x'] } };
    assert.equal(describeToken(out, 'AWSCURRENT'), 'b');
    assert.equal(describeToken(out, 'x'), 'b');
    assert.equal(describeToken(out, 'AWSPREVIOUS'), 'a');
    assert.equal(describeToken(out, 'AWSPENDING'), NO_STAGE_TOKEN);
    assert.equal(describeToken({}, 'AWSCURRENT'), NO_STAGE_TOKEN);
    assert.equal(describeToken({ ...out, DeletedDate: new Date() }, 'AWSCURRENT'), DELETED_TOKEN);
  });
});
