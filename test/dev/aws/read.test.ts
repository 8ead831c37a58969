import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  ListSecretsCommand,
  type ListSecretsCommandInput,
  ResourceNotFoundException,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { parseSeed } from '../../../src/dev/seed.ts';
import { clientFor, rejection, startServer, V1, V2, V3 } from './helpers.ts';

const ARN_PREFIX = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:';
const NOT_FOUND = "Secrets Manager can't find the specified secret.";
const MARKED = "You can't perform this operation on the secret because it was marked for deletion.";

describe('GetSecretValue', () => {
  test('when a string secret is read by name then the SDK gets value, ARN, stages and a Date', async (t) => {
    const server = await startServer(t);
    const out = await clientFor(server).send(new GetSecretValueCommand({ SecretId: 'prod/api-token' }));
    assert.equal(out.SecretString, 'tok-123');
    assert.equal(out.SecretBinary, undefined);
    assert.equal(out.Name, 'prod/api-token');
    assert.match(
      out.ARN ?? '',
      /^arn:aws:secretsmanager:us-east-1:123456789012:secret:prod\/api-token-[A-Za-z0-9]{6}$/,
    );
    assert.deepEqual(out.VersionStages, ['AWSCURRENT']);
    assert.match(out.VersionId ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(out.CreatedDate instanceof Date);
    assert.ok(Math.abs(out.CreatedDate.getTime() - Date.now()) < 60_000);
    assert.match(out.$metadata.requestId ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(out.$metadata.httpStatusCode, 200);
  });

  test('when a mapping was seeded then the value is its JSON text', async (t) => {
    const server = await startServer(t);
    const out = await clientFor(server).send(new GetSecretValueCommand({ SecretId: 'prod/db' }));
    assert.deepEqual(JSON.parse(out.SecretString ?? ''), {
      engine: 'postgres',
      host: 'db.internal',
      username: 'app',
      password: 's3cr3t-pw',
      port: 5432,
    });
    const forced = await clientFor(server).send(
      new GetSecretValueCommand({ SecretId: 'prod/described-json' }),
    );
    assert.deepEqual(JSON.parse(forced.SecretString ?? ''), { description: 'a field', value: 1 });
  });

  test('when a binary secret is read then SecretBinary is a Uint8Array and no SecretString', async (t) => {
    const server = await startServer(t);
    const out = await clientFor(server).send(new GetSecretValueCommand({ SecretId: 'prod/cert' }));
    assert.ok(out.SecretBinary instanceof Uint8Array);
    assert.deepEqual([...out.SecretBinary], [1, 2, 3, 4]);
    assert.equal(out.SecretString, undefined);
  });

  // GetSecretValue API reference (SecretId) and LocalStack's secretsmanager snapshots: a partial ARN
  // whose name ends in a hyphen and six characters is treated as a complete ARN.
  test('when a secret name ends in -XXXXXX then its partial ARN is taken as complete and not found', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const created = await client.send(new CreateSecretCommand({ Name: 'prod/db-abc123', SecretString: 'v' }));
    const partial = await rejection(() =>
      client.send(new GetSecretValueCommand({ SecretId: `${ARN_PREFIX}prod/db-abc123` })),
    );
    assert.equal(partial.name, 'ResourceNotFoundException');
    const byName = await client.send(new GetSecretValueCommand({ SecretId: 'prod/db-abc123' }));
    assert.equal(byName.SecretString, 'v');
    const full = await client.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    assert.equal(full.SecretString, 'v');
  });

  test('when read by full ARN or by ARN without the suffix then the same secret is returned', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const full = await client.send(
      new GetSecretValueCommand({ SecretId: `${ARN_PREFIX}prod/rotating-Ab12Cd` }),
    );
    assert.equal(full.VersionId, V3);
    const partial = await client.send(new GetSecretValueCommand({ SecretId: `${ARN_PREFIX}prod/rotating` }));
    assert.equal(partial.VersionId, V3);
    assert.equal(partial.ARN, `${ARN_PREFIX}prod/rotating-Ab12Cd`);
    const wrongSuffix = await rejection(() =>
      client.send(new GetSecretValueCommand({ SecretId: `${ARN_PREFIX}prod/rotating-Zz99Zz` })),
    );
    assert.equal(wrongSuffix.name, 'ResourceNotFoundException');
    const nameWithSuffix = await rejection(() =>
      client.send(new GetSecretValueCommand({ SecretId: 'prod/rotating-Ab12Cd' })),
    );
    assert.equal(nameWithSuffix.name, 'ResourceNotFoundException');
  });

  test('when VersionStage or VersionId is given then that version is returned', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const prev = await client.send(
      new GetSecretValueCommand({ SecretId: 'prod/rotating', VersionStage: 'AWSPREVIOUS' }),
    );
    assert.equal(prev.SecretString, 'previous-value');
    assert.deepEqual(prev.VersionStages, ['AWSPREVIOUS']);
    const old = await client.send(new GetSecretValueCommand({ SecretId: 'prod/rotating', VersionId: V1 }));
    assert.equal(old.SecretString, 'old-value');
    assert.deepEqual(old.VersionStages, []);
    const custom = await client.send(
      new GetSecretValueCommand({ SecretId: 'prod/rotating', VersionId: V3, VersionStage: 'blue' }),
    );
    assert.deepEqual(custom.VersionStages, ['AWSCURRENT', 'blue']);
    assert.deepEqual(JSON.parse(custom.SecretString ?? ''), { user: 'app', password: 'current-pw' });
  });

  test('when VersionId and VersionStage disagree then InvalidRequestException with the AWS text', async (t) => {
    const server = await startServer(t);
    const err = await rejection(() =>
      clientFor(server).send(
        new GetSecretValueCommand({ SecretId: 'prod/rotating', VersionId: V2, VersionStage: 'AWSCURRENT' }),
      ),
    );
    assert.ok(err instanceof InvalidRequestException);
    assert.equal(err.name, 'InvalidRequestException');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal(
      err.message,
      'You provided a VersionStage that is not associated to the provided VersionId.',
    );
  });

  test('when the version or stage does not exist then ResourceNotFoundException names it', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const missingId = 'ffffffff-ffff-4fff-8fff-ffffffffffff';
    const byId = await rejection(() =>
      client.send(new GetSecretValueCommand({ SecretId: 'prod/rotating', VersionId: missingId })),
    );
    assert.equal(byId.name, 'ResourceNotFoundException');
    assert.equal(
      byId.message,
      `Secrets Manager can't find the specified secret value for VersionId: ${missingId}`,
    );
    const byStage = await rejection(() =>
      client.send(new GetSecretValueCommand({ SecretId: 'prod/api-token', VersionStage: 'AWSPREVIOUS' })),
    );
    assert.equal(
      byStage.message,
      "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS",
    );
    const noValue = await rejection(() => client.send(new GetSecretValueCommand({ SecretId: 'prod/empty' })));
    assert.equal(noValue.name, 'ResourceNotFoundException');
    assert.equal(
      noValue.message,
      "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
    );
  });

  test('when the secret does not exist then ResourceNotFoundException, 400', async (t) => {
    const server = await startServer(t);
    const err = await rejection(() =>
      clientFor(server).send(new GetSecretValueCommand({ SecretId: 'prod/nope' })),
    );
    assert.ok(err instanceof ResourceNotFoundException);
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal(err.message, NOT_FOUND);
    assert.equal(err.$fault, 'client');
    assert.match(err.$metadata.requestId ?? '', /^[0-9a-f-]{36}$/);
  });

  test('when the secret is marked for deletion then InvalidRequestException', async (t) => {
    const server = await startServer(t);
    const err = await rejection(() =>
      clientFor(server).send(new GetSecretValueCommand({ SecretId: 'prod/retired' })),
    );
    assert.equal(err.name, 'InvalidRequestException');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal(err.message, MARKED);
  });

  test('when the name has illegal characters then ValidationException', async (t) => {
    const server = await startServer(t);
    const err = await rejection(() =>
      clientFor(server).send(new GetSecretValueCommand({ SecretId: 'bad name?' })),
    );
    assert.ok(err instanceof SecretsManagerServiceException);
    assert.equal(err.name, 'ValidationException');
    assert.equal(
      err.message,
      'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
    );
  });
});

