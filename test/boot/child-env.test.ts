import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InternalError, UsageError } from '../../src/base/errors.ts';
import { buildChildEnv, DEFAULT_AGENT_CREDENTIALS, PRISTINE_VARIABLES } from '../../src/boot/child-env.ts';
import { checkEnvPattern } from '../../src/refs/env-pattern.ts';
import { thrown } from '../helpers/assert.ts';

const inherited = {
  PATH: '/usr/bin',
  HOME: '/home/app',
  USER: 'app',
  LANG: 'C.UTF-8',
  TZ: 'UTC',
  TERM: 'xterm',
  DB_PASSWORD: 'vault:secret/db#password',
  DATABASE_URL: 'postgres://db/app',
  VAULT_TOKEN: 'hvs.agent-token',
  VAULT_SECRET_ID: 'sid',
  VAULT_ADDR: 'http://127.0.0.1:8200',
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  APPROLE_SECRET: 'consumed-secret-id',
  UNSET: undefined,
};
const values = new Map([['DB_PASSWORD', 's3cr3t']]);

describe('buildChildEnv', () => {
  test('when references are resolved then they replace the raw reference and plain values pass through', () => {
    const env = buildChildEnv({ inherited, values, refVariables: ['DB_PASSWORD'] });
    assert.equal(env['DB_PASSWORD'], 's3cr3t');
    assert.equal(env['DATABASE_URL'], 'postgres://db/app');
    assert.equal(env['VAULT_ADDR'], 'http://127.0.0.1:8200');
    assert.equal(env['PATH'], '/usr/bin');
    assert.ok(!('UNSET' in env));
  });

  test('when nothing is said then the agent Vault token and secret id are stripped, AWS keys kept', () => {
    const env = buildChildEnv({ inherited, values, refVariables: ['DB_PASSWORD'] });
    assert.deepEqual([...DEFAULT_AGENT_CREDENTIALS], ['VAULT_TOKEN', 'VAULT_SECRET_ID']);
    assert.ok(!('VAULT_TOKEN' in env));
    assert.ok(!('VAULT_SECRET_ID' in env));
    assert.equal(env['AWS_SECRET_ACCESS_KEY'], 'aws-secret');
  });

  test('when the agent consumed an auth variable then it is stripped too', () => {
    const env = buildChildEnv({
      inherited,
      values,
      refVariables: ['DB_PASSWORD'],
      agentCredentials: [...DEFAULT_AGENT_CREDENTIALS, 'APPROLE_SECRET'],
    });
    assert.ok(!('APPROLE_SECRET' in env));
    assert.ok(!('VAULT_TOKEN' in env));
  });

  test('when --keep names a credential then it is passed on; --drop removes inherited and resolved names', () => {
    const env = buildChildEnv({
      inherited,
      values: new Map([...values, ['APP_UNUSED', 'x']]),
      refVariables: ['DB_PASSWORD'],
      keep: ['VAULT_TOKEN'],
      drop: ['AWS_*', 'APP_UNUSED', 'DATABASE_URL'],
    });
    assert.equal(env['VAULT_TOKEN'], 'hvs.agent-token');
    assert.ok(!('AWS_SECRET_ACCESS_KEY' in env));
    assert.ok(!('APP_UNUSED' in env));
    assert.ok(!('DATABASE_URL' in env));
  });

  test('when a name is both kept and dropped then drop wins', () => {
    const env = buildChildEnv({
      inherited,
      values,
      refVariables: ['DB_PASSWORD'],
      keep: ['VAULT_*'],
      drop: ['VAULT_TOKEN'],
    });
    assert.ok(!('VAULT_TOKEN' in env));
    assert.equal(env['VAULT_SECRET_ID'], 'sid');
  });

  test('when pristine then only the base variables, configured, kept and resolved ones remain', () => {
    const env = buildChildEnv({
      inherited: { ...inherited, KEEPME: 'k', CONF: 'c' },
      values: new Map([...values, ['IMPORTED', 'i']]),
      refVariables: ['DB_PASSWORD'],
      pristine: true,
      keep: ['KEEP*'],
      configuredNames: ['CONF'],
    });
    assert.deepEqual(
      Object.keys(env).sort(),
      [...PRISTINE_VARIABLES, 'CONF', 'DB_PASSWORD', 'IMPORTED', 'KEEPME'].sort(),
    );
  });

  test('when a reference variable has no resolved value then it refuses instead of leaking the reference', () => {
    const err = thrown(() => buildChildEnv({ inherited, values: new Map(), refVariables: ['DB_PASSWORD'] }));
    assert.ok(err instanceof InternalError);
    assert.equal(err.code, 'internal.unresolvedRef');
    const err2 = thrown(() => buildChildEnv({ inherited, values: new Map(), refVariables: [] }));
    assert.equal(
      (err2 as InternalError).code,
      'internal.unresolvedRef',
      'scanned env: any reference-like value',
    );
  });

  test('when env references were not scanned then reference-like values pass through as literals', () => {
    const env = buildChildEnv({ inherited, values: new Map(), refVariables: [], envRefsScanned: false });
    assert.equal(env['DB_PASSWORD'], 'vault:secret/db#password');
  });

  test('when a reference variable is dropped then no error and no variable', () => {
    const env = buildChildEnv({ inherited, values: new Map(), refVariables: [], drop: ['DB_*'] });
    assert.ok(!('DB_PASSWORD' in env));
  });

  test('when the env is built then it is a new object and the inputs are unchanged', () => {
    const input = { ...inherited };
    const vals = new Map(values);
    const env = buildChildEnv({ inherited: input, values: vals, refVariables: ['DB_PASSWORD'] });
    assert.notEqual(env, input);
    assert.deepEqual(input, inherited);
    assert.deepEqual([...vals], [...values]);
    env['X'] = 'y';
    assert.ok(!('X' in input));
  });

  test('when a variable is named __proto__ then it is an own variable, not a prototype change', () => {
    const source = JSON.parse('{"__proto__":"v","A":"b"}') as Record<string, string>;
    const env = buildChildEnv({ inherited: source, values: new Map(), refVariables: [] });
    assert.equal(Object.getPrototypeOf(env), Object.prototype);
    assert.ok(Object.hasOwn(env, '__proto__'));
    assert.deepEqual(Object.keys(env).sort(), ['A', '__proto__']);
  });

  test('when a keep or drop pattern is malformed then it is a usage error', () => {
    for (const p of ['', 'A*B', '*X', 'A=B', 'A B']) {
      assert.ok(thrown(() => checkEnvPattern(p)) instanceof UsageError, p);
    }
    for (const p of ['*', 'VAULT_*', 'X', 'weird.name']) checkEnvPattern(p);
    assert.ok(
      thrown(() =>
        buildChildEnv({ inherited: {}, values: new Map(), refVariables: [], drop: ['A*B'] }),
      ) instanceof UsageError,
    );
  });
});
