import assert from 'node:assert/strict';

/** Runs `fn`, which must throw, and returns what it threw (for asserting on fields). */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected an error');
}
