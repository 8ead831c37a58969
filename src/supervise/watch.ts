import type { Audit } from '../base/audit.ts';
import { SecrunError, toSecrunError, UnavailableError } from '../base/errors.ts';
import type { Logger } from '../base/log.ts';
import type { DocumentRequest, Provider } from '../providers/provider.ts';
import type { ProviderSource } from '../resolve/resolve.ts';

/** Timer functions, injectable for tests. Handles are opaque. */
export interface WatchTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * What to do with a document whose provider cannot tell its version without reading it (Vault
 * KV v1, a denied metadata / DescribeSecret call, a provider without `probe`):
 * `reread` reports it in every poll (the runner re-reads it and compares the environment the
 * child would get); `ignore` leaves it unwatched.
 */
export type UnknownVersionPolicy = 'reread' | 'ignore';

/** Options of {@link createWatcher}. */
export interface WatcherOptions {
  /** Where providers come from (the registry of the boot resolution). */
  registry: ProviderSource;
  /** The documents to watch (deduplicated by `key`); leased documents belong to lease renewal. */
  documents: readonly DocumentRequest[];
  /** Time between the end of one poll and the start of the next, ms. */
  intervalMs: number;
  /** Relative jitter of the interval, in [0, 1): 0.1 spreads it over ±10% (default 0.1). */
  jitter?: number;
  /** Deadline of one poll, ms; default `intervalMs` clamped to [5 s, 30 s]. */
  timeoutMs?: number;
  /**
   * Version tokens the child's values came from, by document key (`documentToken` of the boot
   * resolution's documents). A document with a token here is compared from the first poll on,
   * so a rotation between the boot read and the first poll is reported; a document without one
   * takes its baseline from its first successful probe (reported from the second on).
   */
  baseline?: ReadonlyMap<string, string | undefined>;
  /** Default `reread`. */
  unknown?: UnknownVersionPolicy;
  /** Called once per poll with every changed (or to-be-re-read) document key, in input order. */
  onChange: (keys: string[]) => void;
  /** Called for each document whose probe failed; the failure is never fatal. */
  onError?: (error: SecrunError, document: DocumentRequest) => void;
  logger: Logger;
  /** Receives `rotation.detected` for each version change (tokens and paths only). */
  audit?: Audit;
  timers?: WatchTimers;
  /** Random source in [0, 1) for the jitter. */
  random?: () => number;
}

/** A running (or stoppable) rotation watcher. */
export interface Watcher {
  /**
   * Starts polling. When some document has no baseline, a first poll runs at once to take it
   * (it reports only changes against `baseline`); then one poll per interval, never overlapping.
   */
  start(): void;
  /** Cancels the timer and the poll in flight; resolves when that poll has settled. */
  stop(): Promise<void>;
  /**
   * Runs a poll now (after the one in flight, if any) and resolves with the keys it reported to
   * `onChange`; `[]` once stopped.
   */
  checkNow(): Promise<string[]>;
}

interface KeyState {
  /** Last version token seen; undefined until the first successful probe with a token. */
  token?: string;
  /** Error code of the current run of failures, to log a failure once and its recovery. */
  failing?: string;
  unknownLogged?: boolean;
}

type ProbeOutcome = { token: string | undefined } | { error: SecrunError };

const defaultTimers: WatchTimers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/**
 * Creates a rotation watcher: it asks each document's provider for a version token
 * (`Provider.probe`: Vault KV v2 metadata, Secrets Manager DescribeSecret, never a secret value),
 * compares it with the last one seen and reports the changed keys in one `onChange` call per
 * poll, so the runner can re-read them and coalesce its action. All documents are probed in
 * parallel within a per-poll deadline. A failed probe is logged (once per run of failures,
 * without values) and keeps the last token: an outage is never reported as a change.
 */
