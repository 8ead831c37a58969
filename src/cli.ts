import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, SecrunError, toSecrunError } from './base/errors.ts';
import type { CheckCliOptions, CliIo, RunCliOptions } from './cli-options.ts';
import { hardenProcess } from './launch/exec.ts';

export type { CheckCliOptions, CliIo, CommonCliOptions, RunCliOptions } from './cli-options.ts';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function addCommonOptions(cmd: Command): Command {
  return cmd
    .option(
      '--config <file>',
      'config file (default: $SECRUN_CONFIG, else ./secrun.yaml or ./secrun.yml if present)',
    )
    .option('--env <NAME=REF>', 'add a variable from a reference (repeatable)', collect)
    .option('--import <[PREFIX=]REF>', 'every field of one secret becomes a variable (repeatable)', collect)
    .option('--no-env-refs', 'do not treat references found in the inherited environment as secrets')
    .addOption(
      new Option('--log-level <level>', 'log level (default: info)').choices([
        'debug',
        'info',
        'warn',
        'error',
        'silent',
      ]),
    )
    .addOption(new Option('--log-format <format>', 'log format').choices(['text', 'json']))
    .option('-q, --quiet', 'only errors on stderr')
    .option('--timeout <duration>', 'deadline for resolving every secret (default 60s)')
    .option('--allow-insecure-http', 'allow plain http:// to a non-loopback Vault')
    .addOption(
      new Option('--vault-auth-method <method>', 'Vault auth method (default token)').choices([
        'token',
        'approle',
        'kubernetes',
        'jwt',
        'cert',
      ]),
    )
    .option('--vault-auth-mount <path>', 'auth mount path (default: the method name)')
    .option('--vault-auth-role <name>', 'role (approle, kubernetes, jwt)')
    .option('--vault-auth-role-id <id>', 'AppRole role id (not a secret on its own)')
    .option('--vault-auth-role-id-file <file>', 'AppRole role id from a file')
    .option('--vault-auth-secret-id-file <file>', 'AppRole secret id from a file (never a flag value)')
    .option(
      '--vault-auth-secret-id-env <NAME>',
      'AppRole secret id from this variable (removed from the child)',
    )
    .option('--vault-auth-wrapped', 'the secret id source holds a response-wrapping token')
    .option('--vault-auth-wrapped-path <path>', 'expected creation path of the wrapping token')
    .option('--vault-auth-token-file <file>', 'token auth: token file after VAULT_TOKEN and ~/.vault-token')
    .option('--vault-auth-jwt-file <file>', 'JWT / Kubernetes: token file')
    .option('--vault-auth-jwt-env <NAME>', 'JWT from this variable (removed from the child)')
    .option('--vault-auth-audience <aud>', 'JWT: audience of the GitHub Actions OIDC token')
    .option('--vault-auth-name <name>', 'cert: the certificate role');
}

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

  const run = addCommonOptions(
    program
      .command('run')
      .description('resolve references, build the environment, and launch the command')
      .usage('[options] -- <command> [args...]')
      .argument('<command>', 'the program to launch')
      .argument('[args...]', 'its arguments')
      .passThroughOptions()
      .exitOverride(),
  )
    .addOption(
      new Option('--mode <mode>', 'exec: replace secrun; supervise: stay as parent; auto (default)').choices([
        'exec',
        'supervise',
        'auto',
      ]),
    )
    .option('--pristine', 'start the child from PATH HOME USER LANG TZ TERM plus configured variables')
    .option(
      '--keep <NAME>',
      'keep an inherited variable that would be removed (repeatable, * suffix glob)',
      collect,
    )
    .option(
      '--drop <NAME>',
      'remove a variable from the child (repeatable, * suffix glob; beats --keep)',
      collect,
    )
    .option('--kill-timeout <duration>', 'supervise: wait between the stop signal and SIGKILL (default 10s)')
    .option(
      '--mask',
      'replace injected values in the child output by <redacted:NAME> (default when CI is set)',
    )
    .option('--no-mask', 'do not mask the child output')
    .option('--watch <interval>', 'poll secrets for rotation every <interval> (supervise mode)')
    .option('--on-change <action>', 'on a changed secret: restart (default) | signal:<SIG> | exit | ignore')
    .option('--splay <duration>', 'random delay before acting on a change')
    .option('--no-revoke', 'keep leases and the login token when the child exits')
    .option('--audit <target>', 'audit stream (JSON lines): stderr, stdout or fd:N');
  run.action(async (command: string, args: string[], opts: RunCliOptions) => {
    const { runCommand } = await import('./boot/run.ts');
    result.code = await runCommand({ command, args, opts, io });
  });

  const check = addCommonOptions(
    program
      .command('check')
      .description('resolve every reference and report, launching nothing')
      .exitOverride(),
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
    .option('--seed <file>', 'YAML seed with vault: and aws: sections')
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
  const servers = await startDevServers({
    seedFile: opts.seed,
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
  io.stderr(
    `secrun dev: Vault on ${servers.vault.url}, Secrets Manager on ${servers.aws.url}; Ctrl-C to stop\n`,
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
  hardenProcess();
  const io: CliIo = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    stderrIsTty: Boolean(process.stderr.isTTY),
    stdinIsTty: Boolean(process.stdin.isTTY),
  };
  const code = await runCli(process.argv.slice(2), io);
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

if (import.meta.main) await main();
