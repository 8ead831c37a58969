import { ExitCode, ResolveError, toSecrunError } from '../base/errors.ts';
import type { CheckCliOptions, CliIo } from '../cli-options.ts';
import { checkExecEnv } from '../launch/exec-plan.ts';
import type { ProviderCheck, SecretDates } from '../providers/provider.ts';
import { leaseIds, type Resolution } from '../resolve/resolve.ts';
import { buildHygiene, describeDocuments, formatHygiene } from './hygiene.ts';
import {
  createRegistry,
  fallbackLogger,
  prepare,
  report,
  resolveWithDeadline,
  revokeLeases,
} from './prepare.ts';

/** `secrun check`: resolve everything, launch nothing, print a value-free report. */
export async function checkCommand(req: { opts: CheckCliOptions; io: CliIo }): Promise<number> {
  const { io, opts } = req;
  let logger = fallbackLogger(io, opts);
  try {
    const { json: _json, ...common } = opts;
    const prepared = await prepare(common, io);
    logger = prepared.logger;
    const registry = createRegistry(prepared.settings, io, logger);
    let resolution: Resolution;
    const checks: ProviderCheck[] = [];
    let dates: Map<string, SecretDates>;
    try {
      resolution = await resolveWithDeadline(prepared, registry, logger, io);
      const signal = AbortSignal.timeout(prepared.settings.timeoutMs);
      for (const provider of await registry.providers()) {
        const facts = await provider.checkFacts?.(signal);
        if (facts) checks.push(facts);
      }
      dates = await describeDocuments(resolution.documents, registry, signal, logger);
      // check launches nothing: the dynamic credentials it minted are handed back at once.
      await revokeLeases(registry, leaseIds(resolution.documents), logger);
      // What `run` would refuse at the handover (NUL, MAX_ARG_STRLEN, ARG_MAX), without a command.
      const env: Record<string, string> = {};
      for (const [name, value] of Object.entries(io.env)) if (value !== undefined) env[name] = value;
      for (const [name, value] of resolution.values) env[name] = value;
      checkExecEnv({ file: '', argv0: '', args: [] }, env);
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
    const now = new Date();
    const hygiene = buildHygiene({
      resolution,
      dates,
      providerCertificates: checks.flatMap((c) => c.certificates ?? []),
      now,
      ...(prepared.settings.maxAgeMs !== undefined ? { maxAgeMs: prepared.settings.maxAgeMs } : {}),
      ...(prepared.settings.minValidityMs !== undefined
        ? { minValidityMs: prepared.settings.minValidityMs }
        : {}),
    });
    // An expired certificate fails the check with or without thresholds: say so on stderr too,
    // where a CI log shows it even when stdout is the --json report.
    for (const f of hygiene.findings) if (f.kind === 'expired') logger.warn(f.message);
    const data = checkReport(resolution, now, checks, hygiene, prepared.collected.files);
    const review = formatHygiene(hygiene);
    const text = [formatCheckTable(data), ...checks.map((c) => c.text), ...(review ? [review] : [])].join(
      '\n',
    );
    io.stdout(opts.json ? `${JSON.stringify(data, null, 2)}\n` : text);
    if (hygiene.findings.length > 0) {
      const n = hygiene.findings.length;
      logger.error(
        `check found ${n} hygiene ${n === 1 ? 'finding' : 'findings'}; exiting ${ExitCode.findings}`,
      );
      return ExitCode.findings;
    }
    return ExitCode.ok;
  } catch (err) {
    if (opts.json) {
      const error = toSecrunError(err);
      io.stdout(`${JSON.stringify({ ok: false, error: error.toJSON() }, null, 2)}\n`);
      // A CI log shows stderr, not the report file: say in one line why the job failed.
      io.stderr(`secrun: check failed (exit ${error.exitCode}): ${oneLine(error.message)}\n`);
      return error.exitCode;
    }
    return report(err, logger);
  }
}

/** A multi-line message as one line of at most 400 characters. */
function oneLine(message: string): string {
  const text = message
    .split('\n')
    .map((l) => l.trim().replace(/\s{2,}/g, ' '))
    .filter((l) => l !== '')
    .join('; ')
    .replace(/:;/g, ':');
  return text.length > 400 ? `${text.slice(0, 399)}…` : text;
}
