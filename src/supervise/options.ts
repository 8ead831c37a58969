import type { Audit } from '../base/audit.ts';
import type { Logger } from '../base/log.ts';
import type { Settings } from '../config/index.ts';
import type { OutputSinks } from '../launch/output.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import type { NamedTemplate } from '../refs/index.ts';
import type { Resolution, ResolveEntry, ResolveImport } from '../resolve/resolve.ts';
import type { Clock } from './lease-schedule.ts';
import type { FileContents } from './secret-state.ts';

/** Options of {@link SecretRunner} / {@link superviseChild}. */
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
  /**
   * Variables built from templates; their placeholders are among `entries` (as part names), so a
   * re-read of any of their documents rebuilds them. Masking covers each result and each part.
   */
  templates?: readonly NamedTemplate[];
  /** Builds the child's environment from all values (the agent's `buildChildEnv` closure). */
  buildEnv: (values: ReadonlyMap<string, string>) => Record<string, string>;
  /**
   * The contents of the files the child reads at /dev/fd/3, 4, ... (`--file`), by variable, in fd
   * order; every start gets fresh pipes, and a changed content counts as a changed variable.
   */
  buildFiles?: (values: ReadonlyMap<string, string>) => FileContents;
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
  outputTo?: OutputSinks;
  /** Deadline of each renewal, re-read and re-login; default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  clock?: Clock;
  random?: () => number;
  /** The agent's pid (PID 1 warning); default `process.pid`. */
  pid?: number;
}
