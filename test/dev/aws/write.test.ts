import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  RestoreSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { clientFor, rejection, startServer, V2, V3 } from './helpers.ts';

const TOKEN_A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const TOKEN_B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const DAY = 86_400_000;

describe('CreateSecret', () => {
  test('when created with a token then the token is the VersionId and the value is AWSCURRENT', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const out = await client.send(
      new CreateSecretCommand({
        Name: 'app/new',
        SecretString: 'hello',
        ClientRequestToken: TOKEN_A,
        Description: 'made in a test',
        Tags: [{ Key: 'k', Value: 'v' }],
      }),
    );
    assert.equal(out.VersionId, TOKEN_A);
    assert.match(
      out.ARN ?? '',
      /^arn:aws:secretsmanager:us-east-1:123456789012:secret:app\/new-[A-Za-z0-9]{6}$/,
    );
    const got = await client.send(new GetSecretValueCommand({ SecretId: 'app/new' }));
    assert.equal(got.SecretString, 'hello');
    assert.deepEqual(got.VersionStages, ['AWSCURRENT']);
    const desc = await client.send(new DescribeSecretCommand({ SecretId: out.ARN }));
    assert.equal(desc.Description, 'made in a test');
    assert.deepEqual(desc.Tags, [{ Key: 'k', Value: 'v' }]);
  });

  test('when no token is given then the SDK fills one and a binary value round-trips', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const out = await client.send(
      new CreateSecretCommand({ Name: 'app/bin', SecretBinary: new Uint8Array([0, 255, 10]) }),
    );
    assert.match(out.VersionId ?? '', /^[0-9a-f-]{36}$/);
    const got = await client.send(new GetSecretValueCommand({ SecretId: 'app/bin' }));
    assert.deepEqual([...(got.SecretBinary ?? [])], [0, 255, 10]);
  });

  test('when the same request is retried with its token then it is idempotent; otherwise ResourceExists', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const input = { Name: 'app/idem', SecretString: 'x', ClientRequestToken: TOKEN_A };
    const first = await client.send(new CreateSecretCommand(input));
    const again = await client.send(new CreateSecretCommand(input));
    assert.equal(again.ARN, first.ARN);
    assert.equal(again.VersionId, TOKEN_A);
    const err = await rejection(() =>
      client.send(new CreateSecretCommand({ ...input, ClientRequestToken: TOKEN_B })),
    );
    assert.ok(err instanceof ResourceExistsException);
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal(err.message, 'The operation failed because the secret app/idem already exists.');
  });

  test('when the name is scheduled for deletion then InvalidRequestException', async (t) => {
    const server = await startServer(t);
    const err = await rejection(() =>
      clientFor(server).send(new CreateSecretCommand({ Name: 'prod/retired', SecretString: 'x' })),
    );
    assert.equal(err.name, 'InvalidRequestException');
    assert.equal(
      err.message,
      "You can't create this secret because a secret with this name is already scheduled for deletion.",
    );
  });

  test('when created without a value then it has no version and GetSecretValue fails', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const out = await client.send(new CreateSecretCommand({ Name: 'app/none' }));
    assert.equal(out.VersionId, undefined);
    const err = await rejection(() => client.send(new GetSecretValueCommand({ SecretId: 'app/none' })));
    assert.equal(err.name, 'ResourceNotFoundException');
    assert.match(err.message, /staging label: AWSCURRENT$/);
  });

  test('when both value kinds or a bad name are given then the request is rejected', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const both = await rejection(() =>
      client.send(
        new CreateSecretCommand({ Name: 'x', SecretString: 'a', SecretBinary: new Uint8Array([1]) }),
      ),
    );
    assert.equal(both.name, 'InvalidParameterException');
    const bad = await rejection(() =>
      client.send(new CreateSecretCommand({ Name: 'white space', SecretString: 'a' })),
    );
    assert.equal(bad.name, 'ValidationException');
    assert.match(bad.message, /^Invalid name/);
  });
});

