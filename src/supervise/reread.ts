/**
 * Re-reads of documents during a run: requests made together share one read, a failed read is
 * retried with backoff, and a successful one is handed on to be applied.
 */
import { errorFields } from '../base/error-fields.ts';
import {
  type Resolution,
  type ResolvedDocument,
  type ResolveEntry,
  type ResolveImport,
  resolveAll,
} from '../resolve/resolve.ts';
import type { SuperviseContext } from './context.ts';
import { retryDelayMs } from './lease-schedule.ts';

export interface RereaderOptions {
  /** Every entry and import of the boot resolution; a re-read resolves those of the requested documents. */
  entries: ResolveEntry[];
  imports: ResolveImport[];
  /** The documents as last read, by key (kept current by the caller). */
  documents: ReadonlyMap<string, ResolvedDocument>;
  /** Applies a successful read of the documents `keys`. */
  apply(keys: Set<string>, read: Resolution, reason: string): void;
}

/** Batches, reads and retries the re-reads of one run. */
export class Rereader {
  readonly #ctx: SuperviseContext;
  readonly #o: RereaderOptions;
  /** Document key -> the reason it was asked for. */
  readonly #pending = new Map<string, string>();
  readonly #attempts = new Map<string, number>();
  #chain: Promise<void> = Promise.resolve();

  constructor(ctx: SuperviseContext, o: RereaderOptions) {
    this.#ctx = ctx;
    this.#o = o;
  }

  /** Settles once every read asked for so far has. */
  settled(): Promise<void> {
    return this.#chain;
  }

  /**
   * Re-reads the given documents (unknown keys are ignored). Calls made in the same tick share
   * one read. Resolves when that read has settled; never rejects.
   */
  refresh(keys: readonly string[], reason: string): Promise<void> {
    if (this.#ctx.finished) return Promise.resolve();
    for (const key of keys) if (!this.#pending.has(key)) this.#pending.set(key, reason);
    this.#chain = this.#chain.then(() => this.#flush()).catch(() => undefined);
    return this.#chain;
  }

  async #flush(): Promise<void> {
    const ctx = this.#ctx;
    const docs = this.#o.documents;
    if (ctx.finished || this.#pending.size === 0) return;
    const batch = new Map(this.#pending);
    this.#pending.clear();
    const keys = new Set([...batch.keys()].filter((k) => docs.has(k)));
    for (const k of batch.keys())
      if (!keys.has(k)) ctx.log.debug('refresh: not a document of this run', { key: k });
    if (keys.size === 0) return;
    const entries = this.#o.entries.filter((e) => keys.has(e.ref.documentKey));
    const imports = this.#o.imports.filter((i) => keys.has(i.ref.documentKey));
    const reason = [...new Set(batch.values())].join(', ');
    let read: Resolution;
    try {
      read = await resolveAll(entries, imports, ctx.registry, ctx.requestSignal());
    } catch (err) {
      if (!ctx.finished) this.#retry(keys, reason, err);
      return;
    }
    for (const k of keys) this.#attempts.delete(k);
    this.#o.apply(keys, read, reason);
  }

  #retry(keys: Set<string>, reason: string, err: unknown): void {
    const ctx = this.#ctx;
    const docs = this.#o.documents;
    const f = errorFields(err);
    let attempt = 1;
    for (const k of keys) attempt = Math.max(attempt, (this.#attempts.get(k) ?? 0) + 1);
    for (const k of keys) this.#attempts.set(k, attempt);
    const shortest = Math.min(...[...keys].map((k) => docs.get(k)?.lease?.duration || 60));
    const delay = retryDelayMs(attempt, shortest, ctx.random);
    for (const k of keys) {
      const d = docs.get(k);
      ctx.audit.record('secret.reread', {
        provider: d?.scheme,
        path: d?.path,
        ok: false,
        code: f.code,
        attempt,
      });
    }
    ctx.log.warn('could not read secrets again; retrying', {
      documents: [...keys].map((k) => docs.get(k)?.path ?? k),
      code: f.code,
      inMs: delay,
    });
    ctx.later(delay, () => void this.refresh([...keys], reason));
  }
}
