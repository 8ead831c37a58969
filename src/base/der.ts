import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { nodeCrypto } from './builtins.ts';

/**
 * A small DER (ASN.1) encoder and reader: enough for PKCS#10 requests and X.509 certificates.
 * Node has crypto but no builder for either; these few functions are all that is needed.
 */

/** Universal tags used here. */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV: `tag`, the DER length, then the concatenated contents. */
export function tlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(TAG.sequence, ...items);
/** A SET OF: DER sorts the encoded elements. */
export const setOf = (...items: Buffer[]): Buffer =>
  tlv(TAG.set, ...[...items].sort((a, b) => Buffer.compare(a, b)));
export const nullValue = (): Buffer => tlv(TAG.null);
export const octetString = (bytes: Uint8Array): Buffer => tlv(TAG.octetString, bytes);
export const utf8String = (text: string): Buffer => tlv(TAG.utf8String, Buffer.from(text, 'utf8'));
export const ia5String = (text: string): Buffer => tlv(TAG.ia5String, Buffer.from(text, 'ascii'));
export const boolean = (v: boolean): Buffer => tlv(TAG.boolean, Buffer.from([v ? 0xff : 0x00]));
/** A BIT STRING with no unused bits. */
export const bitString = (bytes: Uint8Array): Buffer => tlv(TAG.bitString, Buffer.from([0]), bytes);
/** `[n]` EXPLICIT (constructed, context-specific). */
export const explicit = (n: number, ...contents: Uint8Array[]): Buffer => tlv(0xa0 | n, ...contents);
/** `[n]` IMPLICIT of a primitive value (context-specific, primitive). */
export const implicitPrimitive = (n: number, bytes: Uint8Array): Buffer => tlv(0x80 | n, bytes);

/** An INTEGER from a non-negative bigint or unsigned big-endian bytes (minimal, with a sign byte when needed). */
export function integer(value: bigint | number | Uint8Array): Buffer {
  let bytes: Buffer;
  if (typeof value === 'bigint' || typeof value === 'number') {
    const v = BigInt(value);
    if (v < 0n) throw new RangeError('negative integers are not supported');
    let hex = v.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    bytes = Buffer.from(hex, 'hex');
  } else {
    bytes = Buffer.from(value);
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(TAG.integer, bytes);
}

/** An OBJECT IDENTIFIER from its dotted form (`2.5.4.3`). */
export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map((p) => {
    if (!/^\d+$/.test(p)) throw new TypeError(`bad OID ${JSON.stringify(dotted)}`);
    return BigInt(p);
  });
  const [a, b, ...rest] = parts;
  if (a === undefined || b === undefined) throw new TypeError(`bad OID ${JSON.stringify(dotted)}`);
  const out: number[] = [];
  for (const arc of [a * 40n + b, ...rest]) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...chunk);
  }
  return tlv(TAG.oid, Buffer.from(out));
}

/** UTCTime for years 1950-2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5). */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-12-02T02:08:29.000Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, ''); // 20261202020829
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(TAG.utcTime, Buffer.from(`${digits.slice(2)}Z`, 'ascii'));
  return tlv(TAG.generalizedTime, Buffer.from(`${digits}Z`, 'ascii'));
}

/** One decoded TLV: its tag, its contents and the whole encoding (for signatures over it). */
export interface DerNode {
  tag: number;
  contents: Buffer;
  /** The full TLV bytes. */
  raw: Buffer;
}

/**
 * Reads one TLV at `offset` of `buf`.
 * @throws RangeError on truncated or indefinite-length input.
 */
export function readTlv(buf: Buffer, offset = 0): DerNode & { end: number } {
  const tag = buf[offset];
  const first = buf[offset + 1];
  if (tag === undefined || first === undefined) throw new RangeError('truncated DER');
  let length = first;
  let pos = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new RangeError('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) {
      const b = buf[pos++];
      if (b === undefined) throw new RangeError('truncated DER');
      length = length * 256 + b;
    }
  }
  const end = pos + length;
  if (end > buf.length) throw new RangeError('truncated DER');
  return { tag, contents: buf.subarray(pos, end), raw: buf.subarray(offset, end), end };
}

/** The TLVs inside a constructed value (SEQUENCE, SET, [n] EXPLICIT). */
export function children(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  for (let pos = 0; pos < node.contents.length; ) {
    const child = readTlv(node.contents, pos);
    out.push(child);
    pos = child.end;
  }
  return out;
}

/** The dotted form of an OBJECT IDENTIFIER's contents. */
export function oidText(contents: Buffer): string {
  const arcs: bigint[] = [];
  let v = 0n;
  for (const b of contents) {
    v = (v << 7n) | BigInt(b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0n;
    }
  }
  const [first = 0n, ...rest] = arcs;
  const a = first < 80n ? first / 40n : 2n;
  return [a, first - a * 40n, ...rest].join('.');
}

/** PEM armour for DER bytes (64-character lines). */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER bytes of the first PEM block with `label`, or undefined. */
export function fromPem(label: string, pem: string): Buffer | undefined {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`);
  const m = re.exec(pem);
  return m?.[1] ? Buffer.from(m[1].replace(/\s+/g, ''), 'base64') : undefined;
}

/** The AlgorithmIdentifier and the signature of `data` for a private key (EC, RSA or Ed25519). */
export function signDer(key: KeyObject, data: Uint8Array): { algorithm: Buffer; signature: Buffer } {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') {
    return { algorithm: sequence(oid('1.3.101.112')), signature: nodeCrypto().sign(null, data, key) };
  }
  if (type === 'rsa') {
    return {
      algorithm: sequence(oid('1.2.840.113549.1.1.11'), nullValue()),
      signature: nodeCrypto().sign('sha256', data, key),
    };
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const [hash, alg] =
      curve === 'secp384r1'
        ? ['sha384', '1.2.840.10045.4.3.3']
        : curve === 'secp521r1'
          ? ['sha512', '1.2.840.10045.4.3.4']
          : ['sha256', '1.2.840.10045.4.3.2'];
    return { algorithm: sequence(oid(alg)), signature: nodeCrypto().sign(hash, data, key) };
  }
  throw new TypeError(`unsupported key type ${String(type)}`);
}

/** The bytes of an IP address (4 or 16) for an iPAddress subject alternative name. */
export function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.concat(groups.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')));
}
