import type { Audit } from '../base/audit.ts';
import { checkAuditTarget, createAudit, inheritedFds } from '../base/audit.ts';
import { ResolveError, SecrunError, UsageError } from '../base/errors.ts';
import type { Logger } from '../base/log.ts';
import type { CliIo, RunCliOptions } from '../cli-options.ts';
import type { Settings } from '../config/index.ts';
import { execReplace, resolveCommand } from '../launch/exec.ts';
import { checkExecEnv, type ExecPlan, planExec } from '../launch/exec-plan.ts';
import { fdPath } from '../launch/fd-files.ts';
import { checkPipeSupport } from '../launch/pipes.ts';
import { signalNumber } from '../launch/signals.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import { renderValues, variableOf } from '../refs/index.ts';
import type { Resolution } from '../resolve/resolve.ts';
import { documentFields, leaseIds } from '../resolve/resolve.ts';
import { buildChildEnv, DEFAULT_AGENT_CREDENTIALS } from './child-env.ts';
import {
  createRegistry,
  fallbackLogger,
  prepare,
  report,
  resolveEntries,
  resolveWithDeadline,
  revokeLeases,
} from './prepare.ts';
import { bootSplay } from './splay.ts';
import { bootStopReceived, catchBootSignals, releaseBootSignals } from './stop-signals.ts';

/** A stop signal during boot: the command is not started; exit 128+n as the shell would. */
function stoppedError(sig: NodeJS.Signals): SecrunError {
  return new SecrunError(
    'boot.stopped',
    128 + signalNumber(sig),
    `stopped by ${sig} before the command started; what was minted is revoked and the command was not started`,
    { signal: sig },
  );
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
  catchBootSignals();
  let handedOver = false;
  try {
    const prepared = await prepare(req.opts, io, [req.command, ...req.args]);
    logger = prepared.logger;
    const { settings, collected } = prepared;

    if (settings.mode === 'exec' && req.opts.mask === true) {
      throw new UsageError(
        '--mask needs supervise mode (output is masked by a parent process); drop --mode exec',
      );
    }
    if (settings.files.length > 0) {
      // A pipe needs a parent to fill it: exec mode would leave nobody to write.
      if (settings.mode === 'exec') {
        throw new UsageError(
          '--file needs supervise mode (the agent fills the pipe the command reads); drop --mode exec or use --env',
          'usage.fileExec',
        );
      }
      checkPipeSupport();
    }
    // Preflight before any fetch: a failed process.execve aborts Node instead of throwing.
    const file = resolveCommand(req.command, { path: io.env['PATH'], cwd: io.cwd });
    const planOpts = { path: io.env['PATH'], cwd: io.cwd };
    const command: ExecPlan = { file, argv0: req.command, args: req.args };
    let plan = planExec(command, planOpts);
    checkAuditTarget(settings.audit, io.inheritedFds ?? inheritedFds());

    await bootSplay(settings.bootSplayMs, logger);
    const stoppedEarly = bootStopReceived();
    if (stoppedEarly) throw stoppedError(stoppedEarly);
    const registry = createRegistry(settings, io, logger);
    let resolution: Resolution;
    try {
      resolution = await resolveWithDeadline(prepared, registry, logger, io);
    } catch (err) {
      if (err instanceof ResolveError) await revokeLeases(registry, err.leaseIds, logger);
      await registry.closeAll();
      const sig = bootStopReceived();
      throw sig ? stoppedError(sig) : err;
    }
    // A stop signal after the reads: hand back what was minted, start nothing.
    const abandonIfStopped = async (): Promise<void> => {
      const sig = bootStopReceived();
      if (!sig) return;
      await revokeLeases(registry, leaseIds(resolution.documents), logger);
      await registry.closeAll();
      throw stoppedError(sig);
    };

    const providers = await registry.providers();
    const consumed = providers.flatMap((p) => p.consumedVariables?.() ?? []);
    const session = await registry.session();
    // Every value read and every template built, now and after re-reads: the audit stream's
    // redaction backstop.
    const known = new Set<string>(resolution.values.values());
    const { templates, files } = collected;
    const buildEnv = (values: ReadonlyMap<string, string>): Record<string, string> => {
      const rendered = renderValues(values, templates);
      for (const { variable } of templates) {
        const built = rendered.get(variable);
        if (built !== undefined) known.add(built);
      }
      // A file's variable names the pipe the child reads; its value goes into the pipe.
      for (const [i, name] of files.entries()) rendered.set(name, fdPath(i));
      return buildChildEnv({
        agentCredentials: [...DEFAULT_AGENT_CREDENTIALS, ...consumed],
        inherited: io.env,
        values: rendered,
        refVariables: collected.refVariables,
        pristine: settings.pristine,
        keep: settings.keep,
        drop: settings.drop,
        configuredNames: [...rendered.keys()],
        envRefsScanned: settings.envRefs,
      });
    };
    const env = buildEnv(resolution.values);
    let audit: Audit;
    try {
      // Again right before the handover: the values are known now, and the file may have changed.
      checkExecEnv(plan, env);
      plan = planExec(command, planOpts);
      audit = createAudit({ target: settings.audit, secrets: () => known });
    } catch (err) {
      // Nothing will use what was minted: hand it back before failing.
      await revokeLeases(registry, leaseIds(resolution.documents), logger);
      await registry.closeAll();
      throw err;
    }

    const login = session?.loginSummary;
    if (session && login) audit.record('auth.login', { provider: session.scheme, ...login });
    recordReads(audit, resolution);
    const leased = resolution.documents.filter((d) => d.lease);
    const issued = resolution.documents.filter((d) => d.issued);
    const needsParent =
      leased.length > 0 ||
      issued.length > 0 ||
      settings.watchMs !== undefined ||
      settings.mask ||
      files.length > 0;
    const mode = settings.mode === 'auto' ? (needsParent ? 'supervise' : 'exec') : settings.mode;
    logger.debug('launching', { mode, command: req.command });

    if (mode === 'supervise') warnCredentialsInEnv(io.env, consumed, logger);
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
      for (const doc of issued) {
        logger.warn(
          `exec mode: the certificate from ${doc.path} is not issued again and expires at ${doc.issued?.expiresAt.toISOString()}`,
        );
      }
      if (settings.watchMs !== undefined)
        logger.warn('exec mode: --watch has no effect (nothing stays to watch)');
      await abandonIfStopped();
      // Revoking the login token would revoke the leases the child is about to use.
      await registry.closeAll({ keepToken: leased.length > 0 });
      if (session && login?.owned && leased.length === 0) {
        audit.record('auth.revoke', {
          provider: session.scheme,
          method: login.method,
          accessor: login.accessor,
        });
      }
      // A stop during the close (revoking the login token is a request) still starts nothing.
      // Nothing is left to hand back: without leases the token is revoked; with leases the close
      // sent no request, so no signal could come in between.
      const late = bootStopReceived();
      if (late) throw stoppedError(late);
      audit.record('child.start', { mode: 'exec', command: req.command, pid: process.pid });
      execReplace(plan.file, plan.args, env, plan.argv0);
    }

    // Loaded on demand: exec mode never pays for execa and the lease machinery (boot time).
    const { superviseChild } = await import('../supervise/secret-runner.ts');
    const watch = await watchHook(settings, resolution, registry, logger);
    await abandonIfStopped();
    // The runner installs its own signal listeners synchronously, before its first await.
    const running = superviseChild({
      file: plan.file,
      argv0: plan.argv0,
      args: plan.args,
      cwd: io.cwd,
      resolution,
      entries: resolveEntries(collected),
      templates,
      imports: collected.imports.map(({ ref, prefix, label }) => ({ ref, prefix, label })),
      buildEnv,
      buildFiles: (values) => {
        const rendered = renderValues(values, templates);
        return files.map((name) => [name, rendered.get(name) ?? ''] as const);
      },
      registry,
      settings,
      logger,
      audit,
      isTty: io.stdinIsTty,
      knownSecrets: known,
      watch,
    });
    handedOver = true;
    releaseBootSignals();
    const exit = await running;
    logger.debug('child exited', { exitCode: exit.exitCode, signal: exit.signal ?? undefined });
    return exit.exitCode;
  } catch (err) {
    return report(err, logger);
  } finally {
    if (!handedOver) releaseBootSignals();
  }
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
  // Leased documents are renewed, issued ones issued again; polling them, or a write, would mint new ones.
  const docs = resolution.documents.filter((d) => !d.lease && !d.issued && !d.write);
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

