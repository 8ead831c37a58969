/**
 * What the parts of one supervised run share: logger, audit, clock, the Vault provider, the
 * request deadline, and the run's end — after which no timer fires and nothing new starts.
 */
import type { Audit } from '../base/audit.ts';
import { isPermanent } from '../base/error-fields.ts';
import type { Logger } from '../base/log.ts';
import { hasSession, type SessionProvider } from '../providers/provider.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import { type Clock, LeaseKeeper, type LeaseKeeperOptions, type Renewal } from './lease-schedule.ts';

/** Per-request deadline of renewals, re-reads and re-logins after boot (ms). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Deadline of a revocation when no request timeout is set (ms). */
const REVOKE_TIMEOUT_MS = 5000;

export interface SuperviseContextOptions {
  registry: Pick<ProviderRegistry, 'get' | 'closeAll' | 'loaded'>;
  logger: Logger;
  audit: Audit;
  clock: Clock;
  random: () => number;
  requestTimeoutMs: number | undefined;
}

/** Renewal fields of a `lease.renew` / `auth.renew` audit record. */
export function renewalFields(r: Renewal, askedSec: number, capped: boolean): Record<string, unknown> {
  return { ttl: r.duration, requested: askedSec, renewable: r.renewable, capped, warnings: r.warnings };
}

/** The shared context of one supervised run; {@link end} ends it. */
export class SuperviseContext {
  readonly registry: SuperviseContextOptions['registry'];
  readonly log: Logger;
  readonly audit: Audit;
  readonly clock: Clock;
  readonly random: () => number;
  readonly #requestTimeoutMs: number | undefined;
  readonly #abort = new AbortController();
  readonly #timers = new Set<unknown>();
  readonly #onEnd: (() => void)[] = [];
  #finished = false;

  constructor(o: SuperviseContextOptions) {
    this.registry = o.registry;
    this.log = o.logger;
    this.audit = o.audit;
    this.clock = o.clock;
    this.random = o.random;
    this.#requestTimeoutMs = o.requestTimeoutMs;
  }

  /** True once the child is gone for good. */
  get finished(): boolean {
    return this.#finished;
  }

  /** The deadline of one renewal, re-read or re-login; aborted at the end. */
  requestSignal(): AbortSignal {
    return AbortSignal.any([
      this.#abort.signal,
      AbortSignal.timeout(this.#requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
    ]);
  }

  /** The deadline of one revocation (which runs after the end). */
  revokeSignal(): AbortSignal {
    return AbortSignal.timeout(this.#requestTimeoutMs ?? REVOKE_TIMEOUT_MS);
  }

  /** The provider with a login and leases of its own (Vault), when this run loaded one. */
  async session(): Promise<SessionProvider | undefined> {
    for (const scheme of this.registry.loaded()) {
      const p = await this.registry.get(scheme);
      if (hasSession(p)) return p;
    }
    return undefined;
  }

  /** Runs `fn` after `ms` unless the run has ended by then. */
  later(ms: number, fn: () => void): void {
    if (this.#finished) return;
    const handle = this.clock.setTimeout(() => {
      this.#timers.delete(handle);
      if (!this.#finished) fn();
    }, ms);
    this.#timers.add(handle);
  }

  /** A {@link LeaseKeeper} on this run's clock whose renewals also get the request deadline. */
  keeper(o: Omit<LeaseKeeperOptions, 'clock' | 'random' | 'isPermanent'>): LeaseKeeper {
    return new LeaseKeeper({
      ...o,
      clock: this.clock,
      random: this.random,
      isPermanent,
      renew: (increment, signal) => o.renew(increment, AbortSignal.any([signal, this.requestSignal()])),
    });
  }

  /** Registers `fn` to run at the end, before requests in flight are aborted. */
  onEnd(fn: () => void): void {
    this.#onEnd.push(fn);
  }

  /** Ends the run: no timer fires any more, every `onEnd` runs, requests in flight are aborted. */
  end(): void {
    this.#finished = true;
    for (const handle of this.#timers) this.clock.clearTimeout(handle);
    this.#timers.clear();
    for (const fn of this.#onEnd) fn();
    this.#abort.abort();
  }
}
