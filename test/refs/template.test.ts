// biome-ignore-all lint/suspicious/noTemplateCurlyInString: secrun templates are ${...} text
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExitCode, RefError, ResolveError } from '../../src/base/errors.ts';
import {
  applyFilter,
  collectRefs,
  isTemplate,
  parseTemplate,
  renderTemplate,
  renderValues,
  secretPairs,
  templateEntries,
  templatePartName,
  variableOf,
} from '../../src/refs/index.ts';

const DB_URL =
  'postgresql://${vault:database/creds/app#username}:${vault:database/creds/app#password | url}@db:5432/app';

/** Renders with the placeholders' values given in order. */
function render(text: string, values: string[]): string {
  const { template, failures } = parseTemplate(text);
  assert.deepEqual(failures, []);
  return renderTemplate(template, (i) => values[i] as string);
}

describe('isTemplate', () => {
  test('when a value contains ${ and a registered scheme then it is a template', () => {
    assert.ok(isTemplate(DB_URL));
    assert.ok(isTemplate('k=${awssm:prod/stripe#api_key}'));
    assert.ok(isTemplate('${ arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf#password }'));
    assert.ok(isTemplate('literal $${vault:x} only'), 'an escaped placeholder still makes a template');
  });

  test('when a value is a reference, has no placeholder or only shell-style ${NAME} then it is not', () => {
    assert.equal(isTemplate('vault:secret/app#x'), false);
    assert.equal(isTemplate('postgres://u:p@db/app'), false);
    assert.equal(isTemplate('${HOME}/bin:${PATH}'), false);
    assert.equal(isTemplate('vault:secret/${vault:x}'), false, 'a reference stays a reference');
    assert.equal(isTemplate('$vault:x'), false);
  });
});

describe('parseTemplate and renderTemplate', () => {
  test('when a template has two placeholders then they are replaced in order around the literal text', () => {
    assert.equal(
      render(DB_URL, ['v-app-1', 'p@ss:w/rd']),
      'postgresql://v-app-1:p%40ss%3Aw%2Frd@db:5432/app',
    );
    const { template } = parseTemplate(DB_URL);
    assert.deepEqual(
      template.parts.map((p) => [p.ref.documentKey, p.ref.field, p.filters]),
      [
        ['vault:database/creds/app', { kind: 'key', name: 'username' }, []],
        ['vault:database/creds/app', { kind: 'key', name: 'password' }, ['url']],
      ],
    );
  });

  test('when $${ is written then a literal ${ comes out, also before a scheme', () => {
    assert.equal(render('a$${vault:x}b${vault:s#k}', ['V']), 'a${vault:x}bV');
    assert.equal(render('$${HOME} ${vault:s#k} ${HOME}', ['V']), '${HOME} V ${HOME}');
  });

  test('when filters are chained then they apply left to right', () => {
    assert.equal(render('${vault:s#k | base64 | url}', ['??>']), 'Pz8%2B');
    assert.equal(render('${vault:s#k|json}', ['a"b\\c\n']), 'a\\"b\\\\c\\n');
  });

  test('when a reference needs } or | then it is percent-encoded inside the placeholder', () => {
    const { template, failures } = parseTemplate('${vault:secret/app#a%7Db%7Cc}');
    assert.deepEqual(failures, []);
    assert.deepEqual(template.parts[0]?.ref.field, { kind: 'key', name: 'a}b|c' });
  });

  test('when a filter is unknown or empty then each is a RefError (65) that names it and the known ones', () => {
    const { failures } = parseTemplate('x${vault:s#a | urll}y${vault:s#b |}z${vault:s#c | base64}');
    assert.deepEqual(
      failures.map((f) => [f.shown, f.error.code, f.error.exitCode]),
      [
        ['${vault:s#a | urll}', 'ref.unknownFilter', ExitCode.data],
        ['${vault:s#b |}', 'ref.unknownFilter', ExitCode.data],
      ],
    );
    assert.ok(failures.every((f) => f.error instanceof RefError));
    assert.match(failures[0]?.error.message ?? '', /unknown filter "urll".*url, base64, json/);
    assert.match(failures[1]?.error.message ?? '', /an empty filter/);
  });

  test('when placeholders are unterminated, nested, bad references or mistyped schemes then all are reported without the literal text', () => {
    const secretText = 'hunter2-literal';
    const cases: Array<[string, string]> = [
      [`${secretText}\${vault:s#k`, 'ref.badTemplate'],
      [`${secretText}\${vault:a#\${vault:b}}`, 'ref.badTemplate'],
      [`${secretText}\${vault:#k}`, 'ref.emptyPath'],
      [`${secretText}\${valut:s#k} \${vault:s#k}`, 'ref.unknownScheme'],
    ];
    for (const [text, code] of cases) {
      const { failures } = parseTemplate(text);
      assert.deepEqual(
        failures.map((f) => f.error.code),
        [code],
        text,
      );
      for (const f of failures) {
        assert.ok(!f.error.message.includes(secretText), f.error.message);
        assert.ok(!f.shown.includes(secretText));
      }
    }
  });
});

