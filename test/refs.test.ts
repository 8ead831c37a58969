import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, NotFoundError, RefError, ResolveError, UsageError } from '../src/errors.ts';
import {
  collectRefs,
  importNames,
  importValues,
  isRef,
  mergeImports,
  parseRef,
  pickField,
  type SecretRef,
} from '../src/refs.ts';
import { thrown } from './helpers/assert.ts';

function refCode(text: string): string {
  try {
    parseRef(text);
  } catch (err) {
    assert.ok(err instanceof RefError, `expected RefError for ${text}`);
    assert.equal(err.exitCode, 65);
    assert.ok(err.message.includes(JSON.stringify(text)), `message names the reference: ${err.message}`);
    return err.code;
  }
  assert.fail(`expected ${text} to be rejected`);
}

describe('isRef', () => {
  test('when a value starts with a registered scheme then it is a reference', () => {
    for (const v of [
      'vault:secret/x',
      'awssm:prod/x',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x',
      'arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x',
      'arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x',
      'vault:',
    ]) {
      assert.equal(isRef(v), true, v);
    }
  });

  test('when a value is a URL, plain text, empty or another ARN then it is not a reference', () => {
    for (const v of [
      'postgres://u:p@h/db',
      'https://example.com',
      'plain',
      '',
      ' vault:x',
      'VAULT:x',
      'arn:aws:s3:::bucket',
      'arn:aws-iso:secretsmanager:x',
      'vaults:x',
    ]) {
      assert.equal(isRef(v), false, v);
    }
  });
});

describe('parseRef: vault', () => {
  test('when a vault reference has a path, a version and a field then all are parsed', () => {
    const ref = parseRef('vault:secret/app/db?version=3#password');
    assert.equal(ref.scheme, 'vault');
    assert.equal(ref.path, 'secret/app/db');
    assert.deepEqual(ref.options, { version: '3' });
    assert.deepEqual(ref.field, { kind: 'key', name: 'password' });
    assert.equal(ref.documentKey, 'vault:secret/app/db?version=3');
    assert.equal(ref.raw, 'vault:secret/app/db?version=3#password');
    assert.equal(ref.region, undefined);
  });

  test('when the path has leading and trailing slashes then they are stripped', () => {
    assert.equal(parseRef('vault:///secret/x//').path, 'secret/x');
  });

  test('when two references name different fields of one document then they share the document key', () => {
    const a = parseRef('vault:database/creds/app#username');
    const b = parseRef('vault:/database/creds/app/#password');
    const c = parseRef('vault:database/creds/app');
    assert.equal(a.documentKey, b.documentKey);
    assert.equal(a.documentKey, c.documentKey);
    assert.notEqual(a.documentKey, parseRef('vault:database/creds/app?version=2#username').documentKey);
  });

  test('when the path is empty, has // or dot segments then the code says which', () => {
    assert.equal(refCode('vault:'), 'ref.emptyPath');
    assert.equal(refCode('vault:/'), 'ref.emptyPath');
    assert.equal(refCode('vault:#x'), 'ref.emptyPath');
    assert.equal(refCode('vault:secret//x'), 'ref.badPath');
    assert.equal(refCode('vault:secret/../x'), 'ref.badPath');
    assert.equal(refCode('vault:secret/./x'), 'ref.badPath');
    assert.equal(refCode('vault:secret/%2E%2E/x'), 'ref.badPath');
  });

  test('when the reference has a control character then it is rejected', () => {
    assert.equal(refCode('vault:secret/x\u0000y'), 'ref.controlChar');
    assert.equal(refCode('vault:secret/x%0Ay'), 'ref.controlChar');
    assert.equal(refCode('vault:secret/x#a\u0007'), 'ref.controlChar');
  });

  test('when the version is not a positive integer then the code is ref.badVersion', () => {
    for (const v of ['0', '-1', '1.5', 'abc', '01', '99999999999999999999']) {
      assert.equal(refCode(`vault:secret/x?version=${v}`), 'ref.badVersion', v);
    }
  });

  test('when an option is unknown, duplicated, empty or awssm-only then it is rejected', () => {
    assert.equal(refCode('vault:secret/x?versoin=1'), 'ref.unknownOption');
    assert.equal(refCode('vault:secret/x?version-stage=AWSCURRENT'), 'ref.unknownOption');
    assert.equal(refCode('vault:secret/x?encoding=base64'), 'ref.unknownOption');
    assert.equal(refCode('vault:secret/x?version=1&version=2'), 'ref.duplicateOption');
    assert.equal(refCode('vault:secret/x?version='), 'ref.badOption');
    assert.equal(refCode('vault:secret/x?version'), 'ref.badOption');
    assert.equal(refCode('vault:secret/x?'), 'ref.badOption');
  });

  test('when percent-encoding is malformed then the code is ref.badEncoding', () => {
    assert.equal(refCode('vault:secret/x%'), 'ref.badEncoding');
    assert.equal(refCode('vault:secret/x%zz'), 'ref.badEncoding');
    assert.equal(refCode('vault:secret/x#a%C3'), 'ref.badEncoding');
    assert.equal(refCode('vault:secret/\uD800x'), 'ref.badEncoding');
  });

  test('when the path is percent-encoded then it is decoded', () => {
    const ref = parseRef('vault:secret/a%20b%3Fc');
    assert.equal(ref.path, 'secret/a b?c');
    assert.notEqual(ref.documentKey, parseRef('vault:secret/a%20b?version=1').documentKey);
  });
});

