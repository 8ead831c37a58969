import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MAX_TIMER_MS,
  registerDeadline,
  showDuration,
  startDeadline,
  timeLeft,
} from '../../src/base/deadline.ts';
import { createLogger } from '../../src/base/log.ts';
import {
  backoffMs,
  DEFAULT_MAX_ATTEMPTS,
  parseRetryAfter,
  retryWaitMs,
  withRetry,
} from '../../src/base/retry.ts';
import { createRetryAnnouncer } from '../../src/base/retry-log.ts';

class Retryable extends Error {}
const classify = (err: unknown) => ({ retry: err instanceof Retryable });

/** A fake clock and a sleep that advances it, aborting the controller at the deadline. */
function fakeTime(deadlineMs: number | undefined) {
  const clock = { now: 1_000_000 };
  const controller = new AbortController();
  if (deadlineMs !== undefined) registerDeadline(controller.signal, clock.now + deadlineMs);
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(ms);
    clock.now += ms;
    if (deadlineMs !== undefined && clock.now >= 1_000_000 + deadlineMs) {
      controller.abort();
      throw new Error('aborted');
    }
  };
  return { clock, signal: controller.signal, waits, sleep, now: () => clock.now };
}

describe('withRetry', () => {
  test('when the signal has a boot deadline and no limit is set then it retries until the deadline, each wait capped', async () => {
    const t = fakeTime(60_000);
    let attempts = 0;
    await assert.rejects(
      withRetry(
        async () => {
          attempts++;
          throw new Retryable('refused');
        },
        { signal: t.signal, classify, now: t.now, sleep: t.sleep, random: () => 0.999 },
      ),
      Retryable,
    );
    assert.ok(attempts > 10, `only ${attempts} attempts in 60 s`);
    assert.ok(Math.max(...t.waits) <= 5000, 'no single wait above the 5 s cap');
    assert.equal(
      t.waits.reduce((a, b) => a + b, 0),
      60_000,
      'the last wait ends at the deadline, not after it',
    );
  });

  test('when maxAttempts is set (VAULT_MAX_RETRIES) then it caps the tries even with a deadline', async () => {
    const t = fakeTime(60_000);
    let attempts = 0;
    await assert.rejects(
      withRetry(
        async () => {
          attempts++;
          throw new Retryable('x');
        },
        { maxAttempts: 3, signal: t.signal, classify, now: t.now, sleep: t.sleep },
      ),
    );
    assert.equal(attempts, 3);
  });

  test('when the signal has no deadline then it keeps the default of 4 tries', async () => {
    const t = fakeTime(undefined);
    let attempts = 0;
    await assert.rejects(
      withRetry(
        async () => {
          attempts++;
          throw new Retryable('x');
        },
        { classify, now: t.now, sleep: t.sleep },
      ),
    );
    assert.equal(attempts, DEFAULT_MAX_ATTEMPTS);
  });

  test('when an error is not retryable then it is thrown after one try', async () => {
    const t = fakeTime(60_000);
    let attempts = 0;
    await assert.rejects(
      withRetry(
        async () => {
          attempts++;
          throw new Error('denied');
        },
        { signal: t.signal, classify, now: t.now, sleep: t.sleep },
      ),
      /denied/,
    );
    assert.equal(attempts, 1);
  });

  test('when the server asks for a wait longer than what is left then the wait is clamped to the deadline', async () => {
    const t = fakeTime(51_000);
    const seen: Array<[number, number | undefined]> = [];
    await assert.rejects(
      withRetry(
        async () => {
          throw new Retryable('429');
        },
        {
          signal: t.signal,
          classify: () => ({ retry: true, afterMs: 10 ** 13 }),
          now: t.now,
          sleep: t.sleep,
          onRetry: (_e, _a, waitMs, leftMs) => seen.push([waitMs, leftMs]),
        },
      ),
    );
    assert.deepEqual(seen, [[51_000, 51_000]]);
  });

  test('when Retry-After is huge and the deadline is real then no TimeoutOverflowWarning is printed and it gives up at the deadline', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const deadline = startDeadline(150, '--timeout 150ms');
    let attempts = 0;
    try {
      await assert.rejects(
        withRetry(
          async () => {
            attempts++;
            throw new Retryable('429');
          },
          { signal: deadline.signal, classify: () => ({ retry: true, afterMs: 10 ** 13 }) },
        ),
      );
    } finally {
      deadline.dispose();
      await new Promise((r) => setImmediate(r));
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
    assert.equal(attempts, 1, 'the wait ran until the deadline instead of firing at once');
  });
});

