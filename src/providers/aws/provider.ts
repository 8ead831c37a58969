import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import {
  BatchGetSecretValueCommand,
  type BatchGetSecretValueCommandOutput,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
  type SecretValueEntry,
} from '@aws-sdk/client-secrets-manager';
import { abortWords } from '../../base/deadline.ts';
import {
  ConfigError,
  type ErrorDetails,
  NotFoundError,
  PermissionError,
  SecrunError,
  toSecrunError,
  UnavailableError,
} from '../../base/errors.ts';
import { createLimiter, MAX_CONCURRENT_REQUESTS } from '../../base/limit.ts';
import type { Logger } from '../../base/log.ts';
import { parseRetryAfter, type RetryDecision, withRetry } from '../../base/retry.ts';
import { createRetryAnnouncer } from '../../base/retry-log.ts';
import { DELETED_TOKEN, NO_STAGE_TOKEN, PINNED_TOKEN, stageOf } from '../fingerprint.ts';
import { isTlsErrorCode } from '../net.ts';
import type { DocumentRequest, DocumentResult, Provider, SecretDates, SecretDocument } from '../provider.ts';
import { capResponseBodies, ResponseTooLargeError } from './body-cap.ts';

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

/** At most this many ids per BatchGetSecretValue call (API limit). */
export const BATCH_SIZE = 20;

const ARN_RE = /^arn:[^:]+:secretsmanager:([^:]+):[^:]*:secret:(.+)$/;

/**
 * The region of a Secrets Manager ARN (full or partial), or undefined for a name.
 */
export function arnRegion(secretId: string): string | undefined {
  const region = ARN_RE.exec(secretId)?.[1];
  return region ? region : undefined;
}

/**
 * True when a BatchGetSecretValue entry (identified by its `ARN` and `Name`) answers the
 * requested `SecretId`. An id matches when it is the entry's exact ARN, its exact name, or a
 * partial ARN: the ARN without the `-XXXXXX` suffix Secrets Manager appends to every ARN.
 */
export function entryMatches(secretId: string, entry: { ARN?: string; Name?: string }): boolean {
  if (secretId === entry.ARN || secretId === entry.Name) return true;
  const arn = entry.ARN;
  return (
    arn !== undefined &&
    secretId.startsWith('arn:') &&
    arn.length === secretId.length + 7 &&
    arn.startsWith(`${secretId}-`)
  );
}

/** Converts a GetSecretValue / BatchGetSecretValue entry to a document; throws when empty. */
export function toDocument(entry: SecretValueEntry, secretId: string): SecretDocument {
  let value: SecretDocument['value'];
  if (typeof entry.SecretString === 'string') value = parseStringValue(entry.SecretString);
  else if (entry.SecretBinary instanceof Uint8Array) value = entry.SecretBinary;
  else {
    throw new NotFoundError(
      `secret ${secretId} has no value (neither SecretString nor SecretBinary)`,
      'awssm.noValue',
      { path: secretId },
    );
  }
  const doc: SecretDocument = { value };
  if (entry.VersionId) doc.version = entry.VersionId;
  if (entry.VersionStages) doc.stages = [...entry.VersionStages];
  if (entry.CreatedDate instanceof Date) doc.createdAt = entry.CreatedDate;
  const info: Record<string, string> = {};
  if (entry.ARN) info.arn = entry.ARN;
  if (entry.Name) info.name = entry.Name;
  doc.info = info;
  return doc;
}

/** A JSON object text becomes an object; anything else stays the string it was. */
function parseStringValue(text: string): SecretDocument['value'] {
  if (!text.trimStart().startsWith('{')) return text;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // Not JSON after all: the secret is the text.
  }
  return text;
}

/** The facts of an SDK error the agent relies on (duck-typed: errors cross package copies). */
interface AwsErrorLike {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string; clockSkewCorrected?: boolean };
  $response?: { headers?: Record<string, string | undefined> };
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'LimitExceededException',
  'RequestLimitExceeded',
  'ThrottledException',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
]);
const AUTH_FAILURES = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
  'IncompleteSignature',
  'SignatureDoesNotMatch',
  'MissingAuthenticationToken',
]);