describe('PutSecretValue', () => {
  test('when a value is put then it becomes AWSCURRENT and the old current becomes AWSPREVIOUS', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const before = await client.send(new GetSecretValueCommand({ SecretId: 'prod/api-token' }));
    const put = await client.send(
      new PutSecretValueCommand({
        SecretId: 'prod/api-token',
        SecretString: 'tok-456',
        ClientRequestToken: TOKEN_A,
      }),
    );
    assert.equal(put.VersionId, TOKEN_A);
    assert.deepEqual(put.VersionStages, ['AWSCURRENT']);
    assert.equal(
      (await client.send(new GetSecretValueCommand({ SecretId: 'prod/api-token' }))).SecretString,
      'tok-456',
    );
    const prev = await client.send(
      new GetSecretValueCommand({ SecretId: 'prod/api-token', VersionStage: 'AWSPREVIOUS' }),
    );
    assert.equal(prev.VersionId, before.VersionId);
    assert.equal(prev.SecretString, 'tok-123');
    await client.send(new PutSecretValueCommand({ SecretId: 'prod/api-token', SecretString: 'tok-789' }));
    const desc = await client.send(new DescribeSecretCommand({ SecretId: 'prod/api-token' }));
    assert.deepEqual(Object.values(desc.VersionIdsToStages ?? {}).sort(), [['AWSCURRENT'], ['AWSPREVIOUS']]);
    assert.equal(before.VersionId && before.VersionId in (desc.VersionIdsToStages ?? {}), false);
  });

  test('when VersionStages is given then only those labels move', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const put = await client.send(
      new PutSecretValueCommand({
        SecretId: 'prod/rotating',
        SecretString: 'pending',
        VersionStages: ['AWSPENDING', 'blue'],
      }),
    );
    assert.deepEqual(put.VersionStages, ['AWSPENDING', 'blue']);
    const cur = await client.send(new GetSecretValueCommand({ SecretId: 'prod/rotating' }));
    assert.equal(cur.VersionId, V3);
    assert.deepEqual(cur.VersionStages, ['AWSCURRENT']);
    const pending = await client.send(
      new GetSecretValueCommand({ SecretId: 'prod/rotating', VersionStage: 'AWSPENDING' }),
    );
    assert.equal(pending.SecretString, 'pending');
  });

  test('when the same token is reused then same data is a no-op and other data is ResourceExists', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const input = { SecretId: 'prod/db', SecretString: 'new', ClientRequestToken: TOKEN_A };
    await client.send(new PutSecretValueCommand(input));
    const again = await client.send(new PutSecretValueCommand(input));
    assert.deepEqual(again.VersionStages, ['AWSCURRENT']);
    const prev = await client.send(
      new GetSecretValueCommand({ SecretId: 'prod/db', VersionStage: 'AWSPREVIOUS' }),
    );
    assert.match(prev.SecretString ?? '', /postgres/);
    const err = await rejection(() =>
      client.send(new PutSecretValueCommand({ ...input, SecretString: 'other' })),
    );
    assert.equal(err.name, 'ResourceExistsException');
  });

  test('when the secret has no version yet then the first put is AWSCURRENT even with other stages', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const put = await client.send(
      new PutSecretValueCommand({ SecretId: 'prod/empty', SecretString: 'first', VersionStages: ['green'] }),
    );
    assert.deepEqual(put.VersionStages, ['green', 'AWSCURRENT']);
    assert.equal(
      (await client.send(new GetSecretValueCommand({ SecretId: 'prod/empty' }))).SecretString,
      'first',
    );
  });

  test('when the secret is missing or deleted then the matching errors come back', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const missing = await rejection(() =>
      client.send(new PutSecretValueCommand({ SecretId: 'nope', SecretString: 'x' })),
    );
    assert.equal(missing.name, 'ResourceNotFoundException');
    const deleted = await rejection(() =>
      client.send(new PutSecretValueCommand({ SecretId: 'prod/retired', SecretString: 'x' })),
    );
    assert.equal(deleted.name, 'InvalidRequestException');
    assert.match(deleted.message, /marked for deletion/);
  });
});

