import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RefError, ResolveError, SecrunError } from '../../src/base/errors.ts';
import { buildChildEnv } from '../../src/boot/child-env.ts';
import {
  collectRefs,
  importNames,
  isEnvRef,
  isProtectedImportName,
  nearMissScheme,
  parseRef,
  pickField,
} from '../../src/refs/index.ts';

const SCHEMES = [
  'vault:',
  'awssm:',
  'arn:aws:secretsmanager:',
  'arn:aws-cn:secretsmanager:',
  'arn:aws-us-gov:secretsmanager:',
];

// Strings with the characters the grammar cares about, so the parser's branches get exercised.
const tricky = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      '/',
      '?',
      '#',
      '&',
      '=',
      '%',
      '~',
      '.',
      ':',
      '0',
      '1',
      'a',
      'Z',
      '-',
      '_',
      '%2',
      '%23',
      '\u0000',
      '\uD800',
    ),
    fc.string({ unit: 'binary', maxLength: 1 }),
  ),
  maxLength: 40,
});

test('when any string follows a scheme then parseRef returns or throws a RefError, nothing else', () => {
  fc.assert(
    fc.property(fc.constantFrom(...SCHEMES), tricky, (scheme, rest) => {
      try {
        const ref = parseRef(scheme + rest);
        assert.ok(ref.documentKey.startsWith(`${ref.scheme}:`));
        assert.equal(ref.raw, scheme + rest);
      } catch (err) {
        assert.ok(err instanceof RefError, `unexpected ${String(err)}`);
        assert.match(err.code, /^ref\.[a-zA-Z]+$/);
      }
    }),
    { numRuns: 3000 },
  );
});

// Not env references: anything without a scheme, plus bare ARNs without #field or ?options.
const notRef = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }).filter((s) => !isEnvRef(s)),
  fc
    .stringMatching(/^[A-Za-z0-9/_+=.@-]{1,30}$/)
    .map((name) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}`),
);
const envName = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/).filter((n) => n !== '__proto__');

test('when a value is not a reference then collectRefs and buildChildEnv pass it through untouched', () => {
  fc.assert(
    fc.property(fc.dictionary(envName, notRef, { maxKeys: 10 }), (env) => {
      const before = { ...env };
      const collected = collectRefs({ env, scanEnv: true, explicit: [], imports: [] });
      assert.equal(collected.refs.length, 0);
      assert.equal(collected.refVariables.size, 0);
      const child = buildChildEnv({
        inherited: env,
        values: new Map(),
        refVariables: collected.refVariables,
        agentCredentials: [],
      });
      assert.deepEqual(child, { ...env });
      assert.deepEqual({ ...env }, before, 'inputs are not mutated');
      assert.notEqual(child, env);
    }),
  );
});

const segment = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
const fieldName = fc
  .string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 })
  .filter((s) => !/[\u0000-\u001f\u007f]/.test(s));
const enc = (s: string): string => encodeURIComponent(s);

test('when a valid vault reference is generated then path, version and field round-trip', () => {
  fc.assert(
    fc.property(
      fc.array(segment, { minLength: 1, maxLength: 5 }),
      fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined }),
      fc.option(
        fieldName.filter((f) => !f.startsWith('/')),
        { nil: undefined },
      ),
      fc.boolean(),
      (segments, version, field, slashes) => {
        const path = segments.join('/');
        const text =
          `vault:${slashes ? '/' : ''}${path}${slashes ? '/' : ''}` +
          (version === undefined ? '' : `?version=${version}`) +
          (field === undefined ? '' : `#${enc(field)}`);
        const ref = parseRef(text);
        assert.equal(ref.path, path);
        assert.deepEqual(ref.options, version === undefined ? {} : { version: String(version) });
        assert.deepEqual(ref.field, field === undefined ? undefined : { kind: 'key', name: field });
      },
    ),
  );
});

