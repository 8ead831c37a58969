import { runCli } from '../../src/cli.ts';
import { ROOT } from './cli.ts';

/** What an in-process `secrun` run printed and returned. */
export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `secrun <args>` in this process through runCli with exactly `env`, collecting what it
 * prints. Only for runs that end before a command is launched (usage, configuration and
 * resolution errors, `check`): an exec would replace the test process itself.
 */
export async function runCliInProcess(
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string } = {},
): Promise<InProcessResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env,
    cwd: opts.cwd ?? ROOT,
    stderrIsTty: false,
    stdinIsTty: false,
    inheritedFds: new Set(),
  });
  return { code, stdout, stderr };
}
