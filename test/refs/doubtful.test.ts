import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RefError, ResolveError } from '../../src/base/errors.ts';
import { argvReferences, collectRefs, embeddedScheme } from '../../src/refs/index.ts';

describe('references secrun would not resolve', () => {
  test('when a reference is written inside other text then its scheme is found, never the value', () => {
    assert.equal(embeddedScheme('jdbc:postgresql://db/app?user=app&password=vault:secret/db#pw'), 'vault:');
    assert.equal(embeddedScheme('key=awssm:prod/stripe#api_key'), 'awssm:');
    assert.equal(embeddedScheme('x arn:aws:secretsmanager:eu-west-1:1:secret:a'), 'arn:');
  });

  test('when a value is a whole reference, a template, a URL with a host named vault or plain text then it is not doubtful', () => {
    for (const v of [
      'vault:secret/db#pw',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: secrun template syntax, not JS
      'postgresql://${vault:database/creds/app#username}@db/app',
      'https://vault:8200',
      'http://vault.internal:8200/v1',
      'plain text',
      'user@vault:secret',
    ]) {
      assert.equal(embeddedScheme(v), undefined, v);
    }
  });

  test('when command arguments hold references then each is reported by position and scheme', () => {
    assert.deepEqual(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: secrun template syntax, not JS
      argvReferences(['app', '--password=vault:secret/db#pw', 'vault:x#y', 'ok', '${awssm:a}']),
      [
        { index: 1, scheme: 'vault:' },
        { index: 2, scheme: 'vault:' },
        { index: 4, scheme: 'template' },
      ],
    );
  });

  test('when the inherited environment holds a reference inside other text then collectRefs lists it and resolves nothing of it', () => {
    const c = collectRefs({
      env: {
        JDBC_URL: 'jdbc:x?password=vault:secret/db#pw',
        TYPO: 'valut:secret/db#pw',
        OK: 'vault:secret/db#pw',
      },
      scanEnv: true,
      explicit: [],
      imports: [],
    });
    assert.deepEqual(c.embedded, [{ variable: 'JDBC_URL', scheme: 'vault:' }]);
    assert.deepEqual(c.nearMisses, [{ variable: 'TYPO', scheme: 'vault:' }]);
    assert.deepEqual(
      c.refs.map((r) => r.variable),
      ['OK'],
    );
  });

  test('when a template placeholder has a mistyped scheme then it is a near miss, not silent literal text', () => {
    const c = collectRefs({
      env: {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: secrun template syntax, not JS
        ONLY: 'x ${valut:secret/db#user} y',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: secrun template syntax, not JS
        SPACED: '${ awsm:prod/db | url }',
        LITERAL: 'x $${valut:secret/db#user}',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not JS
        SHELL: '${HOME}/bin',
      },
      scanEnv: true,
      explicit: [],
      imports: [],
    });
    assert.deepEqual(c.nearMisses, [
      { variable: 'ONLY', scheme: 'vault:' },
      { variable: 'SPACED', scheme: 'awssm:' },
    ]);
    assert.deepEqual(c.templates, []);
    assert.deepEqual(c.refs, []);
  });
});

describe('failure table', () => {
  test('when a reference has a trailing space then it is shown quoted, so the space is visible', () => {
    const err = new ResolveError([
      { variable: 'DB', ref: 'vault:secret/db#pw ', error: new RefError('no field "pw "', 'ref.noField') },
    ]);
    assert.match(err.message, /DB {2}"vault:secret\/db#pw " {2}no field/);
    const plain = new ResolveError([{ variable: 'DB', ref: 'vault:secret/db#pw', error: new RefError('x') }]);
    assert.match(plain.message, /DB {2}vault:secret\/db#pw {2}x/);
  });
});
