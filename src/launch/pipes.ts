/**
 * Real in-memory pipes for `--file`. Node cannot call pipe(2): the "pipes" of child_process are
 * socketpairs, and a child cannot open a socket as /dev/fd/N (ENXIO). So a throwaway `/bin/sh`
 * builds a pipeline (`read _ | read _ | ...`, one pipe per file) and both ends of each pipe are
 * opened here through /proc/<pid>/fd; then the helper is killed. Nothing touches a file system:
 * pipes live in the kernel, /proc is only looked at.
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, readlinkSync } from 'node:fs';
import { ConfigError, InternalError } from '../base/errors.ts';

/** Both ends of one pipe, opened with close-on-exec (only a listed stdio fd reaches a child). */
export interface PipeEnds {
  readFd: number;
  /** Non-blocking: writes never block the agent. */
  writeFd: number;
}

const SHELL = '/bin/sh';
const DEFAULT_DEADLINE_MS = 10_000;

/**
 * Checks, before any secret is read, that pipes can be made here.
 *
 * @throws ConfigError `launch.pipe` (78) without /bin/sh or /proc (distroless images, non-Linux).
 */
export function checkPipeSupport(): void {
  try {
    accessSync(SHELL, constants.X_OK);
    accessSync(`/proc/${process.pid}/task/${process.pid}/children`, constants.R_OK);
  } catch {
    throw new ConfigError(
      `--file needs ${SHELL} and /proc (Linux) to make its in-memory pipes, and this system lacks one; ` +
        'use --env for the secret, or an image with a shell',
      'launch.pipe',
    );
  }
}

/**
 * Creates `count` pipes.
 *
 * @throws InternalError `launch.pipe` when no pipe can be made (no /bin/sh or no /proc).
 */
export async function createPipes(count: number, deadlineMs = DEFAULT_DEADLINE_MS): Promise<PipeEnds[]> {
  if (count === 0) return [];
  const script = Array.from({ length: count + 1 }, () => 'read _').join(' | ');
  const helper = spawn(SHELL, ['-c', script], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  const spawned = new Promise<void>((resolve, reject) => {
    helper.once('spawn', resolve);
    helper.once('error', reject);
  });
  const opened: number[] = [];
  let helpers: number[] = [];
  const pipes: PipeEnds[] = [];
  try {
    await spawned;
    const pid = helper.pid as number;
    const ends = await findEnds(pid, count, Date.now() + deadlineMs);
    helpers = ends.flatMap((e) => [e.writer, e.reader]);
    for (const end of ends) {
      const readFd = openSync(`/proc/${end.reader}/fd/0`, constants.O_RDONLY);
      opened.push(readFd);
      const writeFd = openSync(`/proc/${end.writer}/fd/1`, constants.O_WRONLY | constants.O_NONBLOCK);
      opened.push(writeFd);
      pipes.push({ readFd, writeFd });
    }
  } catch (err) {
    for (const fd of opened) closeSync(fd);
    throw new InternalError(
      `could not create an in-memory pipe for --file (${(err as Error).message}); it needs ${SHELL} and /proc (Linux)`,
      'launch.pipe',
    );
  } finally {
    try {
      if (helper.pid !== undefined) process.kill(-helper.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    helper.stdin?.destroy();
  }
  // A helper reads the pipe it holds: nothing may be written before every one of them is dead.
  try {
    await helpersGone(helpers, Date.now() + deadlineMs);
  } catch (err) {
    closePipes(pipes);
    throw err;
  }
  return pipes;
}

async function helpersGone(pids: readonly number[], deadline: number): Promise<void> {
  for (;;) {
    const alive = pids.filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return !/^\d+ \(.*\) [ZX]/.test(stat);
      } catch {
        return false;
      }
    });
    if (alive.length === 0) return;
    if (Date.now() > deadline) throw new InternalError('the pipe helper did not exit', 'launch.pipe');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Closes every fd of the pipes (those still open); errors are ignored. */
export function closePipes(pipes: readonly PipeEnds[], which: 'read' | 'write' | 'both' = 'both'): void {
  for (const p of pipes) {
    for (const fd of which === 'both' ? [p.readFd, p.writeFd] : [which === 'read' ? p.readFd : p.writeFd]) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
}

/** For each pipe (by inode), the helper process holding its write end (fd 1) and its read end (fd 0). */
async function findEnds(
  shellPid: number,
  count: number,
  deadline: number,
): Promise<Array<{ writer: number; reader: number }>> {
  for (;;) {
    const found = pipelineEnds(shellPid);
    if (found.length === count) return found;
    if (Date.now() > deadline) throw new Error('the helper pipeline did not start in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function pipelineEnds(shellPid: number): Array<{ writer: number; reader: number }> {
  const writers = new Map<string, number>();
  const readers = new Map<string, number>();
  for (const pid of childrenOf(shellPid)) {
    const input = link(`/proc/${pid}/fd/0`);
    const output = link(`/proc/${pid}/fd/1`);
    if (input?.startsWith('pipe:')) readers.set(input, pid);
    if (output?.startsWith('pipe:')) writers.set(output, pid);
  }
  const ends: Array<{ writer: number; reader: number }> = [];
  for (const [inode, writer] of writers) {
    const reader = readers.get(inode);
    if (reader !== undefined) ends.push({ writer, reader });
  }
  return ends;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function link(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}
