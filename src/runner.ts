import { PassThrough, Transform, type Writable } from 'node:stream';
import { type Audit, noAudit } from './audit.ts';
import type { OnChange, Settings } from './config.ts';
import { ResolveError, toSecrunError, UnavailableError } from './errors.ts';
import {
  actionDelayMs,
  type Clock,
  LeaseKeeper,
  type Renewal,
  type ReplaceReason,
  retryDelayMs,
  systemClock,
} from './leases.ts';
import type { Logger } from './log.ts';
import { Masker } from './mask.ts';
import type { ProviderRegistry } from './providers/index.ts';
import type { Provider } from './providers/provider.ts';
import type { VaultProvider } from './providers/vault.ts';
import {
  type Resolution,
  type ResolvedDocument,
  type ResolveEntry,
  type ResolveImport,
  resolveAll,
} from './resolve.ts';
import { type ChildExit, type OutputStreams, runSupervised, type Supervisor } from './supervisor.ts';

/**
 * Exit code of the agent when `on_change: exit` stopped the child: 75 (EX_TEMPFAIL, "try again
 * later"), so an orchestrator that restarts only failed containers restarts this one too.
 */
export const EXIT_ON_CHANGE = 75;

/** Default window in which changes are merged into one action (ms). */
export const DEFAULT_COALESCE_MS = 1500;

/** Per-request deadline of renewals, re-reads and re-logins after boot (ms). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

const STRENGTH: Record<OnChange['action'], number> = { ignore: 0, signal: 1, restart: 2, exit: 3 };

/** What to do about one batch of changed variables. */
export interface ChangePlan {
  action: OnChange['action'];
  /** Distinct signals to send, in variable order (only for `signal`). */
  signals: NodeJS.Signals[];
  /** The changed variable names (sorted). */
  variables: string[];
}

/** Names whose value differs between two environments (added, removed or changed), sorted. */
export function changedVariables(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => before[n] !== after[n]).sort();
}

/**
 * The action for a set of changed variables: each variable's own `on_change` (config `env:`),
 * else the global one; the strongest wins (exit > restart > signal > ignore). When the winner is
 * `signal`, every distinct signal of the variables asking for one is sent.
 */
export function planChange(
  variables: readonly string[],
  policy: { global: OnChange; perVariable: ReadonlyMap<string, OnChange> },
): ChangePlan {
  let action: OnChange['action'] = 'ignore';
  const signals: NodeJS.Signals[] = [];
  for (const name of variables) {
    const p = policy.perVariable.get(name) ?? policy.global;
    if (STRENGTH[p.action] > STRENGTH[action]) action = p.action;
    if (p.action === 'signal' && !signals.includes(p.signal)) signals.push(p.signal);
  }
  return { action, signals: action === 'signal' ? signals : [], variables: [...variables].sort() };
}

/** Options of {@link SecretRunner} / {@link runSupervisedWithSecrets}. */
export interface SecretRunnerOptions {
  /** Absolute path of the program (from `resolveCommand`). */
  file: string;
  /** argv[0] (the command as typed). */
  argv0?: string;
  args: string[];
  cwd?: string;
  /** The boot resolution: values, documents and their leases. */
  resolution: Resolution;
  /** Every entry and import of the boot resolution; a re-read resolves those of the changed documents. */
  entries: ResolveEntry[];
  imports: ResolveImport[];
  /** Builds the child's environment from all values (the agent's `buildChildEnv` closure). */
  buildEnv: (values: ReadonlyMap<string, string>) => Record<string, string>;
  registry: Pick<ProviderRegistry, 'get' | 'closeAll' | 'loaded'>;
  settings: Pick<Settings, 'onChange' | 'env' | 'mask' | 'killTimeoutMs' | 'splayMs' | 'revoke'>;
  logger: Logger;
  audit?: Audit;
  /** Whether stdin is a terminal (signal forwarding). */
  isTty?: boolean;
  /** Keep leases and the login token at the end; default `!settings.revoke`. */
  noRevoke?: boolean;
  /** Random delay before acting on a change; default `settings.splayMs`. */
  splayMs?: number;
  /** Changes within this window become one action; default {@link DEFAULT_COALESCE_MS}. */
  coalesceMs?: number;
  /** Every secret value read gets added here (feed it to the audit stream's redaction backstop). */
  knownSecrets?: Set<string>;
  /**
   * Connects rotation watching: called once the child runs, with `refresh`; the returned
   * function is called (and awaited) when the child is gone, before anything is revoked.
   */
  watch?: (refresh: (keys: string[]) => void) => (() => void | Promise<void>) | undefined;
  /** Signal sent by a deliberate stop; default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** Where the child's (masked) output goes instead of our stdout/stderr (tests, embedding). */
  outputTo?: { stdout: Writable; stderr: Writable };
  /** Deadline of each renewal, re-read and re-login; default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  clock?: Clock;
  random?: () => number;
  /** The agent's pid (PID 1 warning); default `process.pid`. */
  pid?: number;
}