export function createWatcher(opts: WatcherOptions): Watcher {
  if (!Number.isFinite(opts.intervalMs) || opts.intervalMs <= 0) {
    throw new TypeError(`intervalMs: expected a positive number of milliseconds, got ${opts.intervalMs}`);
  }
  const jitter = opts.jitter ?? 0.1;
  if (!(jitter >= 0 && jitter < 1)) throw new TypeError(`jitter: expected a number in [0, 1), got ${jitter}`);
  const timeoutMs = opts.timeoutMs ?? Math.min(30_000, Math.max(5_000, opts.intervalMs));
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError(`timeoutMs: expected a positive number of milliseconds, got ${timeoutMs}`);
  }
  const timers = opts.timers ?? defaultTimers;
  const random = opts.random ?? Math.random;
  const policy = opts.unknown ?? 'reread';
  const { logger } = opts;

  const documents: DocumentRequest[] = [];
  const state = new Map<string, KeyState>();
  for (const doc of opts.documents) {
    if (state.has(doc.key)) continue;
    documents.push(doc);
    const token = opts.baseline?.get(doc.key);
    state.set(doc.key, token === undefined ? {} : { token });
  }

  let started = false;
  let stopped = false;
  let timer: unknown;
  let inFlight: AbortController | undefined;
  let chain: Promise<unknown> = Promise.resolve();

  const nextDelay = (): number => Math.round(opts.intervalMs * (1 - jitter + 2 * jitter * random()));

  function schedule(): void {
    if (stopped) return;
    timer = timers.setTimeout(() => {
      timer = undefined;
      void run(false).finally(schedule);
    }, nextDelay());
  }

  function run(baselineOnly: boolean): Promise<string[]> {
    const p = chain.then(() => (stopped ? [] : poll(baselineOnly)));
    chain = p.catch(() => undefined);
    return p;
  }

  async function probeAll(signal: AbortSignal): Promise<Map<string, ProbeOutcome>> {
    const byScheme = new Map<DocumentRequest['scheme'], DocumentRequest[]>();
    for (const doc of documents) byScheme.set(doc.scheme, [...(byScheme.get(doc.scheme) ?? []), doc]);
    const outcomes = new Map<string, ProbeOutcome>();
    await Promise.all(
      [...byScheme].map(async ([scheme, docs]) => {
        let provider: Provider;
        try {
          provider = await untilAborted(opts.registry.get(scheme), signal);
        } catch (err) {
          for (const d of docs) outcomes.set(d.key, { error: pollError(err, signal, d) });
          return;
        }
        await Promise.all(
          docs.map(async (d) => {
            try {
              const token = provider.probe
                ? await untilAborted(provider.probe(d, signal), signal)
                : undefined;
              outcomes.set(d.key, { token });
            } catch (err) {
              outcomes.set(d.key, { error: pollError(err, signal, d) });
            }
          }),
        );
      }),
    );
    return outcomes;
  }

  async function poll(baselineOnly: boolean): Promise<string[]> {
    const controller = new AbortController();
    inFlight = controller;
    const deadline = timers.setTimeout(
      () => controller.abort(new Error(`poll took longer than ${timeoutMs} ms`)),
      timeoutMs,
    );
    let outcomes: Map<string, ProbeOutcome>;
    try {
      outcomes = await probeAll(controller.signal);
    } finally {
      timers.clearTimeout(deadline);
      if (inFlight === controller) inFlight = undefined;
    }
    if (stopped) return [];
    const changed: string[] = [];
    for (const doc of documents) {
      const outcome = outcomes.get(doc.key);
      const st = state.get(doc.key);
      if (!outcome || !st) continue;
      if ('error' in outcome) {
        failed(doc, st, outcome.error);
        continue;
      }
      if (st.failing !== undefined) {
        logger.info('watch: checking a document for changes works again', fields(doc));
        st.failing = undefined;
      }
      const token = outcome.token;
      if (token === undefined) {
        if (!st.unknownLogged) {
          st.unknownLogged = true;
          logger.debug(
            policy === 'reread'
              ? 'watch: the provider cannot tell this document version; it is re-read every interval'
              : 'watch: the provider cannot tell this document version; it is not watched',
            fields(doc),
          );
        }
        if (policy === 'reread' && !baselineOnly) changed.push(doc.key);
        continue;
      }
      if (st.token !== undefined && st.token !== token) {
        changed.push(doc.key);
        logger.info('watch: document changed', { ...fields(doc), from: st.token, to: token });
        opts.audit?.record('rotation.detected', {
          provider: doc.scheme,
          path: doc.path,
          document: doc.key,
          from: st.token,
          to: token,
        });
      }
      st.token = token;
    }
    if (changed.length > 0) {
      try {
        opts.onChange(changed);
      } catch (err) {
        logger.error('watch: the change handler failed', { code: toSecrunError(err).code });
      }
    }
    return changed;
  }

  function failed(doc: DocumentRequest, st: KeyState, error: SecrunError): void {
    const f = { ...fields(doc), code: error.code, reason: error.message };
    if (st.failing === error.code) logger.debug('watch: still cannot check a document for changes', f);
    else logger.warn('watch: cannot check a document for changes; keeping its last known version', f);
    st.failing = error.code;
    try {
      opts.onError?.(error, doc);
    } catch (err) {
      logger.error('watch: the error handler failed', { code: toSecrunError(err).code });
    }
  }

  return {
    start() {
      if (started || stopped) return;
      started = true;
      const needsBaseline = [...state.values()].some((s) => s.token === undefined);
      if (needsBaseline) void run(true).finally(schedule);
      else schedule();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      inFlight?.abort(new Error('the watcher was stopped'));
      await chain;
    },
    checkNow() {
      return run(false);
    },
  };
}

function fields(doc: DocumentRequest): Record<string, string> {
  return { provider: doc.scheme, path: doc.path, document: doc.key };
}

function pollError(err: unknown, signal: AbortSignal, doc: DocumentRequest): SecrunError {
  if (err instanceof SecrunError && err.code !== 'provider.deadline') return err;
  if (signal.aborted) {
    const why = signal.reason instanceof Error ? signal.reason.message : 'cancelled';
    return new UnavailableError(`gave up checking ${doc.path} for changes: ${why}`, 'provider.deadline', {
      path: doc.path,
    });
  }
  return toSecrunError(err);
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (a probe that ignores it). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
