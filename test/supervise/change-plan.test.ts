import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { strongerAction } from '../../src/supervise/change-plan.ts';

describe('strongerAction', () => {
  test('when two actions meet then the stronger wins: exit > restart > signal > ignore', () => {
    const order = ['ignore', 'signal', 'restart', 'exit'] as const;
    for (const [i, a] of order.entries()) {
      for (const [j, b] of order.entries()) {
        assert.equal(strongerAction(a, b), order[Math.max(i, j)], `${a} vs ${b}`);
      }
    }
  });
});