/**
 * The TLS error code (`DEPTH_ZERO_SELF_SIGNED_CERT`, `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`,
 * ...) of an error or of its `cause` chain, or undefined when the failure is not a TLS one.
 */
export function tlsErrorCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur !== null && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && isTlsErrorCode(code)) {
      return code;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function asAwsError(err: unknown): AwsErrorLike {
  return err !== null && typeof err === 'object' ? (err as AwsErrorLike) : {};
}

function statusOf(err: unknown): number | undefined {
  return asAwsError(err).$metadata?.httpStatusCode;
}

/** True for a failure below HTTP (socket, DNS, timeout, TLS): no response was received. */
function isTransportError(err: unknown): boolean {
  const e = asAwsError(err);
  if (e.$metadata?.httpStatusCode !== undefined) return false;
  return tlsErrorCode(err) !== undefined || isNetworkError(e) || typeof e.code === 'string';
}

function isNetworkError(e: AwsErrorLike): boolean {
  return (
    (e.code !== undefined && NETWORK_CODES.has(e.code)) ||
    e.name === 'TimeoutError' ||
    e.name === 'RequestTimeout' ||
    e.name === 'RequestTimeoutException'
  );
}

/**
 * Retry policy for one Secrets Manager call: network errors and timeouts, throttling (429),
 * server faults (5xx except 501) and a clock-skew correction by the SDK are retried, with the
 * server's `Retry-After` honoured; every other error (TLS, access denied, not found, invalid
 * request, decryption, signature) is final.
 */
export function classifyAwsError(err: unknown): RetryDecision {
  const e = asAwsError(err);
  if (tlsErrorCode(err) !== undefined) return { retry: false };
  if (e.name === 'AbortError' || e.name === 'CredentialsProviderError') return { retry: false };
  if (e.name && AUTH_FAILURES.has(e.name)) return { retry: e.$metadata?.clockSkewCorrected === true };
  const status = e.$metadata?.httpStatusCode;
  const headers = e.$response?.headers ?? {};
  const afterMs = parseRetryAfter(headers['retry-after']) ?? msHeader(headers['x-amz-retry-after']);
  const withAfter = (d: RetryDecision): RetryDecision => (afterMs === undefined ? d : { ...d, afterMs });
  if (status === 429 || (e.name !== undefined && THROTTLING.has(e.name))) return withAfter({ retry: true });
  if (status !== undefined && status >= 500 && status !== 501 && status < 600)
    return withAfter({ retry: true });
  if (e.name === 'InternalServiceError' || e.$fault === 'server' || e.$retryable) {
    return withAfter({ retry: status !== 501 });
  }
  if (isNetworkError(e)) return { retry: true };
  return { retry: false };
}

/** What a retryable Secrets Manager failure was, in words after "Secrets Manager at <endpoint>". */
function awsWaitReason(err: unknown): string {
  const e = asAwsError(err);
  const status = e.$metadata?.httpStatusCode;
  if (status === 429 || (e.name !== undefined && THROTTLING.has(e.name))) {
    return `is throttling requests (${e.name ?? status})`;
  }
  if (status !== undefined) return `answered ${status} (${e.name ?? 'error'})`;
  if (e.code === 'ECONNREFUSED') return 'refused the connection';
  if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return 'closed the connection';
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return 'could not be found (DNS)';
  return `could not be reached (${e.code ?? e.name ?? 'network error'})`;
}

function msHeader(value: string | undefined): number | undefined {
  if (!value || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** What went wrong, for one secret; `code` is the AWS error code. Never a server message. */
interface Failure {
  code: string;
  /** The server's text, used only to tell "marked for deletion" apart; never copied out. */
  message: string;
  status?: number;
  requestId?: string;
}

function versionSuffix(options: Readonly<Record<string, string>>): string {
  if (options['version-id']) return ` (version-id ${options['version-id']})`;
  if (options['version-stage']) return ` (version-stage ${options['version-stage']})`;
  return '';
}

const AWS_CODE = /^[A-Z][A-Za-z0-9]{2,63}$/;
const AWS_CODE_SUFFIX = /(Exception|Error|Failure|Fault)$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The error code and request id a server sent, kept only when they have the shape AWS gives
 * them (`AccessDeniedException`, a UUID): server text is untrusted and may echo a value.
 */
function cleanFailure(f: Failure): Failure {
  const known = THROTTLING.has(f.code) || AUTH_FAILURES.has(f.code);
  const code =
    known || (AWS_CODE.test(f.code) && AWS_CODE_SUFFIX.test(f.code)) ? f.code : 'UnrecognizedError';
  const out: Failure = { code, message: f.message };
  if (f.status !== undefined) out.status = f.status;
  if (f.requestId && UUID.test(f.requestId)) out.requestId = f.requestId;
  return out;
}

/** Maps one per-secret failure (call error or batch `Errors` entry) to a typed error. */
function mapFailure(raw: Failure, req: DocumentRequest): SecrunError {
  const f = cleanFailure(raw);
  const id = req.path;
  const details: ErrorDetails = { path: id, awsCode: f.code };
  if (f.status !== undefined) details.status = f.status;
  if (f.requestId) details.requestId = f.requestId;
  const st = f.status !== undefined ? `, ${f.status}` : '';
  switch (f.code) {
    case 'ResourceNotFoundException':
      return new NotFoundError(
        `secret not found: ${id}${versionSuffix(req.options)}`,
        'awssm.notFound',
        details,
      );
    case 'AccessDeniedException':
      return new PermissionError(
        `access denied to secret ${id} (AccessDeniedException${st}); the identity needs secretsmanager:GetSecretValue on it (and kms:Decrypt for a customer-managed key)`,
        'awssm.accessDenied',
        details,
      );
    case 'DecryptionFailure':
      return new PermissionError(
        `cannot decrypt secret ${id} (DecryptionFailure${st}); the identity needs kms:Decrypt on the secret's KMS key`,
        'awssm.decrypt',
        details,
      );
    case 'InvalidRequestException':
      if (/marked for deletion|scheduled for deletion/i.test(f.message)) {
        return new NotFoundError(
          `secret ${id} is scheduled for deletion; restore it (RestoreSecret) or point the reference elsewhere`,
          'awssm.deleted',
          details,
        );
      }
      return new NotFoundError(
        `invalid request for secret ${id}${versionSuffix(req.options)} (InvalidRequestException${st}); check the version-stage / version-id`,
        'awssm.invalidRequest',
        details,
      );
    case 'InvalidParameterException':
    case 'ValidationException':
      return new NotFoundError(
        `invalid secret id or option: ${id}${versionSuffix(req.options)} (${f.code}${st})`,
        'awssm.invalidParameter',
        details,
      );
    default:
      if (AUTH_FAILURES.has(f.code)) {
        return new PermissionError(
          `Secrets Manager rejected the AWS credentials (${f.code}${st}) reading ${id}; check the access key, session token and clock`,
          'awssm.authFailed',
          details,
        );
      }
      if (THROTTLING.has(f.code) || f.status === 429) {
        return new UnavailableError(
          `Secrets Manager kept throttling the request for ${id} (${f.code}${st}); retries exhausted`,
          'awssm.unavailable',
          details,
        );
      }
      if (f.status === undefined || f.status >= 500) {
        return new UnavailableError(
          `Secrets Manager is unavailable reading ${id} (${f.code}${st}); retries exhausted`,
          'awssm.unavailable',
          details,
        );
      }
      return new UnavailableError(
        `Secrets Manager request for ${id} failed (${f.code}${st})`,
        'awssm.requestFailed',
        details,
      );
  }
}

/** What to do about a TLS failure, by Node's error code. */
function tlsHint(code: string): string {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
    return 'the server certificate does not name the endpoint host; check AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL / aws.endpoint';
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return "the endpoint's certificate is outside its validity period; renew it and check this host's clock";
  }
  if (code === 'EPROTO' || code.startsWith('ERR_SSL_')) {
    return 'the TLS handshake failed; check that the endpoint speaks HTTPS with TLS 1.2 or later';
  }
  return 'the certificate is not signed by a trusted CA; set AWS_CA_BUNDLE to the PEM file of the CA that signed it, or check the endpoint (verification cannot be turned off; NODE_TLS_REJECT_UNAUTHORIZED is ignored)';
}

function limitText(err: unknown): string {
  const limit = (err as { limit?: unknown }).limit;
  const bytes = typeof limit === 'number' ? limit : 8 * 1024 * 1024;
  return bytes >= 1024 * 1024
    ? `${Math.round(bytes / (1024 * 1024))} MiB`
    : `${Math.round(bytes / 1024)} KiB`;
}

/** Where a Secrets Manager call went, for error messages. */
export interface AwsErrorContext {
  /** The endpoint (origin only) or the default AWS host for the region. */
  endpoint?: string;
}

/**
 * Maps anything a Secrets Manager call threw to a typed error. Credential and region failures
 * come from the SDK chains before a request is sent; an abort is the boot deadline; a TLS
 * failure is `awssm.tls`, naming Node's TLS code.
 */
export function mapAwsError(
  err: unknown,
  req: DocumentRequest,
  signal?: AbortSignal,
  ctx: AwsErrorContext = {},
): SecrunError {
  const e = asAwsError(err);
  const id = req.path;
  if (err instanceof SecrunError) return err;
  if (err instanceof ResponseTooLargeError || e.name === 'ResponseTooLargeError') {
    const where = ctx.endpoint ? ` from ${ctx.endpoint}` : '';
    return new UnavailableError(
      `the response${where} reading ${id} is larger than a Secrets Manager answer can be (over ${limitText(err)}); is the endpoint a Secrets Manager API?`,
      'awssm.responseTooLarge',
      { path: id },
    );
  }
  const tlsCode = tlsErrorCode(err);
  if (tlsCode !== undefined && e.$metadata?.httpStatusCode === undefined) {
    const where = ctx.endpoint ? ` at ${ctx.endpoint}` : '';
    const details: ErrorDetails = { path: id, tlsCode };
    if (ctx.endpoint) details.endpoint = ctx.endpoint;
    return new UnavailableError(
      `TLS connection to Secrets Manager${where} failed reading ${id} (${tlsCode}); ${tlsHint(tlsCode)}`,
      'awssm.tls',
      details,
    );
  }
  if (e.name === 'AbortError' || (signal?.aborted && e.$metadata?.httpStatusCode === undefined)) {
    return new UnavailableError(`gave up reading secret ${id}: ${abortWords(signal)}`, 'provider.deadline', {
      path: id,
    });
  }
  if (e.name === 'CredentialsProviderError') {
    return new PermissionError(
      'no AWS credentials found for Secrets Manager; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with a role (IRSA, ECS task role, instance profile)',
      'awssm.noCredentials',
      { path: id },
    );
  }
  if (e.message === 'Region is missing') {
    return new ConfigError(
      `no AWS region for secret ${id}; set AWS_REGION, aws.region in the config file, or use the secret's full ARN`,
      'awssm.noRegion',
      { path: id },
    );
  }
  if (isTransportError(err)) {
    const where = ctx.endpoint ? ` at ${ctx.endpoint}` : '';
    const tail = classifyAwsError(err).retry ? '; retries exhausted' : '';
    return new UnavailableError(
      `cannot reach Secrets Manager${where} reading ${id} (${e.code ?? e.name ?? 'network error'})${tail}`,
      'awssm.unavailable',
      { path: id, awsCode: e.code ?? e.name },
    );
  }
  const status = e.$metadata?.httpStatusCode;
  if (e.$metadata === undefined || (status !== undefined && status < 300)) {
    // A body the SDK could not parse (its message may quote the body, so it is not copied).
    const { code, requestId } = cleanFailure({
      code: e.name ?? 'error',
      message: '',
      requestId: e.$metadata?.requestId,
    });
    const details: ErrorDetails = { path: id, awsCode: code };
    if (status !== undefined) details.status = status;
    if (requestId) details.requestId = requestId;
    return new UnavailableError(
      `bad response from Secrets Manager reading ${id} (${code}); is the endpoint a Secrets Manager API?`,
      'awssm.badResponse',
      details,
    );
  }
  return mapFailure(
    {
      code: e.name ?? 'Unknown',
      message: e.message ?? '',
      status,
      requestId: e.$metadata.requestId,
    },
    req,
  );
}

/**
 * The version token of a DescribeSecret answer for the stage a reference follows: the VersionId
 * carrying that stage, `deleted` for a secret scheduled for deletion, `no-stage` when no version
 * carries the stage. DescribeSecret never returns a secret value.
 */
export function describeToken(
  out: Pick<DescribeSecretCommandOutput, 'DeletedDate' | 'VersionIdsToStages'>,
  stage: string,
): string {
  if (out.DeletedDate !== undefined) return DELETED_TOKEN;
  for (const [id, stages] of Object.entries(out.VersionIdsToStages ?? {})) {
    if (stages?.includes(stage)) return id;
  }
  return NO_STAGE_TOKEN;
}

/** True for a batch failure that means "this identity or endpoint cannot batch": fall back for good. */
function isBatchUnsupported(err: unknown): boolean {
  const e = asAwsError(err);
  const status = e.$metadata?.httpStatusCode;
  return (
    e.name === 'AccessDeniedException' ||
    e.name === 'UnknownOperationException' ||
    e.name === 'InvalidAction' ||
    status === 501 ||
    status === 404
  );
}

/**
 * True for a batch failure that would hit every GetSecretValue call too (transport and TLS
 * failures, credentials, region, transient errors): the batch's documents fail, no fallback.
 */
function isProviderWide(err: unknown, signal: AbortSignal): boolean {
  const e = asAwsError(err);
  return (
    signal.aborted ||
    err instanceof SecrunError ||
    isTransportError(err) ||
    e.name === 'AbortError' ||
    e.name === 'CredentialsProviderError' ||
    e.message === 'Region is missing' ||
    (e.name !== undefined && AUTH_FAILURES.has(e.name)) ||
    classifyAwsError(err).retry
  );
}

/**
 * The https.Agent options for Secrets Manager: verification always on and TLS 1.2 at least, set
 * per agent so `NODE_TLS_REJECT_UNAUTHORIZED=0` cannot turn it off. `AWS_CA_BUNDLE` (which this
 * SDK version does not read itself) replaces the default CAs, as in the AWS CLI; an unreadable
 * or non-PEM bundle is a ConfigError.
 */
export function awsTlsOptions(
  env: Record<string, string | undefined>,
  readFile: (path: string) => Buffer = readFileSync,
): https.AgentOptions {
  const opts: https.AgentOptions = {
    keepAlive: true,
    maxSockets: MAX_CONCURRENT_REQUESTS,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
  };
  const bundle = env.AWS_CA_BUNDLE;
  if (!bundle) return opts;
  let pem: Buffer;
  try {
    pem = readFile(bundle);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`cannot read AWS_CA_BUNDLE ${bundle} (${code})`, 'awssm.caBundle', {
      path: bundle,
    });
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new ConfigError(
      `AWS_CA_BUNDLE ${bundle} is not a PEM certificate file; point it at the CA certificate(s) of the endpoint`,
      'awssm.caBundle',
      { path: bundle },
    );
  }
  opts.ca = pem;
  return opts;
}

/** The endpoint for messages: the origin of a configured URL, else the AWS host of the region. */
function endpointLabel(endpoint: string | undefined, region: string | undefined): string | undefined {
  if (endpoint) {
    try {
      return new URL(endpoint).origin;
    } catch {
      return undefined;
    }
  }
  return region ? `https://secretsmanager.${region}.amazonaws.com` : undefined;
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
  let tlsOptions: https.AgentOptions | undefined;
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
          httpsAgent: new https.Agent(tlsOptions),
          httpAgent: new http.Agent({ keepAlive: true, maxSockets: MAX_CONCURRENT_REQUESTS }),
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
        const client = clientFor(regionFor(req));
        out = await retrying('DescribeSecret', signal, () =>
          client.send(new DescribeSecretCommand({ SecretId: req.path }), { abortSignal: signal }),
        );
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
        const client = clientFor(regionFor(req));
        out = await retrying('DescribeSecret', signal, () =>
          client.send(new DescribeSecretCommand({ SecretId: req.path }), { abortSignal: signal }),
        );
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
