import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GetSecretValueCommand, ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { parseAwsSeed } from '../../../src/dev/aws/seed-section.ts';
import { startSecretsManagerServer } from '../../../src/dev/aws/server.ts';
import { parseSeed } from '../../../src/dev/seed.ts';
import { clientFor, fixtureSeed, startServer } from './helpers.ts';

const awsSeed = (lines: string[]) => parseSeed(['aws:', ...lines].join('\n'), 'seed.yaml');

describe('aws seed section', () => {
  test('when the fixture seed is parsed then credentials, deny list and every secret are read', () => {
    const section = parseAwsSeed(fixtureSeed());
    assert.equal(section.region, 'us-east-1');
    assert.equal(section.accountId, '123456789012');
    assert.deepEqual(
      section.credentials.map((c) => [c.accessKeyId, c.user, c.sessionToken]),
      [
        ['AKIADEVSECRUN0000001', 'dev', undefined],
        ['ASIADEVSECRUN0000002', 'ci', 'dev-session-token-0002'],
      ],
    );
    assert.deepEqual(section.deny, []);
    assert.equal(section.secrets.length, 7);
  });

  test('when there is no aws section or no seed then defaults are used', () => {
    assert.deepEqual(parseAwsSeed(undefined), { credentials: [], deny: [], secrets: [] });
    assert.deepEqual(parseAwsSeed(parseSeed('vault: {}')), { credentials: [], deny: [], secrets: [] });
  });

  test('when seed values are invalid then the error names the key path and line', () => {
    const cases: Array<[string[], RegExp]> = [
      [['  regin: us-east-1'], /seed\.yaml:2: aws\.regin: unknown key/],
      [['  region: mars'], /seed\.yaml:2: aws\.region: must be a region name/],
      [['  account_id: "123"'], /seed\.yaml:2: aws\.account_id: must be 12 digits/],
      [
        ['  credentials:', '    - access_key_id: A'],
        /seed\.yaml:3: aws\.credentials\.0\.secret_access_key: must be a non-empty string/,
      ],
      [['  deny: BatchGetSecretValue'], /seed\.yaml:2: aws\.deny: must be a list of strings/],
      [['  secrets:', '    "bad name": x'], /seed\.yaml:3: aws\.secrets\.bad name: invalid secret name/],
      [
        ['  secrets:', '    a:', '      binary: "not base64!"'],
        /seed\.yaml:4: aws\.secrets\.a\.binary: must be a non-empty base64/,
      ],
      [
        ['  secrets:', '    a:', '      value: x', '      binary: AQID'],
        /aws\.secrets\.a: give only one of value, binary/,
      ],
      [
        ['  secrets:', '    a:', '      versions:', '        - value: x', '          stages: [blue]'],
        /seed\.yaml:5: aws\.secrets\.a\.versions: one version must carry the AWSCURRENT stage/,
      ],
      [
        [
          '  secrets:',
          '    a:',
          '      versions:',
          '        - {value: x, stages: [AWSCURRENT]}',
          '        - {value: y, stages: [AWSCURRENT]}',
        ],
        /aws\.secrets\.a\.versions\.1\.stages\.0: stage AWSCURRENT is given twice/,
      ],
      [
        ['  secrets:', '    a:', '      versions:', '        - {value: x, id: short}'],
        /versions\.0\.id: must be a string of 32-64/,
      ],
      [
        ['  secrets:', '    a:', '      value: x', '      deleted: yes please'],
        /aws\.secrets\.a\.deleted: must be true or false/,
      ],
      [
        ['  secrets:', '    a:', '      value: x', '      arn_suffix: abc'],
        /aws\.secrets\.a\.arn_suffix: must be 6 letters or digits/,
      ],
      [['  secrets:', '    a: ""'], /aws\.secrets\.a: must not be empty/],
    ];
    for (const [lines, message] of cases) {
      assert.throws(() => parseAwsSeed(awsSeed(lines)), { name: 'SeedError', message }, lines.join(' | '));
    }
  });

  test('when the server gets an invalid seed then starting it throws the SeedError', async () => {
    await assert.rejects(startSecretsManagerServer({ seed: awsSeed(['  region: 42']) }), {
      name: 'SeedError',
    });
  });

  test('when versions have no stages then the last is AWSCURRENT and the one before AWSPREVIOUS', async (t) => {
    const seed = awsSeed([
      '  secrets:',
      '    multi:',
      '      versions:',
      '        - value: one',
      '        - value: two',
      '        - json: {three: 3}',
      '    num: 42',
      '    list: [1, 2]',
    ]);
    const server = await startServer(t, { seed });
    const client = clientFor(server);
    const cur = await client.send(new GetSecretValueCommand({ SecretId: 'multi' }));
    assert.equal(cur.SecretString, '{"three":3}');
    const prev = await client.send(
      new GetSecretValueCommand({ SecretId: 'multi', VersionStage: 'AWSPREVIOUS' }),
    );
    assert.equal(prev.SecretString, 'two');
    assert.equal((await client.send(new GetSecretValueCommand({ SecretId: 'num' }))).SecretString, '42');
    assert.equal((await client.send(new GetSecretValueCommand({ SecretId: 'list' }))).SecretString, '[1,2]');
    const list = await client.send(new ListSecretsCommand({}));
    assert.deepEqual(
      list.SecretList?.map((s) => s.Name),
      ['multi', 'num', 'list'],
    );
  });
});
