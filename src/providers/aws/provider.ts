import type { AgentOptions } from 'node:https';
import {
  BatchGetSecretValueCommand,
  type BatchGetSecretValueCommandOutput,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { type SecrunError, toSecrunError, UnavailableError } from '../../base/errors.ts';
import { createLimiter, MAX_CONCURRENT_REQUESTS } from '../../base/limit.ts';
import type { Logger } from '../../base/log.ts';
import { withRetry } from '../../base/retry.ts';
import { createRetryAnnouncer } from '../../base/retry-log.ts';
import { DELETED_TOKEN, PINNED_TOKEN, stageOf } from '../fingerprint.ts';
import { http, https } from '../http-modules.ts';
import type { DocumentRequest, DocumentResult, Provider, SecretDates } from '../provider.ts';
import { capResponseBodies } from './body-cap.ts';
import { arnRegion, BATCH_SIZE, describeToken, entryMatches, toDocument } from './documents.ts';
import {
  asAwsError,
  awsWaitReason,
  classifyAwsError,
  type Failure,
  isBatchUnsupported,
  isProviderWide,
  mapAwsError,
  mapFailure,
  statusOf,
} from './errors.ts';
import { awsTlsOptions, endpointLabel } from './tls.ts';

/** Static AWS credentials, as the SDK takes them. */
export interface AwsStaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Options of {@link createSecretsManagerProvider}. */
export interface SecretsManagerProviderOptions {
  /**
   * The agent's environment (`process.env` in production). Read for `AWS_REGION`,
   * `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL`, `AWS_CA_BUNDLE` and the environment
   * step of the credential chain; everything else is left to the SDK's default chains.
   */
  env: Record<string, string | undefined>;
  /** Config `aws.region`; an ARN's own region wins over it. */
  region?: string;
  /** Config `aws.endpoint`: wins over the environment. */
  endpoint?: string;
  /** Explicit credentials; default: the environment step, then the SDK's default chain. */
  credentials?: AwsStaticCredentials;
  logger: Logger;
  /** TCP connect timeout per request, ms (default 5000). */
  connectionTimeoutMs?: number;
  /** Whole-request timeout per attempt, ms (default 15000). */
  requestTimeoutMs?: number;
  /** Retry tuning (tests); defaults are those of `withRetry`. */
  retry?: { maxAttempts?: number; baseMs?: number; capMs?: number };
  /** Requests in flight at once (default {@link MAX_CONCURRENT_REQUESTS}); the rest queue. */
  maxConcurrent?: number;
  /** Largest response body accepted (default 8 MiB, see `MAX_RESPONSE_BYTES`). */
  maxResponseBytes?: number;
}

/**
 * Creates the AWS Secrets Manager provider (`awssm:` references and bare ARNs).
 *
 * Credentials and region come from the SDK's default chains; `opts.env` supplies the
 * environment step (static keys when both `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` are set
 * and `AWS_PROFILE` is not, as the SDK's own env step does), `AWS_REGION` and the endpoint
 * variables. One SDK client per region: an ARN's region wins over `opts.region`.
 * The SDK's own retries are off (`maxAttempts: 1`); `withRetry` retries within the boot deadline.
 * TLS is pinned per client ({@link awsTlsOptions}); a TLS failure is `awssm.tls`, never retried.
 *
 * `readAll`: documents without version options are read with BatchGetSecretValue, at most
 * {@link BATCH_SIZE} ids per call; the rest (and everything once batch is denied) with one
 * GetSecretValue each, in parallel.
 *
 * `probe`: one DescribeSecret (same retries and timeouts as reads), never a value: the token is
 * the VersionId carrying the reference's stage (`AWSCURRENT` unless `version-stage`), see
 * {@link describeToken}; a `version-id` reference gives a constant without a request; a secret
 * that no longer exists gives `deleted`; when DescribeSecret is denied the answer is `undefined`
 * (logged once at debug, not asked again for that document).
 */
export function createSecretsManagerProvider(opts: SecretsManagerProviderOptions): Provider {
  const { env, logger } = opts;
  const clients = new Map<string, SecretsManagerClient>();
  let batchDenied = false;
  const describeDenied = new Set<string>();

  const endpoint =
    opts.endpoint ??
    (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true'
      ? undefined
      : env.AWS_ENDPOINT_URL_SECRETS_MANAGER || env.AWS_ENDPOINT_URL || undefined);
  const credentials = opts.credentials ?? envCredentials(env);
  let tlsOptions: AgentOptions | undefined;
  if (env.NODE_TLS_REJECT_UNAUTHORIZED === '0' && !endpoint?.startsWith('http:')) {
    logger.warn(
      'NODE_TLS_REJECT_UNAUTHORIZED=0 is set; secrun ignores it for Secrets Manager and still verifies the certificate',
    );
  }

  function clientFor(region: string | undefined): SecretsManagerClient {
    const key = region ?? '';
    let client = clients.get(key);
    if (!client) {
      tlsOptions ??= awsTlsOptions(env);
      const config: SecretsManagerClientConfig = {
        maxAttempts: 1,
        requestHandler: {
          httpsAgent: new (https().Agent)(tlsOptions),
          httpAgent: new (http().Agent)({ keepAlive: true, maxSockets: MAX_CONCURRENT_REQUESTS }),
          connectionTimeout: opts.connectionTimeoutMs ?? 5000,
          requestTimeout: opts.requestTimeoutMs ?? 15000,
          throwOnRequestTimeout: true,
        },
      };
      if (region) config.region = region;
      if (endpoint) config.endpoint = endpoint;
      if (credentials) config.credentials = credentials;
      client = new SecretsManagerClient(config);
      capResponseBodies(client.config.requestHandler, opts.maxResponseBytes);
      clients.set(key, client);
    }
    return client;
  }

  function regionFor(req: DocumentRequest): string | undefined {
    return arnRegion(req.path) ?? opts.region ?? (env.AWS_REGION || undefined);
  }

  function mapError(err: unknown, req: DocumentRequest, signal: AbortSignal): SecrunError {
    return mapAwsError(err, req, signal, { endpoint: endpointLabel(endpoint, regionFor(req)) });
  }

  const limit = createLimiter(opts.maxConcurrent ?? MAX_CONCURRENT_REQUESTS);
  const announce = createRetryAnnouncer(logger);
  const where = endpointLabel(endpoint, opts.region ?? (env.AWS_REGION || undefined));

  function retrying<T>(op: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    return withRetry(() => limit(fn), {
      ...opts.retry,
      signal,
      classify: classifyAwsError,
      onRetry: (err, attempt, waitMs, leftMs) => {
        const e = asAwsError(err);
        logger.debug('secrets manager: retrying', {
          op,
          attempt,
          waitMs,
          code: e.name ?? e.code,
          status: statusOf(err),
        });
        const at = where ? `Secrets Manager at ${where}` : 'Secrets Manager';
        announce(`${at} ${awsWaitReason(err)}`, waitMs, leftMs);
      },
    });
  }

  /** DescribeSecret (metadata: stages, dates; never the value), retried like every call. */
  function describeSecret(req: DocumentRequest, signal: AbortSignal): Promise<DescribeSecretCommandOutput> {
    const client = clientFor(regionFor(req));
    return retrying('DescribeSecret', signal, () =>
      client.send(new DescribeSecretCommand({ SecretId: req.path }), { abortSignal: signal }),
    );
  }

  async function getOne(req: DocumentRequest, signal: AbortSignal): Promise<DocumentResult> {
    const input: GetSecretValueCommandInput = { SecretId: req.path };
    if (req.options['version-id']) input.VersionId = req.options['version-id'];
    if (req.options['version-stage']) input.VersionStage = req.options['version-stage'];
    try {
      const client = clientFor(regionFor(req));
      const out = await retrying('GetSecretValue', signal, () =>
        client.send(new GetSecretValueCommand(input), { abortSignal: signal }),
      );
      return { ok: true, doc: toDocument(out, req.path) };
    } catch (err) {
      return { ok: false, error: mapError(err, req, signal) };
    }
  }

  async function getEach(reqs: DocumentRequest[], signal: AbortSignal, results: Map<string, DocumentResult>) {
    await Promise.all(
      reqs.map(async (r) => {
        results.set(r.key, await getOne(r, signal));
      }),
    );
  }

  async function batch(
    region: string | undefined,
    reqs: DocumentRequest[],
    signal: AbortSignal,
    results: Map<string, DocumentResult>,
  ): Promise<void> {
    if (batchDenied) return getEach(reqs, signal, results);
    const ids = [...new Set(reqs.map((r) => r.path))];
    let out: BatchGetSecretValueCommandOutput;
    try {
      const client = clientFor(region);
      out = await retrying('BatchGetSecretValue', signal, () =>
        client.send(new BatchGetSecretValueCommand({ SecretIdList: ids }), { abortSignal: signal }),
      );
    } catch (err) {
      if (isProviderWide(err, signal)) {
        for (const r of reqs) results.set(r.key, { ok: false, error: mapError(err, r, signal) });
        return;
      }
      if (isBatchUnsupported(err)) {
        batchDenied = true;
        logger.debug('secrets manager: BatchGetSecretValue not permitted; using GetSecretValue', {
          code: asAwsError(err).name,
          status: statusOf(err),
        });
      } else {
        logger.debug('secrets manager: BatchGetSecretValue failed; using GetSecretValue', {
          code: asAwsError(err).name,
          status: statusOf(err),
        });
      }
      return getEach(reqs, signal, results);
    }
    const values = out.SecretValues ?? [];
    const errors = out.Errors ?? [];
    const leftovers: DocumentRequest[] = [];
    for (const req of reqs) {
      const entry = values.find((v) => entryMatches(req.path, v));
      if (entry) {
        try {
          results.set(req.key, { ok: true, doc: toDocument(entry, req.path) });
        } catch (err) {
          results.set(req.key, { ok: false, error: toSecrunError(err) });
        }
        continue;
      }
      const failure = errors.find((e) => e.SecretId === req.path);
      if (failure?.ErrorCode) {
        const f: Failure = { code: failure.ErrorCode, message: failure.Message ?? '' };
        if (out.$metadata.requestId) f.requestId = out.$metadata.requestId;
        results.set(req.key, { ok: false, error: mapFailure(f, req) });
        continue;
      }
      // Neither a value nor an error names this id (e.g. an id spelled differently): ask alone.
      leftovers.push(req);
    }
    if (leftovers.length > 0) await getEach(leftovers, signal, results);
  }

  return {
    scheme: 'awssm',
    async readAll(requests, signal) {
      const results = new Map<string, DocumentResult>();
      const byRegion = new Map<string, DocumentRequest[]>();
      const pinned: DocumentRequest[] = [];
      for (const req of requests) {
        if (req.options['version-id'] || req.options['version-stage']) {
          pinned.push(req);
          continue;
        }
        const key = regionFor(req) ?? '';
        const list = byRegion.get(key) ?? [];
        list.push(req);
        byRegion.set(key, list);
      }
      const work: Promise<void>[] = [getEach(pinned, signal, results)];
      for (const [region, reqs] of byRegion) {
        for (let i = 0; i < reqs.length; i += BATCH_SIZE) {
          work.push(batch(region || undefined, reqs.slice(i, i + BATCH_SIZE), signal, results));
        }
      }
      await Promise.all(work);
      return results;
    },
    async probe(req, signal) {
      if (req.options['version-id']) return PINNED_TOKEN;
      if (describeDenied.has(req.key)) return undefined;
      let out: DescribeSecretCommandOutput;
      try {
        out = await describeSecret(req, signal);
      } catch (err) {
        const e = asAwsError(err);
        if (e.name === 'ResourceNotFoundException') return DELETED_TOKEN;
        if (e.name === 'AccessDeniedException') {
          describeDenied.add(req.key);
          logger.warn(
            'secrets manager: DescribeSecret is not permitted; rotation is detected by re-reading the secret instead',
            {
              path: req.path,
              status: statusOf(err),
            },
          );
          return undefined;
        }
        if (signal.aborted && e.$metadata?.httpStatusCode === undefined) {
          throw new UnavailableError(
            `gave up checking secret ${req.path} for changes: cancelled or timed out`,
            'provider.deadline',
            { path: req.path },
          );
        }
        throw mapError(err, req, signal);
      }
      return describeToken(out, stageOf(req.options));
    },
    async describe(req, signal) {
      let out: DescribeSecretCommandOutput;
      try {
        out = await describeSecret(req, signal);
      } catch (err) {
        if (asAwsError(err).name === 'AccessDeniedException') return undefined;
        throw mapError(err, req, signal);
      }
      const dates: SecretDates = {};
      if (out.CreatedDate instanceof Date) dates.createdAt = out.CreatedDate;
      if (out.LastChangedDate instanceof Date) dates.updatedAt = out.LastChangedDate;
      if (out.LastRotatedDate instanceof Date) dates.rotatedAt = out.LastRotatedDate;
      return dates;
    },
    async close() {
      for (const client of clients.values()) client.destroy();
      clients.clear();
    },
  };
}

/** The environment step of the credential chain, read from the given environment. */
function envCredentials(env: Record<string, string | undefined>): AwsStaticCredentials | undefined {
  if (env.AWS_PROFILE) return undefined;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  const creds: AwsStaticCredentials = { accessKeyId, secretAccessKey };
  if (env.AWS_SESSION_TOKEN) creds.sessionToken = env.AWS_SESSION_TOKEN;
  return creds;
}
