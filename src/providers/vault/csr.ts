import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { nodeCrypto } from '../../base/builtins.ts';
import {
  bitString,
  explicit,
  implicitPrimitive,
  integer,
  ipBytes,
  octetString,
  oid,
  sequence,
  setOf,
  signDer,
  toPem,
  utf8String,
} from '../../base/der.ts';

/** Key types secrun can generate for `sign/` (Vault's `key_type` names). */
export type KeyType = 'ec' | 'rsa' | 'ed25519';

/** A key pair generated in memory; the private key never leaves the process but into the child. */
export interface GeneratedKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  type: KeyType;
}

const EC_CURVES: Record<number, string> = { 256: 'prime256v1', 384: 'secp384r1', 521: 'secp521r1' };
const RSA_BITS = new Set([2048, 3072, 4096]);

/**
 * Generates a key pair: `ec` (P-256 by default; 384 and 521 bits too), `rsa` (2048 by default;
 * 3072, 4096) or `ed25519`.
 * @throws TypeError for an unknown type or size (the caller maps it to a reference error).
 */
export function generateKey(type: KeyType, bits?: number): GeneratedKey {
  if (type === 'ec') {
    const namedCurve = EC_CURVES[bits ?? 256];
    if (!namedCurve) throw new TypeError('key_bits for ec must be 256, 384 or 521');
    return { ...nodeCrypto().generateKeyPairSync('ec', { namedCurve }), type };
  }
  if (type === 'rsa') {
    const modulusLength = bits ?? 2048;
    if (!RSA_BITS.has(modulusLength)) throw new TypeError('key_bits for rsa must be 2048, 3072 or 4096');
    return { ...nodeCrypto().generateKeyPairSync('rsa', { modulusLength }), type };
  }
  if (type === 'ed25519') {
    if (bits !== undefined && bits !== 0) throw new TypeError('ed25519 keys take no key_bits');
    return { ...nodeCrypto().generateKeyPairSync('ed25519'), type };
  }
  throw new TypeError('key_type must be ec, rsa or ed25519');
}

/** What goes into the request: the subject's common name and the subject alternative names. */
export interface CsrSubject {
  commonName?: string;
  /** DNS names (and e-mail-free host names); IP addresses go to `ipSans`. */
  dnsNames?: readonly string[];
  ipSans?: readonly string[];
  /** URIs (`spiffe://...`), for roles with `allowed_uri_sans`. */
  uriSans?: readonly string[];
}

/**
 * A PKCS#10 certification request (RFC 2986) in PEM, signed with `key`: subject CN, and a
 * subjectAltName extension request with the DNS names, IP addresses and URIs.
 */
export function buildCsr(key: GeneratedKey, subject: CsrSubject): string {
  const name = sequence(
    ...(subject.commonName ? [setOf(sequence(oid('2.5.4.3'), utf8String(subject.commonName)))] : []),
  );
  const spki = key.publicKey.export({ type: 'spki', format: 'der' });
  const sans = [
    ...(subject.dnsNames ?? []).map((d) => implicitPrimitive(2, Buffer.from(d, 'ascii'))),
    ...(subject.ipSans ?? []).filter((ip) => isIP(ip) !== 0).map((ip) => implicitPrimitive(7, ipBytes(ip))),
    ...(subject.uriSans ?? []).map((u) => implicitPrimitive(6, Buffer.from(u, 'ascii'))),
  ];
  const attributes =
    sans.length === 0
      ? explicit(0)
      : explicit(
          0,
          sequence(
            oid('1.2.840.113549.1.9.14'), // extensionRequest
            setOf(sequence(sequence(oid('2.5.29.17'), octetString(sequence(...sans))))),
          ),
        );
  const info = sequence(integer(0), name, spki, attributes);
  const { algorithm, signature } = signDer(key.privateKey, info);
  return toPem('CERTIFICATE REQUEST', sequence(info, algorithm, bitString(signature)));
}

/** The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), which Java, Go, Node and OpenSSL read. */
export function privateKeyPem(key: GeneratedKey): string {
  return key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
