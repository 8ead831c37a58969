import { constants } from 'node:os';
import { InternalError } from '../base/errors.ts';

/**
 * Signals the supervisor forwards to its child (design.md section 6). SIGTSTP, SIGTTIN and SIGTTOU
 * are left out on purpose: they keep their default action (stop), so Ctrl-Z on a terminal stops the
 * agent together with the child (both are in one process group) instead of leaving a stopped child
 * behind an agent that still runs. SIGKILL and SIGSTOP cannot be caught; SIGCHLD is the kernel's.
 */
export const forwardedSignals: readonly NodeJS.Signals[] = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
  'SIGCONT',
];

/**
 * Signals the terminal driver sends to the whole foreground process group: Ctrl-C (SIGINT),
 * Ctrl-\ (SIGQUIT) and a window resize (SIGWINCH). The child shares the agent's process group
 * (Node cannot hand it the terminal foreground as tini does), so on a TTY it already receives
 * these from the kernel, and forwarding them would deliver them twice.
 */
export const terminalSignals: ReadonlySet<NodeJS.Signals> = new Set<NodeJS.Signals>([
  'SIGINT',
  'SIGQUIT',
  'SIGWINCH',
]);

/**
 * Signals that tell the agent itself to stop: SIGTERM (`docker stop`, Kubernetes), SIGINT (Ctrl-C)
 * and SIGQUIT (Ctrl-\). Besides being forwarded, the first one starts the kill timer: a child still
 * alive after the kill timeout gets SIGKILL. The other forwarded signals (HUP, USR1, USR2, WINCH,
 * CONT) are commands for the child and are only forwarded.
 */
export const terminatingSignals: ReadonlySet<NodeJS.Signals> = new Set<NodeJS.Signals>([
  'SIGTERM',
  'SIGINT',
  'SIGQUIT',
]);

/** The signal's number on this platform (`os.constants.signals`), e.g. 15 for SIGTERM. */
export function signalNumber(signal: NodeJS.Signals): number {
  const n = constants.signals[signal];
  if (typeof n !== 'number') throw new TypeError(`signal must be a known signal name, got ${String(signal)}`);
  return n;
}

/** The shell convention for a process status: the exit code, or 128 + n when killed by signal n. */
export function statusToExitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code & 0xff;
  if (signal !== null) return Math.min(128 + signalNumber(signal), 255);
  throw new InternalError('a process status has neither an exit code nor a signal');
}
