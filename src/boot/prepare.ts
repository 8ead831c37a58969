import { monotonicMs } from '../base/builtins.ts';
import { showDuration, startDeadline } from '../base/deadline.ts';
import { RefError, ResolveError, type SecrunError, toSecrunError } from '../base/errors.ts';
import { createLogger, type Logger } from '../base/log.ts';
import type { CliIo, CommonCliOptions } from '../cli-options.ts';
import { loadConfig, resolveSettings, type Settings } from '../config/index.ts';
import { createProviderRegistry, type ProviderRegistry } from '../providers/registry.ts';
import { argvReferences, type CollectedRefs, collectRefs, templateEntries } from '../refs/index.ts';
import { leaseIds, type Resolution, type ResolveEntry, resolveAll } from '../resolve/resolve.ts';
import { onBootStop } from './stop-signals.ts';

/** Everything both `run` and `check` prepare before the first network call. */
export interface Prepared {
  settings: Settings;
  logger: Logger;
  collected: CollectedRefs;
}

/** Settings, logger and collected references: everything before the first network call. */
export async function prepare(
  opts: CommonCliOptions,
  io: CliIo,
  argv: readonly string[] = [],
): Promise<Prepared> {
  const file = await loadConfig({ flag: opts.config, env: io.env, cwd: io.cwd });
  const { config: _config, ...flags } = opts;
  const settings = resolveSettings({ file, env: io.env, flags });
  const logger = createLogger({
    level: settings.quiet ? 'error' : settings.logLevel,
    format: settings.logFormat,
    write: io.stderr,
  });
  const collected = collectRefs({
    env: io.env,
    scanEnv: settings.envRefs,
    explicit: settings.env.map(({ name, ref, source, write }) =>
      write ? { name, ref, source, write } : { name, ref, source },
    ),
    imports: settings.imports,
    files: settings.files,
    // Syntax errors are reported together with resolution failures, not instead of them.
    deferErrors: true,
  });
  reportDoubts(doubtfulValues(collected, argv), settings.strict, logger);
  return { settings, logger, collected };
}

/** A value that looks like a reference secrun will not resolve; `what` never holds the value. */
interface Doubt {
  /** The variable, or `argv[N]`. */
  where: string;
  what: string;
}

/** Mistyped schemes, references inside other text, references in the command line. */
function doubtfulValues(collected: CollectedRefs, argv: readonly string[]): Doubt[] {
  return [
    ...collected.nearMisses.map(({ variable, scheme }) => ({
      where: variable,
      what: `looks like a mistyped ${scheme} reference; it is passed through unchanged`,
    })),
    ...collected.embedded.map(({ variable, scheme }) => ({
      where: variable,
      what: `holds a ${scheme} reference inside other text; it is passed through unchanged (to fill it in, write the reference as a template: \${vault:path#field})`,
    })),
    ...argvReferences(argv).map(({ index, scheme }) => ({
      where: `argv[${index}]`,
      what: `${index === 0 ? 'the command' : `argument ${index} of the command`} holds a ${scheme} reference; arguments are never resolved (pass the secret in an environment variable)`,
    })),
  ];
}

/** Warns about each doubt, or with `--strict` fails (65) before any request. Never prints a value. */
function reportDoubts(doubts: Doubt[], strict: boolean, logger: Logger): void {
  if (doubts.length === 0) return;
  if (!strict) {
    for (const d of doubts) logger.warn(`${d.where} ${d.what} (--strict makes this an error)`);
    return;
  }
  const width = Math.max(...doubts.map((d) => d.where.length));
  const lines = doubts.map((d) => `  ${d.where.padEnd(width)}  ${d.what}`);
  throw new RefError(
    `--strict: ${doubts.length} ${doubts.length === 1 ? 'value looks' : 'values look'} like a reference that would not be resolved; the command was not started:\n${lines.join('\n')}`,
    'ref.strict',
    { problems: doubts.map((d) => d.where) },
  );
}

/** What to resolve: every reference, and every placeholder of every template (under its part name). */
export function resolveEntries(collected: CollectedRefs): ResolveEntry[] {
  return [
    ...collected.refs.map(({ variable, ref }) => ({ variable, ref })),
    ...templateEntries(collected.templates),
  ];
}

