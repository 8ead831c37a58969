import { performance } from 'node:perf_hooks';
import { type Audit, createAudit, documentFields } from '../base/audit.ts';
import { ExitCode, ResolveError, type SecrunError, toSecrunError, UsageError } from '../base/errors.ts';
import { createLogger, type Logger } from '../base/log.ts';
import type { CheckCliOptions, CliIo, CommonCliOptions, RunCliOptions } from '../cli.ts';
import { type Flags, loadConfig, resolveSettings, type Settings } from '../config/index.ts';
import { execReplace, resolveCommand } from '../launch/exec.ts';
import { createProviderRegistry, type ProviderRegistry } from '../providers/registry.ts';
import type { VaultCheckInfo, VaultProvider } from '../providers/vault/provider.ts';
import { type CollectedRefs, collectRefs } from '../refs/index.ts';
import { leaseIds, type Resolution, resolveAll } from '../resolve/resolve.ts';
import { buildChildEnv, DEFAULT_AGENT_CREDENTIALS } from './child-env.ts';

/** Everything both `run` and `check` prepare before the first network call. */
interface Prepared {
  settings: Settings;
  logger: Logger;
  collected: CollectedRefs;
}

/** `secrun run`: preflight, resolve, build the environment, exec or supervise. Returns the exit code. */
export async function runCommand(req: {
  command: string;
  args: string[];
  opts: RunCliOptions;
  io: CliIo;
}): Promise<number> {
  const { io } = req;
  let logger = fallbackLogger(io, req.opts);
  try {
    const prepared = prepare(req.opts, io, {
      mode: req.opts.mode,
      pristine: req.opts.pristine,
      keep: req.opts.keep,
      drop: req.opts.drop,
      killTimeout: req.opts.killTimeout,
      mask: req.opts.mask,
      watch: req.opts.watch,
      onChange: req.opts.onChange,
      splay: req.opts.splay,
      revoke: req.opts.revoke === false ? false : undefined,
      audit: req.opts.audit,
    });
    logger = prepared.logger;
    const { settings, collected } = prepared;

    if (settings.mode === 'exec' && req.opts.mask === true) {
      throw new UsageError(
        '--mask needs supervise mode (output is masked by a parent process); drop --mode exec',
      );
    }
    // Preflight before any fetch: a failed process.execve aborts Node instead of throwing.
    const file = resolveCommand(req.command, { path: io.env['PATH'], cwd: io.cwd });

    const registry = createRegistry(settings, io, logger);
    let resolution: Resolution;
    try {
      resolution = await resolveWithDeadline(prepared, registry, logger, io);
    } catch (err) {
      if (err instanceof ResolveError) await revokeLeases(registry, err.leaseIds, logger);
      await registry.closeAll();
      throw err;
    }

    const consumed = registry.loaded().includes('vault')
      ? (await import('../providers/vault/auth/index.ts')).consumedVariables(settings.vault.auth)
      : [];
    const buildEnv = (values: ReadonlyMap<string, string>): Record<string, string> =>
      buildChildEnv({
        agentCredentials: [...DEFAULT_AGENT_CREDENTIALS, ...consumed],
        inherited: io.env,
        values,
        refVariables: collected.refVariables,
        pristine: settings.pristine,
        keep: settings.keep,
        drop: settings.drop,
        configuredNames: [...values.keys()],
        envRefsScanned: settings.envRefs,
      });
    const env = buildEnv(resolution.values);

    // Every value read, now and by later re-reads: the audit stream's redaction backstop.
    const known = new Set<string>(resolution.values.values());
    const audit = createAudit({ target: settings.audit, secrets: () => known });
    if (audit.enabled && registry.loaded().includes('vault')) {
      const login = ((await registry.get('vault')) as VaultProvider).loginSummary;
      if (login) audit.record('auth.login', { provider: 'vault', ...login });
    }
    recordReads(audit, resolution);
    const leased = resolution.documents.filter((d) => d.lease);
    const needsParent = leased.length > 0 || settings.watchMs !== undefined || settings.mask;
    const mode = settings.mode === 'auto' ? (needsParent ? 'supervise' : 'exec') : settings.mode;
    logger.debug('launching', { mode, command: req.command });

    if (mode === 'exec' && settings.mask) {
      logger.warn(
        'exec mode: the output of the command is not masked (masking needs --mode supervise or auto)',
      );
    }
    if (mode === 'exec') {
      for (const doc of leased) {
        const expires = new Date(Date.now() + (doc.lease?.duration ?? 0) * 1000).toISOString();
        logger.warn(`exec mode: the lease of ${doc.path} is not renewed and expires at ${expires}`);
      }
      if (settings.watchMs !== undefined)
        logger.warn('exec mode: --watch has no effect (nothing stays to watch)');
      // Revoking the login token would revoke the leases the child is about to use.
      await registry.closeAll({ keepToken: leased.length > 0 });
      const login = registry.loaded().includes('vault')
        ? ((await registry.get('vault')) as VaultProvider).loginSummary
        : undefined;
      if (login?.owned && leased.length === 0) {
        audit.record('auth.revoke', { provider: 'vault', method: login.method, accessor: login.accessor });
      }
      audit.record('child.start', { mode: 'exec', command: req.command, pid: process.pid });
      execReplace(file, req.args, env, req.command);
    }

    // Loaded on demand: exec mode never pays for execa and the lease machinery (boot time).
    const { runSupervisedWithSecrets } = await import('../supervise/secret-runner.ts');
    const exit = await runSupervisedWithSecrets({
      file,
      argv0: req.command,
      args: req.args,
      cwd: io.cwd,
      resolution,
      entries: collected.refs.map(({ variable, ref }) => ({ variable, ref })),
      imports: collected.imports.map(({ ref, prefix, label }) => ({ ref, prefix, label })),
      buildEnv,
      registry,
      settings,
      logger,
      audit,
      isTty: io.stdinIsTty,
      knownSecrets: known,
      watch: await watchHook(settings, resolution, registry, logger),
    });
    logger.debug('child exited', { exitCode: exit.exitCode, signal: exit.signal ?? undefined });
    return exit.exitCode;
  } catch (err) {
    return report(err, logger);
  }
}