describe('BatchGetSecretValue', () => {
  test('when ids mix found, missing, deleted and valueless then values and per-secret errors come back', async (t) => {
    const server = await startServer(t);
    const out = await clientFor(server).send(
      new BatchGetSecretValueCommand({
        SecretIdList: ['prod/api-token', 'prod/nope', 'prod/retired', 'prod/empty', `${ARN_PREFIX}prod/cert`],
      }),
    );
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.deepEqual(
      out.SecretValues?.map((v) => v.Name),
      ['prod/api-token', 'prod/cert'],
    );
    assert.equal(out.SecretValues?.[0]?.SecretString, 'tok-123');
    assert.ok(out.SecretValues?.[0]?.CreatedDate instanceof Date);
    assert.deepEqual([...(out.SecretValues?.[1]?.SecretBinary ?? [])], [1, 2, 3, 4]);
    assert.deepEqual(out.Errors, [
      { SecretId: 'prod/nope', ErrorCode: 'ResourceNotFoundException', Message: NOT_FOUND },
      { SecretId: 'prod/retired', ErrorCode: 'InvalidRequestException', Message: MARKED },
      {
        SecretId: 'prod/empty',
        ErrorCode: 'ResourceNotFoundException',
        Message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
      },
    ]);
    assert.equal(out.NextToken, undefined);
  });

  test('when 21 ids are sent then ValidationException and 20 are accepted', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const ids = Array.from({ length: 21 }, (_, i) => `missing-${i}`);
    const err = await rejection(() => client.send(new BatchGetSecretValueCommand({ SecretIdList: ids })));
    assert.equal(err.name, 'ValidationException');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.match(err.message, /secretIdList.*less than or equal to 20/);
    const ok = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ids.slice(0, 20) }));
    assert.equal(ok.Errors?.length, 20);
  });

  test('when both, neither, or MaxResults with SecretIdList are given then InvalidParameterException', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    for (const input of [
      { SecretIdList: ['prod/db'], Filters: [{ Key: 'name' as const, Values: ['prod'] }] },
      {},
      { SecretIdList: ['prod/db'], MaxResults: 5 },
    ]) {
      const err = await rejection(() => client.send(new BatchGetSecretValueCommand(input)));
      assert.equal(err.name, 'InvalidParameterException', JSON.stringify(input));
      assert.equal(err.$metadata.httpStatusCode, 400);
    }
  });

  test('when Filters select secrets then pages of MaxResults follow NextToken to the end', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const names: string[] = [];
    const errored: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await client.send(
        new BatchGetSecretValueCommand({
          Filters: [{ Key: 'name', Values: ['prod/'] }],
          MaxResults: 2,
          NextToken: token,
        }),
      );
      pages++;
      names.push(...(out.SecretValues ?? []).map((v) => v.Name ?? ''));
      errored.push(...(out.Errors ?? []).map((e) => e.SecretId ?? ''));
      token = out.NextToken;
    } while (token && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(names, [
      'prod/api-token',
      'prod/db',
      'prod/cert',
      'prod/rotating',
      'prod/described-json',
    ]);
    assert.equal(errored.length, 1);
    assert.match(errored[0] ?? '', /^arn:aws:secretsmanager:.*:secret:prod\/empty-[A-Za-z0-9]{6}$/);
    const bad = await rejection(() =>
      client.send(
        new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: ['prod/'] }], NextToken: 'bogus' }),
      ),
    );
    assert.equal(bad.name, 'InvalidNextTokenException');
  });

  test('when BatchGetSecretValue is denied then AccessDeniedException and GetSecretValue still works', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    server.deny('BatchGetSecretValue');
    const err = await rejection(() =>
      client.send(new BatchGetSecretValueCommand({ SecretIdList: ['prod/db'] })),
    );
    assert.equal(err.name, 'AccessDeniedException');
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal(err.$metadata.attempts, 1);
    assert.equal(
      err.message,
      'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: secretsmanager:BatchGetSecretValue on resource: * because no identity-based policy allows the secretsmanager:BatchGetSecretValue action',
    );
    const single = await client.send(new GetSecretValueCommand({ SecretId: 'prod/db' }));
    assert.match(single.SecretString ?? '', /postgres/);
    server.deny('BatchGetSecretValue', false);
    const again = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ['prod/db'] }));
    assert.equal(again.SecretValues?.length, 1);
  });

  test('when the seed denies BatchGetSecretValue then the SDK gets AccessDeniedException', async (t) => {
    const seed = parseSeed(
      [
        'aws:',
        '  account_id: "000011112222"',
        '  deny: [BatchGetSecretValue]',
        '  credentials:',
        '    - {access_key_id: AKIATEST, secret_access_key: test-secret, user: app-role}',
        '  secrets:',
        '    a: one',
      ].join('\n'),
    );
    const server = await startServer(t, { seed });
    const err = await rejection(() =>
      clientFor(server).send(new BatchGetSecretValueCommand({ SecretIdList: ['a'] })),
    );
    assert.equal(err.name, 'AccessDeniedException');
    assert.match(err.message, /^User: arn:aws:iam::000011112222:user\/app-role is not authorized/);
  });

  // IAM: ListSecrets has no resource-level permission, so the denial names no resource.
  test('when ListSecrets is denied then the AccessDenied text has no "on resource" part', async (t) => {
    const server = await startServer(t);
    server.deny('ListSecrets');
    const err = await rejection(() => clientFor(server).send(new ListSecretsCommand({})));
    assert.equal(err.name, 'AccessDeniedException');
    assert.equal(
      err.message,
      'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: secretsmanager:ListSecrets because no identity-based policy allows the secretsmanager:ListSecrets action',
    );
  });

  test('when GetSecretValue is denied then each secret is an AccessDeniedException entry', async (t) => {
    const server = await startServer(t);
    server.deny('GetSecretValue');
    const out = await clientFor(server).send(
      new BatchGetSecretValueCommand({ SecretIdList: ['prod/db', 'nope'] }),
    );
    assert.deepEqual(out.SecretValues, []);
    assert.deepEqual(
      out.Errors?.map((e) => [e.SecretId, e.ErrorCode]),
      [
        ['prod/db', 'AccessDeniedException'],
        ['nope', 'AccessDeniedException'],
      ],
    );
    assert.match(out.Errors?.[0]?.Message ?? '', /secretsmanager:GetSecretValue on resource: prod\/db/);
  });
});

