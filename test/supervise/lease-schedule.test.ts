import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { NotFoundError, UnavailableError } from '../../src/base/errors.ts';
import { actionDelayMs } from '../../src/supervise/change-scheduler.ts';
import {
  type Clock,
  graceMs,
  isCapped,
  LeaseKeeper,
  planAfterFailure,
  type Renewal,
  type ReplaceReason,
  renewDelayMs,
  rereadDelayMs,
  retryDelayMs,
} from '../../src/supervise/lease-schedule.ts';

/** A manual clock: timers fire only when the test advances time. */
class FakeClock implements Clock {
  t = 1_000_000;
  #seq = 0;
  timers: Array<{ at: number; fn: () => void; id: number }> = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  /** Moves time forward by `ms`, firing due timers in order and letting promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const next = [...this.timers].sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next || next.at > end) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    await settle();
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

const half = () => 0.5;
const ok = (duration: number, warnings: string[] = []): Renewal => ({ duration, renewable: true, warnings });

function keeper(
  clock: FakeClock,
  o: {
    durationSec: number;
    renewable?: boolean;
    renew?: (inc: number) => Promise<Renewal>;
    isPermanent?: (err: unknown) => boolean;
  },
) {
  const calls: Array<{ at: number; inc: number }> = [];
  const replaced: Array<{ at: number; reason: ReplaceReason }> = [];
  const k = new LeaseKeeper({
    durationSec: o.durationSec,
    renewable: o.renewable ?? true,
    clock,
    random: half,
    isPermanent: o.isPermanent ?? ((err) => !(err instanceof UnavailableError)),
    renew: (inc) => {
      calls.push({ at: clock.now(), inc });
      return (o.renew ?? (async (i: number) => ok(i)))(inc);
    },
    replace: (reason) => replaced.push({ at: clock.now(), reason }),
  });
  return { k, calls, replaced, t0: clock.now() };
}

describe('lease schedule math', () => {
  test('when a lease is fresh then renewal is due at 2/3 of it, give or take 5 %', () => {
    assert.equal(renewDelayMs(300, half), 200_000);
    assert.equal(
      renewDelayMs(3, () => 0),
      1850,
    );
    assert.equal(
      renewDelayMs(3, () => 1),
      2150,
    );
    assert.equal(renewDelayMs(0, half), 0);
  });

  test('when the grace period is drawn then it is 10 % to 20 % of the lease', () => {
    assert.equal(
      graceMs(100, () => 0),
      10_000,
    );
    assert.equal(
      graceMs(100, () => 1),
      20_000,
    );
    assert.equal(graceMs(100, half), 15_000);
  });

  test('when a non-renewable lease is scheduled then the re-read is at about 85 %, and at once once the grace has started', () => {
    assert.equal(rereadDelayMs(100_000, graceMs(100, half)), 85_000);
    assert.equal(
      rereadDelayMs(
        100_000,
        graceMs(100, () => 0),
      ),
      90_000,
    );
    assert.equal(
      rereadDelayMs(
        100_000,
        graceMs(100, () => 1),
      ),
      80_000,
    );
    assert.equal(rereadDelayMs(5_000, 15_000), 0);
  });

  test('when a renewal gives less than asked, warns, or is not renewable then it counts as capped', () => {
    assert.equal(isCapped(3600, ok(3600)), false);
    assert.equal(isCapped(3600, ok(1200)), true);
    assert.equal(isCapped(3600, ok(3600, ['TTL of "1h0m0s" exceeded the effective max_ttl'])), true);
    assert.equal(isCapped(3600, { duration: 3600, renewable: false, warnings: [] }), true);
    assert.equal(isCapped(3600, ok(7200)), false);
  });

  test('when retries repeat then the wait doubles from 1/30 of the lease up to a cap, with jitter', () => {
    const one = () => 1;
    assert.equal(retryDelayMs(1, 3600, one), 10_000, 'hour-long lease: 10 s like LifetimeWatcher');
    assert.equal(retryDelayMs(2, 3600, one), 20_000);
    assert.equal(retryDelayMs(20, 3600, one), 300_000, 'capped at 5 minutes');
    assert.equal(retryDelayMs(1, 3, one), 100, 'short leases start at 100 ms');
    assert.equal(retryDelayMs(10, 3, one), 750, 'and never wait more than a quarter of the lease');
    assert.equal(
      retryDelayMs(1, 3600, () => 0),
      5_000,
      'jitter keeps at least half the step',
    );
  });

  test('when a renewal fails then it is retried while the retry lands before the grace period, else re-read at its start', () => {
    const base = { now: 0, expiresAt: 100_000, grace: 15_000, durationSec: 100, random: () => 1 };
    assert.deepEqual(planAfterFailure({ ...base, attempt: 1, permanent: false }), {
      next: 'retry',
      delayMs: 3333,
    });
    assert.deepEqual(planAfterFailure({ ...base, now: 84_000, attempt: 1, permanent: false }), {
      next: 'replace',
      delayMs: 1000,
    });
    assert.deepEqual(planAfterFailure({ ...base, now: 90_000, attempt: 1, permanent: false }), {
      next: 'replace',
      delayMs: 0,
    });
    assert.deepEqual(planAfterFailure({ ...base, attempt: 1, permanent: true }), {
      next: 'replace',
      delayMs: 0,
    });
  });

  test('when a change is to be acted on then the delay is the window plus the splay, but never past the deadline', () => {
    assert.equal(actionDelayMs({ coalesceMs: 1500, splayMs: 0 }), 1500);
    assert.equal(actionDelayMs({ coalesceMs: 1500, splayMs: 10_000, random: half }), 6500);
    assert.equal(
      actionDelayMs({ coalesceMs: 1500, splayMs: 10_000, random: half, untilDeadlineMs: 2000 }),
      2000,
    );
    assert.equal(actionDelayMs({ coalesceMs: 1500, splayMs: 0, untilDeadlineMs: -5 }), 0);
  });

  test('when any lease and random draws are taken then renewal comes before the grace period, which ends before expiry', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (duration, r1, r2) => {
          const renew = renewDelayMs(duration, () => r1);
          const reread = rereadDelayMs(
            duration * 1000,
            graceMs(duration, () => r2),
          );
          return renew < reread && reread < duration * 1000;
        },
      ),
    );
  });
});

describe('LeaseKeeper', () => {
  test('when renewals succeed then each is at 2/3 of the lease and asks for the original duration', async () => {
    const clock = new FakeClock();
    const { k, calls, replaced, t0 } = keeper(clock, { durationSec: 300 });
    k.start();
    await clock.advance(199_999);
    assert.equal(calls.length, 0);
    await clock.advance(1);
    assert.deepEqual(calls, [{ at: t0 + 200_000, inc: 300 }]);
    await clock.advance(200_000);
    assert.equal(calls.length, 2);
    assert.equal(k.expiresAt, clock.now() + 300_000);
    assert.deepEqual(replaced, []);
    k.stop();
  });

  test('when Vault caps the renewal then it stops renewing and asks for a re-read once, inside the grace period', async () => {
    const clock = new FakeClock();
    const { k, calls, replaced, t0 } = keeper(clock, {
      durationSec: 300,
      renew: async () => ok(100, ['TTL of "5m0s" exceeded the effective max_ttl of "1m40s"']),
    });
    k.start();
    await clock.advance(1_000_000);
    assert.equal(calls.length, 1);
    // Renewed at 200 s, expires at 300 s; grace 15 % of 300 s = 45 s -> re-read at 255 s.
    assert.deepEqual(replaced, [{ at: t0 + 255_000, reason: 'capped' }]);
    assert.ok(replaced[0]!.at < k.expiresAt);
  });

  test('when renewal keeps failing then it retries with growing waits and asks for a re-read before the lease expires', async () => {
    const clock = new FakeClock();
    const { k, calls, replaced, t0 } = keeper(clock, {
      durationSec: 300,
      renew: async () => {
        throw new UnavailableError('server error (503)', 'vault.unavailable');
      },
    });
    k.start();
    await clock.advance(1_000_000);
    assert.ok(calls.length >= 3, `retried: ${calls.length}`);
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
    for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i]! >= gaps[i - 1]!, `gaps grow: ${gaps}`);
    assert.equal(replaced.length, 1);
    assert.equal(replaced[0]!.reason, 'renew-failed');
    assert.equal(replaced[0]!.at, t0 + 255_000, 'at the start of the grace period');
    assert.ok(calls.every((c) => c.at < t0 + 255_000));
  });

  test('when renewal fails for good (lease gone, past the max TTL) then the re-read is asked for at once', async () => {
    const clock = new FakeClock();
    const { k, calls, replaced, t0 } = keeper(clock, {
      durationSec: 300,
      renew: async () => {
        throw new NotFoundError('bad request (400): past the max TTL, cannot renew', 'vault.badRequest');
      },
    });
    k.start();
    await clock.advance(1_000_000);
    assert.equal(calls.length, 1);
    assert.deepEqual(replaced, [{ at: t0 + 200_000, reason: 'renew-failed' }]);
  });

  test('when the lease is not renewable then nothing is renewed and the re-read is at about 85 %', async () => {
    const clock = new FakeClock();
    const { k, calls, replaced, t0 } = keeper(clock, { durationSec: 300, renewable: false });
    k.start();
    await clock.advance(1_000_000);
    assert.equal(calls.length, 0);
    assert.deepEqual(replaced, [{ at: t0 + 255_000, reason: 'not-renewable' }]);
  });

  test('when a renewal says the lease is no longer renewable then the re-read follows', async () => {
    const clock = new FakeClock();
    const { k, replaced } = keeper(clock, {
      durationSec: 300,
      renew: async () => ({ duration: 300, renewable: false, warnings: [] }),
    });
    k.start();
    await clock.advance(1_000_000);
    assert.deepEqual(
      replaced.map((r) => r.reason),
      ['not-renewable'],
    );
  });

  test('when stopped then no renewal or re-read happens, also for a renewal in flight', async () => {
    const clock = new FakeClock();
    let release: (r: Renewal) => void = () => {};
    const { k, calls, replaced } = keeper(clock, {
      durationSec: 300,
      renew: () =>
        new Promise<Renewal>((resolve) => {
          release = resolve;
        }),
    });
    k.start();
    await clock.advance(200_000);
    assert.equal(calls.length, 1);
    k.stop();
    release(ok(10));
    await clock.advance(1_000_000);
    assert.equal(calls.length, 1);
    assert.deepEqual(replaced, []);
    assert.equal(k.done, true);
  });

  test('when the lease has no duration then it is left alone', async () => {
    const clock = new FakeClock();
    const { k, calls, replaced } = keeper(clock, { durationSec: 0 });
    k.start();
    await clock.advance(10_000_000);
    assert.equal(calls.length + replaced.length, 0);
    assert.equal(clock.timers.length, 0);
  });
});
