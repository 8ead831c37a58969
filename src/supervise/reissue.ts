/**
 * Certificates issued at boot (PKI `issue/` and `sign/`): each is issued again at about 2/3 of
 * its remaining lifetime, so the child is restarted (or signalled) with a fresh one well before
 * the old one expires. Issued documents are never polled: every read would issue another one.
 */
import type { ResolvedDocument } from '../resolve/resolve.ts';
import type { SuperviseContext } from './context.ts';
import { renewDelayMs } from './lease-schedule.ts';

/** The reason re-reads and `on_change` actions carry for a certificate issued again. */
export const REISSUE_REASON = 'certificate expiring';

/** Schedules the re-issue of every issued document, one timer per document (the latest issue). */
export class ReissueScheduler {
  readonly #ctx: SuperviseContext;
  readonly #reissue: (docKey: string, reason: string) => void;
  /** Latest issue per document: an older timer that fires finds a newer entry and does nothing. */
  readonly #current = new Map<string, object>();

  /** @param reissue reads the document `docKey` again (a new certificate). */
  constructor(ctx: SuperviseContext, reissue: (docKey: string, reason: string) => void) {
    this.#ctx = ctx;
    this.#reissue = reissue;
  }

  /** Schedules the next issue of `doc`, if it issued a credential; replaces an earlier schedule. */
  track(doc: ResolvedDocument): void {
    if (!doc.issued) return;
    const token = {};
    this.#current.set(doc.key, token);
    const remainingSec = Math.max(0, (doc.issued.expiresAt.getTime() - this.#ctx.clock.now()) / 1000);
    const delayMs = renewDelayMs(remainingSec, this.#ctx.random);
    this.#ctx.log.debug('certificate issued; it is issued again before it expires', {
      path: doc.path,
      serial: doc.issued.serial,
      expiresAt: doc.issued.expiresAt.toISOString(),
      inMs: delayMs,
    });
    this.#ctx.later(delayMs, () => {
      if (this.#current.get(doc.key) === token) this.#reissue(doc.key, REISSUE_REASON);
    });
  }
}