describe('parseRef: fields', () => {
  test('when the field is a name with %23 then it decodes to #', () => {
    assert.deepEqual(parseRef('vault:secret/x#a%23b').field, { kind: 'key', name: 'a#b' });
  });

  test('when the field is a JSON pointer then ~1 and ~0 are unescaped', () => {
    assert.deepEqual(parseRef('vault:secret/x#/a~1b/c~0d/0').field, {
      kind: 'pointer',
      tokens: ['a/b', 'c~d', '0'],
      text: '/a~1b/c~0d/0',
    });
  });

  test('when the field is empty, has a second # or a bad pointer escape then the code is ref.badField', () => {
    assert.equal(refCode('vault:secret/x#'), 'ref.badField');
    assert.equal(refCode('vault:secret/x#a#b'), 'ref.badField');
    assert.equal(refCode('vault:secret/x#/a~2'), 'ref.badField');
    assert.equal(refCode('vault:secret/x#/a~'), 'ref.badField');
  });

  test('when a field name contains ? then it is part of the field, not an option', () => {
    const ref = parseRef('vault:secret/x#a?b');
    assert.deepEqual(ref.field, { kind: 'key', name: 'a?b' });
    assert.deepEqual(ref.options, {});
  });
});

describe('parseRef: awssm and ARNs', () => {
  const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/app-AbCdEf';

  test('when an awssm reference has a version stage and a field then both are parsed', () => {
    const ref = parseRef('awssm:prod/payments/stripe?version-stage=AWSPREVIOUS#api_key');
    assert.equal(ref.scheme, 'awssm');
    assert.equal(ref.path, 'prod/payments/stripe');
    assert.deepEqual(ref.options, { 'version-stage': 'AWSPREVIOUS' });
    assert.deepEqual(ref.field, { kind: 'key', name: 'api_key' });
    assert.equal(ref.documentKey, 'awssm:prod/payments/stripe?version-stage=AWSPREVIOUS');
  });

  test('when a bare ARN is given then it equals awssm:<arn> and carries the region', () => {
    const bare = parseRef(`${arn}#user`);
    const prefixed = parseRef(`awssm:${arn}#user`);
    assert.equal(bare.scheme, 'awssm');
    assert.equal(bare.path, arn);
    assert.equal(bare.region, 'eu-west-1');
    assert.equal(prefixed.region, 'eu-west-1');
    assert.equal(bare.documentKey, prefixed.documentKey);
  });

  test('when an ARN is in another partition then its region is kept', () => {
    assert.equal(parseRef('arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x').region, 'cn-north-1');
    assert.equal(
      parseRef('arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x').region,
      'us-gov-west-1',
    );
  });

  test('when an ARN is malformed then the code is ref.badArn', () => {
    assert.equal(refCode('arn:aws:secretsmanager:eu-west-1:12345:secret:x'), 'ref.badArn');
    assert.equal(refCode('arn:aws:secretsmanager::123456789012:secret:x'), 'ref.badArn');
    assert.equal(refCode('arn:aws:secretsmanager:eu-west-1:123456789012:parameter:x'), 'ref.badArn');
    assert.equal(refCode('awssm:arn:aws:s3:eu-west-1:123456789012:secret:x'), 'ref.badArn');
    assert.equal(refCode('arn:aws:secretsmanager:eu-west-1:123456789012:secret:a:b'), 'ref.badArn');
    assert.equal(refCode('arn:aws:secretsmanager:eu-west-1:123456789012:secret:'), 'ref.badName');
  });

  test('when a name has characters AWS does not allow or is empty then it is rejected', () => {
    assert.equal(refCode('awssm:prod app'), 'ref.badName');
    assert.equal(refCode('awssm:'), 'ref.emptyPath');
  });

  test('when both version-stage and version-id are given then the code is ref.conflictingOptions', () => {
    assert.equal(refCode('awssm:x?version-stage=AWSCURRENT&version-id=abc'), 'ref.conflictingOptions');
    assert.equal(refCode('awssm:x?version-id=not a uuid'), 'ref.badVersion');
    assert.equal(refCode('awssm:x?version=1'), 'ref.unknownOption');
  });

  test('when encoding=base64 is given then it is recorded outside the document options', () => {
    const ref = parseRef('awssm:x?encoding=base64&version-id=0123456789abcdef0123456789abcdef');
    assert.equal(ref.encoding, 'base64');
    assert.deepEqual(ref.options, { 'version-id': '0123456789abcdef0123456789abcdef' });
    assert.equal(
      ref.documentKey,
      parseRef('awssm:x?version-id=0123456789abcdef0123456789abcdef#f').documentKey,
      'encoding does not split the document',
    );
    assert.equal(refCode('awssm:x?encoding=hex'), 'ref.badOption');
    assert.equal(refCode('awssm:x?encoding=base64#f'), 'ref.conflictingOptions');
  });

  test('when the text is not a reference then parseRef says ref.unknownScheme', () => {
    assert.equal(refCode('postgres://x'), 'ref.unknownScheme');
  });
});