interface TrackedLease {
  id: string;
  docKey: string;
  path: string;
  keeper?: LeaseKeeper;
  expiresAt?: number;
  /** Replaced by a re-read; revoked once no child uses it. */
  retired: boolean;
  revoked: boolean;
}

interface PendingChange {
  variables: Set<string>;
  reasons: Set<string>;
  fireAt: number;
}

const TERMINATING: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT'];

function isVault(p: Provider): p is VaultProvider {
  return p.scheme === 'vault' && typeof (p as Partial<VaultProvider>).renewLease === 'function';
}

/** Failures that retrying cannot fix: everything but "unavailable" (network, 5xx, timeouts). */
function isPermanent(err: unknown): boolean {
  return !(toSecrunError(err) instanceof UnavailableError);
}

/** Code and one-line reason of a failure; for a ResolveError, those of its first cause. */
function errorFields(err: unknown): { code: string; reason: string } {
  let e = toSecrunError(err);
  if (e instanceof ResolveError && e.failures[0]) e = e.failures[0].error;
  return { code: e.code, reason: e.message.split('\n')[0] ?? e.code };
}

/**
 * Supervise mode with secrets: runs the child through the {@link Supervisor}, keeps its leases
 * and the agent's token alive, re-reads documents whose lease runs out (and those reported by
 * {@link refresh}), applies `on_change` when the environment the child would get differs,
 * masks its output, and on the way out revokes every lease it created and its login token.
 *
 * - A child that exits on its own is never restarted: {@link run} resolves with its exit.
 * - `exit` stops the child and resolves with exit code {@link EXIT_ON_CHANGE}.
 * - With `signal` or `ignore` the child keeps its old credentials, so the leases they came from
 *   are not revoked until a later restart replaces them (or the end).
 * - It never calls `process.exit`; the caller exits with `exit.exitCode`.
 */
export class SecretRunner {
  readonly #o: SecretRunnerOptions;
  readonly #log: Logger;
  readonly #audit: Audit;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #abort = new AbortController();
  readonly #perVariable: Map<string, OnChange>;
  readonly #entries: ResolveEntry[];
  readonly #imports: ResolveImport[];

  #values: Map<string, string>;
  #docs = new Map<string, ResolvedDocument>();
  #leases = new Map<string, TrackedLease>();
  /** The environment the next child start gets (latest values). */
  #desiredEnv: Record<string, string>;
  /** The environment of the running child. */
  #childEnv: Record<string, string>;
  #masker: Masker | undefined;
  #skippedWarned = new Set<string>();
  #supervisor: Supervisor | undefined;
  #starts = 0;
  #stopReason: string | undefined;
  #pendingKeys = new Map<string, string>();
  #retryAttempts = new Map<string, number>();
  #readChain: Promise<void> = Promise.resolve();
  #actionChain: Promise<void> = Promise.resolve();
  #change: PendingChange | undefined;
  #actionTimer: unknown;
  #timers = new Set<unknown>();
  #tokenKeeper: LeaseKeeper | undefined;
  #tokenWarned = false;
  #terminating: NodeJS.Signals | undefined;
  #exitRequested = false;
  #finished = false;
  #running = false;