/** `secrun check`: resolve everything, launch nothing, print a value-free report. */
export async function checkCommand(req: { opts: CheckCliOptions; io: CliIo }): Promise<number> {
  const { io, opts } = req;
  let logger = fallbackLogger(io, opts);
  try {
    const prepared = prepare(opts, io, {});
    logger = prepared.logger;
    const registry = createRegistry(prepared.settings, io, logger);
    let resolution: Resolution;
    let vault: VaultCheckInfo | undefined;
    try {
      resolution = await resolveWithDeadline(prepared, registry, logger, io);
      if (registry.loaded().includes('vault')) {
        const { vaultCheckInfo } = await import('../providers/vault/provider.ts');
        vault = await vaultCheckInfo(
          await registry.get('vault'),
          AbortSignal.timeout(prepared.settings.timeoutMs),
        );
      }
      // check launches nothing: the dynamic credentials it minted are handed back at once.
      await revokeLeases(registry, leaseIds(resolution.documents), logger);
    } catch (err) {
      if (err instanceof ResolveError) {
        await revokeLeases(registry, err.leaseIds, logger);
        throw new ResolveError(err.failures, { launching: false });
      }
      throw err;
    } finally {
      await registry.closeAll();
    }
    const { formatCheckTable, checkReport } = await import('./check-report.ts');
    const data = checkReport(resolution, new Date(), vault);
    let text = formatCheckTable(data);
    if (vault) text += `\n${(await import('../providers/vault/provider.ts')).formatVaultCheck(vault)}`;
    io.stdout(opts.json ? `${JSON.stringify(data, null, 2)}\n` : text);
    return ExitCode.ok;
  } catch (err) {
    if (opts.json) {
      const error = toSecrunError(err);
      io.stdout(`${JSON.stringify({ ok: false, error: error.toJSON() }, null, 2)}\n`);
      return error.exitCode;
    }
    return report(err, logger);
  }
}

