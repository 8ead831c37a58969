import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** A received request, as the verifier needs it: raw path, raw query, headers as received, body bytes. */
export interface SigV4Request {
  method: string;
  /** Raw path without the query string, as received (`/`). */
  path: string;
  /** Raw query string without `?` (empty when none). */
  query?: string;
  /** Header names in lower case, as Node's `IncomingMessage.headers` gives them. */
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

/** What the verifier knows about an access key. */
export interface SigV4Key {
  secretAccessKey: string;
  /** When set, the request must carry exactly this `x-amz-security-token`, signed. */
  sessionToken?: string;
}

export interface SigV4Options {
  lookup(accessKeyId: string): SigV4Key | undefined;
  /** Current time in ms. */
  now: number;
  /** Expected scope region and service; a mismatch is rejected. */
  region: string;
  service: string;
  /** Allowed distance between `x-amz-date` and `now` (default 5 minutes). */
  windowMs?: number;
}

/** Error codes as AWS front ends name them. */
export type SigV4ErrorCode =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'UnrecognizedClientException'
  | 'InvalidSignatureException';

export type SigV4Result =
  | { ok: true; accessKeyId: string }
  | { ok: false; code: SigV4ErrorCode; message: string; accessKeyId?: string };

const AUTH_RE =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;
const AMZ_DATE_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export const sha256Hex = (data: string | Uint8Array): string =>
  createHash('sha256').update(data).digest('hex');

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (everything but unreserved characters). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Canonical path for a non-S3 service: dot segments removed, each segment encoded (again). */
export function canonicalPath(rawPath: string): string {
  const out: string[] = [];
  for (const seg of rawPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const joined = `/${out.map(uriEncode).join('/')}`;
  return rawPath.endsWith('/') && joined !== '/' ? `${joined}/` : joined;
}

/** Canonical query: decoded pairs re-encoded, sorted by key then value. */
export function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return '';
  const pairs = rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      const k = i < 0 ? p : p.slice(0, i);
      const v = i < 0 ? '' : p.slice(i + 1);
      const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
      return [uriEncode(dec(k)), uriEncode(dec(v))] as const;
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(headers: SigV4Request['headers'], name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

/** The canonical request of section 2.2 step 2. */
export function canonicalRequest(req: SigV4Request, signedHeaders: string[], payloadHash: string): string {
  const canonHeaders = signedHeaders
    .map((h) => `${h}:${(headerValue(req.headers, h) ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  return [
    req.method.toUpperCase(),
    canonicalPath(req.path),
    canonicalQuery(req.query ?? ''),
    canonHeaders,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

/** The signing key of step 4. */
export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secretAccessKey}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

/** The string to sign of step 3. */
export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

function parseAmzDate(s: string): number | undefined {
  const m = AMZ_DATE_RE.exec(s);
  if (!m) return undefined;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(t) ? undefined : t;
}

/** `20261129T130722Z` for a ms timestamp. */
export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

const fail = (code: SigV4ErrorCode, message: string, accessKeyId?: string): SigV4Result =>
  accessKeyId === undefined ? { ok: false, code, message } : { ok: false, code, message, accessKeyId };

/**
 * Verifies an AWS Signature Version 4 `Authorization` header (reference section 2.2). Pure: the
 * caller supplies the clock and the key lookup. Uses the `Host` header exactly as received.
 */
export function verifySigV4(req: SigV4Request, opts: SigV4Options): SigV4Result {
  const auth = headerValue(req.headers, 'authorization');
  if (auth === undefined || auth === '')
    return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = AUTH_RE.exec(auth.trim());
  if (!m) {
    return fail(
      'IncompleteSignatureException',
      'Authorization header requires Credential, SignedHeaders and Signature parameters (AWS4-HMAC-SHA256).',
    );
  }
  const [, accessKeyId, date, region, service, signedList, signature] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const key = opts.lookup(accessKeyId);
  if (!key) {
    return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  const signedHeaders = signedList.split(';');
  const sortedOk = signedHeaders.every(
    (h, i) => h === h.toLowerCase() && (i === 0 || signedHeaders[i - 1]! < h),
  );
  if (!sortedOk || !signedHeaders.includes('host')) {
    return fail(
      'InvalidSignatureException',
      "The request signature we calculated does not match the signature you provided. 'Host' must be a signed header, and signed headers must be lower case and sorted.",
      accessKeyId,
    );
  }
  const amzDate = headerValue(req.headers, 'x-amz-date');
  const t = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (amzDate === undefined || t === undefined || !signedHeaders.includes('x-amz-date')) {
    return fail(
      'IncompleteSignatureException',
      'Authorization header requires existence of a signed, valid X-Amz-Date header.',
      accessKeyId,
    );
  }
  if (amzDate.slice(0, 8) !== date) {
    return fail(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
      accessKeyId,
    );
  }
  if (region !== opts.region) {
    return fail(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${region}'. `,
      accessKeyId,
    );
  }
  if (service !== opts.service) {
    return fail(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${opts.service}'. `,
      accessKeyId,
    );
  }
  const window = opts.windowMs ?? 5 * 60_000;
  const minutes = Math.round(window / 60_000);
  if (t < opts.now - window) {
    return fail(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(opts.now - window)} (${formatAmzDate(opts.now)} - ${minutes} min.)`,
      accessKeyId,
    );
  }
  if (t > opts.now + window) {
    return fail(
      'InvalidSignatureException',
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(opts.now + window)} (${formatAmzDate(opts.now)} + ${minutes} min.)`,
      accessKeyId,
    );
  }
  const token = headerValue(req.headers, 'x-amz-security-token');
  if (key.sessionToken !== undefined || token !== undefined) {
    if (token !== key.sessionToken || !signedHeaders.includes('x-amz-security-token')) {
      return fail(
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
        accessKeyId,
      );
    }
  }
  const payloadHash = sha256Hex(req.body);
  const declared = headerValue(req.headers, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== payloadHash) {
    return fail(
      'InvalidSignatureException',
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
      accessKeyId,
    );
  }
  const canonical = canonicalRequest(req, signedHeaders, payloadHash);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const expected = createHmac('sha256', signingKey(key.secretAccessKey, date, region, service))
    .update(stringToSign(amzDate, scope, canonical))
    .digest();
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return fail(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      accessKeyId,
    );
  }
  return { ok: true, accessKeyId };
}
