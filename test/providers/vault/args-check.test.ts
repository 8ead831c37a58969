import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { argProblem, createArgsCheck } from '../../../src/providers/vault/args-check.ts';

// The shape of node-vault's own schemas (its request schema, and a command's `req`).
const REQUEST = {
  type: 'object',
  properties: { path: { type: 'string' }, method: { type: 'string' } },
  required: ['path', 'method'],
};
const COMMAND = {
  type: 'object',
  properties: {
    ttl: { type: 'integer', minimum: 1 },
    policies: { type: 'array', items: { type: 'string' } },
    renewable: { type: 'boolean' },
  },
};

describe('args check (node-vault tv4 option)', () => {
  test('when arguments fit the schema then validate is true and error is null', () => {
    const check = createArgsCheck();
    assert.equal(check.validate({ path: '/secret/data/a', method: 'GET' }, REQUEST), true);
    assert.equal(check.error, null);
    assert.equal(check.validate({ ttl: 60, policies: ['a', 'b'], renewable: true }, COMMAND), true);
    assert.equal(check.validate({}, COMMAND), true);
  });

  test('when arguments break the schema then validate is false and error names the path', () => {
    const check = createArgsCheck();
    const cases: Array<[unknown, object, string]> = [
      [{ method: 'GET' }, REQUEST, '/path'],
      [{ path: 1, method: 'GET' }, REQUEST, '/path'],
      ['not an object', REQUEST, ''],
      [null, REQUEST, ''],
      [{ ttl: 0 }, COMMAND, '/ttl'],
      [{ ttl: 1.5 }, COMMAND, '/ttl'],
      [{ policies: ['a', 2] }, COMMAND, '/policies/1'],
      [{ policies: 'a' }, COMMAND, '/policies'],
      [{ renewable: 'yes' }, COMMAND, '/renewable'],
    ];
    for (const [data, schema, at] of cases) {
      assert.equal(check.validate(data, schema), false, JSON.stringify(data));
      assert.equal(check.error?.dataPath, at, JSON.stringify(data));
      assert.match(check.error?.message ?? '', /^node-vault arguments: /);
    }
    assert.equal(check.validate({ path: 'p', method: 'GET' }, REQUEST), true);
    assert.equal(check.error, null, 'a later success clears the error');
  });

  test('when an array is given for an object then it is a type problem', () => {
    assert.deepEqual(argProblem([], { type: 'object' }), ['', 'invalid type: array (expected object)']);
  });
});
