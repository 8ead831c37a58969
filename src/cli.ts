import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isatty } from 'node:tty';
import { Command, CommanderError, Option } from 'commander';
import { inheritedFds } from './base/audit.ts';
import { environmentSnapshot } from './base/environ.ts';
import { ExitCode, SecrunError, toSecrunError } from './base/errors.ts';
import { catchBootSignals } from './boot/stop-signals.ts';
import type { CheckCliOptions, CliIo, RunCliOptions } from './cli-options.ts';
import { envText, flagsOf, flagText } from './config/options.ts';
import { hardenProcess } from './launch/exec.ts';

export type { CheckCliOptions, CliIo, CommonCliOptions, RunCliOptions } from './cli-options.ts';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Set at build time in the bundle and the executable; undefined when running from source. */
declare const __SECRUN_VERSION__: string | undefined;

function packageVersion(): string {
  if (typeof __SECRUN_VERSION__ === 'string') return __SECRUN_VERSION__;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Adds `--config`, `--env`, `--import` and the option table's flags for `command`. */
function addOptions(cmd: Command, command: 'run' | 'check'): Command {
  cmd
    .option(
      '--config <file>',
      'config file (default: $SECRUN_CONFIG, else ./secrun.yaml or ./secrun.yml if present)',
    )
    .option('--env <NAME=REF>', 'add a variable from a reference (repeatable)', collect)
    .option('--import <[PREFIX=]REF>', 'every field of one secret becomes a variable (repeatable)', collect);
  for (const o of flagsOf(command)) {
    const flag = `${o.short ? `-${o.short}, ` : ''}${flagText(o)}${o.arg ? ` ${o.arg}` : ''}`;
    const shown = o.default !== undefined && o.kind !== 'boolean' ? ` (default: ${o.default})` : '';
    const env = o.env ? ` [${envText(o)}]` : '';
    const option = new Option(flag, `${o.help}${shown}${env}`);
    if (o.choices) option.choices(o.choices);
    if (o.kind === 'patterns' || o.kind === 'entries') option.argParser(collect);
    cmd.addOption(option);
    if (o.negatable) cmd.addOption(new Option(`--no-${o.flag}`, `turn --${o.flag} off`));
  }
  return cmd.addHelpText('after', RETRY_HELP);
}

/** How long a boot waits, shown after the options of `run` and `check`. */
const RETRY_HELP = `
Retries:
  Unreachable, sealed, overloaded or throttling servers are retried with backoff and jitter
  until --timeout; each wait is logged at info. VAULT_MAX_RETRIES=N caps the retries of a
  Vault request at N (0: one try). SIGTERM, SIGINT or SIGHUP before the command starts
  revokes what was minted and exits 128+n.
`;

/** Builds the commander program. Actions set `result.code`; nothing here exits. */
export function createProgram(io: CliIo, result: { code: number }): Command {
  const program = new Command('secrun')
    .description(
      'Resolve secret references from Vault and AWS Secrets Manager into a command environment, in memory only.',
    )
    .version(packageVersion(), '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      outputError: (text, write) => write(`secrun: ${text}`),
    })
    .showHelpAfterError('(run with --help for usage)');

  const run = addOptions(
    program
      .command('run')
      .description('resolve references, build the environment, and launch the command')
      .usage('[options] -- <command> [args...]')
      .argument('<command>', 'the program to launch')
      .argument('[args...]', 'its arguments')
      .passThroughOptions()
      .exitOverride(),
    'run',
  );
  run.action(async (command: string, args: string[], opts: RunCliOptions) => {
    const { runCommand } = await import('./boot/run.ts');
    result.code = await runCommand({ command, args, opts, io });
  });

  const check = addOptions(
    program
      .command('check')
      .description('resolve every reference and report, launching nothing')
      .exitOverride(),
    'check',
  ).option('--json', 'print the report as JSON');
  check.action(async (opts: CheckCliOptions) => {
    const { checkCommand } = await import('./boot/check.ts');
    result.code = await checkCommand({ opts, io });
  });

  program
    .command('dev')
    .description(
      'in-memory Vault- and Secrets-Manager-compatible servers on loopback, for local work and tests',
    )
    .option(
      '--seed <file>',
      'YAML seed with vault: and aws: sections (default: ./examples/seed.yaml if present)',
    )
    .option('--vault-port <port>', 'Vault server port', '8200')
    .option('--aws-port <port>', 'Secrets Manager server port', '4566')
    .exitOverride()
    .action(async (opts: { seed?: string; vaultPort: string; awsPort: string }) => {
      result.code = await runDev(opts, io);
    });

  return program;
}

