/**
 * The leases of one supervised run: every lease created is tracked, renewed by a
 * {@link LeaseKeeper} while in use, retired when a re-read replaces it, and revoked once no child
 * uses it (or at the end).
 */
import { errorFields } from '../base/error-fields.ts';
import { UnavailableError } from '../base/errors.ts';
import type { ResolvedDocument } from '../resolve/resolve.ts';
import { renewalFields, type SuperviseContext } from './context.ts';
import type { LeaseKeeper, ReplaceReason } from './lease-schedule.ts';

/** One lease created by this run. */
export interface TrackedLease {
  id: string;
  path: string;
  keeper?: LeaseKeeper;
  expiresAt?: number;
  /** Replaced by a re-read; revoked once no child uses it. */
  retired: boolean;
  revoked: boolean;
}

/** Tracks, renews, retires and revokes the leases of one run. */
export class LeaseTracker {
  readonly #ctx: SuperviseContext;
  readonly #reread: (docKey: string, reason: string) => void;
  readonly #leases = new Map<string, TrackedLease>();

  /** @param reread asks for a fresh lease: re-reads the document `docKey`. */
  constructor(ctx: SuperviseContext, reread: (docKey: string, reason: string) => void) {
    this.#ctx = ctx;
    this.#reread = reread;
    ctx.onEnd(() => {
      for (const lease of this.#leases.values()) lease.keeper?.stop();
    });
  }

  /** Number of leases created by this run. */
  get size(): number {
    return this.#leases.size;
  }

  /** Tracks the lease of a document and keeps it alive; a lease with no duration is only tracked. */
  track(doc: ResolvedDocument): void {
    const lease = doc.lease;
    if (!lease) return;
    // Recorded even after the end (a read that was in flight): every lease created is revoked.
    const tracked = this.#record(lease.id, doc.path, false);
    if (lease.duration <= 0 || this.#ctx.finished) return;
    const { audit, log } = this.#ctx;
    const keeper = this.#ctx.keeper({
      durationSec: lease.duration,
      renewable: lease.renewable,
      renew: async (increment, signal) => {
        const session = await this.#ctx.session();
        if (!session)
          throw new UnavailableError('no provider with leases to renew the lease with', 'lease.noProvider');
        return session.renewLease(lease.id, increment, signal);
      },
      onRenewed: (r, { askedSec, capped }) => {
        audit.record('lease.renew', {
          ok: true,
          leaseId: lease.id,
          path: doc.path,
          ...renewalFields(r, askedSec, capped),
        });
        if (capped) {
          log.info(
            `the lease of ${doc.path} cannot be extended past ${r.duration}s; it will be read again before it expires`,
            { leaseId: lease.id },
          );
        } else {
          log.debug('lease renewed', { path: doc.path, leaseId: lease.id, ttl: r.duration });
        }
      },
      onRenewFailed: (err, { attempt, plan }) => {
        const f = errorFields(err);
        audit.record('lease.renew', {
          leaseId: lease.id,
          path: doc.path,
          ok: false,
          attempt,
          code: f.code,
          next: plan.next,
        });
        log.warn(
          `could not renew the lease of ${doc.path}; ${plan.next === 'retry' ? 'retrying' : 'it will be read again'}`,
          { leaseId: lease.id, ...f, inMs: plan.delayMs },
        );
      },
      replace: (reason: ReplaceReason) => this.#reread(doc.key, `lease ${reason}`),
    });
    tracked.keeper = keeper;
    keeper.start();
  }

  /** Remembers the lease of a read that is not applied, so that it is revoked with the others. */
  retireUnused(doc: ResolvedDocument): void {
    if (doc.lease) this.#record(doc.lease.id, doc.path, true);
  }

  #record(id: string, path: string, retired: boolean): TrackedLease {
    const tracked: TrackedLease = { id, path, retired, revoked: false };
    this.#leases.set(id, tracked);
    return tracked;
  }

  /**
   * A document was read again: when its lease changed, retires the old one (stops renewing it,
   * keeps its expiry) and tracks the new one. Returns the retired lease, if any.
   */
  replace(old: ResolvedDocument | undefined, doc: ResolvedDocument): TrackedLease | undefined {
    const oldLease = old?.lease ? this.#leases.get(old.lease.id) : undefined;
    if (oldLease !== undefined && oldLease.id === doc.lease?.id) return undefined;
    if (oldLease) {
      oldLease.keeper?.stop();
      oldLease.expiresAt = oldLease.keeper?.expiresAt;
      oldLease.retired = true;
    }
    this.track(doc);
    return oldLease;
  }

  /** Leases replaced by re-reads and not revoked yet. */
  retired(): TrackedLease[] {
    return [...this.#leases.values()].filter((l) => l.retired && !l.revoked);
  }

  /** Revokes the given leases, or all not revoked yet; a failure is logged, never thrown. */
  async revoke(leases: readonly TrackedLease[] = [...this.#leases.values()]): Promise<void> {
    await Promise.all(leases.map((l) => this.#revoke(l)));
  }

  async #revoke(lease: TrackedLease): Promise<void> {
    if (lease.revoked) return;
    lease.revoked = true;
    lease.keeper?.stop();
    const { audit, log } = this.#ctx;
    try {
      const session = await this.#ctx.session();
      if (!session) return;
      await session.revokeLease(lease.id, this.#ctx.revokeSignal());
      audit.record('lease.revoke', { ok: true, leaseId: lease.id, path: lease.path });
      log.debug('lease revoked', { leaseId: lease.id, path: lease.path });
    } catch (err) {
      const f = errorFields(err);
      audit.record('lease.revoke', { leaseId: lease.id, path: lease.path, ok: false, code: f.code });
      log.warn(`could not revoke the lease of ${lease.path}`, { leaseId: lease.id, ...f });
    }
  }
}
