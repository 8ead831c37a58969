import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  kvV2DataPath,
  MountCache,
  type MountInfo,
  parseMountInfo,
} from '../../../src/providers/vault/kv-mounts.ts';

const signal = new AbortController().signal;

describe('kvV2DataPath', () => {
  test('when a path is given CLI-style or API-style then both map to <mount>/data/<rest>', () => {
    assert.equal(kvV2DataPath('secret', 'secret/app/db'), 'secret/data/app/db');
    assert.equal(kvV2DataPath('secret', 'secret/data/app/db'), 'secret/data/app/db');
    assert.equal(kvV2DataPath('team/kv', 'team/kv/x'), 'team/kv/data/x');
    assert.equal(kvV2DataPath('secret', 'secret/database/x'), 'secret/data/database/x');
  });
});

describe('parseMountInfo', () => {
  test('when the preflight names a kv mount then the version is read from options', () => {
    assert.deepEqual(parseMountInfo({ path: 'secret/', type: 'kv', options: { version: '2' } }), {
      path: 'secret',
      type: 'kv',
      kvVersion: 2,
    });
    assert.equal(parseMountInfo({ path: 'kv/', type: 'kv', options: null })?.kvVersion, 1);
    assert.equal(parseMountInfo({ path: 'old/', type: 'generic' })?.kvVersion, 1);
    assert.equal(
      parseMountInfo({ path: 'database/', type: 'database', options: null })?.kvVersion,
      undefined,
    );
  });

  test('when the answer has no usable path then it is null', () => {
    for (const bad of [null, undefined, 'x', {}, { path: '' }, { path: '/' }])
      assert.equal(parseMountInfo(bad), null);
  });
});

describe('MountCache', () => {
  function counting(mounts: MountInfo[]) {
    const calls: string[] = [];
    const cache = new MountCache(async (path) => {
      calls.push(path);
      await new Promise((r) => setTimeout(r, 5));
      return mounts.find((m) => path === m.path || path.startsWith(`${m.path}/`)) ?? null;
    });
    return { cache, calls };
  }

  test('when paths on one mount are looked up concurrently then one lookup is made', async () => {
    const { cache, calls } = counting([{ path: 'secret', type: 'kv', kvVersion: 2 }]);
    const got = await Promise.all(
      ['secret/a', 'secret/b', 'secret/c/d'].map((p) => cache.resolve(p, signal)),
    );
    assert.deepEqual(
      got.map((m) => m?.path),
      ['secret', 'secret', 'secret'],
    );
    assert.equal(calls.length, 1);
    await cache.resolve('secret/e', signal);
    assert.equal(calls.length, 1);
  });

  test('when two mounts share a first segment then each gets its own lookup', async () => {
    const { cache, calls } = counting([
      { path: 'team/kv', type: 'kv', kvVersion: 2 },
      { path: 'team/db', type: 'database' },
    ]);
    const got = await Promise.all(
      ['team/kv/a', 'team/db/creds/x', 'team/kv/b'].map((p) => cache.resolve(p, signal)),
    );
    assert.deepEqual(
      got.map((m) => m?.path),
      ['team/kv', 'team/db', 'team/kv'],
    );
    assert.equal(calls.length, 2);
  });

  test('when a lookup fails then it is not cached', async () => {
    let n = 0;
    const cache = new MountCache(async () => {
      n++;
      if (n === 1) throw new Error('down');
      return { path: 'secret', type: 'kv', kvVersion: 2 };
    });
    await assert.rejects(cache.resolve('secret/a', signal), /down/);
    assert.equal((await cache.resolve('secret/a', signal))?.path, 'secret');
    assert.equal(n, 2);
  });

  test('when the preflight is denied (null) then the next path asks again', async () => {
    const { cache, calls } = counting([]);
    assert.equal(await cache.resolve('x/a', signal), null);
    assert.equal(await cache.resolve('x/b', signal), null);
    assert.equal(calls.length, 2);
  });
});