describe('pickField', () => {
  const ref = (raw: string): SecretRef => parseRef(raw);
  const CANARY = 'CANARY-s3cr3t-value';

  test('when there is no field and the secret is a string then it is used as is', () => {
    assert.equal(pickField('plain text', undefined, ref('awssm:x')), 'plain text');
    assert.equal(pickField('{"a":1}', undefined, ref('awssm:x')), '{"a":1}');
  });

  test('when there is no field and the secret is an object then the error names fields, not values', () => {
    const err = thrown(() => pickField({ password: CANARY, username: 'u' }, undefined, ref('vault:db')));
    assert.ok(err instanceof NotFoundError);
    assert.equal(err.code, 'secret.fieldRequired');
    assert.match(err.message, /"password", "username"/);
    assert.match(err.message, /vault:db/);
    assert.ok(!err.message.includes(CANARY));
  });

  test('when a field is missing then the error lists the available fields and never values', () => {
    const err = thrown(() =>
      pickField({ password: CANARY, b: 2 }, { kind: 'key', name: 'pass' }, ref('vault:db#pass')),
    );
    assert.ok(err instanceof NotFoundError);
    assert.equal(err.code, 'secret.missingField');
    assert.match(err.message, /no field "pass"; the secret has fields "b", "password"/);
    assert.ok(!err.message.includes(CANARY));
  });

  test('when the field value is a number, boolean, object or array then it is stringified', () => {
    const doc = { n: 5432, t: true, o: { a: 1 }, l: [1, 'x'], s: 'str', e: '' };
    const r = ref('vault:x');
    assert.equal(pickField(doc, { kind: 'key', name: 'n' }, r), '5432');
    assert.equal(pickField(doc, { kind: 'key', name: 't' }, r), 'true');
    assert.equal(pickField(doc, { kind: 'key', name: 'o' }, r), '{"a":1}');
    assert.equal(pickField(doc, { kind: 'key', name: 'l' }, r), '[1,"x"]');
    assert.equal(pickField(doc, { kind: 'key', name: 's' }, r), 'str');
    assert.equal(pickField(doc, { kind: 'key', name: 'e' }, r), '');
  });

  test('when the field value is null then the error is secret.nullField', () => {
    const err = thrown(() => pickField({ a: null }, { kind: 'key', name: 'a' }, ref('vault:x#a')));
    assert.equal((err as NotFoundError).code, 'secret.nullField');
  });

  test('when the secret is JSON object text then #field is picked from it', () => {
    const r = ref('awssm:x#api_key');
    assert.equal(pickField(JSON.stringify({ api_key: 'k1', port: 1 }), r.field, r), 'k1');
  });

  test('when #field is asked of a plain string then the error says it is not JSON and hides the value', () => {
    const r = ref('awssm:x#api_key');
    const err = thrown(() => pickField(CANARY, r.field, r));
    assert.equal((err as NotFoundError).code, 'secret.notJson');
    assert.ok(!err.message.includes(CANARY));
  });

  test('when a JSON pointer is given then it walks objects and arrays', () => {
    const doc = { 'a/b': { list: ['zero', { deep: 'yes' }] }, 'c~d': 'tilde' };
    const r1 = ref('vault:x#/a~1b/list/1/deep');
    assert.equal(pickField(doc, r1.field, r1), 'yes');
    const r2 = ref('vault:x#/c~0d');
    assert.equal(pickField(doc, r2.field, r2), 'tilde');
    const r3 = ref('vault:x#/a~1b/list/2');
    const err = thrown(() => pickField(doc, r3.field, r3));
    assert.equal((err as NotFoundError).code, 'secret.missingField');
    assert.match(err.message, /array of 2 items/);
    const r4 = ref('vault:x#/a~1b/nope');
    const err4 = thrown(() => pickField(doc, r4.field, r4));
    assert.match(err4.message, /"list"/);
  });

  test('when a key field is looked up then inherited properties do not count', () => {
    const r = ref('vault:x#toString');
    const err = thrown(() => pickField({ a: 'x' }, r.field, r));
    assert.equal((err as NotFoundError).code, 'secret.missingField');
  });

  test('when a binary secret is valid UTF-8 then it is used as text, with #field on JSON', () => {
    const bytes = new TextEncoder().encode('{"k":"välue"}');
    assert.equal(pickField(bytes, undefined, ref('awssm:x')), '{"k":"välue"}');
    const r = ref('awssm:x#k');
    assert.equal(pickField(bytes, r.field, r), 'välue');
  });

  test('when a binary secret is not UTF-8 then the error says how to ask for base64', () => {
    const err = thrown(() => pickField(new Uint8Array([0xff, 0x00, 0xfe]), undefined, ref('awssm:x')));
    assert.ok(err instanceof NotFoundError);
    assert.equal(err.code, 'secret.binary');
    assert.match(err.message, /\?encoding=base64/);
  });

  test('when encoding=base64 is asked then bytes and strings come back base64-encoded', () => {
    const r = ref('awssm:x?encoding=base64');
    assert.equal(pickField(new Uint8Array([0xff, 0x00, 0xfe]), undefined, r), '/wD+');
    assert.equal(pickField('hi', undefined, r), 'aGk=');
    const sub = new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4);
    assert.equal(pickField(sub, undefined, r), 'AQID');
  });
});

