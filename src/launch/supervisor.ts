import { EventEmitter } from 'node:events';
import { readSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { isatty } from 'node:tty';
import { execa, type ResultPromise } from 'execa';
import { InternalError } from '../base/errors.ts';
import type { Logger } from '../base/log.ts';
import { FdFiles } from './fd-files.ts';
import { forwardedSignals, statusToExitCode, terminalSignals, terminatingSignals } from './signals.ts';

/** How a child ended. */
export interface ChildExit {
  /** The exit status, or null when it was killed by a signal or never started. */
  code: number | null;
  /** The signal that killed it, or null. */
  signal: NodeJS.Signals | null;
  /** What the agent exits with: `code`, 128 + signal number, or 127/126 when it could not start. */
  exitCode: number;
  /** True when the exit followed {@link Supervisor.stop}: a deliberate stop, not a crash. */
  stopped: boolean;
  /** True when the agent sent SIGKILL: {@link Supervisor.stop} had to escalate, or {@link Supervisor.kill}. */
  forced: boolean;
  /** errno code (`ENOENT`, `EACCES`) when the program could not be started at all. */
  spawnError?: string;
}

/** Streams the child's output passes through (e.g. secret masking) before reaching ours. */
export interface OutputStreams {
  stdout?: Duplex;
  stderr?: Duplex;
}

/** Options for {@link Supervisor}. */
export interface SupervisorOptions {
  /** Absolute path of the program, as returned by `resolveCommand`. */
  file: string;
  /** Arguments after argv[0]. */
  args?: string[];
  /** argv[0] for the program (the command as typed); default `file`. */
  argv0?: string;
  /** The child's complete environment; nothing of `process.env` is added. */
  env: Record<string, string>;
  cwd?: string;
  /** Sent by {@link Supervisor.stop}; default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** Time between the stop signal and SIGKILL; default 10000 ms. */
  killTimeoutMs?: number;
  /**
   * Called at every start; the returned streams receive the child's stdout/stderr and their
   * readable side is written to this process's stdout/stderr. Streams not returned are inherited.
   * If one fails, the child's pipe is closed rather than letting unfiltered output through.
   */
  output?: () => OutputStreams;
  /** After the child exits, how long to wait for piped output to drain; default 1000 ms. */
  outputGraceMs?: number;
  /**
   * Contents the child reads at /dev/fd/3, /dev/fd/4, ... (`fdPath`): fresh pipes at every start,
   * filled while the child runs. Call {@link Supervisor.prepare} before {@link Supervisor.start}.
   */
  files?: readonly (string | Uint8Array)[];
}

/** Events of a {@link Supervisor}. */
export interface SupervisorEvents {
  /** A child was spawned. */
  start: [pid: number];
  /** A child ended (also after a deliberate stop: see {@link ChildExit.stopped}). */
  exit: [exit: ChildExit];
}

const spawnNotFound = new Set(['ENOENT', 'ENOTDIR']);

const SPAWN_WORDS: Record<string, string> = {
  ENOENT: 'no such file, or its #! interpreter is missing',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOEXEC: 'not a program for this system (exec format error)',
  E2BIG: 'the arguments and environment are too large',
  ETXTBSY: 'the file is being written',
  ENOMEM: 'out of memory',
  EAGAIN: 'too many processes',
};

/** Plain words for why a program could not be started. */
function spawnWords(errno: string): string {
  return SPAWN_WORDS[errno] ?? 'the system refused to start it';
}

function delay(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Runs one child process at a time: start, signal, stop with a kill timeout, restart with a new
 * environment. It knows processes only, nothing about secrets.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly #opts: SupervisorOptions;
  #env: Record<string, string>;
  #files: readonly (string | Uint8Array)[];
  #fdFiles: FdFiles | undefined;
  #child: ResultPromise | undefined;
  #exited: Promise<ChildExit> | undefined;
  #running = false;
  #stopping: Promise<ChildExit> | undefined;
  #stopRequested = false;
  #forced = false;
  #restarting: Promise<ChildExit> | undefined;
  #shuttingDown = false;

  constructor(opts: SupervisorOptions) {
    super();
    this.#opts = opts;
    this.#env = opts.env;
    this.#files = opts.files ?? [];
  }

  /** Makes the pipes of the next start (when there are files); {@link restart} does it itself. */
  async prepare(): Promise<void> {
    this.#fdFiles?.close();
    this.#fdFiles = this.#files.length > 0 ? await FdFiles.create(this.#files) : undefined;
  }

  /** True while a child is alive (from {@link start} until its exit has been reported). */
  get running(): boolean {
    return this.#running;
  }

  /** The current child's pid, if it was spawned. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Resolves when the current child ends. Never rejects. */
  get exited(): Promise<ChildExit> {
    if (this.#exited === undefined) throw new InternalError('Supervisor.exited read before start()');
    return this.#exited;
  }

  /**
   * Spawns the child with exactly the configured environment (`extendEnv: false`) and stdin
   * inherited. A program that cannot be spawned does not throw: it ends with exit code 127
   * (ENOENT) or 126 (anything else), like tini.
   */
  start(): void {
    if (this.#running) throw new InternalError('Supervisor.start() while a child is running');
    if (this.#files.length > 0 && this.#fdFiles === undefined) {
      throw new InternalError('Supervisor.start() with files before prepare()');
    }
    const opts = this.#opts;
    const output = opts.output?.() ?? {};
    const files = this.#fdFiles;
    this.#fdFiles = undefined;
    // execa's types allow only fds 3-9 of the parent here; any open fd works (the read end of a pipe).
    const fileFds = (files?.childFds ?? []).map((fd) => ({ value: fd as 3, input: true }));
    const stdio = [
      'inherit',
      output.stdout ? 'pipe' : 'inherit',
      output.stderr ? 'pipe' : 'inherit',
      ...fileFds,
    ] as const;
    const child = execa(opts.file, opts.args ?? [], {
      argv0: opts.argv0 ?? opts.file,
      env: this.#env,
      extendEnv: false,
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      stdio,
      buffer: false,
      reject: false,
      // Forwarded signals must not escalate; only stop() does, with its own timer.
      forceKillAfterDelay: false,
      // execa's cleanup (signal-exit) would add listeners for many signals and act on some of
      // them; the agent handles signals itself and kills a live child on exit below.
      cleanup: false,
    });
    this.#child = child;
    this.#running = true;
    this.#stopRequested = false;
    this.#forced = false;
    this.#stopping = undefined;
    pipeOutput(child.stdout, output.stdout, process.stdout);
    pipeOutput(child.stderr, output.stderr, process.stderr);
    // If the agent exits (even on a crash) while the child lives, the child gets the stop signal.
    const onAgentExit = () => child.kill(opts.stopSignal ?? 'SIGTERM');
    process.on('exit', onAgentExit);
    files?.fill();
    this.#exited = this.#waitExit(child).finally(() => {
      process.removeListener('exit', onAgentExit);
      files?.close();
    });
    if (child.pid !== undefined) this.emit('start', child.pid);
  }

  async #waitExit(child: ResultPromise): Promise<ChildExit> {
    const exitEvent = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.nodeChildProcess.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const first = await Promise.race([
      exitEvent.then((status) => ({ status, result: undefined })),
      child.then((result) => ({ status: undefined, result })),
    ]);
    let exit: ChildExit;
    if (first.status !== undefined) {
      // Piped output may still be draining; a grandchild holding the pipe must not keep us waiting.
      const grace = delay(this.#opts.outputGraceMs ?? 1000);
      await Promise.race([child, grace.promise]);
      grace.cancel();
      exit = this.#toExit(first.status.code, first.status.signal);
    } else {
      const result = first.result;
      if (result.exitCode !== undefined || result.signal !== undefined) {
        exit = this.#toExit(result.exitCode ?? null, result.signal ?? null);
      } else {
        const errno = typeof result.code === 'string' ? result.code : 'EUNKNOWN';
        exit = {
          code: null,
          signal: null,
          exitCode: spawnNotFound.has(errno) ? 127 : 126,
          stopped: this.#stopRequested,
          forced: false,
          spawnError: errno,
        };
      }
    }
    this.#running = false;
    try {
      this.emit('exit', exit);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
    return exit;
  }

  #toExit(code: number | null, signal: NodeJS.Signals | null): ChildExit {
    return {
      code,
      signal,
      exitCode: statusToExitCode(code, signal),
      stopped: this.#stopRequested,
      forced: this.#forced,
    };
  }

  /**
   * Sends a signal to the current child, once, without escalation.
   * @returns false when there is no live child to signal.
   */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.#running || this.#child === undefined) return false;
    return this.#child.kill(sig);
  }

  /**
   * Sends SIGKILL to the current child; its exit is reported with `forced: true`.
   * @returns false when there is no live child to kill.
   */
  kill(): boolean {
    if (!this.#running || this.#child === undefined) return false;
    const sent = this.#child.kill('SIGKILL');
    if (sent) this.#forced = true;
    return sent;
  }

  /**
   * The agent itself is stopping: from now on {@link restart} (also one already under way) stops
   * the child but starts no new one, so a rotation never spawns a child only to see it killed.
   */
  shutDown(): void {
    this.#shuttingDown = true;
  }

  /** True once {@link shutDown} was called. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops the child deliberately: the stop signal, then SIGKILL if it is still alive after the
   * kill timeout. The exit is reported with `stopped: true`, so it is never read as a crash.
   * Resolves at once with the last exit when no child is running.
   */
  stop(): Promise<ChildExit> {
    if (this.#stopping !== undefined) return this.#stopping;
    if (!this.#running) return this.exited;
    this.#stopRequested = true;
    const child = this.#child!;
    const exited = this.exited;
    this.#stopping = (async () => {
      const timer = delay(this.#opts.killTimeoutMs ?? 10_000);
      child.kill(this.#opts.stopSignal ?? 'SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), timer.promise.then(() => true)]);
      timer.cancel();
      if (timedOut) this.kill();
      return exited;
    })();
    return this.#stopping;
  }

  /**
   * Stops the current child (if any) and starts a new one with `env` (and `files`, in fresh
   * pipes), unless {@link shutDown} was called by then: the stopped child's exit is then the last one.
   * @returns the stopped child's exit.
   */
  async restart(env: Record<string, string>, files?: readonly (string | Uint8Array)[]): Promise<ChildExit> {
    const run = (async () => {
      const previous = await this.stop();
      if (this.#shuttingDown) return previous;
      this.#env = env;
      if (files !== undefined) this.#files = files;
      await this.prepare();
      if (this.#shuttingDown) {
        this.#fdFiles?.close();
        this.#fdFiles = undefined;
        return previous;
      }
      this.start();
      return previous;
    })();
    this.#restarting = run;
    try {
      return await run;
    } finally {
      if (this.#restarting === run) this.#restarting = undefined;
    }
  }

  /** Resolves with the first exit that is not part of a {@link restart}. */
  async wait(): Promise<ChildExit> {
    for (;;) {
      const exit = await this.exited;
      const restarting = this.#restarting;
      if (restarting === undefined) return exit;
      await restarting.catch(() => undefined);
    }
  }
}

/**
 * Closes our end of the child's output socket (libuv gives the child a socketpair, not a pipe).
 * Closing a UNIX socket with unread data makes the writer's next write fail with ECONNRESET;
 * closing it empty makes it fail with EPIPE and SIGPIPE, as a closed pipe would. So what is
 * pending is read and dropped first, synchronously, right before the close.
 */
function closeUnread(stream: Duplex): void {
  stream.pause();
  const fd = (stream as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd === 'number' && fd >= 0) {
    const scratch = Buffer.allocUnsafe(65536);
    try {
      while (readSync(fd, scratch, 0, scratch.length, null) > 0);
    } catch {
      // EAGAIN: nothing left to read (the socket is non-blocking).
    }
  }
  stream.destroy();
}

/** Our own stdout/stderr once their reader went away: writes to them are dropped from then on. */
const deadOutputs = new WeakSet<NodeJS.WritableStream>();

function ignoreError(): void {}

/**
 * Pipes the child's output through a stage to ours. When the stage fails, or our own output's
 * reader goes away (`secrun run --mask ... | head -1`: EPIPE), the child's pipe is closed, so the
 * child sees EPIPE / SIGPIPE on its next write exactly as it would without secrun, and its exit
 * status is passed through as usual; the agent neither crashes nor passes anything on unfiltered.
 */
function pipeOutput(
  from: NodeJS.ReadableStream | null,
  through: Duplex | undefined,
  to: NodeJS.WritableStream,
): void {
  if (from === null || through === undefined) return;
  const closeChildSide = () => {
    from.unpipe(through);
    through.unpipe(to as NodeJS.WritableStream & Duplex);
    closeUnread(from as unknown as Duplex);
  };
  through.on('error', closeChildSide);
  const onOutputError = () => {
    if (!deadOutputs.has(to)) {
      deadOutputs.add(to);
      // A dead stdout stays dead: later writes (other children, final flushes) must not crash us.
      to.on('error', ignoreError);
    }
    closeChildSide();
  };
  if (deadOutputs.has(to)) {
    closeChildSide();
    return;
  }
  to.on('error', onOutputError);
  (from as unknown as Duplex).once('close', () => to.removeListener('error', onOutputError));
  from.pipe(through).pipe(to, { end: false });
}

/** The part of a {@link Supervisor} that signal forwarding needs. */
export interface SignalTarget {
  signal(sig: NodeJS.Signals): boolean;
}

/** Options for {@link forwardSignals}. */
export interface ForwardOptions {
  /**
   * True when stdin is a terminal. The child shares our process group, so the terminal already
   * sends it SIGINT, SIGQUIT and SIGWINCH; those are then not forwarded. Trade-off: on a TTY, a
   * `kill -INT` aimed at the agent alone does not reach the child (Node cannot tell who sent a
   * signal). The agent still catches them, so it outlives the child and reports its status.
   */
  isTty: boolean;
  /**
   * Called after each {@link terminatingSignals terminating signal} (SIGTERM, SIGINT, SIGQUIT) was
   * handled, also when it was not forwarded because the terminal had delivered it.
   */
  onTerminate?: (sig: NodeJS.Signals) => void;
}

/**
 * Installs explicit listeners for the {@link forwardedSignals} and forwards each signal to the
 * child exactly once. Explicit listeners are what makes this work as PID 1, where the kernel
 * applies no default action and Node's own SIGTERM handling leaves the agent running.
 * @returns a disposer removing the listeners (idempotent).
 */
export function forwardSignals(target: SignalTarget, opts: ForwardOptions): () => void {
  const listeners = new Map<NodeJS.Signals, () => void>();
  for (const sig of forwardedSignals) {
    const forward = !(opts.isTty && terminalSignals.has(sig));
    const terminating = terminatingSignals.has(sig);
    const listener = () => {
      if (forward) target.signal(sig);
      if (terminating) opts.onTerminate?.(sig);
    };
    listeners.set(sig, listener);
    process.on(sig, listener);
  }
  return () => {
    for (const [sig, listener] of listeners) process.removeListener(sig, listener);
    listeners.clear();
  };
}

/** Options for {@link startChild}. */
export interface StartChildOptions extends SupervisorOptions {
  /** Where warnings go. */
  logger: Logger;
  /** Whether stdin is a terminal; default `isatty(0)` (which, unlike `process.stdin`, opens nothing). */
  isTty?: boolean;
  /** Called once the supervisor exists, before the child starts (for restarts, lease renewal). */
  onSupervisor?: (supervisor: Supervisor) => void;
  /** The agent's pid; default `process.pid` (tests pass 1). */
  pid?: number;
}

let warnedPid1 = false;

/** `300ms`, `2s`, `1.5s`: a kill timeout as a person would write it. */
function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}

/**
 * Supervise mode: starts the child, forwards signals to it, and resolves with its exit once it
 * ends for good (restarts are followed). When the agent itself is told to stop (SIGTERM, SIGINT,
 * SIGQUIT), the signal is forwarded as usual and the first one starts the kill timer: a child
 * still alive `killTimeoutMs` later gets SIGKILL (logged once at warn), so the agent exits 137
 * before Docker's or Kubernetes' own grace period runs out. Later terminating signals are still
 * forwarded (a second Ctrl-C means "I mean it") but neither restart nor shorten the timer. On a
 * TTY the timer starts even for the SIGINT/SIGQUIT that are not forwarded (the terminal delivered
 * them); so a `kill -INT` aimed at the agent alone ends with SIGKILL for a child that never saw it.
 * A restart under way then starts no new child ({@link Supervisor.shutDown}).
 * The caller exits with `exit.exitCode`.
 */
export async function startChild(opts: StartChildOptions): Promise<ChildExit> {
  if ((opts.pid ?? process.pid) === 1 && !warnedPid1) {
    warnedPid1 = true;
    opts.logger.warn(
      'running as PID 1: orphaned processes will not be reaped; put an init in front ' +
        '(docker run --init, tini, or Kubernetes shareProcessNamespace)',
    );
  }
  const supervisor = new Supervisor(opts);
  opts.onSupervisor?.(supervisor);
  await supervisor.prepare();
  const killTimeoutMs = opts.killTimeoutMs ?? 10_000;
  let killTimer: NodeJS.Timeout | undefined;
  const clearKillTimer = () => clearTimeout(killTimer);
  const onTerminate = (sig: NodeJS.Signals) => {
    if (supervisor.shuttingDown) return;
    supervisor.shutDown();
    if (!supervisor.running) return;
    // Any exit from now on is the last one: shutDown() keeps a restart from starting a new child.
    supervisor.once('exit', clearKillTimer);
    killTimer = setTimeout(() => {
      const pid = supervisor.pid;
      if (supervisor.kill()) {
        opts.logger.warn(`child did not exit within ${formatMs(killTimeoutMs)} of ${sig}; sent SIGKILL`, {
          pid,
        });
      }
    }, killTimeoutMs);
    // The child's own handle keeps the agent alive while it runs; the timer alone must not.
    killTimer.unref();
  };
  const dispose = forwardSignals(supervisor, { isTty: opts.isTty ?? isatty(0), onTerminate });
  try {
    supervisor.start();
    const exit = await supervisor.wait();
    if (exit.spawnError !== undefined) {
      opts.logger.error(
        `could not start ${opts.argv0 ?? opts.file}: ${spawnWords(exit.spawnError)} (${exit.spawnError}); exit ${exit.exitCode}`,
        { path: opts.file },
      );
    }
    return exit;
  } finally {
    dispose();
    clearKillTimer();
    supervisor.removeListener('exit', clearKillTimer);
  }
}