describe('DescribeSecret', () => {
  test('when a full-form secret is described then only set fields appear and unlabeled versions are left out', async (t) => {
    const server = await startServer(t);
    const out = await clientFor(server).send(new DescribeSecretCommand({ SecretId: 'prod/rotating' }));
    assert.equal(out.ARN, `${ARN_PREFIX}prod/rotating-Ab12Cd`);
    assert.equal(out.Name, 'prod/rotating');
    assert.equal(out.Description, 'Rotated by hand in tests');
    assert.equal(out.KmsKeyId, 'alias/dev');
    assert.deepEqual(out.Tags, [
      { Key: 'team', Value: 'platform' },
      { Key: 'env', Value: 'prod' },
    ]);
    assert.deepEqual(out.VersionIdsToStages, { [V2]: ['AWSPREVIOUS'], [V3]: ['AWSCURRENT', 'blue'] });
    assert.ok(out.CreatedDate instanceof Date);
    assert.ok(out.LastChangedDate instanceof Date);
    for (const absent of [
      'RotationEnabled',
      'DeletedDate',
      'LastAccessedDate',
      'RotationRules',
      'PrimaryRegion',
    ]) {
      assert.equal(absent in out, false, absent);
    }
  });

  test('when a plain secret is described then Description, Tags and KmsKeyId are absent', async (t) => {
    const server = await startServer(t);
    const out = await clientFor(server).send(new DescribeSecretCommand({ SecretId: 'prod/api-token' }));
    for (const absent of ['Description', 'Tags', 'KmsKeyId']) assert.equal(absent in out, false, absent);
    assert.equal(Object.keys(out.VersionIdsToStages ?? {}).length, 1);
  });

  test('when the secret was read then LastAccessedDate is the day of access', async (t) => {
    const day = Date.UTC(2030, 4, 6);
    const server = await startServer(t, { now: () => day + 13 * 3_600_000 });
    const client = clientFor(server);
    await client.send(new GetSecretValueCommand({ SecretId: 'prod/db' }));
    const out = await client.send(new DescribeSecretCommand({ SecretId: 'prod/db' }));
    assert.equal(out.LastAccessedDate?.getTime(), day);
    assert.equal(out.CreatedDate?.getTime(), day + 13 * 3_600_000);
  });

  test('when the secret is marked for deletion then Describe succeeds with DeletedDate', async (t) => {
    const server = await startServer(t);
    const out = await clientFor(server).send(new DescribeSecretCommand({ SecretId: 'prod/retired' }));
    assert.ok(out.DeletedDate instanceof Date);
    assert.equal(Object.keys(out.VersionIdsToStages ?? {}).length, 1);
  });

  test('when the secret has no version then VersionIdsToStages is absent', async (t) => {
    const server = await startServer(t);
    const out = await clientFor(server).send(new DescribeSecretCommand({ SecretId: 'prod/empty' }));
    assert.equal('VersionIdsToStages' in out, false);
    assert.equal(out.Description, 'created without a value');
  });

  test('when the secret does not exist then ResourceNotFoundException', async (t) => {
    const server = await startServer(t);
    const err = await rejection(() => clientFor(server).send(new DescribeSecretCommand({ SecretId: 'x/y' })));
    assert.equal(err.name, 'ResourceNotFoundException');
    assert.equal(err.message, NOT_FOUND);
  });
});