describe('collectRefs', () => {
  test('when the environment has references then they are collected and others pass through', () => {
    const out = collectRefs({
      env: { A: 'vault:secret/a#x', B: 'postgres://h/db', C: 'awssm:c', D: undefined },
      scanEnv: true,
      explicit: [],
      imports: [],
    });
    assert.deepEqual(
      out.refs.map((r) => [r.variable, r.ref.raw, r.source]),
      [
        ['A', 'vault:secret/a#x', 'env'],
        ['C', 'awssm:c', 'env'],
      ],
    );
    assert.deepEqual([...out.refVariables].sort(), ['A', 'C']);
  });

  test('when scanning is off then inherited references are not collected', () => {
    const out = collectRefs({ env: { A: 'vault:secret/a#x' }, scanEnv: false, explicit: [], imports: [] });
    assert.equal(out.refs.length, 0);
    assert.equal(out.refVariables.size, 0);
  });

  test('when a flag and the config name one variable then the flag wins, and explicit beats env', () => {
    const out = collectRefs({
      env: { DB: 'vault:env/db#p' },
      scanEnv: true,
      explicit: [
        { name: 'DB', ref: 'vault:flag/db#p', source: 'flag' },
        { name: 'DB', ref: 'vault:config/db#p', source: 'config' },
        { name: 'X', ref: 'vault:config/x#p', source: 'config' },
        { name: 'X', ref: 'vault:flag/x#p', source: 'flag' },
      ],
      imports: [],
    });
    const byName = new Map(out.refs.map((r) => [r.variable, r]));
    assert.equal(byName.get('DB')?.ref.path, 'flag/db');
    assert.equal(byName.get('DB')?.source, 'flag');
    assert.equal(byName.get('X')?.ref.path, 'flag/x');
    assert.ok(out.refVariables.has('DB'), 'the inherited raw reference must still be replaced');
  });

  test('when several entries are bad then one ResolveError lists all of them', () => {
    const err = thrown(() =>
      collectRefs({
        env: { E1: 'vault:', E2: 'vault:x?version=0', OK: 'vault:ok' },
        scanEnv: true,
        explicit: [
          { name: '1BAD', ref: 'vault:x', source: 'flag' },
          { name: 'BAD-NAME', ref: 'vault:x', source: 'config' },
          { name: 'TYPO', ref: 'valut:x#y', source: 'config' },
        ],
        imports: [
          { ref: 'vault:', source: 'flag' },
          { ref: 'vault:x', prefix: '9X', source: 'config' },
        ],
      }),
    );
    assert.ok(err instanceof ResolveError);
    const byVar = new Map(err.failures.map((f) => [f.variable, f]));
    assert.deepEqual([...byVar.keys()].sort(), [
      '--import',
      '1BAD',
      'BAD-NAME',
      'E1',
      'E2',
      'TYPO',
      'import[0]',
    ]);
    assert.ok(byVar.get('1BAD')?.error instanceof UsageError);
    assert.ok(byVar.get('BAD-NAME')?.error instanceof ConfigError);
    assert.equal(byVar.get('TYPO')?.error.code, 'ref.notAReference');
    assert.equal(byVar.get('E1')?.error.code, 'ref.emptyPath');
    assert.equal(byVar.get('E2')?.error.code, 'ref.badVersion');
    assert.match(err.message, /E2 +vault:x\?version=0 +/);
  });

  test('when imports are given then they are parsed with labels and default prefix', () => {
    const out = collectRefs({
      env: {},
      scanEnv: true,
      explicit: [],
      imports: [
        { ref: 'vault:secret/app', prefix: 'APP_', source: 'config' },
        { ref: 'awssm:x', source: 'flag' },
      ],
    });
    assert.deepEqual(
      out.imports.map((i) => [i.ref.path, i.prefix, i.label]),
      [
        ['secret/app', 'APP_', 'import[0]'],
        ['x', '', '--import'],
      ],
    );
  });
});