test('when a valid JSON pointer is generated then its tokens round-trip', () => {
  fc.assert(
    fc.property(fc.array(fieldName, { minLength: 1, maxLength: 4 }), (tokens) => {
      const pointer = tokens.map((t) => `/${t.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
      const ref = parseRef(`vault:secret/x#${enc(pointer)}`);
      assert.deepEqual(ref.field, { kind: 'pointer', tokens, text: pointer });
    }),
  );
});

test('when a valid awssm reference is generated then name, options and field round-trip', () => {
  fc.assert(
    fc.property(
      fc.stringMatching(/^[A-Za-z0-9/_+=.@-]{1,30}$/).filter((s) => !s.startsWith('arn:')),
      fc.option(
        fc.oneof(
          fc.record({ 'version-stage': fc.stringMatching(/^[A-Za-z0-9_]{1,20}$/) }),
          fc.record({ 'version-id': fc.uuid() }),
        ),
        { nil: undefined },
      ),
      fc.option(
        fieldName.filter((f) => !f.startsWith('/')),
        { nil: undefined },
      ),
      (name, options, field) => {
        const query = options ? `?${Object.entries(options).map(([k, v]) => `${k}=${v}`)[0]}` : '';
        const ref = parseRef(`awssm:${name}${query}${field === undefined ? '' : `#${enc(field)}`}`);
        assert.equal(ref.path, name);
        assert.deepEqual(ref.options, { ...options });
        assert.deepEqual(ref.field, field === undefined ? undefined : { kind: 'key', name: field });
      },
    ),
  );
});

test('when pickField fails then its message never contains a value (canaries)', () => {
  const canary = fc.stringMatching(/^[A-Za-z0-9]{6,12}$/).map((s) => `CANARY${s}`);
  fc.assert(
    fc.property(
      fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), canary, { minKeys: 0, maxKeys: 5 }),
      canary,
      fc.constantFrom('key', 'pointer', 'none', 'string', 'binary'),
      fc.stringMatching(/^[a-z]{1,6}$/),
      (doc, loose, mode, wanted) => {
        const secret = { ...doc, nested: { inner: loose }, nil: null };
        const ref = parseRef(
          `vault:x${mode === 'none' ? '' : mode === 'pointer' ? `#/nested/${wanted}` : `#${wanted}`}`,
        );
        let value: Record<string, unknown> | string | Uint8Array = secret;
        if (mode === 'string') value = loose;
        if (mode === 'binary') value = new Uint8Array([0xff, ...Buffer.from(loose)]);
        try {
          const out = pickField(value, ref.field, ref);
          assert.equal(typeof out, 'string');
        } catch (err) {
          assert.ok(err instanceof SecrunError, String(err));
          assert.ok(!err.message.includes('CANARY'), err.message);
          assert.ok(!JSON.stringify(err.toJSON()).includes('CANARY'));
        }
      },
    ),
    { numRuns: 500 },
  );
});

test('when a scheme is mistyped by one edit then nearMissScheme names it, and never flags a reference', () => {
  const letter = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz-'.split(''));
  const edit = fc.record({
    kind: fc.constantFrom('insert', 'delete', 'replace', 'swap'),
    at: fc.nat({ max: 5 }),
    letter,
  });
  fc.assert(
    fc.property(fc.constantFrom('vault', 'awssm'), edit, tricky, (scheme, e, rest) => {
      const at = Math.min(e.at, scheme.length - 1);
      let word = scheme;
      if (e.kind === 'insert') word = scheme.slice(0, at) + e.letter + scheme.slice(at);
      if (e.kind === 'delete') word = scheme.slice(0, at) + scheme.slice(at + 1);
      if (e.kind === 'replace') word = scheme.slice(0, at) + e.letter + scheme.slice(at + 1);
      if (e.kind === 'swap' && at + 1 < scheme.length)
        word = scheme.slice(0, at) + scheme[at + 1] + scheme[at] + scheme.slice(at + 2);
      fc.pre(/^[a-z]/.test(word));
      const value = `${word}:${rest}`;
      if (word === scheme) assert.equal(nearMissScheme(value), undefined, 'a reference is not a near miss');
      else assert.equal(nearMissScheme(value), `${scheme}:`, value);
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.constantFrom(...SCHEMES), tricky, (scheme, rest) => {
      assert.equal(nearMissScheme(scheme + rest), undefined);
    }),
  );
});

test('when an explicit value is not a reference then no failure text contains it (canaries)', () => {
  const canary = fc.stringMatching(/^[A-Za-z0-9:/@._-]{0,20}$/).map((s) => `CANARY${s}`);
  fc.assert(
    fc.property(
      canary,
      envName,
      fc.constantFrom('flag', 'config'),
      fc.boolean(),
      (value, name, source, badName) => {
        const variable = badName ? `1${name}` : name;
        try {
          collectRefs({
            env: {},
            scanEnv: true,
            explicit: [{ name: variable, ref: value, source }],
            imports: [{ ref: value, source }],
          });
          assert.fail('expected a ResolveError');
        } catch (err) {
          assert.ok(err instanceof ResolveError, String(err));
          assert.equal(err.exitCode, source === 'flag' ? 64 : 78);
          assert.ok(!err.message.includes('CANARY'), err.message);
          assert.ok(!JSON.stringify(err.toJSON()).includes('CANARY'));
        }
      },
    ),
  );
});

test('when fields are imported under any prefix then no protected variable name comes out', () => {
  const field = fc.string({ unit: 'grapheme-ascii', maxLength: 16 });
  const prefix = fc.oneof(
    fc.constant(''),
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/),
    fc.constantFrom('LD_', 'NODE_', 'PYTHON', 'ld_', 'AWS', 'SSL_CERT_'),
  );
  fc.assert(
    fc.property(fc.array(field, { maxLength: 6 }), prefix, (fields, pre) => {
      try {
        for (const name of importNames(fields, pre).values()) {
          assert.equal(isProtectedImportName(name), false, name);
        }
      } catch (err) {
        assert.ok(err instanceof RefError, String(err));
      }
    }),
    { numRuns: 1000 },
  );
});
