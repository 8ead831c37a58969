import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { createProgram } from '../../src/cli.ts';
import { envText, flagAttribute, flagText, OPTIONS } from '../../src/config/options.ts';
import { configSchema } from '../../src/config/schema-gen.ts';
import { resolveSettings } from '../../src/config/settings.ts';

const noIo = {
  stdout: () => {},
  stderr: () => {},
  env: {},
  cwd: '/',
  stderrIsTty: false,
  stdinIsTty: false,
};

describe('the option table', () => {
  test('when the shipped schema is compared with the table then they are equal (run npm run schema)', () => {
    const shipped = JSON.parse(
      readFileSync(new URL('../../schema/secrun.schema.json', import.meta.url), 'utf8'),
    );
    assert.deepEqual(shipped, configSchema());
  });

  test('when flags, variables and file keys are listed then none is declared twice', () => {
    for (const [what, names] of [
      ['flag', OPTIONS.filter((o) => o.flag).map(flagText)],
      ['variable', OPTIONS.filter((o) => o.env).map(envText)],
      ['file key', OPTIONS.filter((o) => o.file).map((o) => o.file)],
      ['setting', OPTIONS.map((o) => o.setting)],
    ] as const) {
      assert.equal(new Set(names).size, names.length, `a ${what} is declared twice`);
    }
  });

  test('when each setting path is looked up in the resolved defaults then its parent object exists', () => {
    const settings = resolveSettings({ env: {}, flags: {} }) as unknown as Record<string, unknown>;
    for (const o of OPTIONS) {
      const keys = o.setting.split('.');
      keys.pop();
      const parent = keys.reduce<unknown>((at, k) => (at as Record<string, unknown>)?.[k], settings);
      assert.equal(typeof parent, 'object', o.setting);
    }
  });

  test('when the run and check commands are built then each table flag is a commander option of the same name', () => {
    const program = createProgram(noIo, { code: 0 });
    for (const name of ['run', 'check'] as const) {
      const cmd = program.commands.find((c) => c.name() === name);
      const longs = new Set(cmd?.options.map((o) => o.long));
      const attrs = new Set(cmd?.options.map((o) => o.attributeName()));
      for (const o of OPTIONS.filter((x) => x.flag && (x.commands ?? ['run', 'check']).includes(name))) {
        assert.ok(longs.has(flagText(o)), `${name} ${flagText(o)}`);
        assert.ok(attrs.has(flagAttribute(o)), `${name} ${flagAttribute(o)}`);
      }
    }
  });

  test('when a setting has a flag, a variable and a file key then flag > variable > file > default', () => {
    const o = OPTIONS.find((x) => x.setting === 'killTimeoutMs');
    assert.ok(o?.flag && o.env && o.file);
    const file = { kill_timeout: '1s' };
    const env = { [envText(o)]: '2s' };
    assert.equal(resolveSettings({ env: {}, flags: {} }).killTimeoutMs, 10_000);
    assert.equal(resolveSettings({ file, env: {}, flags: {} }).killTimeoutMs, 1000);
    assert.equal(resolveSettings({ file, env, flags: {} }).killTimeoutMs, 2000);
    assert.equal(resolveSettings({ file, env, flags: { [flagAttribute(o)]: '3s' } }).killTimeoutMs, 3000);
  });

  test("when a negated flag is absent then commander's true does not override the file", () => {
    const settings = resolveSettings({ file: { revoke: false }, env: {}, flags: { revoke: true } });
    assert.equal(settings.revoke, false);
    assert.equal(resolveSettings({ env: {}, flags: { revoke: false } }).revoke, false);
    assert.equal(resolveSettings({ env: { SECRUN_NO_REVOKE: 'true' }, flags: {} }).revoke, false);
  });
});
