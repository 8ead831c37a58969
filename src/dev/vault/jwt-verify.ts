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

/** exp / nbf checks with a leeway in seconds; returns the failure text or undefined. */
export function checkTimes(
  claims: Record<string, unknown>,
  nowMs: number,
  leeway: number,
): string | undefined {
  const now = nowMs / 1000;
  const exp = claims['exp'];
  const nbf = claims['nbf'];
  if (typeof exp === 'number' && now > exp + leeway) return 'validation failed, token is expired (exp)';
  if (typeof nbf === 'number' && now < nbf - leeway) return 'validation failed, token not valid yet (nbf)';
  return undefined;
}
