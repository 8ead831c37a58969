/**
 * Secrets handed to a child as files it reads at /dev/fd/N: one pipe per file, filled
 * asynchronously (the child reads while the agent writes, so values larger than the pipe buffer
 * work), the write end closed when done. A child that never reads blocks nothing: the pending
 * write is dropped when the child exits.
 */
import { Socket } from 'node:net';
import { closePipes, createPipes, type PipeEnds } from './pipes.ts';

/** The first fd a file gets in the child; the next file gets the next one. */
export const FIRST_FILE_FD = 3;

/** The path a child opens for file `index` (in the order the files were given). */
export function fdPath(index: number): string {
  return `/dev/fd/${FIRST_FILE_FD + index}`;
}

/** The pipes of one child start. */
export class FdFiles {
  readonly #pipes: PipeEnds[];
  readonly #contents: readonly (string | Uint8Array)[];
  readonly #writers: Socket[] = [];

  private constructor(pipes: PipeEnds[], contents: readonly (string | Uint8Array)[]) {
    this.#pipes = pipes;
    this.#contents = contents;
  }

  /** Fresh pipes for these contents (fd 3, 4, ... in order). */
  static async create(contents: readonly (string | Uint8Array)[]): Promise<FdFiles> {
    return new FdFiles(await createPipes(contents.length), contents);
  }

  /** The read ends, for the child's stdio array from fd 3 on. */
  get childFds(): number[] {
    return this.#pipes.map((p) => p.readFd);
  }

  /**
   * The child was spawned (or failed to): the read ends are closed here (the child has its own)
   * and each value is written to its pipe, which is closed when the value is written.
   */
  fill(): void {
    closePipes(this.#pipes, 'read');
    this.#pipes.forEach((pipe, i) => {
      const writer = new Socket({ fd: pipe.writeFd, readable: false, writable: true });
      // EPIPE (the child closed the file or exited without reading) is expected: drop the rest.
      writer.on('error', () => writer.destroy());
      writer.end(this.#contents[i] ?? '');
      this.#writers.push(writer);
    });
  }

  /** The child is gone: whatever was not written is dropped and every fd is closed. */
  close(): void {
    if (this.#writers.length === 0) closePipes(this.#pipes);
    for (const w of this.#writers) w.destroy();
  }
}
