/**
 * The orchestrator is obeyed during boot: SIGTERM, SIGINT and SIGHUP before the handover stop the
 * boot (requests aborted, what was minted revoked, the child never started, exit 128+n). Explicit
 * listeners are what makes this work as PID 1, where the kernel drops signals that have none; they
 * also keep a signal from killing the agent outright while it holds credentials to revoke.
 */

/** The signals that stop a boot. */
export const BOOT_STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

let installed = false;
let received: NodeJS.Signals | undefined;
const subscribers = new Set<(sig: NodeJS.Signals) => void>();

function onSignal(sig: NodeJS.Signals): void {
  received ??= sig;
  for (const fn of subscribers) fn(sig);
}
const listeners = new Map(BOOT_STOP_SIGNALS.map((sig) => [sig, () => onSignal(sig)] as const));

/** Installs the boot listeners (idempotent). Call as early as possible: bin, then `run`. */
export function catchBootSignals(): void {
  if (installed) return;
  installed = true;
  for (const [sig, listener] of listeners) process.on(sig, listener);
}

/** The first stop signal received during boot, if any. */
export function bootStopReceived(): NodeJS.Signals | undefined {
  return received;
}

/** Calls `fn` on a stop signal during boot (at once, in a microtask, if one already came). */
export function onBootStop(fn: (sig: NodeJS.Signals) => void): () => void {
  subscribers.add(fn);
  const early = received;
  if (early !== undefined) queueMicrotask(() => fn(early));
  return () => subscribers.delete(fn);
}

/**
 * Removes the boot listeners: after the supervisor installed its own (handover), or when `run`
 * ends in a test process. Forgets a received signal.
 */
export function releaseBootSignals(): void {
  if (!installed) return;
  installed = false;
  received = undefined;
  subscribers.clear();
  for (const [sig, listener] of listeners) process.removeListener(sig, listener);
}
