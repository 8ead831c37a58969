import { createPublicKey, type KeyObject, verify } from 'node:crypto';

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

export type JwtResult = { ok: true; jwt: DecodedJwt } | { ok: false; reason: string };

function json(part: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Parses PEM public keys (throws on a bad one; the seed loader reports it). */
export function publicKeys(pems: string[]): KeyObject[] {
  return pems.map((pem) => createPublicKey(pem));
}

/** Verifies an RS256 or ES256 compact JWT against any of the keys. Claims are not checked here. */
export function verifyJwt(token: string, keys: KeyObject[]): JwtResult {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed token' };
  const [h, p, s] = parts as [string, string, string];
  const header = json(h);
  const claims = json(p);
  if (!header || !claims) return { ok: false, reason: 'malformed token' };
  const alg = header['alg'];
  if (alg !== 'RS256' && alg !== 'ES256')
    return { ok: false, reason: `unsupported signing algorithm "${String(alg)}"` };
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  for (const key of keys) {
    const kty = key.asymmetricKeyType;
    if (alg === 'RS256' && kty !== 'rsa') continue;
    if (alg === 'ES256' && kty !== 'ec') continue;
    const good =
      alg === 'RS256'
        ? verify('sha256', data, key, sig)
        : verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
    if (good) return { ok: true, jwt: { header, claims } };
  }
  return { ok: false, reason: 'no known key successfully validated the token signature' };
}

/** What a login expects of a verified token (hashicorp/cap jwt/jwt.go Expected). */
export interface Expected {
  issuer?: string;
  subject?: string;
  audiences?: string[];
  /** Seconds; cap's defaults apply when 0 (150 s for exp / nbf, 60 s clock skew). */
  expirationLeeway?: number;
  notBeforeLeeway?: number;
  clockSkewLeeway?: number;
  /** Kubernetes service-account tokens may carry no iat, nbf or exp. */
  allowMissingTimes?: boolean;
}

const DEFAULT_LEEWAY = 150;
const DEFAULT_CLOCK_SKEW = 60;

const numeric = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.floor(v) : 0);

/**
 * The registered-claim checks of cap's Validator, in its order and with its texts: iss, sub, aud,
 * the presence of a time claim, then nbf, exp and iat with leeways. Undefined when they pass.
 */
export function checkClaims(claims: Record<string, unknown>, e: Expected, nowMs: number): string | undefined {
  if (e.issuer && claims['iss'] !== e.issuer) return 'invalid issuer (iss) claim';
  if (e.subject && claims['sub'] !== e.subject) return 'invalid subject (sub) claim';
  if (e.audiences && e.audiences.length > 0) {
    const raw = claims['aud'];
    const aud = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
    if (!e.audiences.some((a) => aud.includes(a)))
      return 'invalid audience (aud) claim: audience claim does not match any expected audience';
  }
  const iat = numeric(claims['iat']);
  let exp = numeric(claims['exp']);
  let nbf = numeric(claims['nbf']);
  if (iat === 0 && exp === 0 && nbf === 0) {
    if (e.allowMissingTimes) return undefined;
    return 'no issued at (iat), not before (nbf), or expiration time (exp) claims in token';
  }
  if (exp === 0) exp = Math.max(iat, nbf) + (e.expirationLeeway || DEFAULT_LEEWAY);
  if (nbf === 0) nbf = iat !== 0 ? iat : exp - (e.notBeforeLeeway || DEFAULT_LEEWAY);
  const skew = e.clockSkewLeeway || DEFAULT_CLOCK_SKEW;
  const now = nowMs / 1000;
  if (now + skew < nbf) return 'invalid not before (nbf) claim: token not yet valid';
  if (now - skew > exp) return 'invalid expiration time (exp) claim: token is expired';
  if (iat !== 0 && now + skew < iat) return 'invalid issued at (iat) claim: token issued in the future';
  return undefined;
}

/** ryanuber/go-glob: `*` matches any run of characters, anywhere in the pattern. */
export function goGlob(pattern: string, subject: string): boolean {
  if (pattern === '*') return true;
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === subject;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!subject.startsWith(first)) return false;
  let pos = first.length;
  for (const part of parts.slice(1, -1)) {
    const at = subject.indexOf(part, pos);
    if (at === -1) return false;
    pos = at + part.length;
  }
  return subject.length - last.length >= pos && subject.endsWith(last);
}
