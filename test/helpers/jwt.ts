import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

/** A throwaway signing key for test JWTs and its public key as PEM (for a Vault seed). */
export interface JwtKey {
  alg: 'RS256' | 'ES256';
  privateKey: KeyObject;
  publicPem: string;
}

/** Generates an ES256 (default) or RS256 key pair with node:crypto. */
export function makeJwtKey(alg: 'RS256' | 'ES256' = 'ES256'): JwtKey {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    alg,
    privateKey: pair.privateKey,
    publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Signs `claims` as a compact JWS (header `{alg, typ: "JWT"}`). */
export function signJwt(claims: Record<string, unknown>, key: JwtKey): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: key.alg, typ: 'JWT' })}.${enc(claims)}`;
  const sig =
    key.alg === 'RS256'
      ? sign('sha256', Buffer.from(input), key.privateKey)
      : sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

/** Seconds since the epoch. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
