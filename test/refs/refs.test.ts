import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, NotFoundError, RefError, ResolveError, UsageError } from '../../src/base/errors.ts';
import { buildChildEnv } from '../../src/boot/child-env.ts';
import {
  collectRefs,
  importNames,
  importValues,
  isEnvRef,
  isProtectedImportName,
  isRef,
  mergeImports,
  NOT_A_REFERENCE,
  nearMissScheme,
  PROTECTED_IMPORT_NAMES,
  PROTECTED_IMPORT_PREFIXES,
  parseRef,
  pickField,
  type SecretRef,
} from '../../src/refs/index.ts';
import { thrown } from '../helpers/assert.ts';

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

  test('when the text is not a reference then parseRef says ref.unknownScheme without echoing it', () => {
    for (const text of ['postgres://u:CANARY@h', 'CANARY\uD800', 'valut:CANARY#x']) {
      const err = thrown(() => parseRef(text));
      assert.ok(err instanceof RefError);
      assert.equal(err.code, 'ref.unknownScheme');
      assert.ok(!err.message.includes('CANARY'), err.message);
      assert.match(err.message, /not a reference/);
    }
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
    assert.match(err.message, /^the secret has fields "password", "username"; add #<field>/);
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

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf';

describe('isEnvRef and bare ARNs in the environment', () => {
  test('when a bare ARN has no #field and no options then it is not an env reference', () => {
    assert.equal(isEnvRef(ARN), false);
    assert.equal(isRef(ARN), true, 'explicit entries still treat it as a reference');
  });

  test('when a bare ARN has #field or ?options, or a value uses vault:/awssm:, then it is an env reference', () => {
    for (const v of [
      `${ARN}#password`,
      `${ARN}?version-stage=AWSPREVIOUS`,
      'vault:x',
      `awssm:${ARN}`,
      'awssm:x',
    ]) {
      assert.equal(isEnvRef(v), true, v);
    }
    for (const v of ['postgres://h', '', 'VAULT:x', 'arn:aws:s3:::bucket#x'])
      assert.equal(isEnvRef(v), false, v);
  });

  test('when the environment holds a bare ARN without #field then it passes through to the child untouched', () => {
    const env = { DB_SECRET_ARN: ARN, DB: `${ARN}#password`, STAGED: `${ARN}?version-stage=AWSCURRENT` };
    const out = collectRefs({ env, scanEnv: true, explicit: [], imports: [] });
    assert.deepEqual(out.refs.map((r) => r.variable).sort(), ['DB', 'STAGED']);
    assert.deepEqual([...out.refVariables].sort(), ['DB', 'STAGED']);
    const child = buildChildEnv({
      inherited: env,
      values: new Map([
        ['DB', 'pw'],
        ['STAGED', 'v'],
      ]),
      refVariables: out.refVariables,
      agentCredentials: [],
    });
    assert.deepEqual(child, { DB_SECRET_ARN: ARN, DB: 'pw', STAGED: 'v' });
  });

  test('when an inherited ARN with #field is not resolved then buildChildEnv still refuses it', () => {
    const err = thrown(() =>
      buildChildEnv({ inherited: { DB: `${ARN}#password` }, values: new Map(), refVariables: [] }),
    );
    assert.equal((err as RefError).code, 'internal.unresolvedRef');
  });

  test('when an explicit entry is a bare ARN without #field then it is still a reference', () => {
    const out = collectRefs({
      env: {},
      scanEnv: true,
      explicit: [{ name: 'WHOLE', ref: ARN, source: 'flag' }],
      imports: [],
    });
    assert.equal(out.refs[0]?.ref.path, ARN);
    assert.equal(out.refs[0]?.ref.region, 'eu-west-1');
  });
});

describe('nearMissScheme', () => {
  test('when a scheme is one or two edits from vault: or awssm: then that scheme is returned', () => {
    const cases: Array<[string, string]> = [
      ['valut:secret/x#p', 'vault:'],
      ['vualt:secret/x', 'vault:'],
      ['vaul:secret/x', 'vault:'],
      ['vaulr:x', 'vault:'],
      ['vaaultt:x', 'vault:'],
      ['VAULT:secret/x', 'vault:'],
      ['Vault:secret/x', 'vault:'],
      ['awsm:prod/x', 'awssm:'],
      ['aws-sm:prod/x', 'awssm:'],
      ['awsms:prod/x', 'awssm:'],
      ['asssm:x', 'awssm:'],
      ['AWSSM:x', 'awssm:'],
    ];
    for (const [value, scheme] of cases) assert.equal(nearMissScheme(value), scheme, value);
  });

  test('when a value is a reference, a URL, a common value or far from a scheme then nothing is returned', () => {
    for (const v of [
      'vault:secret/x',
      'awssm:x',
      ARN,
      'postgres://u:p@h/db',
      'https://example.com',
      'http://x',
      'redis://h',
      'mysql://h',
      'file:///x',
      'aws:kms',
      'ssm:/param',
      'asm:x',
      'valut',
      'valut/secret/x',
      ':0',
      'a:b:c',
      '/usr/bin:/bin',
      'rs=0:di=01;34',
      'vau1t:x',
      'Valut:x',
      'vaultvaultvault:x',
      'default:x',
      'local:x',
    ]) {
      assert.equal(nearMissScheme(v), undefined, v);
    }
  });

  test('when the environment holds a mistyped scheme then collectRefs reports the variable and scheme only', () => {
    const env = { DB: 'valut:secret/CANARY#p', OTHER: 'awsm:x', FINE: 'plain', SET: 'vualt:x' };
    const out = collectRefs({
      env,
      scanEnv: true,
      explicit: [{ name: 'SET', ref: 'vault:secret/set#p', source: 'flag' }],
      imports: [],
    });
    assert.deepEqual(out.nearMisses, [
      { variable: 'DB', scheme: 'vault:' },
      { variable: 'OTHER', scheme: 'awssm:' },
    ]);
    assert.ok(!JSON.stringify(out.nearMisses).includes('CANARY'));
    assert.equal(out.refVariables.size, 0, 'a near miss is not a reference: it passes through');
    const off = collectRefs({ env, scanEnv: false, explicit: [], imports: [] });
    assert.deepEqual(off.nearMisses, [], 'with --no-env-refs values are literals: no warning');
  });
});

describe('collectRefs: values that are not references are never echoed', () => {
  const SECRET = 'postgres://u:CANARY-pw@host/db';

  test('when a --env value is not a reference then the failure hides it and is a usage error (64)', () => {
    const err = thrown(() =>
      collectRefs({
        env: {},
        scanEnv: true,
        explicit: [{ name: 'A', ref: SECRET, source: 'flag' }],
        imports: [],
      }),
    );
    assert.ok(err instanceof ResolveError);
    assert.equal(err.exitCode, 64);
    const failure = err.failures[0];
    assert.equal(failure?.ref, NOT_A_REFERENCE);
    assert.ok(failure?.error instanceof UsageError);
    assert.equal(failure?.error.code, 'ref.notAReference');
    assert.ok(!err.message.includes('CANARY'), err.message);
    assert.ok(!JSON.stringify(err.toJSON()).includes('CANARY'));
    assert.match(err.message, /A +\(not a reference\) +the value is not a reference/);
  });

  test('when a config value is not a reference then the failure is a config error (78)', () => {
    const err = thrown(() =>
      collectRefs({
        env: {},
        scanEnv: true,
        explicit: [{ name: 'A', ref: SECRET, source: 'config' }],
        imports: [],
      }),
    );
    assert.ok(err instanceof ResolveError);
    assert.equal(err.exitCode, 78);
    assert.ok(err.failures[0]?.error instanceof ConfigError);
    assert.ok(!err.message.includes('CANARY'));
  });

  test('when a mistyped scheme is given explicitly then the message names the scheme it looks like, not the value', () => {
    const err = thrown(() =>
      collectRefs({
        env: {},
        scanEnv: true,
        explicit: [{ name: 'B', ref: 'valut:secret/CANARY#p', source: 'flag' }],
        imports: [],
      }),
    );
    assert.match(err.message, /typo of vault:/);
    assert.ok(!err.message.includes('CANARY'));
  });

  test('when a bad variable name or a config import carries a non-reference value then it is not echoed', () => {
    const err = thrown(() =>
      collectRefs({
        env: {},
        scanEnv: true,
        explicit: [{ name: '1A', ref: SECRET, source: 'flag' }],
        imports: [
          { ref: SECRET, source: 'config' },
          { ref: SECRET, prefix: '9X', source: 'config' },
        ],
      }),
    );
    assert.ok(err instanceof ResolveError);
    assert.equal(err.failures.length, 3);
    for (const f of err.failures) assert.equal(f.ref, NOT_A_REFERENCE);
    assert.equal(err.failures[1]?.error.code, 'ref.notAReference');
    assert.ok(!err.message.includes('CANARY'), err.message);
    assert.ok(!JSON.stringify(err.toJSON()).includes('CANARY'));
  });
});

describe('collectRefs: deferErrors', () => {
  const input = {
    env: { DB: 'vault:secret/db#p', E: 'vault:x?version=0' },
    scanEnv: true,
    explicit: [
      { name: 'B', ref: 'valut:x', source: 'flag' as const },
      { name: 'C', ref: 'vault:secret/c#f', source: 'flag' as const },
    ],
    imports: [
      { ref: 'vault:', source: 'flag' as const },
      { ref: 'vault:secret/app', prefix: 'APP_', source: 'config' as const },
    ],
  };

  test('when deferErrors is set then bad entries are returned and every valid reference is collected', () => {
    const out = collectRefs({ ...input, deferErrors: true });
    assert.deepEqual(out.refs.map((r) => r.variable).sort(), ['C', 'DB']);
    assert.deepEqual(
      out.imports.map((i) => i.label),
      ['import[0]'],
    );
    assert.deepEqual(out.failures.map((f) => [f.variable, f.error.code]).sort(), [
      ['--import', 'ref.emptyPath'],
      ['B', 'ref.notAReference'],
      ['E', 'ref.badVersion'],
    ]);
    assert.deepEqual([...out.refVariables].sort(), ['DB', 'E']);
  });

  test('when deferErrors is not set then the same input throws, and a clean input has no failures', () => {
    const err = thrown(() => collectRefs(input));
    assert.ok(err instanceof ResolveError);
    assert.equal(err.failures.length, 3);
    assert.deepEqual(collectRefs({ env: {}, scanEnv: true, explicit: [], imports: [] }).failures, []);
  });
});

describe('imports: protected variables', () => {
  const CANARY = 'CANARY-evil';

  test('when an import without prefix has fields path and ld_preload then it fails naming fields and variables, not values', () => {
    const imp = { ref: parseRef('vault:secret/x'), prefix: '' };
    const err = thrown(() => importValues({ path: CANARY, ld_preload: CANARY, ok: 'v' }, imp));
    assert.ok(err instanceof RefError);
    assert.equal(err.code, 'ref.importProtected');
    assert.match(err.message, /field "path" would set PATH/);
    assert.match(err.message, /field "ld_preload" would set LD_PRELOAD/);
    assert.match(err.message, /prefix/);
    assert.ok(!err.message.includes(CANARY));
    assert.ok(!JSON.stringify(err.toJSON()).includes(CANARY));
  });

  test('when any protected name or prefix would be imported without a prefix then it is refused', () => {
    const fields = [
      ...PROTECTED_IMPORT_NAMES.map((n) => n.toLowerCase()),
      ...PROTECTED_IMPORT_PREFIXES.map((p) => `${p.toLowerCase()}anything`),
      'dyld_insert_libraries',
      'aws_secret_access_key',
      'vault_token',
      'secrun_log_level',
    ];
    for (const field of fields) {
      const err = thrown(() => importNames([field], ''));
      assert.equal((err as RefError).code, 'ref.importProtected', field);
    }
    for (const name of ['PATH', 'ld_preload', 'Node_Options', 'AWS_REGION']) {
      assert.equal(isProtectedImportName(name), true, name);
    }
    for (const name of ['APP_PATH', 'PATHS', 'LANG', 'LC_ALL', 'DB_PASSWORD', 'NODEJS_VERSION']) {
      assert.equal(isProtectedImportName(name), false, name);
    }
  });

  test('when a prefix is given then the prefixed names are checked too', () => {
    assert.deepEqual(Object.fromEntries(importNames(['path', 'home'], 'APP_')), {
      path: 'APP_PATH',
      home: 'APP_HOME',
    });
    const err = thrown(() => importNames(['options', 'env'], 'NODE_'));
    assert.equal((err as RefError).code, 'ref.importProtected');
    assert.match(err.message, /field "options" would set NODE_OPTIONS/);
    assert.match(err.message, /choose another prefix/);
    assert.equal((thrown(() => importNames(['', 'x'], 'PATH')) as RefError).code, 'ref.importProtected');
  });

  test('when an import prefix is itself protected then collectRefs refuses it with the source exit code', () => {
    for (const [prefix, source, exitCode] of [
      ['LD_', 'flag', 64],
      ['ld_', 'flag', 64],
      ['AWS_', 'config', 78],
      ['VAULT_X', 'config', 78],
    ] as const) {
      const err = thrown(() =>
        collectRefs({
          env: {},
          scanEnv: true,
          explicit: [],
          imports: [{ ref: 'vault:secret/x', prefix, source }],
        }),
      );
      assert.ok(err instanceof ResolveError, prefix);
      assert.equal(err.failures[0]?.error.code, 'ref.importProtected', prefix);
      assert.equal(err.failures[0]?.error.exitCode, exitCode, prefix);
    }
  });

  test('when an explicit entry names a protected variable then it is allowed: the user named it', () => {
    const out = collectRefs({
      env: {},
      scanEnv: true,
      explicit: [
        { name: 'PATH', ref: 'vault:secret/x#path', source: 'flag' },
        { name: 'NODE_OPTIONS', ref: 'vault:secret/x#opts', source: 'config' },
      ],
      imports: [],
    });
    assert.deepEqual(out.refs.map((r) => r.variable).sort(), ['NODE_OPTIONS', 'PATH']);
  });

  test('when mergeImports is handed a protected name then it fails closed even if an explicit entry shadows it', () => {
    for (const explicit of [new Set<string>(), new Set(['LD_PRELOAD'])]) {
      const err = thrown(() =>
        mergeImports(explicit, [{ label: '--import', vars: new Map([['LD_PRELOAD', CANARY]]) }]),
      );
      assert.equal((err as RefError).code, 'ref.importProtected');
      assert.match(err.message, /--import would set LD_PRELOAD/);
      assert.ok(!err.message.includes(CANARY));
    }
  });
});

describe('messages do not repeat the reference', () => {
  test('when a field is missing then the ResolveError line shows the reference once', () => {
    const ref = parseRef('vault:secret/app#f');
    const cause = thrown(() => pickField({ a: '1', b: '2' }, ref.field, ref)) as NotFoundError;
    assert.equal(cause.message, 'no field "f"; the secret has fields "a", "b"');
    const line =
      new ResolveError([{ variable: 'DB', ref: ref.raw, error: cause }]).message.split('\n')[1] ?? '';
    assert.equal(line.split('vault:secret/app#f').length - 1, 1, line);
  });

  test('when any pickField or importValues error is raised then it does not start with the reference', () => {
    const r = (raw: string) => parseRef(raw);
    const errors = [
      thrown(() => pickField({ a: 1 }, undefined, r('vault:x'))),
      thrown(() => pickField({ a: null }, r('vault:x#a').field, r('vault:x#a'))),
      thrown(() => pickField('plain', r('awssm:x#a').field, r('awssm:x#a'))),
      thrown(() => pickField(new Uint8Array([0xff]), undefined, r('awssm:x'))),
      thrown(() => importValues('plain', { ref: r('awssm:x'), prefix: '' })),
      thrown(() => importNames(['a-b', 'a_b'], 'P_', 'vault:x')),
    ];
    for (const err of errors) {
      assert.ok(!/^(reference|import) "/.test(err.message), err.message);
      assert.ok(!err.message.includes('vault:x') && !err.message.includes('awssm:x'), err.message);
    }
  });

  test('when a plain-string secret is imported then the error says an import needs a JSON object', () => {
    const err = thrown(() => importValues('CANARY-plain', { ref: parseRef('awssm:plain/str'), prefix: '' }));
    assert.equal((err as NotFoundError).code, 'secret.notJson');
    assert.match(err.message, /^an import needs a secret that is a JSON object/);
    assert.match(err.message, /a plain string/);
    assert.ok(!err.message.includes('#(all fields)'), err.message);
    assert.ok(!err.message.includes('remove the #field'), err.message);
    assert.ok(!err.message.includes('CANARY'));
    const bin = thrown(() => importValues(new Uint8Array([0xff]), { ref: parseRef('awssm:x'), prefix: '' }));
    assert.match(bin.message, /^an import needs .* binary/);
    const num = thrown(() => importValues('5432', { ref: parseRef('awssm:x'), prefix: '' }));
    assert.match(num.message, /the secret is a JSON number/);
  });

  test('when a secret is malformed JSON or a JSON scalar then #field says it is not a JSON object, not a plain string', () => {
    const r = parseRef('awssm:x#a');
    const bad = thrown(() => pickField('{"a": CANARY', r.field, r));
    assert.equal((bad as NotFoundError).code, 'secret.notJson');
    assert.match(bad.message, /not a JSON object: it is text that starts like JSON but does not parse/);
    assert.ok(!bad.message.includes('plain string'));
    assert.ok(!bad.message.includes('CANARY'));
    const scalar = thrown(() => pickField('5432', r.field, r));
    assert.match(scalar.message, /is a JSON number, not a JSON object/);
    const plain = thrown(() => pickField('CANARY', r.field, r));
    assert.match(plain.message, /a plain string, not JSON/);
  });
});