/**
 * One audit record per document read (`secret.write` for a document fetched by a write: a config
 * entry's `write: true`, a certificate issued): provider, path, version, lease, duration. Never a
 * value.
 */
function recordReads(audit: Audit, resolution: Resolution): void {
  if (!audit.enabled) return;
  for (const doc of resolution.documents) {
    audit.record(doc.write || doc.issued ? 'secret.write' : 'secret.read', {
      ...documentFields(doc),
      options: Object.keys(doc.options).length > 0 ? doc.options : undefined,
      durationMs: Math.round(doc.readMs),
      variables: [...new Set(doc.variables.map(variableOf))],
    });
  }
}

/** Credentials that, passed as variables, stay readable in /proc/<agent pid>/environ. */
const ENV_CREDENTIALS = ['VAULT_TOKEN', 'VAULT_SECRET_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/**
 * Supervise mode: the child runs as the same user as the agent, so it can read the agent's
 * initial environment (/proc/<ppid>/environ) although its own lacks the credentials. Say so.
 */
function warnCredentialsInEnv(
  env: Readonly<Record<string, string | undefined>>,
  consumed: readonly string[],
  logger: Logger,
): void {
  const found = [...new Set([...ENV_CREDENTIALS, ...consumed])].filter((n) => env[n]);
  if (found.length === 0) return;
  logger.warn(
    `supervise mode: ${found.join(', ')} ${found.length === 1 ? 'is' : 'are'} in secrun's own environment; ` +
      'the command does not get it, but any process of the same user can read it from ' +
      `/proc/${process.pid}/environ while secrun runs; prefer the file forms (token file, ` +
      'secret_id_file, Kubernetes or JWT file auth, an AWS role) or run the command as another user',
  );
}