async function runDev(
  opts: { seed?: string; vaultPort: string; awsPort: string },
  io: CliIo,
): Promise<number> {
  const { startDevServers, exportLines } = await import('./dev/index.ts');
  // In a checkout, plain `secrun dev` starts with the example seed.
  const exampleSeed = path.join(io.cwd, 'examples', 'seed.yaml');
  const seedFile = opts.seed ?? (existsSync(exampleSeed) ? exampleSeed : undefined);
  const servers = await startDevServers({
    seedFile,
    vaultPort: parsePort(opts.vaultPort, '--vault-port'),
    awsPort: parsePort(opts.awsPort, '--aws-port'),
  }).catch((err: unknown) => {
    const e = err as NodeJS.ErrnoException & { port?: number };
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
      throw new SecrunError(
        'dev.listen',
        ExitCode.unavailable,
        `cannot listen on port ${e.port ?? '?'} (${e.code}); pick another with --vault-port / --aws-port (0 = any free port)`,
      );
    }
    throw err;
  });
  io.stdout(`${exportLines(servers.env)}\n`);
  const seeded = seedFile === undefined ? 'no seed (empty servers)' : `seed ${seedFile}`;
  io.stderr(
    `secrun dev: Vault on ${servers.vault.url}, Secrets Manager on ${servers.aws.url}, ${seeded}; Ctrl-C to stop\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await servers.close();
  return ExitCode.ok;
}

function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SecrunError(
      'usage.invalid',
      ExitCode.usage,
      `${flag}: expected a port number 0-65535, got "${value}"`,
    );
  }
  return port;
}

/** Parses argv (without node and script) and runs; resolves with the exit code. Never exits. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const result = { code: ExitCode.ok as number };
  const program = createProgram(io, result);
  if (argv.length === 0) {
    io.stderr(program.helpInformation());
    return ExitCode.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return result.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        return ExitCode.ok;
      }
      return ExitCode.usage;
    }
    const error = toSecrunError(err);
    io.stderr(`secrun: error: ${error.message}\n`);
    return error.exitCode;
  }
}

/** Entry point used by bin/secrun.js: the only place that exits. */
export async function main(): Promise<void> {
  // First: which descriptors were passed to us, before this process opens any of its own.
  const inherited = inheritedFds();
  hardenProcess();
  // As early as possible: as PID 1 a stop signal without a listener is dropped, and outside PID 1
  // it would kill the agent before it could revoke what it minted.
  if (process.argv[2] === 'run') catchBootSignals();
  const io: CliIo = {
    inheritedFds: inherited,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    // Read once: every later pass (references, the child's environment) works on a plain object.
    env: environmentSnapshot(),
    cwd: process.cwd(),
    // isatty(), not process.stdin.isTTY: that getter opens a stdin stream (and loads fs streams,
    // fs/promises and readline) in an agent that never reads its input.
    stderrIsTty: isatty(2),
    stdinIsTty: isatty(0),
  };
  const code = await runCli(process.argv.slice(2), io);
  // A reader that went away (EPIPE) leaves stdout destroyed: nothing left to flush.
  if (!process.stdout.destroyed)
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

if (import.meta.main) void main();
