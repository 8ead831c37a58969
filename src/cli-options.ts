import type { Flags } from './config/flags.ts';

/** The CLI's types: what commands read and write (io) and the options commander parses. */

/** Where the CLI writes and what it reads; injectable so tests need no subprocess. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Whether stderr is a terminal (status line) and stdin is a terminal (signal forwarding). */
  stderrIsTty: boolean;
  stdinIsTty: boolean;
  /**
   * Descriptors (3 and up) the process inherited, taken at start (`inheritedFds()`); `--audit
   * fd:N` must name one. Default: computed when needed.
   */
  inheritedFds?: ReadonlySet<number>;
}

/**
 * Options of `run` and `check` as commander parses them: the option table's flags under their
 * camelCase names (see config/options.ts), `--config`, and the repeatable `--env` / `--import`.
 */
export type CommonCliOptions = Flags & { config?: string };

/** `run` options. */
export type RunCliOptions = CommonCliOptions;

/** `check` options. */
export type CheckCliOptions = CommonCliOptions & { json?: boolean };