describe('ListSecrets', () => {
  const names = async (server: Awaited<ReturnType<typeof startServer>>, input: ListSecretsCommandInput) =>
    ((await clientFor(server).send(new ListSecretsCommand(input))).SecretList ?? []).map((s) => s.Name);

  test('when listed then secrets scheduled for deletion are left out unless asked for', async (t) => {
    const server = await startServer(t);
    const all = await names(server, {});
    assert.equal(all.includes('prod/retired'), false);
    assert.equal(all.length, 6);
    const withDeleted = await names(server, { IncludePlannedDeletion: true });
    assert.equal(withDeleted.includes('prod/retired'), true);
    assert.deepEqual(await names(server, { SortOrder: 'desc' }), [...all].reverse());
  });

  test('when filters are given then they match by prefix, description ignores case, ! negates', async (t) => {
    const server = await startServer(t);
    assert.deepEqual(await names(server, { Filters: [{ Key: 'name', Values: ['prod/r'] }] }), [
      'prod/rotating',
    ]);
    assert.deepEqual(await names(server, { Filters: [{ Key: 'tag-key', Values: ['tea'] }] }), [
      'prod/rotating',
    ]);
    assert.deepEqual(await names(server, { Filters: [{ Key: 'tag-value', Values: ['plat'] }] }), [
      'prod/rotating',
    ]);
    assert.deepEqual(await names(server, { Filters: [{ Key: 'description', Values: ['ROTATED'] }] }), [
      'prod/rotating',
    ]);
    assert.deepEqual(await names(server, { Filters: [{ Key: 'all', Values: ['platform'] }] }), [
      'prod/rotating',
    ]);
    const negated = await names(server, { Filters: [{ Key: 'name', Values: ['!prod/'] }] });
    assert.deepEqual(negated, []);
    assert.deepEqual(
      await names(server, {
        Filters: [
          { Key: 'name', Values: ['prod/d', 'prod/c'] },
          { Key: 'name', Values: ['!prod/described'] },
        ],
      }),
      ['prod/db', 'prod/cert'],
    );
  });

  test('when MaxResults is small then NextToken pages through every secret once', async (t) => {
    const server = await startServer(t);
    const client = clientFor(server);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await client.send(new ListSecretsCommand({ MaxResults: 3, NextToken: token }));
      seen.push(...(out.SecretList ?? []).map((s) => s.Name ?? ''));
      token = out.NextToken;
      pages++;
    } while (token && pages < 10);
    assert.equal(pages, 2);
    assert.equal(seen.length, 6);
    assert.deepEqual(seen, await names(server, {}));
  });

  test('when an entry is listed then it uses SecretVersionsToStages and Date fields', async (t) => {
    const server = await startServer(t);
    const out = await clientFor(server).send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['prod/rotating'] }] }),
    );
    const entry = out.SecretList?.[0];
    assert.deepEqual(entry?.SecretVersionsToStages, { [V2]: ['AWSPREVIOUS'], [V3]: ['AWSCURRENT', 'blue'] });
    assert.ok(entry?.CreatedDate instanceof Date);
    assert.equal(entry && 'VersionIdsToStages' in entry, false);
  });

  test('when a filter key is unknown then ValidationException', async (t) => {
    const server = await startServer(t);
    const err = await rejection(() =>
      clientFor(server).send(
        new ListSecretsCommand({ Filters: [{ Key: 'colour' as 'name', Values: ['x'] }] }),
      ),
    );
    assert.equal(err.name, 'ValidationException');
    assert.match(err.message, /filters\.1\.member\.key/);
  });
});
