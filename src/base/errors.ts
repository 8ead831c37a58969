/** Exit codes, as documented in the README (design.md section 2). */
export const ExitCode = {
  ok: 0,
  usage: 64,
  data: 65,
  internal: 70,
  unavailable: 69,
  permission: 77,
  config: 78,
  /**
   * `secrun check` found an expired certificate, or with --max-age / --min-validity a secret too
   * old or a certificate expiring too soon.
   */
  findings: 79,
  notExecutable: 126,
  notFound: 127,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Details that may be shown to people: never a secret value, token, header or body. */
export interface ErrorDetails {
  /** HTTP status, when the failure came from a server. */
  status?: number;
  /** Server request id (Vault `request_id`, AWS `x-amzn-RequestId`). */
  requestId?: string;
  /** The path or secret id that failed. */
  path?: string;
  /** Anything else that is safe to print. */
  [key: string]: string | number | boolean | string[] | undefined;
}

/**
 * The one error base class. `code` is stable and dotted (`vault.permission`), `exitCode` is what
 * the CLI exits with. Messages say what failed, where, and what to do; never a secret value.
 */
export class SecrunError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly details: ErrorDetails;

  constructor(code: string, exitCode: number, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'SecrunError';
    this.code = code;
    this.exitCode = exitCode;
    this.details = details;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      exitCode: this.exitCode,
      message: this.message,
      details: this.details,
    };
  }
}

/** Bad flags or arguments (64). */
export class UsageError extends SecrunError {
  constructor(message: string, code = 'usage.invalid', details: ErrorDetails = {}) {
    super(code, ExitCode.usage, message, details);
    this.name = 'UsageError';
  }
}

/** Invalid configuration file or settings (78). */
export class ConfigError extends SecrunError {
  constructor(message: string, code = 'config.invalid', details: ErrorDetails = {}) {
    super(code, ExitCode.config, message, details);
    this.name = 'ConfigError';
  }
}

/** A malformed reference (65). */
export class RefError extends SecrunError {
  constructor(message: string, code = 'ref.invalid', details: ErrorDetails = {}) {
    super(code, ExitCode.data, message, details);
    this.name = 'RefError';
  }
}

/** The secret, version or field does not exist, or has the wrong shape (65). */
export class NotFoundError extends SecrunError {
  constructor(message: string, code = 'secret.notFound', details: ErrorDetails = {}) {
    super(code, ExitCode.data, message, details);
    this.name = 'NotFoundError';
  }
}

/** Authentication failed or permission denied (77). */
export class PermissionError extends SecrunError {
  constructor(message: string, code = 'auth.denied', details: ErrorDetails = {}) {
    super(code, ExitCode.permission, message, details);
    this.name = 'PermissionError';
  }
}

/** The secrets manager is unreachable, sealed or timed out after retries (69). */
export class UnavailableError extends SecrunError {
  constructor(message: string, code = 'provider.unavailable', details: ErrorDetails = {}) {
    super(code, ExitCode.unavailable, message, details);
    this.name = 'UnavailableError';
  }
}

/** The child command cannot be launched (127 not found, 126 not executable). */
export class CommandError extends SecrunError {
  constructor(message: string, exitCode: 126 | 127, details: ErrorDetails = {}) {
    super(exitCode === 127 ? 'command.notFound' : 'command.notExecutable', exitCode, message, details);
    this.name = 'CommandError';
  }
}

/** A bug (70). */
export class InternalError extends SecrunError {
  constructor(message: string, code = 'internal', details: ErrorDetails = {}) {
    super(code, ExitCode.internal, message, details);
    this.name = 'InternalError';
  }
}

/** One failing variable inside a {@link ResolveError}. */
export interface ResolveFailure {
  variable: string;
  ref: string;
  error: SecrunError;
}

/**
 * Several references failed. The exit code is the most significant of the causes
 * (permission > unavailable > data), so a CI job sees why it failed.
 */
/** A reference as written, quoted when a leading or trailing space or a control character would hide. */
function visibleRef(ref: string): string {
  return /^\s|\s$|[\u0000-\u001f\u007f]/.test(ref) ? JSON.stringify(ref) : ref;
}

export class ResolveError extends SecrunError {
  readonly failures: ResolveFailure[];
  /** Vault leases minted by the reads that did succeed: nothing will use them, revoke them. */
  readonly leaseIds: string[];

  constructor(failures: ResolveFailure[], opts: { leaseIds?: string[]; launching?: boolean } = {}) {
    // One cause shared by several variables (a failed login) is printed once, not per variable.
    const groups: Array<{ variables: string[]; refs: string[]; error: SecrunError }> = [];
    for (const f of failures) {
      const group = groups.find((g) => g.error === f.error);
      if (group) {
        group.variables.push(f.variable);
        group.refs.push(f.ref);
      } else groups.push({ variables: [f.variable], refs: [f.ref], error: f.error });
    }
    const rows = groups.map((g) => ({
      variable: g.variables.join(', '),
      ref: g.refs.length === 1 ? visibleRef(g.refs[0] ?? '') : `(${g.refs.length} references)`,
      message: g.error.message,
    }));
    const vw = Math.max(...rows.map((r) => r.variable.length));
    const rw = Math.max(...rows.map((r) => r.ref.length));
    const lines = rows.map((r) => `  ${r.variable.padEnd(vw)}  ${r.ref.padEnd(rw)}  ${r.message}`);
    const noun = failures.length === 1 ? 'secret' : 'secrets';
    super(
      'resolve.failed',
      pickExitCode(failures.map((f) => f.error.exitCode)),
      `could not resolve ${failures.length} ${noun}${opts.launching === false ? '' : '; the command was not started'}:\n${lines.join('\n')}`,
    );
    this.name = 'ResolveError';
    this.failures = failures;
    this.leaseIds = opts.leaseIds ?? [];
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      failures: this.failures.map((f) => ({
        variable: f.variable,
        ref: f.ref,
        code: f.error.code,
        exitCode: f.error.exitCode,
        message: f.error.message,
      })),
    };
  }
}

const exitPriority: number[] = [
  ExitCode.internal,
  ExitCode.permission,
  ExitCode.unavailable,
  ExitCode.config,
  ExitCode.data,
];

/** The exit code that best explains a set of failures. */
export function pickExitCode(codes: number[]): number {
  for (const code of exitPriority) if (codes.includes(code)) return code;
  return codes[0] ?? ExitCode.internal;
}

/** Turns anything thrown into a SecrunError without copying unknown fields (they may hold secrets). */
export function toSecrunError(err: unknown): SecrunError {
  if (err instanceof SecrunError) return err;
  const message = err instanceof Error ? `${err.name}: ${err.message}` : 'unknown error';
  return new InternalError(`internal error: ${message}`);
}