/** The provider registry for these settings; no provider is created yet. */
export function createRegistry(settings: Settings, io: CliIo, logger: Logger): ProviderRegistry {
  const tls = settings.vault.tls;
  return createProviderRegistry({
    env: io.env,
    logger,
    vault: {
      address: settings.vault.address,
      namespace: settings.vault.namespace,
      allowInsecureHttp: settings.allowInsecureHttp,
      tls: {
        ca: tls.ca,
        caPath: tls.capath,
        cert: tls.cert,
        key: tls.key,
        serverName: tls.serverName,
        skipVerify: tls.skipVerify,
      },
    },
    vaultAuth: settings.vault.auth,
    aws: { region: settings.aws.region, endpoint: settings.aws.endpoint },
  });
}

/** Resolves every reference within `--timeout`; syntax failures are reported with the rest. */
export async function resolveWithDeadline(
  prepared: Prepared,
  registry: ProviderRegistry,
  logger: Logger,
  io: CliIo,
): Promise<Resolution> {
  const { settings, collected } = prepared;
  const started = monotonicMs();
  const deadline = startDeadline(settings.timeoutMs, `--timeout ${showDuration(settings.timeoutMs)}`);
  const unsubscribe = onBootStop((sig) => deadline.stop(`stopped by ${sig}`));
  const signal = deadline.signal;
  let resolution: Resolution;
  try {
    resolution = await resolveAll(
      resolveEntries(collected),
      collected.imports.map(({ ref, prefix, label }) => ({ ref, prefix, label })),
      registry,
      signal,
    );
  } catch (err) {
    if (err instanceof ResolveError && collected.failures.length > 0) {
      throw new ResolveError([...collected.failures, ...err.failures], { leaseIds: err.leaseIds });
    }
    throw err;
  } finally {
    unsubscribe();
    deadline.dispose();
  }
  if (collected.failures.length > 0) {
    throw new ResolveError(collected.failures, { leaseIds: leaseIds(resolution.documents) });
  }
  const ms = Math.round(monotonicMs() - started);
  const count = resolution.variables.length;
  const providers = new Set(resolution.documents.map((d) => d.scheme)).size;
  const line = `${count} ${count === 1 ? 'secret' : 'secrets'} from ${providers} ${providers === 1 ? 'provider' : 'providers'} in ${ms} ms`;
  if (io.stderrIsTty) logger.info(line);
  else logger.debug(line);
  return resolution;
}

/** Revokes leases nothing will use (failed boot, `secrun check`); failures are logged only. */
export async function revokeLeases(registry: ProviderRegistry, ids: string[], logger: Logger): Promise<void> {
  if (ids.length === 0) return;
  const provider = await registry.session();
  if (!provider) return;
  await Promise.all(
    ids.map((id) =>
      provider.revokeLease(id, AbortSignal.timeout(10_000)).then(
        () => logger.debug('revoked an unused lease', { lease: id }),
        (err: unknown) =>
          logger.warn('could not revoke an unused lease', { lease: id, code: toSecrunError(err).code }),
      ),
    ),
  );
}

/** The logger used before the settings are known. */
export function fallbackLogger(io: CliIo, opts: CommonCliOptions): Logger {
  const format = opts.logFormat === 'json' ? 'json' : 'text';
  return createLogger({ level: opts.quiet ? 'error' : 'info', format, write: io.stderr });
}

/** Logs a failure the way the chosen log format wants it; returns its exit code. */
export function report(err: unknown, logger: Logger): number {
  const error: SecrunError = toSecrunError(err);
  if (logger.format === 'json') {
    const failures = error instanceof ResolveError ? error.toJSON()['failures'] : undefined;
    const [first, ...rest] = error.message.split('\n');
    logger.error(first ?? error.message, {
      code: error.code,
      exitCode: error.exitCode,
      detail: failures || rest.length === 0 ? undefined : rest.map((l) => l.trim()).join('; '),
      failures,
    });
  } else {
    logger.error(error.message);
  }
  return error.exitCode;
}
