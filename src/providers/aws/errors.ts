import { abortWords } from '../../base/deadline.ts';
import {
  ConfigError,
  type ErrorDetails,
  NotFoundError,
  PermissionError,
  SecrunError,
  UnavailableError,
} from '../../base/errors.ts';
import { parseRetryAfter, type RetryDecision } from '../../base/retry.ts';
import { isTlsErrorCode } from '../net.ts';
import type { DocumentRequest } from '../provider.ts';
import { ResponseTooLargeError } from './body-cap.ts';

/** Secrets Manager failures: which are retried, and the typed errors they become (never server text). */

/** The facts of an SDK error the agent relies on (duck-typed: errors cross package copies). */
export interface AwsErrorLike {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string; clockSkewCorrected?: boolean };
  $response?: { headers?: Record<string, string | undefined> };
}

export const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'LimitExceededException',
  'RequestLimitExceeded',
  'ThrottledException',
]);
export const NETWORK_CODES = new Set([
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
export const AUTH_FAILURES = new Set([
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

export function asAwsError(err: unknown): AwsErrorLike {
  return err !== null && typeof err === 'object' ? (err as AwsErrorLike) : {};
}

export function statusOf(err: unknown): number | undefined {
  return asAwsError(err).$metadata?.httpStatusCode;
}

/** True for a failure below HTTP (socket, DNS, timeout, TLS): no response was received. */
export function isTransportError(err: unknown): boolean {
  const e = asAwsError(err);
  if (e.$metadata?.httpStatusCode !== undefined) return false;
  return tlsErrorCode(err) !== undefined || isNetworkError(e) || typeof e.code === 'string';
}

export function isNetworkError(e: AwsErrorLike): boolean {
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
export function awsWaitReason(err: unknown): string {
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

export function msHeader(value: string | undefined): number | undefined {
  if (!value || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** What went wrong, for one secret; `code` is the AWS error code. Never a server message. */
export interface Failure {
  code: string;
  /** The server's text, used only to tell "marked for deletion" apart; never copied out. */
  message: string;
  status?: number;
  requestId?: string;
}

export function versionSuffix(options: Readonly<Record<string, string>>): string {
  if (options['version-id']) return ` (version-id ${options['version-id']})`;
  if (options['version-stage']) return ` (version-stage ${options['version-stage']})`;
  return '';
}

export const AWS_CODE = /^[A-Z][A-Za-z0-9]{2,63}$/;
export const AWS_CODE_SUFFIX = /(Exception|Error|Failure|Fault)$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The error code and request id a server sent, kept only when they have the shape AWS gives
 * them (`AccessDeniedException`, a UUID): server text is untrusted and may echo a value.
 */
export function cleanFailure(f: Failure): Failure {
  const known = THROTTLING.has(f.code) || AUTH_FAILURES.has(f.code);
  const code =
    known || (AWS_CODE.test(f.code) && AWS_CODE_SUFFIX.test(f.code)) ? f.code : 'UnrecognizedError';
  const out: Failure = { code, message: f.message };
  if (f.status !== undefined) out.status = f.status;
  if (f.requestId && UUID.test(f.requestId)) out.requestId = f.requestId;
  return out;
}

/** Maps one per-secret failure (call error or batch `Errors` entry) to a typed error. */
export function mapFailure(raw: Failure, req: DocumentRequest): SecrunError {
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
export function tlsHint(code: string): string {
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

export function limitText(err: unknown): string {
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

/** True for a batch failure that means "this identity or endpoint cannot batch": fall back for good. */
export function isBatchUnsupported(err: unknown): boolean {
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
export function isProviderWide(err: unknown, signal: AbortSignal): boolean {
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