  constructor(opts: SecretRunnerOptions) {
    this.#o = opts;
    this.#log = opts.logger;
    this.#audit = opts.audit ?? noAudit;
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? Math.random;
    this.#entries = opts.entries;
    this.#imports = opts.imports;
    this.#perVariable = new Map(
      opts.settings.env.flatMap((e) => (e.onChange ? [[e.name, e.onChange] as const] : [])),
    );
    this.#values = new Map(opts.resolution.values);
    this.#remember(this.#values);
    for (const doc of opts.resolution.documents) this.#docs.set(doc.key, doc);
    this.#desiredEnv = opts.buildEnv(this.#values);
    this.#childEnv = this.#desiredEnv;
  }

  /** The environment the running child was started with. */
  get childEnv(): Readonly<Record<string, string>> {
    return this.#childEnv;
  }

  /** The documents as last read (key, path, version, lease); never values. */
  documents(): ResolvedDocument[] {
    return [...this.#docs.values()];
  }

  /**
   * Re-reads the given documents (by `documentKey`; unknown keys are ignored) and, when the
   * environment the child would get changes, schedules the `on_change` action (coalesced,
   * splayed). Calls made in the same tick share one read. Resolves when that read has settled;
   * never rejects (a failed read is logged and retried with backoff).
   */
  refresh(keys: readonly string[], reason = 'watch'): Promise<void> {
    if (this.#finished) return Promise.resolve();
    for (const key of keys) if (!this.#pendingKeys.has(key)) this.#pendingKeys.set(key, reason);
    this.#readChain = this.#readChain.then(() => this.#flush()).catch(() => undefined);
    return this.#readChain;
  }

  /**
   * Starts the child and supervises it until it ends for good; then revokes (unless
   * `noRevoke`) every lease created and the login token, and resolves with the child's exit.
   */
  async run(): Promise<ChildExit> {
    if (this.#running) throw new Error('SecretRunner.run() called twice');
    this.#running = true;
    const o = this.#o;
    if (o.settings.mask) this.#masker = this.#buildMasker(this.#values);
    const onSignal = (sig: NodeJS.Signals) => () => {
      this.#terminating ??= sig;
    };
    const signalListeners = TERMINATING.map((sig) => [sig, onSignal(sig)] as const);
    for (const [sig, fn] of signalListeners) process.on(sig, fn);

    let stopWatch: (() => void | Promise<void>) | undefined;
    let exit: ChildExit;
    try {
      const supervised = runSupervised({
        file: o.file,
        args: o.args,
        ...(o.argv0 !== undefined ? { argv0: o.argv0 } : {}),
        ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
        env: this.#childEnv,
        killTimeoutMs: o.settings.killTimeoutMs,
        ...(o.stopSignal ? { stopSignal: o.stopSignal } : {}),
        logger: this.#log,
        ...(o.isTty !== undefined ? { isTty: o.isTty } : {}),
        ...(o.pid !== undefined ? { pid: o.pid } : {}),
        ...(this.#masker || o.outputTo ? { output: () => this.#outputStreams() } : {}),
        onSupervisor: (s) => this.#attach(s),
      });
      for (const doc of this.#docs.values()) this.#track(doc);
      void this.#startTokenKeeper();
      try {
        stopWatch = o.watch?.((keys) => void this.refresh(keys, 'watch'));
      } catch (err) {
        this.#log.warn('could not start watching for rotations', errorFields(err));
      }
      exit = await supervised;
    } finally {
      for (const [sig, fn] of signalListeners) process.removeListener(sig, fn);
      this.#finished = true;
      this.#stopTimers();
      this.#abort.abort();
    }
    try {
      await stopWatch?.();
    } catch (err) {
      this.#log.warn('could not stop watching', errorFields(err));
    }
    await Promise.all([this.#readChain, this.#actionChain]);
    await this.#cleanUp();
    if (this.#exitRequested && exit.stopped) {
      this.#log.info(
        `the child was stopped because its secrets changed (on_change: exit); exiting ${EXIT_ON_CHANGE}`,
      );
      return { ...exit, exitCode: EXIT_ON_CHANGE };
    }
    return exit;
  }

  // -------------------------------------------------------------------------------------------
  // Child

  #attach(s: Supervisor): void {
    this.#supervisor = s;
    s.on('start', (pid) => {
      this.#starts++;
      this.#audit.record('child.start', { pid, start: this.#starts });
    });
    s.on('exit', (exit) => {
      const fields = {
        exitCode: exit.exitCode,
        code: exit.code,
        signal: exit.signal,
        spawnError: exit.spawnError,
      };
      if (exit.stopped) {
        this.#audit.record('child.stop', {
          ...fields,
          reason: this.#stopReason ?? 'stop',
          forced: exit.forced,
        });
      } else {
        this.#audit.record('child.exit', fields);
      }
    });
  }

  #outputStreams(): OutputStreams {
    const masker = this.#masker;
    const o = this.#o;
    const stage = (which: 'stdout' | 'stderr'): Transform => {
      const inner = masker ? masker.createStream() : new PassThrough();
      if (!o.outputTo) return inner;
      const sink = o.outputTo[which];
      inner.on('data', (chunk: Buffer) => sink.write(chunk));
      // Everything goes to the sink; nothing is passed on to our own stdout/stderr.
      const outer = new Transform({
        transform(chunk: Buffer, _enc, done) {
          inner.write(chunk, () => done());
        },
        flush(done) {
          inner.once('end', () => done());
          inner.end();
        },
      });
      inner.on('error', (err) => outer.destroy(err));
      return outer;
    };
    return { stdout: stage('stdout'), stderr: stage('stderr') };
  }

  #buildMasker(values: ReadonlyMap<string, string>): Masker {
    const masker = new Masker([...values].map(([name, value]) => ({ name, value })));
    const fresh = masker.skipped.filter((n) => !this.#skippedWarned.has(n));
    if (fresh.length > 0) {
      for (const n of fresh) this.#skippedWarned.add(n);
      this.#log.warn(`not masking ${fresh.join(', ')}: values shorter than 4 characters are not masked`);
    }
    return masker;
  }

  // -------------------------------------------------------------------------------------------
  // Leases and token

  #signal(): AbortSignal {
    return AbortSignal.any([
      this.#abort.signal,
      AbortSignal.timeout(this.#o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
    ]);
  }

  async #vault(): Promise<VaultProvider | undefined> {
    if (!this.#o.registry.loaded().includes('vault')) return undefined;
    const p = await this.#o.registry.get('vault');
    return isVault(p) ? p : undefined;
  }

  #track(doc: ResolvedDocument): void {
    const lease = doc.lease;
    if (!lease) return;
    const tracked: TrackedLease = {
      id: lease.id,
      docKey: doc.key,
      path: doc.path,
      retired: false,
      revoked: false,
    };
    // Recorded even after the end (a read that was in flight): every lease created is revoked.
    this.#leases.set(lease.id, tracked);
    if (lease.duration <= 0 || this.#finished) return;
    const keeper = new LeaseKeeper({
      durationSec: lease.duration,
      renewable: lease.renewable,
      clock: this.#clock,
      random: this.#random,
      isPermanent,
      renew: async (increment, signal): Promise<Renewal> => {
        const vault = await this.#vault();
        if (!vault)
          throw new UnavailableError('no Vault provider to renew the lease with', 'lease.noProvider');
        return vault.renewLease(lease.id, increment, AbortSignal.any([signal, this.#signal()]));
      },
      onRenewed: (r, { askedSec, capped }) => {
        this.#audit.record('lease.renew', {
          ok: true,
          leaseId: lease.id,
          path: doc.path,
          ttl: r.duration,
          requested: askedSec,
          renewable: r.renewable,
          capped,
          warnings: r.warnings,
        });
        if (capped) {
          this.#log.info(
            `the lease of ${doc.path} cannot be extended past ${r.duration}s; it will be read again before it expires`,
            {
              leaseId: lease.id,
            },
          );
        } else {
          this.#log.debug('lease renewed', { path: doc.path, leaseId: lease.id, ttl: r.duration });
        }
      },
      onRenewFailed: (err, { attempt, plan }) => {
        const f = errorFields(err);
        this.#audit.record('lease.renew', {
          leaseId: lease.id,
          path: doc.path,
          ok: false,
          attempt,
          code: f.code,
          next: plan.next,
        });
        this.#log.warn(
          `could not renew the lease of ${doc.path}; ${plan.next === 'retry' ? 'retrying' : 'it will be read again'}`,
          {
            leaseId: lease.id,
            ...f,
            inMs: plan.delayMs,
          },
        );
      },
      replace: (reason: ReplaceReason) => {
        void this.refresh([doc.key], `lease ${reason}`);
      },
    });
    tracked.keeper = keeper;
    keeper.start();
  }

  async #startTokenKeeper(): Promise<void> {
    let vault: VaultProvider | undefined;
    try {
      vault = await this.#vault();
      if (!vault || this.#finished) return;
      const info = await vault.lookupSelf(this.#signal());
      if (this.#finished) return;
      if (info.ttl === 0 && info.expireTime === null) {
        this.#log.debug('the Vault token does not expire; it is not renewed');
        return;
      }
      this.#keepToken(vault, info.ttl, info.renewable);
    } catch (err) {
      if (this.#finished) return;
      this.#log.warn('could not look up the Vault token; it is not renewed', errorFields(err));
    }
  }

  #keepToken(vault: VaultProvider, ttl: number, renewable: boolean): void {
    this.#tokenKeeper?.stop();
    if (this.#finished || ttl <= 0) return;
    const keeper = new LeaseKeeper({
      durationSec: ttl,
      renewable,
      clock: this.#clock,
      random: this.#random,
      isPermanent,
      renew: (increment, signal) => vault.renewSelf(increment, AbortSignal.any([signal, this.#signal()])),
      onRenewed: (r, { askedSec, capped }) => {
        this.#audit.record('auth.renew', {
          ok: true,
          ttl: r.duration,
          requested: askedSec,
          renewable: r.renewable,
          capped,
          warnings: r.warnings,
        });
        this.#log.debug('Vault token renewed', { ttl: r.duration, capped });
      },
      onRenewFailed: (err, { attempt, plan }) => {
        const f = errorFields(err);
        this.#audit.record('auth.renew', { ok: false, attempt, code: f.code, next: plan.next });
        this.#log.warn(
          `could not renew the Vault token; ${plan.next === 'retry' ? 'retrying' : 'logging in again'}`,
          {
            ...f,
            inMs: plan.delayMs,
          },
        );
      },
      replace: (reason) => void this.#relogin(vault, reason, 1),
    });
    this.#tokenKeeper = keeper;
    keeper.start();
  }

  async #relogin(vault: VaultProvider, reason: string, attempt: number): Promise<void> {
    if (this.#finished) return;
    const expires = this.#tokenKeeper ? new Date(this.#tokenKeeper.expiresAt).toISOString() : 'soon';
    let info: Awaited<ReturnType<VaultProvider['relogin']>>;
    try {
      if (typeof vault.relogin !== 'function') info = undefined;
      else info = await vault.relogin(this.#signal());
    } catch (err) {
      if (this.#finished) return;
      const f = errorFields(err);
      const delay = retryDelayMs(attempt, 60, this.#random);
      this.#audit.record('auth.relogin', { ok: false, attempt, code: f.code });
      this.#log.warn('could not log in to Vault again; retrying', { ...f, inMs: delay });
      this.#later(delay, () => void this.#relogin(vault, reason, attempt + 1));
      return;
    }
    if (this.#finished) return;
    if (info === undefined) {
      if (!this.#tokenWarned) {
        this.#tokenWarned = true;
        this.#log.warn(
          `the Vault token cannot be renewed any more and expires at ${expires}; with token auth secrun cannot log in again, so leases and re-reads stop working then`,
        );
      }
      return;
    }
    this.#audit.record('auth.relogin', {
      ok: true,
      method: info.method,
      accessor: info.accessor,
      policies: info.policies,
      ttl: info.leaseDuration,
      renewable: info.renewable,
      reason,
    });
    this.#log.info(
      `logged in to Vault again (${info.method}): the previous token could not be renewed (${reason})`,
    );
    if (info.leaseDuration && info.leaseDuration > 0)
      this.#keepToken(vault, info.leaseDuration, info.renewable ?? false);
    else void this.#startTokenKeeper();
    // Leases die with the token that created them: read those documents again under the new one.
    const leased = [...this.#docs.values()].filter((d) => d.scheme === 'vault' && d.lease).map((d) => d.key);
    if (leased.length > 0) void this.refresh(leased, 'relogin');
  }

  #later(ms: number, fn: () => void): void {
    if (this.#finished) return;
    const handle = this.#clock.setTimeout(() => {
      this.#timers.delete(handle);
      if (!this.#finished) fn();
    }, ms);
    this.#timers.add(handle);
  }

  #stopTimers(): void {
    for (const handle of this.#timers) this.#clock.clearTimeout(handle);
    this.#timers.clear();
    this.#clock.clearTimeout(this.#actionTimer);
    this.#actionTimer = undefined;
    this.#tokenKeeper?.stop();
    for (const lease of this.#leases.values()) lease.keeper?.stop();
  }

  // -------------------------------------------------------------------------------------------
  // Re-reads

  #remember(values: ReadonlyMap<string, string>): void {
    const known = this.#o.knownSecrets;
    if (known) for (const v of values.values()) known.add(v);
  }

  async #flush(): Promise<void> {
    if (this.#finished || this.#pendingKeys.size === 0) return;
    const batch = new Map(this.#pendingKeys);
    this.#pendingKeys.clear();
    const keys = new Set([...batch.keys()].filter((k) => this.#docs.has(k)));
    for (const k of batch.keys())
      if (!keys.has(k)) this.#log.debug('refresh: not a document of this run', { key: k });
    if (keys.size === 0) return;
    const entries = this.#entries.filter((e) => keys.has(e.ref.documentKey));
    const imports = this.#imports.filter((i) => keys.has(i.ref.documentKey));
    const reasons = new Set(batch.values());
    let partial: Resolution;
    try {
      partial = await resolveAll(entries, imports, this.#o.registry, this.#signal());
    } catch (err) {
      if (this.#finished) return;
      const f = errorFields(err);
      let attempt = 1;
      for (const k of keys) attempt = Math.max(attempt, (this.#retryAttempts.get(k) ?? 0) + 1);
      for (const k of keys) this.#retryAttempts.set(k, attempt);
      const shortest = Math.min(...[...keys].map((k) => this.#docs.get(k)?.lease?.duration || 60));
      const delay = retryDelayMs(attempt, shortest, this.#random);
      for (const k of keys) {
        const d = this.#docs.get(k);
        this.#audit.record('secret.reread', {
          provider: d?.scheme,
          path: d?.path,
          ok: false,
          code: f.code,
          attempt,
        });
      }
      this.#log.warn('could not read secrets again; retrying', {
        documents: [...keys].map((k) => this.#docs.get(k)?.path ?? k),
        code: f.code,
        inMs: delay,
      });
      const retryReason = [...reasons].join(', ');
      this.#later(delay, () => void this.refresh([...keys], retryReason));
      return;
    }
    for (const k of keys) this.#retryAttempts.delete(k);
    this.#remember(partial.values);
    this.#applyRead(keys, partial, [...reasons].join(', '));
  }

  #applyRead(keys: Set<string>, partial: Resolution, reason: string): void {
    // Who owns each variable now; names owned by documents not re-read are left alone.
    const owner = new Map<string, string>();
    for (const doc of this.#docs.values()) for (const v of doc.variables) owner.set(v, doc.key);
    for (const e of this.#entries) if (!owner.has(e.variable)) owner.set(e.variable, e.ref.documentKey);

    const next = new Map(this.#values);
    for (const key of keys) for (const v of this.#docs.get(key)?.variables ?? []) next.delete(v);
    const updated: ResolvedDocument[] = [];
    for (const doc of partial.documents) {
      const kept = doc.variables.filter((v) => {
        const o = owner.get(v);
        return o === undefined || keys.has(o);
      });
      for (const v of kept) {
        const value = partial.values.get(v);
        if (value !== undefined) next.set(v, value);
      }
      updated.push({ ...doc, variables: kept });
    }

    let env: Record<string, string> | undefined;
    let failure: unknown;
    if (!this.#finished) {
      try {
        env = this.#o.buildEnv(next);
      } catch (err) {
        failure = err;
      }
    }
    if (env === undefined) {
      // Not applied: the new leases are only remembered, to be revoked with the others.
      for (const doc of updated) {
        if (doc.lease)
          this.#leases.set(doc.lease.id, {
            id: doc.lease.id,
            docKey: doc.key,
            path: doc.path,
            retired: true,
            revoked: false,
          });
      }
      if (failure !== undefined) {
        const f = errorFields(failure);
        this.#audit.record('secret.reread', {
          ok: false,
          code: f.code,
          reason,
          documents: updated.map((d) => d.path),
        });
        this.#log.warn(
          'the secrets read again do not make a valid environment; the child keeps the current one',
          f,
        );
      }
      return;
    }

    const replaced: TrackedLease[] = [];
    for (const doc of updated) {
      const old = this.#docs.get(doc.key);
      const oldLease = old?.lease ? this.#leases.get(old.lease.id) : undefined;
      const isNewLease = oldLease !== undefined && oldLease.id !== doc.lease?.id;
      if (oldLease && isNewLease) {
        oldLease.keeper?.stop();
        oldLease.expiresAt = oldLease.keeper?.expiresAt;
        oldLease.retired = true;
        replaced.push(oldLease);
      }
      this.#docs.set(doc.key, doc);
      this.#audit.record('secret.reread', {
        ok: true,
        provider: doc.scheme,
        path: doc.path,
        version: doc.version,
        leaseId: doc.lease?.id,
        ttl: doc.lease?.duration,
        renewable: doc.lease?.renewable,
        replacedLeaseId: isNewLease ? oldLease.id : undefined,
        reason,
      });
      if (oldLease === undefined || isNewLease) this.#track(doc);
    }
    this.#values = next;
    const changed = changedVariables(this.#desiredEnv, env);
    if (changed.length === 0) {
      this.#log.debug('secrets read again; the environment is unchanged', { reason });
      return;
    }
    this.#desiredEnv = env;
    this.#audit.record('rotation.detected', {
      reason,
      documents: updated.map((d) => ({
        provider: d.scheme,
        path: d.path,
        version: d.version,
        leaseId: d.lease?.id,
      })),
      variables: changed,
    });
    this.#log.info(`secrets changed: ${changed.join(', ')}`, { reason });
    const expiries = replaced.map((l) => l.expiresAt).filter((t): t is number => t !== undefined);
    this.#noteChange(changed, reason, expiries.length > 0 ? Math.min(...expiries) : undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Actions

  #noteChange(variables: string[], reason: string, expiresAt: number | undefined): void {
    const o = this.#o;
    const now = this.#clock.now();
    // Act before the credentials the child holds expire, leaving the kill timeout for the stop.
    const untilDeadlineMs = expiresAt === undefined ? undefined : expiresAt - now - o.settings.killTimeoutMs;
    const change = this.#change;
    if (change) {
      for (const v of variables) change.variables.add(v);
      change.reasons.add(reason);
      if (untilDeadlineMs === undefined || now + Math.max(0, untilDeadlineMs) >= change.fireAt) return;
      change.fireAt = now + Math.max(0, untilDeadlineMs);
    } else {
      const delay = actionDelayMs({
        coalesceMs: o.coalesceMs ?? DEFAULT_COALESCE_MS,
        splayMs: o.splayMs ?? o.settings.splayMs,
        random: this.#random,
        ...(untilDeadlineMs !== undefined ? { untilDeadlineMs } : {}),
      });
      this.#change = { variables: new Set(variables), reasons: new Set([reason]), fireAt: now + delay };
    }
    this.#clock.clearTimeout(this.#actionTimer);
    this.#actionTimer = this.#clock.setTimeout(
      () => this.#fire(),
      Math.max(0, (this.#change?.fireAt ?? now) - now),
    );
  }

  #fire(): void {
    this.#actionTimer = undefined;
    const change = this.#change;
    this.#change = undefined;
    if (!change || this.#finished) return;
    this.#actionChain = this.#actionChain
      .then(() => this.#act(change))
      .catch((err: unknown) => this.#log.error('could not apply on_change', errorFields(err)));
  }

  async #act(change: PendingChange): Promise<void> {
    if (this.#finished) return;
    const plan = planChange([...change.variables], {
      global: this.#o.settings.onChange,
      perVariable: this.#perVariable,
    });
    const reason = [...change.reasons].join(', ');
    const s = this.#supervisor;
    if (this.#terminating || !s?.running) {
      this.#log.debug('secrets changed while the child is ending; nothing to do', { action: plan.action });
      return;
    }
    this.#audit.record('rotation.action', {
      action: plan.action,
      signals: plan.signals,
      variables: plan.variables,
      reason,
    });
    const expiring = reason.includes('lease') || reason.includes('relogin');
    switch (plan.action) {
      case 'ignore':
        this.#log[expiring ? 'warn' : 'info'](
          `on_change ignore: the child keeps its old values of ${plan.variables.join(', ')} until it is restarted${expiring ? '; they are about to expire' : ''}`,
        );
        return;
      case 'signal':
        for (const sig of plan.signals) s.signal(sig);
        this.#log[expiring ? 'warn' : 'info'](
          `sent ${plan.signals.join(', ')} to the child; a running process cannot see new environment values, they take effect at its next start${expiring ? ' (its current credentials are about to expire)' : ''}`,
        );
        return;
      case 'exit':
        this.#exitRequested = true;
        this.#stopReason = 'exit';
        this.#log.info(`secrets changed (${plan.variables.join(', ')}); on_change exit: stopping the child`);
        await s.stop();
        return;
      case 'restart':
        await this.#restart(s, plan);
        return;
    }
  }

  async #restart(s: Supervisor, plan: ChangePlan): Promise<void> {
    const env = this.#desiredEnv;
    const values = new Map(this.#values);
    const obsolete = [...this.#leases.values()].filter((l) => l.retired && !l.revoked);
    if (this.#o.settings.mask) this.#masker = this.#buildMasker(values);
    this.#stopReason = 'restart';
    this.#log.info(`secrets changed (${plan.variables.join(', ')}); restarting the child`);
    await s.restart(env);
    this.#stopReason = undefined;
    this.#childEnv = env;
    if (this.#terminating) s.signal(this.#terminating);
    if (this.#noRevoke()) return;
    // The new child runs with the new credentials: the replaced leases are no longer used.
    await Promise.all(obsolete.map((l) => this.#revokeLease(l)));
  }

  // -------------------------------------------------------------------------------------------
  // The end

  #noRevoke(): boolean {
    return this.#o.noRevoke ?? !this.#o.settings.revoke;
  }

  async #revokeLease(lease: TrackedLease): Promise<void> {
    if (lease.revoked) return;
    lease.revoked = true;
    lease.keeper?.stop();
    try {
      const vault = await this.#vault();
      if (!vault) return;
      await vault.revokeLease(lease.id, AbortSignal.timeout(this.#o.requestTimeoutMs ?? 5000));
      this.#audit.record('lease.revoke', { ok: true, leaseId: lease.id, path: lease.path });
      this.#log.debug('lease revoked', { leaseId: lease.id, path: lease.path });
    } catch (err) {
      const f = errorFields(err);
      this.#audit.record('lease.revoke', { leaseId: lease.id, path: lease.path, ok: false, code: f.code });
      this.#log.warn(`could not revoke the lease of ${lease.path}`, { leaseId: lease.id, ...f });
    }
  }

  async #cleanUp(): Promise<void> {
    const registry = this.#o.registry;
    if (this.#noRevoke()) {
      if (this.#leases.size > 0 || registry.loaded().includes('vault')) {
        this.#log.info('--no-revoke: leases and the Vault token are left valid');
      }
      await registry.closeAll({ keepToken: true });
      return;
    }
    await Promise.all([...this.#leases.values()].map((l) => this.#revokeLease(l)));
    let method: string | undefined;
    try {
      method = (await this.#vault())?.authMethod;
    } catch {
      method = undefined;
    }
    await registry.closeAll();
    if (method !== undefined && method !== 'token') this.#audit.record('auth.revoke', { method });
  }
}

/**
 * Supervise mode with secrets (the agent's call): a {@link SecretRunner} run. Resolves with the
 * child's exit (exit code {@link EXIT_ON_CHANGE} after `on_change: exit`), once leases and the
 * login token are revoked (unless `noRevoke`). Never calls `process.exit`.
 */
export function runSupervisedWithSecrets(opts: SecretRunnerOptions): Promise<ChildExit> {
  return new SecretRunner(opts).run();
}
