// biome-ignore-all lint/suspicious/noTemplateCurlyInString: secrun templates are ${...} text
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RefError } from '../../src/base/errors.ts';
import {
  applyFilter,
  isTemplate,
  parseTemplate,
  renderTemplate,
  TEMPLATE_FILTERS,
} from '../../src/refs/index.ts';

// Text with the characters the template grammar cares about.
const tricky = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      '$',
      '{',
      '}',
      '|',
      '${',
      '$${',
      ' ',
      'vault:',
      'awssm:',
      'x',
      '#',
      '/',
      '%7D',
      'url',
      '\u0000',
    ),
    fc.string({ unit: 'binary', maxLength: 1 }),
  ),
  maxLength: 40,
});

/**
 * Literal text that cannot start a placeholder: every `${` is escaped as `$${`. It never ends in `$`:
 * a `$` right before a placeholder would read as the `$${` escape.
 */
const literal = fc
  .string({ unit: fc.constantFrom('a', '$', '{', '}', '|', ' ', ':', 'vault:', '%'), maxLength: 12 })
  .map((t) => (t.endsWith('$') ? `${t}a` : t));
const escaped = (text: string): string => text.replaceAll('${', () => '$${');

const placeholder = fc.record({
  path: fc.constantFrom('secret/app', 'database/creds/app', 'kv/a-b'),
  field: fc.constantFrom('username', 'password', 'a%7Db'),
  filters: fc.array(fc.constantFrom(...TEMPLATE_FILTERS), { maxLength: 3 }),
});

test('when any text is parsed as a template then it returns (never throws) and every failure is a RefError', () => {
  fc.assert(
    fc.property(tricky, (text) => {
      const { template, failures } = parseTemplate(text);
      for (const f of failures) assert.ok(f.error instanceof RefError, f.error.code);
      assert.equal(template.parts.length, template.pieces.filter((p) => typeof p !== 'string').length);
    }),
    { numRuns: 2000 },
  );
});

test('when literal text (with ${ escaped) surrounds placeholders then rendering gives the text and the filtered values back', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(literal, placeholder, fc.string({ maxLength: 10 })), { minLength: 1, maxLength: 4 }),
      literal,
      (pieces, tail) => {
        let text = '';
        let expected = '';
        for (const [lit, ph, value] of pieces) {
          const filters = ph.filters.map((f) => ` | ${f}`).join('');
          text += `${escaped(lit)}\${vault:${ph.path}#${ph.field}${filters}}`;
          expected += lit + ph.filters.reduce((v, f) => applyFilter(f, v), value);
        }
        text += escaped(tail);
        expected += tail;
        // A value that starts with a scheme is a reference, never a template.
        fc.pre(!text.startsWith('vault:'));
        assert.ok(isTemplate(text));
        const { template, failures } = parseTemplate(text);
        assert.deepEqual(failures, []);
        assert.equal(template.parts.length, pieces.length);
        assert.equal(
          renderTemplate(template, (i) => pieces[i]?.[2] as string),
          expected,
        );
      },
    ),
    { numRuns: 1000 },
  );
});

test('when a value is filtered then the filter can be undone: url decodes, base64 decodes, json parses', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (value) => {
      const url = applyFilter('url', value);
      assert.match(url, /^([A-Za-z0-9._~-]|%[0-9A-F]{2})*$/);
      assert.equal(decodeURIComponent(url), value);
      assert.equal(Buffer.from(applyFilter('base64', value), 'base64').toString('utf8'), value);
      const body = applyFilter('json', value);
      assert.ok(!/(^|[^\\])"/.test(body), 'no unescaped quote');
      assert.equal(JSON.parse(`"${body}"`), value);
    }),
    { numRuns: 1000 },
  );
});
