import type { Readable } from 'node:stream';

/** The text a child process has written so far to stdout and stderr (read as UTF-8 as it comes). */
export interface ChildOutput {
  stdout: () => string;
  stderr: () => string;
}

/** Starts collecting a spawned child's piped stdout and stderr. */
export function collectOutput(child: { stdout: Readable | null; stderr: Readable | null }): ChildOutput {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return { stdout: () => stdout, stderr: () => stderr };
}
