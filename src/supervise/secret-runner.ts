import { type Audit, noAudit } from '../base/audit.ts';
import { errorFields } from '../base/error-fields.ts';
import type { OnChange } from '../config/index.ts';
import { childOutput, maskerFactory } from '../launch/output.ts';
import { terminatingSignals } from '../launch/signals.ts';
import { type ChildExit, type Supervisor, startChild } from '../launch/supervisor.ts';
import type { Masker } from '../mask/index.ts';
import { secretPairs } from '../refs/index.ts';
import type { ResolvedDocument } from '../resolve/resolve.ts';
import { type ChangePlan, changedVariables, planChange } from './change-plan.ts';
import { ChangeScheduler, DEFAULT_COALESCE_MS, type PendingChange } from './change-scheduler.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS, SuperviseContext } from './context.ts';
import { systemClock } from './lease-schedule.ts';
import { LeaseTracker } from './leases.ts';
import type { SecretRunnerOptions } from './options.ts';
import { REISSUE_REASON, ReissueScheduler } from './reissue.ts';
import { Rereader } from './reread.ts';
import { revokeAtExit } from './revoke-at-exit.ts';
import { SecretState } from './secret-state.ts';
import { TokenKeeper } from './token-keeper.ts';

export type { SecretRunnerOptions } from './options.ts';
export { type ChangePlan, changedVariables, DEFAULT_COALESCE_MS, DEFAULT_REQUEST_TIMEOUT_MS, planChange };

/**
 * Exit code of the agent when `on_change: exit` stopped the child: 75 (EX_TEMPFAIL, "try again
 * later"), so an orchestrator that restarts only failed containers restarts this one too.
 */
