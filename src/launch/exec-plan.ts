import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { CommandError, ExitCode, SecrunError } from '../base/errors.ts';
import { resolveCommand } from './exec.ts';

/** What the kernel gets: the program, argv[0] and the arguments after it. */
export interface ExecPlan {
  file: string;
  argv0: string;
  args: string[];
}

/** Linux's limit for one argument or `NAME=value` string, terminating NUL included (32 pages). */
export const MAX_ARG_STRLEN = 131_072;

/** The shell `execvp` runs a file with when the kernel answers ENOEXEC. */
const SHELL = '/bin/sh';

/** Reads the first bytes of a file (the kernel looks at 256 for `#!`). */
export type HeadReader = (file: string) => Buffer;

function readHead(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(256);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** Where interpreters and the `env` target are looked up: the child's PATH and cwd. */
export interface PlanOptions {
  path?: string | undefined;
  cwd: string;
  read?: HeadReader;
}

/**
 * Checks what `execve(file)` would do with the program and returns what to run, so a failed
 * `process.execve` (which aborts Node) cannot happen for these reasons:
 * - an ELF program runs as is;
 * - a `#!` script needs its interpreter (127 when it is missing, like bash), and for
 *   `#!/usr/bin/env X`, X on the child's PATH (127, like env);
 * - anything else is ENOEXEC: a file that looks binary is refused (126, "cannot execute binary
 *   file"), a text file is run by /bin/sh as `execvp` and shells do.
 * @throws CommandError 126 / 127 naming the file and the interpreter.
 */
export function planExec(plan: ExecPlan, opts: PlanOptions): ExecPlan {
  checkArgs(plan);
  let head: Buffer;
  try {
    head = (opts.read ?? readHead)(plan.file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new CommandError(`cannot read ${plan.file} (${code})`, 126, { path: plan.file });
  }
  if (head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return plan;
  if (head[0] === 0x23 && head[1] === 0x21) {
    checkInterpreter(plan.file, head, opts);
    return plan;
  }
  const firstLine = head.subarray(0, Math.min(80, head.indexOf(0x0a) < 0 ? head.length : head.indexOf(0x0a)));
  if (firstLine.includes(0)) {
    throw new CommandError(
      `cannot execute binary file: ${plan.file} is not a program for this system (exec format error)`,
      126,
      { path: plan.file },
    );
  }
  try {
    resolveCommand(SHELL, { cwd: opts.cwd });
  } catch {
    throw new CommandError(
      `${plan.file} has no #! line and ${SHELL} is missing to run it as a shell script`,
      127,
      { path: plan.file },
    );
  }
  return { file: SHELL, argv0: SHELL, args: [plan.file, ...plan.args] };
}

function checkInterpreter(file: string, head: Buffer, opts: PlanOptions): void {
  const end = head.indexOf(0x0a);
  const line = head
    .subarray(2, end < 0 ? head.length : end)
    .toString('utf8')
    .replace(/\r$/, '')
    .trim();
  const [interpreter = '', ...rest] = line.split(/[ \t]+/);
  if (interpreter === '') {
    throw new CommandError(`${file}: the #! line names no interpreter`, 126, { path: file });
  }
  const where = path.resolve(opts.cwd, interpreter);
  try {
    resolveCommand(where, { cwd: opts.cwd });
  } catch (err) {
    const e = err as CommandError;
    const what = e.exitCode === 127 ? 'is missing' : 'is not executable';
    throw new CommandError(
      `bad interpreter: ${interpreter} ${what} (the #! line of ${file})`,
      e.exitCode === 127 ? 127 : 126,
      { path: file, interpreter },
    );
  }
  if (path.basename(interpreter) !== 'env') return;
  // `#!/usr/bin/env [-S] [-i] [NAME=value ...] X ...`: X is looked up on the child's PATH.
  const words = rest
    .join(' ')
    .split(/[ \t]+/)
    .filter(Boolean);
  const target = words.find((w) => !w.startsWith('-') && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  if (target === undefined) return;
  try {
    resolveCommand(target, { path: opts.path, cwd: opts.cwd });
  } catch (err) {
    const e = err as CommandError;
    throw new CommandError(
      `${target} (from the #! line of ${file}) is ${e.exitCode === 127 ? 'not found on the PATH of the command' : 'not executable'}`,
      e.exitCode === 127 ? 127 : 126,
      { path: file, interpreter: target },
    );
  }
}

function checkArgs(plan: ExecPlan): void {
  const args = [plan.argv0, ...plan.args];
  args.forEach((arg, i) => {
    if (arg.includes('\0')) {
      throw new CommandError(`argument ${i} of the command contains a NUL byte`, 126, { argument: i });
    }
    const size = Buffer.byteLength(arg) + 1;
    if (size > MAX_ARG_STRLEN) {
      throw new CommandError(
        `argument ${i} of the command is ${fmt(size - 1)} bytes; Linux allows at most ${fmt(MAX_ARG_STRLEN - 1)} per argument`,
        126,
        { argument: i, bytes: size - 1 },
      );
    }
  });
}

/** The kernel's limit for argv + environment (strings and pointers), as `execve` checks it. */
export function argMax(limitsText?: string): number {
  // fs/exec.c: min(6 MiB, RLIMIT_STACK / 4), never below 128 KiB; getconf ARG_MAX says the same.
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return 2 * 1024 * 1024;
    }
  }
  const soft = /^Max stack size\s+(\S+)/m.exec(text)?.[1];
  const stack = soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
  if (!Number.isFinite(stack) && soft !== 'unlimited') return 2 * 1024 * 1024;
  return Math.max(128 * 1024, Math.min(6 * 1024 * 1024, Math.floor(stack / 4)));
}

/**
 * Checks that `execve` will accept the child's environment with this plan: no NUL in a name or
 * value, each `NAME=value` within {@link MAX_ARG_STRLEN}, and arguments + environment + their
 * pointers within {@link argMax}. The message names each variable and its size, never a value.
 * @throws SecrunError `exec.environment` (65).
 */
export function checkExecEnv(plan: ExecPlan, env: Readonly<Record<string, string>>, limit = argMax()): void {
  const problems: string[] = [];
  const variables: string[] = [];
  const entries = Object.entries(env);
  let total = Buffer.byteLength(plan.file) + 1;
  for (const arg of [plan.argv0, ...plan.args]) total += Buffer.byteLength(arg) + 1;
  const sizes: Array<[string, number]> = [];
  for (const [name, value] of entries) {
    const size = Buffer.byteLength(name) + 1 + Buffer.byteLength(value);
    total += size + 1;
    sizes.push([name, size]);
    if (name.includes('\0') || value.includes('\0')) {
      const where = name.includes('\0') ? 'its name' : `its value (at character ${value.indexOf('\0')})`;
      problems.push(
        `${showName(name)}: ${where} contains a NUL byte, which no environment variable can hold`,
      );
      variables.push(showName(name));
    } else if (size + 1 > MAX_ARG_STRLEN) {
      problems.push(
        `${name}: NAME=value is ${fmt(size)} bytes; Linux allows at most ${fmt(MAX_ARG_STRLEN - 1)} per variable (MAX_ARG_STRLEN)`,
      );
      variables.push(name);
    }
  }
  total += (Math.max(1, plan.args.length + 1) + entries.length) * 8;
  if (total > limit) {
    const largest = sizes
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([n, s]) => `${showName(n)} ${fmt(s)}`)
      .join(', ');
    problems.push(
      `arguments and environment take ${fmt(total)} bytes with their pointers; the limit here is ${fmt(limit)} (ARG_MAX, a quarter of the stack limit); largest variables: ${largest}`,
    );
  }
  if (problems.length === 0) return;
  throw new SecrunError(
    'exec.environment',
    ExitCode.data,
    `the command cannot be started with this environment:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    { variables },
  );
}

function showName(name: string): string {
  return name.replaceAll('\0', '\\0');
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
