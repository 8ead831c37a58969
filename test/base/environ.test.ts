import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { environmentSnapshot, parseEnviron } from '../../src/base/environ.ts';

describe('environmentSnapshot', () => {
  test('when read from /proc/self/environ then it equals process.env', () => {
    const copy = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined));
    assert.deepEqual(environmentSnapshot(), copy);
  });

  test('when a child starts with unusual names and values then its snapshot matches its process.env', () => {
    const env = {
      PATH: process.env['PATH'] ?? '',
      __proto__X: 'a',
      EMPTY: '',
      EQUALS: 'a=b==c',
      LINES: 'one\ntwo',
      UNICODE: 'pässwörd ✓',
    };
    const script =
      "import { environmentSnapshot } from './src/base/environ.ts';" +
      'const copy = Object.fromEntries(Object.entries(process.env));' +
      'process.stdout.write(JSON.stringify([environmentSnapshot(), copy]));';
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [snapshot, copy] = JSON.parse(r.stdout) as [Record<string, string>, Record<string, string>];
    assert.deepEqual(snapshot, copy);
    assert.equal(snapshot['LINES'], 'one\ntwo');
    assert.equal(snapshot['UNICODE'], 'pässwörd ✓');
  });

  test('when /proc cannot be read then process.env is copied', () => {
    const snapshot = environmentSnapshot(() => {
      throw Object.assign(new Error('no /proc'), { code: 'ENOENT' });
    });
    assert.equal(snapshot['PATH'], process.env['PATH']);
    assert.notEqual(snapshot, process.env);
  });

  test('when a name repeats then the first wins (getenv), and entries without a name are skipped', () => {
    const env = parseEnviron('A=1\0B=x=y\0A=2\0=nameless\0noequals\0__proto__=p\0');
    assert.deepEqual(Object.keys(env), ['A', 'B', '__proto__']);
    assert.equal(env['A'], '1');
    assert.equal(env['B'], 'x=y');
    assert.equal(Object.getPrototypeOf(env), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(env, '__proto__')?.value, 'p');
  });
});
