import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { CommandError, InternalError } from '../base/errors.ts';

/** The search path glibc's `execvp` uses when `PATH` is unset. */
const defaultPath = '/bin:/usr/bin';

/** Options for {@link resolveCommand}. */
export interface ResolveCommandOptions {
  /** The `PATH` to search: the child's environment, not the agent's. Unset means `/bin:/usr/bin`. */
  path?: string | undefined;
  /** Directory for relative commands and empty `PATH` entries; default `process.cwd()`. */
  cwd?: string | undefined;
}

type Candidate = 'ok' | 'missing' | 'denied';

function inspectCandidate(file: string): Candidate {
  try {
    if (!statSync(file).isFile()) return 'denied';
    accessSync(file, constants.X_OK);
    return 'ok';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM' ? 'denied' : 'missing';
  }
}

/**
 * Finds the file `execvp` would run, so the agent can fail with 127/126 before it reads a secret
 * (and before `process.execve`, which aborts Node 22/24 when it fails).
 *
 * A command containing `/` is checked as is, relative to `cwd`; any other command is searched in
 * the `PATH` entries in order, an empty entry meaning `cwd`. Like `execvp`, the search goes on past
 * files that exist but are not executable, and reports permission denied only when nothing
 * executable was found.
 *
 * @returns the absolute path of an executable regular file.
 * @throws CommandError 127 `command not found: <cmd>`, or 126 `permission denied: <path>` for a
 *   file without execute permission for this user, or a directory.
 */
export function resolveCommand(command: string, opts: ResolveCommandOptions = {}): string {
  const cwd = opts.cwd ?? process.cwd();
  if (command === '') throw new CommandError('command not found: (empty command)', 127);
  if (command.includes('/')) {
    const file = path.resolve(cwd, command);
    const found = inspectCandidate(file);
    if (found === 'ok') return file;
    if (found === 'denied') throw new CommandError(`permission denied: ${file}`, 126, { path: file });
    throw new CommandError(`command not found: ${command}`, 127, { path: file });
  }
  let denied: string | undefined;
  for (const dir of (opts.path ?? defaultPath).split(':')) {
    const file = path.resolve(cwd, dir, command);
    const found = inspectCandidate(file);
    if (found === 'ok') return file;
    if (found === 'denied') denied ??= file;
  }
  if (denied !== undefined) throw new CommandError(`permission denied: ${denied}`, 126, { path: denied });
  throw new CommandError(`command not found: ${command}`, 127);
}

/**
 * Replaces the agent with the command (`execve(2)`): same PID, the agent's heap (and every secret
 * copy in it) is gone, and its exit handlers do not run.
 *
 * Call it only with a path returned by {@link resolveCommand}, as the very last thing the agent
 * does. On Node 22 and 24 a failed `process.execve` prints an error and aborts the process
 * (SIGABRT, maybe a core dump) instead of throwing, which is why the preflight exists. Logs
 * written before are not lost: stdout and stderr writes to files, pipes and terminals are
 * synchronous on Linux.
 *
 * @param file absolute path of the program.
 * @param args arguments after argv[0].
 * @param env the complete environment of the new program (it replaces, not extends).
 * @param argv0 argv[0] for the program, the command as the user typed it; default `file`.
 * @throws InternalError when this Node has no `process.execve` (before 22.15 / 23.11).
 */
export function execReplace(file: string, args: string[], env: Record<string, string>, argv0 = file): never {
  if (typeof process.execve !== 'function') {
    throw new InternalError(
      `--mode exec needs process.execve, which this Node (${process.version}) lacks; ` +
        'use Node >= 22.15 or --mode supervise',
      'exec.unsupported',
    );
  }
  return process.execve(file, [argv0, ...args], env);
}

let hardened = false;

function ignoreSignal(): void {}

/**
 * Agent hygiene, called once at startup: diagnostic reports leave out the environment, and a
 * SIGUSR1 listener stops SIGUSR1 from opening the inspector (on 127.0.0.1:9229) in a process that
 * holds secrets. Safe to call more than once.
 */
export function hardenProcess(): void {
  if (hardened) return;
  hardened = true;
  if (process.report !== undefined) process.report.excludeEnv = true;
  process.on('SIGUSR1', ignoreSignal);
}