describe('filters', () => {
  test('when url-encoding then only unreserved characters stay and everything else is %XX', () => {
    assert.equal(
      applyFilter('url', "a-b._~!*'()@:/?#[]&=+$, %é"),
      'a-b._~%21%2A%27%28%29%40%3A%2F%3F%23%5B%5D%26%3D%2B%24%2C%20%25%C3%A9',
    );
  });

  test('when base64 or json then the UTF-8 bytes are encoded and the JSON string body has no quotes', () => {
    assert.equal(applyFilter('base64', 'é€'), Buffer.from('é€').toString('base64'));
    assert.equal(applyFilter('json', 'x"\u0001'), 'x\\"\\u0001');
  });
});

describe('template values', () => {
  test('when parts are resolved then renderValues drops the part names and adds the built variable', () => {
    const templates = [
      { variable: 'URL', template: parseTemplate('u=${vault:s#a}&p=${vault:s#b | url}').template },
    ];
    const entries = templateEntries(templates);
    assert.deepEqual(
      entries.map((e) => [e.variable, e.ref.raw]),
      [
        [templatePartName('URL', 0), 'vault:s#a'],
        [templatePartName('URL', 1), 'vault:s#b'],
      ],
    );
    assert.equal(variableOf(templatePartName('URL', 1)), 'URL');
    const values = new Map([
      ['OTHER', 'o'],
      [templatePartName('URL', 0), 'alice'],
      [templatePartName('URL', 1), 'a b'],
    ]);
    assert.deepEqual(
      [...renderValues(values, templates)],
      [
        ['OTHER', 'o'],
        ['URL', 'u=alice&p=a%20b'],
      ],
    );
    assert.deepEqual(secretPairs(values, templates), [
      ['OTHER', 'o'],
      ['URL', 'alice'],
      ['URL', 'a b'],
      ['URL', 'u=alice&p=a%20b'],
    ]);
  });
});

describe('collectRefs with templates', () => {
  test('when templates come from the environment, --env and the config then each is collected once, explicit first', () => {
    const out = collectRefs({
      env: { DATABASE_URL: DB_URL, PLAIN: '${HOME}/x', OVERRIDDEN: 'x${vault:s#k}' },
      scanEnv: true,
      explicit: [
        { name: 'OVERRIDDEN', ref: 'y${vault:s#other}', source: 'flag' },
        { name: 'CONF', ref: 'z${awssm:prod/stripe#api_key | json}', source: 'config' },
      ],
      imports: [],
    });
    assert.deepEqual(
      out.templates.map((t) => [t.variable, t.source, t.template.parts.map((p) => p.ref.raw)]),
      [
        ['OVERRIDDEN', 'flag', ['vault:s#other']],
        ['CONF', 'config', ['awssm:prod/stripe#api_key']],
        ['DATABASE_URL', 'env', ['vault:database/creds/app#username', 'vault:database/creds/app#password']],
      ],
    );
    assert.deepEqual(out.refs, []);
    assert.deepEqual([...out.refVariables].sort(), ['DATABASE_URL', 'OVERRIDDEN']);
  });

  test('when templates and references are bad then every failure is in the one error, never a literal', () => {
    let caught: unknown;
    try {
      collectRefs({
        env: { A: 'pw-literal-1${vault:s#k | rot13}', B: 'vault:' },
        scanEnv: true,
        explicit: [{ name: 'C', ref: 'pw-literal-2${vault:s#k', source: 'flag' }],
        imports: [],
      });
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof ResolveError);
    assert.deepEqual(
      caught.failures.map((f) => [f.variable, f.ref, f.error.code]),
      [
        ['C', '(template)', 'ref.badTemplate'],
        ['A', '${vault:s#k | rot13}', 'ref.unknownFilter'],
        ['B', 'vault:', 'ref.emptyPath'],
      ],
    );
    assert.equal(caught.exitCode, ExitCode.data);
    assert.ok(!caught.message.includes('pw-literal'), caught.message);
  });

  test('when --env is neither a reference nor a template then it is still refused', () => {
    const out = collectRefs({
      env: {},
      scanEnv: true,
      explicit: [{ name: 'X', ref: '${HOME}', source: 'flag' }],
      imports: [],
      deferErrors: true,
    });
    assert.deepEqual(
      out.failures.map((f) => f.error.code),
      ['ref.notAReference'],
    );
  });
});
