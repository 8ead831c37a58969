import assert from 'node:assert/strict';
import type { LookupFunction } from 'node:net';
import { describe, test } from 'node:test';
import {
  isLoopbackAddress,
  isLoopbackHost,
  loopbackOnlyLookup,
  NOT_LOOPBACK,
} from '../../src/providers/net.ts';

function fakeLookup(addresses: string[]): LookupFunction {
  return ((_h: string, _o: unknown, cb: (...a: unknown[]) => void) =>
    cb(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    )) as unknown as LookupFunction;
}

function run(
  lookup: LookupFunction,
  all: boolean,
): Promise<{ err: NodeJS.ErrnoException | null; out: unknown }> {
  return new Promise((resolve) => {
    lookup('vault.localhost', { all }, (err, out) => resolve({ err, out }));
  });
}

describe('loopback judged by address', () => {
  test('when an address is 127/8, ::1 or v4-mapped 127/8 then it is loopback; anything else is not', () => {
    for (const a of ['127.0.0.1', '127.255.0.9', '::1', '[::1]', '::ffff:127.0.0.1']) {
      assert.equal(isLoopbackAddress(a), true, a);
    }
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '0.0.0.0', '::', 'fe80::1', 'localhost', '128.0.0.1']) {
      assert.equal(isLoopbackAddress(a), false, a);
    }
    assert.equal(isLoopbackHost('app.localhost'), true, 'the name may be loopback; the lookup decides');
  });

  test('when a name resolves to loopback only then the lookup answers; one outside address refuses it', async () => {
    const ok = await run(loopbackOnlyLookup(fakeLookup(['127.0.0.1', '::1'])), false);
    assert.equal(ok.err, null);
    assert.equal(ok.out, '127.0.0.1');
    const okAll = await run(loopbackOnlyLookup(fakeLookup(['127.0.0.1'])), true);
    assert.deepEqual(okAll.out, [{ address: '127.0.0.1', family: 4 }]);
    const bad = await run(loopbackOnlyLookup(fakeLookup(['127.0.0.1', '192.0.2.7'])), false);
    assert.equal(bad.err?.code, NOT_LOOPBACK);
    assert.match(String(bad.err?.message), /vault\.localhost resolves to 192\.0\.2\.7/);
    const none = await run(loopbackOnlyLookup(fakeLookup([])), false);
    assert.equal(none.err?.code, NOT_LOOPBACK);
  });
});