describe('imports', () => {
  test('when fields are imported then names are prefix + upper-cased field with _ for other characters', () => {
    const names = importNames(['db-host', 'port', 'api.key', 'ünï'], 'APP_');
    assert.deepEqual(Object.fromEntries(names), {
      'db-host': 'APP_DB_HOST',
      port: 'APP_PORT',
      'api.key': 'APP_API_KEY',
      ünï: 'APP__N_',
    });
  });

  test('when a name would start with a digit then it gets a leading underscore', () => {
    assert.equal(importNames(['1password'], '').get('1password'), '_1PASSWORD');
  });

  test('when two fields map to one name then the error names both fields', () => {
    const err = thrown(() => importNames(['db-host', 'db_host'], 'A_', 'vault:x'));
    assert.ok(err instanceof RefError);
    assert.equal(err.code, 'ref.importCollision');
    assert.match(err.message, /"db-host" and "db_host" both map to A_DB_HOST/);
  });

  test('when a field name is empty and there is no prefix then it is an error', () => {
    assert.equal((thrown(() => importNames([''], '')) as RefError).code, 'ref.importName');
  });

  test('when a document is imported then every field becomes a variable, nested via #pointer', () => {
    const r = collectRefs({
      env: {},
      scanEnv: false,
      explicit: [],
      imports: [{ ref: 'vault:secret/app#/nested', prefix: 'N_', source: 'flag' }],
    }).imports[0]!;
    const vars = importValues({ nested: { a: 'x', port: 5 }, other: 'y' }, r);
    assert.deepEqual(Object.fromEntries(vars), { N_A: 'x', N_PORT: '5' });
    const whole = importValues('{"k":"v"}', { ref: parseRef('awssm:x'), prefix: '' });
    assert.deepEqual(Object.fromEntries(whole), { K: 'v' });
  });

  test('when an import is not a JSON object then the error says so without the value', () => {
    const err = thrown(() => importValues('CANARY-plain', { ref: parseRef('awssm:x'), prefix: '' }));
    assert.ok(err instanceof NotFoundError);
    assert.ok(!err.message.includes('CANARY'));
    const err2 = thrown(() => importValues('["a"]', { ref: parseRef('awssm:x'), prefix: '' }));
    assert.equal((err2 as NotFoundError).code, 'secret.notObject');
  });

  test('when explicit entries and imports overlap then explicit wins and two imports collide', () => {
    const merged = mergeImports(new Set(['APP_A']), [
      {
        label: 'import[0]',
        vars: new Map([
          ['APP_A', '1'],
          ['APP_B', '2'],
        ]),
      },
    ]);
    assert.deepEqual(Object.fromEntries(merged.vars), { APP_B: '2' });
    assert.deepEqual(merged.shadowed, ['APP_A']);
    const err = thrown(() =>
      mergeImports(new Set(), [
        { label: 'import[0]', vars: new Map([['X', '1']]) },
        { label: '--import', vars: new Map([['X', '2']]) },
      ]),
    );
    assert.match(err.message, /X is set by two imports \(import\[0\] and --import\)/);
  });
});