export const EXIT_ON_CHANGE = 75;

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
  readonly #ctx: SuperviseContext;
  readonly #audit: Audit;
  readonly #perVariable: Map<string, OnChange>;
  readonly #leases: LeaseTracker;
  readonly #reissue: ReissueScheduler;
  readonly #token: TokenKeeper;
  readonly #rereads: Rereader;
  readonly #changes: ChangeScheduler;
  readonly #secrets: SecretState;
  readonly #newMasker: (values: Iterable<readonly [string, string]>) => Masker;
  /** The environment of the running child. */
  #childEnv: Record<string, string>;
  #masker: Masker | undefined;
  #supervisor: Supervisor | undefined;
  #starts = 0;
  #stopReason: string | undefined;
  #terminating: NodeJS.Signals | undefined;
  #exitRequested = false;
  #running = false;

  constructor(opts: SecretRunnerOptions) {
    this.#o = opts;
    this.#audit = opts.audit ?? noAudit;
    const ctx = new SuperviseContext({
      registry: opts.registry,
      logger: opts.logger,
      audit: this.#audit,
      clock: opts.clock ?? systemClock,
      random: opts.random ?? Math.random,
      requestTimeoutMs: opts.requestTimeoutMs,
    });
    this.#ctx = ctx;
    this.#perVariable = new Map(
      opts.settings.env.flatMap((e) => (e.onChange ? [[e.name, e.onChange] as const] : [])),
    );
    this.#changes = new ChangeScheduler(ctx, {
      coalesceMs: opts.coalesceMs ?? DEFAULT_COALESCE_MS,
      splayMs: opts.splayMs ?? opts.settings.splayMs,
      killTimeoutMs: opts.settings.killTimeoutMs,
      act: (change) => this.#act(change),
    });
    // Leases die with the token that created them: after a new login, read those documents again.
    this.#token = new TokenKeeper(ctx, () => {
      const leased = this.documents()
        .filter((d) => d.lease)
        .map((d) => d.key);
      if (leased.length > 0) void this.refresh(leased, 'relogin');
    });
    this.#leases = new LeaseTracker(ctx, (key, reason) => void this.refresh([key], reason));
    this.#reissue = new ReissueScheduler(ctx, (key, reason) => void this.refresh([key], reason));
    this.#secrets = new SecretState(ctx, {
      resolution: opts.resolution,
      entries: opts.entries,
      buildEnv: opts.buildEnv,
      ...(opts.buildFiles ? { buildFiles: opts.buildFiles } : {}),
      knownSecrets: opts.knownSecrets,
      leases: this.#leases,
      reissue: this.#reissue,
    });
    this.#rereads = new Rereader(ctx, {
      entries: opts.entries,
      imports: opts.imports,
      documents: this.#secrets.documents,
      apply: (keys, read, reason) => {
        const change = this.#secrets.apply(keys, read, reason);
        if (change) this.#changes.note(change.variables, reason, change.expiresAt);
      },
    });
    this.#newMasker = maskerFactory(opts.logger);
    this.#childEnv = this.#secrets.env;
  }

  /** The environment the running child was started with. */
  get childEnv(): Readonly<Record<string, string>> {
    return this.#childEnv;
  }

  /** The documents as last read (key, path, version, lease); never values. */
  documents(): ResolvedDocument[] {
    return [...this.#secrets.documents.values()];
  }

  /**
   * Re-reads the given documents (by `documentKey`; unknown keys are ignored) and, when the
   * environment the child would get changes, schedules the `on_change` action (coalesced,
   * splayed). Calls made in the same tick share one read. Resolves when that read has settled;
   * never rejects (a failed read is logged and retried with backoff).
   */
  refresh(keys: readonly string[], reason = 'watch'): Promise<void> {
    return this.#rereads.refresh(keys, reason);
  }

  /**
   * Starts the child and supervises it until it ends for good; then revokes (unless
   * `noRevoke`) every lease created and the login token, and resolves with the child's exit.
   */
  async run(): Promise<ChildExit> {
    if (this.#running) throw new Error('SecretRunner.run() called twice');
    this.#running = true;
    const o = this.#o;
    const log = this.#ctx.log;
    if (o.settings.mask) this.#masker = this.#maskerFor(this.#secrets.values);
    const unlisten = onTerminatingSignals((sig) => {
      this.#terminating ??= sig;
    });
    let stopWatch: (() => void | Promise<void>) | undefined;
    let exit: ChildExit;
    try {
      const supervised = startChild({
        file: o.file,
        args: o.args,
        ...(o.argv0 !== undefined ? { argv0: o.argv0 } : {}),
        ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
        env: this.#childEnv,
        files: this.#secrets.files,
        killTimeoutMs: o.settings.killTimeoutMs,
        ...(o.stopSignal ? { stopSignal: o.stopSignal } : {}),
        logger: log,
        ...(o.isTty !== undefined ? { isTty: o.isTty } : {}),
        ...(o.pid !== undefined ? { pid: o.pid } : {}),
        ...(this.#masker || o.outputTo ? { output: () => childOutput(this.#masker, o.outputTo) } : {}),
        onSupervisor: (s) => this.#attach(s),
      });
      for (const doc of this.#secrets.documents.values()) {
        this.#leases.track(doc);
        this.#reissue.track(doc);
      }
      void this.#token.start();
      try {
        stopWatch = o.watch?.((keys) => void this.refresh(keys, 'watch'));
      } catch (err) {
        log.warn('could not start watching for rotations', errorFields(err));
      }
      exit = await supervised;
    } finally {
      unlisten();
      this.#ctx.end();
    }
    try {
      await stopWatch?.();
    } catch (err) {
      log.warn('could not stop watching', errorFields(err));
    }
    await Promise.all([this.#rereads.settled(), this.#changes.settled()]);
    await revokeAtExit(this.#ctx, this.#leases, this.#noRevoke());
    if (this.#exitRequested && exit.stopped) {
      log.info(
        `the child was stopped because its secrets changed (on_change: exit); exiting ${EXIT_ON_CHANGE}`,
      );
      return { ...exit, exitCode: EXIT_ON_CHANGE };
    }
    return exit;
  }

  /** Audits the child's starts, stops and exits. */
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

  async #act(change: PendingChange): Promise<void> {
    if (this.#ctx.finished) return;
    const log = this.#ctx.log;
    const plan = planChange([...change.variables], {
      global: this.#o.settings.onChange,
      perVariable: this.#perVariable,
    });
    const reason = [...change.reasons].join(', ');
    const s = this.#supervisor;
    if (this.#terminating || !s?.running) {
      log.debug('secrets changed while the child is ending; nothing to do', { action: plan.action });
      return;
    }
    this.#audit.record('rotation.action', {
      action: plan.action,
      signals: plan.signals,
      variables: plan.variables,
      reason,
    });
    const expiring =
      reason.includes('lease') || reason.includes('relogin') || reason.includes(REISSUE_REASON);
    switch (plan.action) {
      case 'ignore':
        log[expiring ? 'warn' : 'info'](
          `on_change ignore: the child keeps its old values of ${plan.variables.join(', ')} until it is restarted${expiring ? '; they are about to expire' : ''}`,
        );
        return;
      case 'signal':
        for (const sig of plan.signals) s.signal(sig);
        log[expiring ? 'warn' : 'info'](
          `sent ${plan.signals.join(', ')} to the child; a running process cannot see new environment values, they take effect at its next start${expiring ? ' (its current credentials are about to expire)' : ''}`,
        );
        return;
      case 'exit':
        this.#exitRequested = true;
        this.#stopReason = 'exit';
        log.info(`secrets changed (${plan.variables.join(', ')}); on_change exit: stopping the child`);
        await s.stop();
        return;
      case 'restart':
        await this.#restart(s, plan);
        return;
    }
  }

  async #restart(s: Supervisor, plan: ChangePlan): Promise<void> {
    const env = this.#secrets.env;
    const files = this.#secrets.files;
    const values = new Map(this.#secrets.values);
    const obsolete = this.#leases.retired();
    if (this.#o.settings.mask) this.#masker = this.#maskerFor(values);
    this.#stopReason = 'restart';
    this.#ctx.log.info(`secrets changed (${plan.variables.join(', ')}); restarting the child`);
    await s.restart(env, files);
    this.#stopReason = undefined;
    this.#childEnv = env;
    if (this.#terminating) s.signal(this.#terminating);
    if (this.#noRevoke()) return;
    // The new child runs with the new credentials: the replaced leases are no longer used.
    await this.#leases.revoke(obsolete);
  }

  /** A masker for every value, each template's result and each of its parts. */
  #maskerFor(values: ReadonlyMap<string, string>): Masker {
    return this.#newMasker(secretPairs(values, this.#o.templates ?? []));
  }

  #noRevoke(): boolean {
    return this.#o.noRevoke ?? !this.#o.settings.revoke;
  }
}

/** Calls `fn` on SIGTERM, SIGINT and SIGQUIT until the returned function is called. */
function onTerminatingSignals(fn: (sig: NodeJS.Signals) => void): () => void {
  const listeners = [...terminatingSignals].map((sig) => [sig, () => fn(sig)] as const);
  for (const [sig, listener] of listeners) process.on(sig, listener);
  return () => {
    for (const [sig, listener] of listeners) process.removeListener(sig, listener);
  };
}

/**
 * Supervise mode with secrets (the agent's call): a {@link SecretRunner} run. Resolves with the
 * child's exit (exit code {@link EXIT_ON_CHANGE} after `on_change: exit`), once leases and the
 * login token are revoked (unless `noRevoke`). Never calls `process.exit`.
 */
export function superviseChild(opts: SecretRunnerOptions): Promise<ChildExit> {
  return new SecretRunner(opts).run();
}