describe('retry waits', () => {
  test('when backing off then the wait is uniform below min(cap, base * 2^(n-1))', () => {
    assert.equal(
      backoffMs(1, 250, 5000, () => 0.999),
      249,
    );
    assert.equal(
      backoffMs(3, 250, 5000, () => 0.5),
      500,
    );
    assert.equal(
      backoffMs(30, 250, 5000, () => 0.999),
      4995,
    );
    assert.equal(
      backoffMs(5000, 250, 5000, () => 0.5),
      2500,
      'a huge attempt number does not overflow',
    );
    assert.equal(
      backoffMs(3, 250, 5000, () => 0),
      0,
    );
  });

  test('when Retry-After is given then the jittered backoff is added, so a fleet does not come back at once', () => {
    assert.equal(
      retryWaitMs({ attempt: 2, afterMs: 1000, baseMs: 250, capMs: 5000, random: () => 0.5 }),
      1250,
    );
    assert.equal(retryWaitMs({ attempt: 2, afterMs: -5, baseMs: 250, capMs: 5000, random: () => 0 }), 0);
    assert.equal(
      retryWaitMs({ attempt: 1, afterMs: Number.POSITIVE_INFINITY, leftMs: 3000, baseMs: 250, capMs: 5000 }),
      3000,
    );
    assert.equal(
      retryWaitMs({ attempt: 1, afterMs: 10 ** 13, baseMs: 250, capMs: 5000, random: () => 0 }),
      60_000,
      'without a deadline a server cannot make the agent wait for days',
    );
  });

  test('when Retry-After is huge, a past date or junk then it parses to a safe timer value', () => {
    assert.equal(parseRetryAfter('2'), 2000);
    assert.equal(parseRetryAfter('99999999999999'), MAX_TIMER_MS);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2016, 0, 1)), 0);
    assert.equal(parseRetryAfter('-5'), 0, 'a negative value means now');
    assert.equal(parseRetryAfter('soon'), undefined);
  });
});

describe('deadline', () => {
  test('when started then time left counts down and the abort reason names the setting', async () => {
    let now = 5000;
    const d = startDeadline(20, '--timeout 20ms', () => now);
    assert.equal(timeLeft(d.signal, now), 20);
    now += 15;
    assert.equal(timeLeft(d.signal, now), 5);
    assert.equal(timeLeft(new AbortController().signal), undefined);
    await new Promise((resolve) => d.signal.addEventListener('abort', resolve, { once: true }));
    assert.equal((d.signal.reason as Error).message, 'deadline exceeded (--timeout 20ms)');
  });

  test('when stopped then the signal aborts with the given words', () => {
    const d = startDeadline(60_000, '--timeout 1m');
    d.stop('stopped by SIGTERM');
    assert.equal((d.signal.reason as Error).message, 'stopped by SIGTERM');
  });

  test('when a duration is shown then it reads as written', () => {
    assert.deepEqual([500, 60_000, 1500, 120_000, 90_000].map(showDuration), [
      '500ms',
      '1m',
      '1.5s',
      '2m',
      '90s',
    ]);
  });
});

describe('retry announcer', () => {
  test('when many requests wait for the same reason then one info line a second says what and when, with no value', () => {
    const lines: string[] = [];
    let now = 0;
    const logger = createLogger({ level: 'info', format: 'text', write: (l) => lines.push(l) });
    const announce = createRetryAnnouncer(logger, { now: () => now });
    for (let i = 0; i < 1000; i++) announce('Vault at https://v:8200 refused the connection', 1400, 51_200);
    announce('Vault at https://v:8200 is sealed (503)', 900, 50_000);
    now += 1000;
    announce('Vault at https://v:8200 refused the connection', 2300, 49_000);
    assert.equal(lines.length, 3, lines.join(''));
    assert.match(
      lines[0] ?? '',
      /Vault at https:\/\/v:8200 refused the connection; retrying in 1\.4 s, 51 s left/,
    );
    assert.match(lines[2] ?? '', /retrying in 2\.3 s, 49 s left/);
  });
});
