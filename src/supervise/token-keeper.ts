/**
 * Keeps the agent's Vault token alive for one run: renews it while it can be renewed, then logs
 * in again (when the auth method allows it) and has the leased documents read again, since
 * leases die with the token that created them.
 */
import { errorFields } from '../base/error-fields.ts';
import type { SessionProvider } from '../providers/provider.ts';
import { renewalFields, type SuperviseContext } from './context.ts';
import { type LeaseKeeper, retryDelayMs } from './lease-schedule.ts';

/** Renews and replaces the Vault token of one run. */
export class TokenKeeper {
  readonly #ctx: SuperviseContext;
  readonly #onRelogin: () => void;
  #keeper: LeaseKeeper | undefined;
  #warned = false;

  /** @param onRelogin called after each new login (to read the leased documents again). */
  constructor(ctx: SuperviseContext, onRelogin: () => void) {
    this.#ctx = ctx;
    this.#onRelogin = onRelogin;
    ctx.onEnd(() => this.#keeper?.stop());
  }

  /** Looks the token up and keeps it alive; a failure is logged, never thrown. */
  async start(): Promise<void> {
    const ctx = this.#ctx;
    try {
      const session = await ctx.session();
      if (!session || ctx.finished) return;
      const info = await session.lookupSelf(ctx.requestSignal());
      if (ctx.finished) return;
      if (info.ttl === 0 && info.expireTime === null) {
        ctx.log.debug('the Vault token does not expire; it is not renewed');
        return;
      }
      this.#keep(session, info.ttl, info.renewable);
    } catch (err) {
      if (ctx.finished) return;
      ctx.log.warn('could not look up the Vault token; it is not renewed', errorFields(err));
    }
  }

  #keep(session: SessionProvider, ttl: number, renewable: boolean): void {
    this.#keeper?.stop();
    if (this.#ctx.finished || ttl <= 0) return;
    const { audit, log } = this.#ctx;
    const keeper = this.#ctx.keeper({
      durationSec: ttl,
      renewable,
      renew: (increment, signal) => session.renewSelf(increment, signal),
      onRenewed: (r, { askedSec, capped }) => {
        audit.record('auth.renew', { ok: true, ...renewalFields(r, askedSec, capped) });
        log.debug('Vault token renewed', { ttl: r.duration, capped });
      },
      onRenewFailed: (err, { attempt, plan }) => {
        const f = errorFields(err);
        audit.record('auth.renew', { ok: false, attempt, code: f.code, next: plan.next });
        log.warn(
          `could not renew the Vault token; ${plan.next === 'retry' ? 'retrying' : 'logging in again'}`,
          {
            ...f,
            inMs: plan.delayMs,
          },
        );
      },
      replace: (reason) => void this.#relogin(session, reason, 1),
    });
    this.#keeper = keeper;
    keeper.start();
  }

  async #relogin(session: SessionProvider, reason: string, attempt: number): Promise<void> {
    const ctx = this.#ctx;
    if (ctx.finished) return;
    const expires = this.#keeper ? new Date(this.#keeper.expiresAt).toISOString() : 'soon';
    let info: Awaited<ReturnType<SessionProvider['relogin']>>;
    try {
      if (typeof session.relogin !== 'function') info = undefined;
      else info = await session.relogin(ctx.requestSignal());
    } catch (err) {
      if (ctx.finished) return;
      const f = errorFields(err);
      const delay = retryDelayMs(attempt, 60, ctx.random);
      ctx.audit.record('auth.relogin', { ok: false, attempt, code: f.code });
      ctx.log.warn('could not log in to Vault again; retrying', { ...f, inMs: delay });
      ctx.later(delay, () => void this.#relogin(session, reason, attempt + 1));
      return;
    }
    if (ctx.finished) return;
    if (info === undefined) {
      if (!this.#warned) {
        this.#warned = true;
        ctx.log.warn(
          `the Vault token cannot be renewed any more and expires at ${expires}; with token auth secrun cannot log in again, so leases and re-reads stop working then`,
        );
      }
      return;
    }
    ctx.audit.record('auth.relogin', {
      ok: true,
      method: info.method,
      accessor: info.accessor,
      policies: info.policies,
      ttl: info.leaseDuration,
      renewable: info.renewable,
      reason,
    });
    ctx.log.info(
      `logged in to Vault again (${info.method}): the previous token could not be renewed (${reason})`,
    );
    if (info.leaseDuration && info.leaseDuration > 0)
      this.#keep(session, info.leaseDuration, info.renewable ?? false);
    else void this.start();
    this.#onRelogin();
  }
}