function prepare(opts: CommonCliOptions, io: CliIo, extra: Partial<Record<keyof Flags, unknown>>): Prepared {
  const file = loadConfig({ flag: opts.config, env: io.env, cwd: io.cwd });
  const flags: Partial<Flags> = {};
  const set = <K extends keyof Flags>(key: K, value: unknown): void => {
    if (value !== undefined) flags[key] = value as Flags[K];
  };
  set('env', opts.env);
  set('import', opts.import);
  if (opts.envRefs === false) flags.envRefs = false;
  set('logLevel', opts.logLevel);
  set('logFormat', opts.logFormat);
  set('quiet', opts.quiet);
  set('timeout', opts.timeout);
  set('allowInsecureHttp', opts.allowInsecureHttp);
  const vaultAuth: Flags['vaultAuth'] = {};
  for (const [key, value] of Object.entries(opts)) {
    if (!key.startsWith('vaultAuth') || value === undefined) continue;
    const name = key.slice('vaultAuth'.length);
    vaultAuth[`${name[0]?.toLowerCase()}${name.slice(1)}` as keyof Flags['vaultAuth']] = value as
      | string
      | boolean;
  }
  flags.vaultAuth = vaultAuth;
  for (const [key, value] of Object.entries(extra)) set(key as keyof Flags, value);
  const settings = resolveSettings({ file, env: io.env, flags });
  const logger = createLogger({
    level: settings.quiet ? 'error' : settings.logLevel,
    format: settings.logFormat,
    write: io.stderr,
  });
  const collected = collectRefs({
    env: io.env,
    scanEnv: settings.envRefs,
    explicit: settings.env.map(({ name, ref, source }) => ({ name, ref, source })),
    imports: settings.imports,
    // Syntax errors are reported together with resolution failures, not instead of them.
    deferErrors: true,
  });
  for (const miss of collected.nearMisses) {
    logger.warn(
      `${miss.variable} looks like a mistyped ${miss.scheme} reference; it is passed through unchanged`,
    );
  }
  return { settings, logger, collected };
}

function createRegistry(settings: Settings, io: CliIo, logger: Logger): ProviderRegistry {
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

async function resolveWithDeadline(
  prepared: Prepared,
  registry: ProviderRegistry,
  logger: Logger,
  io: CliIo,
): Promise<Resolution> {
  const { settings, collected } = prepared;
  const started = performance.now();
  const signal = AbortSignal.timeout(settings.timeoutMs);
  let resolution: Resolution;
  try {
    resolution = await resolveAll(
      collected.refs.map(({ variable, ref }) => ({ variable, ref })),
      collected.imports.map(({ ref, prefix, label }) => ({ ref, prefix, label })),
      registry,
      signal,
    );
  } catch (err) {
    if (err instanceof ResolveError && collected.failures.length > 0) {
      throw new ResolveError([...collected.failures, ...err.failures], { leaseIds: err.leaseIds });
    }
    throw err;
  }
  if (collected.failures.length > 0) {
    throw new ResolveError(collected.failures, { leaseIds: leaseIds(resolution.documents) });
  }
  const ms = Math.round(performance.now() - started);
  const count = resolution.variables.length;
  const providers = new Set(resolution.documents.map((d) => d.scheme)).size;
  const line = `${count} ${count === 1 ? 'secret' : 'secrets'} from ${providers} ${providers === 1 ? 'provider' : 'providers'} in ${ms} ms`;
  if (io.stderrIsTty) logger.info(line);
  else logger.debug(line);
  return resolution;
}

/** Revokes leases nothing will use (failed boot, `secrun check`); failures are logged only. */
async function revokeLeases(registry: ProviderRegistry, ids: string[], logger: Logger): Promise<void> {
  if (ids.length === 0 || !registry.loaded().includes('vault')) return;
  const provider = (await registry.get('vault')) as VaultProvider;
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

/** Connects rotation polling (`--watch`) to the runner: documents without a lease are watched. */
async function watchHook(
  settings: Settings,
  resolution: Resolution,
  registry: ProviderRegistry,
  logger: Logger,
): Promise<((refresh: (keys: string[]) => void) => () => Promise<void>) | undefined> {
  const intervalMs = settings.watchMs;
  if (intervalMs === undefined) return undefined;
  const { createWatcher } = await import('../supervise/watch.ts');
  const { documentToken } = await import('../providers/fingerprint.ts');
  const docs = resolution.documents.filter((d) => !d.lease);
  return (refresh) => {
    const watcher = createWatcher({
      registry,
      intervalMs,
      logger,
      documents: docs.map(({ key, scheme, path, options }) => ({ key, scheme, path, options })),
      baseline: new Map(docs.map((d) => [d.key, documentToken(d, d)])),
      onChange: refresh,
    });
    watcher.start();
    return () => watcher.stop();
  };
}

/** One audit record per document read: provider, path, version, lease, duration. Never a value. */
function recordReads(audit: Audit, resolution: Resolution): void {
  if (!audit.enabled) return;
  for (const doc of resolution.documents) {
    audit.record('secret.read', {
      ...documentFields(doc),
      options: Object.keys(doc.options).length > 0 ? doc.options : undefined,
      durationMs: Math.round(doc.readMs),
      variables: doc.variables,
    });
  }
}

function fallbackLogger(io: CliIo, opts: CommonCliOptions): Logger {
  const format = opts.logFormat === 'json' ? 'json' : 'text';
  return createLogger({ level: opts.quiet ? 'error' : 'info', format, write: io.stderr });
}

function report(err: unknown, logger: Logger): number {
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
