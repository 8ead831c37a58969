import { fstatSync, readdirSync, readlinkSync, writeSync } from 'node:fs';
import { UsageError } from './errors.ts';

/** Audit event names (JSON lines, `event` field). */
export type AuditEvent =
  | 'auth.login'
  | 'auth.renew'
  | 'auth.relogin'
  | 'auth.revoke'
  | 'secret.read'
  | 'secret.write'
  | 'secret.reread'
  | 'lease.renew'
  | 'lease.revoke'
  | 'rotation.detected'
  | 'rotation.action'
  | 'child.start'
  | 'child.stop'
  | 'child.exit';

/** The audit stream: one JSON object per line. Never a value, token or secret id. */
export interface Audit {
  readonly enabled: boolean;
  record(event: AuditEvent, fields?: Record<string, unknown>): void;
}

export interface AuditOptions {
  /** `stderr`, `fd:N`, or undefined for no audit stream. */
  target?: string;
  /**
   * Known secret values (and tokens). Any string field containing one is replaced by
   * `<redacted>`: a last line of defence, callers never pass values on purpose.
   */
  secrets?: () => Iterable<string>;
  /** For tests. */
  write?: (line: string) => void;
  now?: () => Date;
}

/** A no-op audit stream. */
export const noAudit: Audit = { enabled: false, record() {} };

/** Parses `--audit stderr|fd:N` into a file descriptor. */
export function auditFd(target: string): number {
  if (target === 'stderr') return 2;
  if (target === 'stdout') return 1;
  const m = /^fd:(\d+)$/.exec(target);
  if (!m) throw new UsageError(`--audit: expected stderr, stdout or fd:N, got "${target.slice(0, 40)}"`);
  return Number(m[1]);
}

/**
 * The file descriptors (3 and up) open in this process that it did not open itself: call it
 * first thing, before secrun opens anything. Node and libuv have opened theirs by then: epoll,
 * eventfd, io_uring and signalfd descriptors (`anon_inode:`) and self-pipes, whose two ends are
 * both here (one pipe inode twice). Those are left out; what remains was passed by the parent.
 * Empty where /proc is not mounted.
 */
export function inheritedFds(): Set<number> {
  const links = new Map<number, string>();
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return new Set();
  }
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd < 3) continue;
    try {
      links.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // Closed meanwhile: the descriptor readdir itself used.
    }
  }
  const seen = new Map<string, number>();
  for (const link of links.values()) seen.set(link, (seen.get(link) ?? 0) + 1);
  const out = new Set<number>();
  for (const [fd, link] of links) {
    if (link.startsWith('anon_inode:')) continue;
    if (link.startsWith('pipe:') && (seen.get(link) ?? 0) > 1) continue;
    out.add(fd);
  }
  return out;
}

/**
 * Refuses an audit target that is not a descriptor secrun inherited (usage error, 64), before
 * any request: writing audit lines into Node's own epoll, eventfd or a Vault socket corrupts
 * the agent. `stdout`, `stderr`, `fd:1` and `fd:2` are always fine.
 * @param inherited from {@link inheritedFds}, taken as early as possible.
 */
export function checkAuditTarget(target: string | undefined, inherited: ReadonlySet<number>): void {
  if (target === undefined) return;
  const fd = auditFd(target);
  if (fd <= 2) return;
  if (!inherited.has(fd)) {
    throw new UsageError(
      `--audit ${target}: file descriptor ${fd} was not passed to secrun (open it in the parent, e.g. \`${fd}>>audit.log\` in a shell)`,
      'usage.auditFd',
    );
  }
}

/** Creates the audit stream; writes are synchronous so records survive an exec or exit. */
export function createAudit(opts: AuditOptions): Audit {
  if (!opts.target && !opts.write) return noAudit;
  const fd = opts.target ? auditFd(opts.target) : -1;
  if (fd >= 0 && !opts.write) {
    try {
      fstatSync(fd);
    } catch {
      throw new UsageError(`--audit ${opts.target}: file descriptor ${fd} is not open`);
    }
  }
  let broken = false;
  const write =
    opts.write ??
    ((line: string) => {
      if (broken) return;
      try {
        writeSync(fd, line);
      } catch (err) {
        // A reader that went away (EPIPE) must not take the service down with it.
        if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
        broken = true;
      }
    });
  const now = opts.now ?? (() => new Date());
  return {
    enabled: true,
    record(event, fields = {}) {
      const secrets = [...(opts.secrets?.() ?? [])].filter((s) => s.length >= 4);
      const clean = (value: unknown): unknown => {
        if (typeof value === 'string') return secrets.some((s) => value.includes(s)) ? '<redacted>' : value;
        if (Array.isArray(value)) return value.map(clean);
        if (value && typeof value === 'object' && !(value instanceof Date)) {
          return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clean(v)]));
        }
        return value;
      };
      const record = { time: now().toISOString(), event, ...(clean(fields) as Record<string, unknown>) };
      write(`${JSON.stringify(record)}\n`);
    },
  };
}