describe('UpdateSecretVersionStage', () => {
  test('when AWSCURRENT moves with RemoveFromVersionId then AWSPREVIOUS follows the old version', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const pending = await client.send(
      new PutSecretValueCommand({
        SecretId: 'prod/rotating',
        SecretString: 'rotated',
        VersionStages: ['AWSPENDING'],
      }),
    );
    const out = await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'prod/rotating',
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: pending.VersionId,
        RemoveFromVersionId: V3,
      }),
    );
    assert.equal(out.Name, 'prod/rotating');
    assert.match(out.ARN ?? '', /prod\/rotating-Ab12Cd$/);
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'prod/rotating',
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: pending.VersionId,
      }),
    );
    const desc = await client.send(new DescribeSecretCommand({ SecretId: 'prod/rotating' }));
    assert.deepEqual(desc.VersionIdsToStages, {
      [V3]: ['blue', 'AWSPREVIOUS'],
      [pending.VersionId!]: ['AWSCURRENT'],
    });
    assert.equal(V2 in (desc.VersionIdsToStages ?? {}), false);
    assert.equal(
      (await client.send(new GetSecretValueCommand({ SecretId: 'prod/rotating' }))).SecretString,
      'rotated',
    );
  });

  test('when the label is elsewhere and RemoveFromVersionId is missing or wrong then InvalidParameterException', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const missing = await rejection(() =>
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'prod/rotating',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: V2,
        }),
      ),
    );
    assert.equal(missing.name, 'InvalidParameterException');
    assert.equal(missing.$metadata.httpStatusCode, 400);
    assert.equal(
      missing.message,
      `The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version ${V3}, so you must explicitly reference that version in RemoveFromVersionId.`,
    );
    const wrong = await rejection(() =>
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'prod/rotating',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: V2,
          RemoveFromVersionId: V2,
        }),
      ),
    );
    assert.equal(wrong.name, 'InvalidParameterException');
  });

  test('when a version is unknown, the label absent, or AWSCURRENT removed alone then InvalidParameterException', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const unknown = 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee';
    const cases = [
      { VersionStage: 'x', MoveToVersionId: unknown },
      { VersionStage: 'x', RemoveFromVersionId: V2 },
      { VersionStage: 'AWSCURRENT', RemoveFromVersionId: V3 },
      { VersionStage: 'x' },
    ];
    for (const c of cases) {
      const err = await rejection(() =>
        client.send(new UpdateSecretVersionStageCommand({ SecretId: 'prod/rotating', ...c })),
      );
      assert.equal(err.name, 'InvalidParameterException', JSON.stringify(c));
    }
    const desc = await client.send(new DescribeSecretCommand({ SecretId: 'prod/rotating' }));
    assert.deepEqual(desc.VersionIdsToStages?.[V3], ['AWSCURRENT', 'blue']);
  });

  test('when a custom label moves to a version that has none then it is attached there', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'prod/rotating',
        VersionStage: 'blue',
        MoveToVersionId: V2,
        RemoveFromVersionId: V3,
      }),
    );
    const got = await client.send(
      new GetSecretValueCommand({ SecretId: 'prod/rotating', VersionStage: 'blue' }),
    );
    assert.equal(got.VersionId, V2);
    assert.deepEqual(got.VersionStages, ['AWSPREVIOUS', 'blue']);
  });
});

