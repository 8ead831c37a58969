import { fstatSync, writeSync } from 'node:fs';
import { UsageError } from './errors.ts';

/** Audit event names (JSON lines, `event` field). */
export type AuditEvent =
  | 'auth.login'
  | 'auth.renew'
  | 'auth.relogin'
  | 'auth.revoke'
  | 'secret.read'
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