describe('DeleteSecret and RestoreSecret', () => {
  test('when deleted with the default window then reads fail until 30 days pass, then it is gone', async (t) => {
    let clock = Date.UTC(2030, 0, 1);
    const server = await startServer(t, { now: () => clock });
    const client = clientFor(server);
    const out = await client.send(new DeleteSecretCommand({ SecretId: 'prod/db' }));
    assert.equal(out.Name, 'prod/db');
    assert.equal(out.DeletionDate?.getTime(), clock + 30 * DAY);
    const marked = await rejection(() => client.send(new GetSecretValueCommand({ SecretId: 'prod/db' })));
    assert.equal(marked.name, 'InvalidRequestException');
    assert.equal(
      marked.message,
      "You can't perform this operation on the secret because it was marked for deletion.",
    );
    const desc = await client.send(new DescribeSecretCommand({ SecretId: 'prod/db' }));
    assert.equal(desc.DeletedDate?.getTime(), clock);
    const again = await rejection(() => client.send(new DeleteSecretCommand({ SecretId: 'prod/db' })));
    assert.equal(again.name, 'InvalidRequestException');
    clock += 30 * DAY - 1;
    assert.equal((await client.send(new DescribeSecretCommand({ SecretId: 'prod/db' }))).Name, 'prod/db');
    clock += 1;
    const gone = await rejection(() => client.send(new GetSecretValueCommand({ SecretId: 'prod/db' })));
    assert.equal(gone.name, 'ResourceNotFoundException');
    assert.equal(gone.message, "Secrets Manager can't find the specified secret.");
    const listed = await client.send(new ListSecretsCommand({ IncludePlannedDeletion: true }));
    assert.equal(
      listed.SecretList?.some((s) => s.Name === 'prod/db'),
      false,
    );
  });

  test('when RecoveryWindowInDays is 7 then the secret is gone after 7 days', async (t) => {
    let clock = Date.UTC(2030, 0, 1);
    const server = await startServer(t, { now: () => clock });
    const client = clientFor(server);
    const out = await client.send(new DeleteSecretCommand({ SecretId: 'prod/db', RecoveryWindowInDays: 7 }));
    assert.equal(out.DeletionDate?.getTime(), clock + 7 * DAY);
    clock += 7 * DAY;
    const gone = await rejection(() => client.send(new DescribeSecretCommand({ SecretId: 'prod/db' })));
    assert.equal(gone.name, 'ResourceNotFoundException');
  });

  test('when the window is out of range or combined with force then InvalidParameterException', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    for (const input of [
      { SecretId: 'prod/db', RecoveryWindowInDays: 6 },
      { SecretId: 'prod/db', RecoveryWindowInDays: 31 },
      { SecretId: 'prod/db', RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true },
    ]) {
      const err = await rejection(() => client.send(new DeleteSecretCommand(input)));
      assert.equal(err.name, 'InvalidParameterException', JSON.stringify(input));
      assert.equal(err.$metadata.httpStatusCode, 400);
    }
    assert.equal((await client.send(new GetSecretValueCommand({ SecretId: 'prod/db' }))).Name, 'prod/db');
  });

  test('when force-deleted then it is gone at once, and force-deleting a missing secret succeeds', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    await client.send(new DeleteSecretCommand({ SecretId: 'prod/db', ForceDeleteWithoutRecovery: true }));
    const gone = await rejection(() => client.send(new DescribeSecretCommand({ SecretId: 'prod/db' })));
    assert.equal(gone.name, 'ResourceNotFoundException');
    const none = await client.send(
      new DeleteSecretCommand({ SecretId: 'never/was', ForceDeleteWithoutRecovery: true }),
    );
    assert.equal(none.Name, 'never/was');
    assert.ok(none.DeletionDate instanceof Date);
    const missing = await rejection(() => client.send(new DeleteSecretCommand({ SecretId: 'never/was' })));
    assert.equal(missing.name, 'ResourceNotFoundException');
    const created = await client.send(new CreateSecretCommand({ Name: 'prod/db', SecretString: 'again' }));
    assert.equal(created.Name, 'prod/db');
  });

  test('when a deleted secret is restored then it can be read again', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const out = await client.send(new RestoreSecretCommand({ SecretId: 'prod/retired' }));
    assert.equal(out.Name, 'prod/retired');
    assert.equal(
      (await client.send(new GetSecretValueCommand({ SecretId: 'prod/retired' }))).SecretString,
      'gone-soon',
    );
    const desc = await client.send(new DescribeSecretCommand({ SecretId: 'prod/retired' }));
    assert.equal('DeletedDate' in desc, false);
  });
});
