/**
 * In-memory X.509 for the dev PKI engine: certificates built and signed with node:crypto and the
 * DER encoder, and PKCS#10 requests read and verified. Dev only: nothing is written anywhere.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  verify as cryptoVerify,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import {
  bitString,
  boolean,
  children,
  type DerNode,
  explicit,
  fromPem,
  implicitPrimitive,
  integer,
  ipBytes,
  octetString,
  oid,
  oidText,
  readTlv,
  sequence,
  setOf,
  signDer,
  TAG,
  time,
  tlv,
  toPem,
  utf8String,
} from '../../base/der.ts';

/** A certificate authority: its certificate, key, subject Name (DER) and key identifier. */
export interface CertificateAuthority {
  certPem: string;
  cert: X509Certificate;
  key: KeyObject;
  subject: Buffer;
  keyId: Buffer;
}

/** What to put in a certificate. */
export interface CertificateSpec {
  commonName: string;
  dnsNames: readonly string[];
  ipSans: readonly string[];
  /** uniformResourceIdentifier names. */
  uriSans?: readonly string[];
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  /** Absent: self-signed with `selfKey`. */
  issuer?: CertificateAuthority;
  selfKey?: KeyObject;
  isCa?: boolean;
}

/** SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1). */
export function keyIdOf(publicKey: KeyObject): Buffer {
  const spki = readTlv(publicKey.export({ type: 'spki', format: 'der' }));
  const bits = children(spki)[1];
  return createHash('sha1')
    .update(bits?.contents.subarray(1) ?? Buffer.alloc(0))
    .digest();
}

const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));

/** A KeyUsage BIT STRING of one byte whose lowest set bit decides the unused-bit count. */
function keyUsage(byte: number): Buffer {
  let unused = 0;
  while (unused < 7 && !(byte & (1 << unused))) unused++;
  return tlv(TAG.bitString, Buffer.from([unused, byte]));
}

/** A random positive 128-bit serial number. */
export function newSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f || 0x01;
  return b;
}

/** Vault's serial number text: lower-case hex pairs joined by `:`. */
export function serialText(serial: Buffer): string {
  return (serial.toString('hex').match(/../g) ?? []).join(':');
}

const nameOf = (cn: string): Buffer => sequence(setOf(sequence(oid('2.5.4.3'), utf8String(cn))));

/** Builds and signs one certificate; returns its PEM and serial. */
export function buildCertificate(spec: CertificateSpec, serial = newSerial()): string {
  const signer = spec.issuer?.key ?? spec.selfKey;
  if (!signer) throw new TypeError('a certificate needs an issuer or a self-signing key');
  const subject = nameOf(spec.commonName);
  const ownId = keyIdOf(spec.publicKey);
  const sans = [
    ...spec.dnsNames.map((d) => implicitPrimitive(2, Buffer.from(d, 'ascii'))),
    ...spec.ipSans.map((ip) => implicitPrimitive(7, ipBytes(ip))),
    ...(spec.uriSans ?? []).map((u) => implicitPrimitive(6, Buffer.from(u, 'ascii'))),
  ];
  const extensions = [
    extension('2.5.29.19', true, sequence(...(spec.isCa ? [boolean(true)] : []))),
    extension('2.5.29.15', true, keyUsage(spec.isCa ? 0x06 : 0xa0)),
    ...(spec.isCa
      ? []
      : [extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2')))]),
    extension('2.5.29.14', false, octetString(ownId)),
    ...(spec.issuer
      ? [extension('2.5.29.35', false, sequence(implicitPrimitive(0, spec.issuer.keyId)))]
      : []),
    ...(sans.length > 0 ? [extension('2.5.29.17', false, sequence(...sans))] : []),
  ];
  const probe = signDer(signer, Buffer.alloc(0)).algorithm;
  const tbs = sequence(
    explicit(0, integer(2)),
    integer(serial),
    probe,
    spec.issuer?.subject ?? subject,
    sequence(time(spec.notBefore), time(spec.notAfter)),
    subject,
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...extensions)),
  );
  const { algorithm, signature } = signDer(signer, tbs);
  return toPem('CERTIFICATE', sequence(tbs, algorithm, bitString(signature)));
}

/** The subject Name (DER) of a certificate, as its issuer field must repeat it byte for byte. */
function subjectOf(certDer: Buffer): Buffer {
  const tbs = children(readTlv(certDer))[0];
  const fields = tbs ? children(tbs) : [];
  // version [0] is present in v3 certificates; subject follows issuer and validity.
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[offset + 4];
  if (!subject) throw new TypeError('not an X.509 certificate');
  return Buffer.from(subject.raw);
}

/** A CA from a PEM certificate and key (the seed's), checked to belong together. */
export function loadCa(certPem: string, keyPem: string): CertificateAuthority {
  const cert = new X509Certificate(certPem);
  const key = createPrivateKey(keyPem);
  if (!cert.checkPrivateKey(key)) throw new TypeError('the CA private key does not match its certificate');
  const der = fromPem('CERTIFICATE', certPem);
  if (!der) throw new TypeError('the CA certificate is not PEM');
  return { certPem: cert.toString(), cert, key, subject: subjectOf(der), keyId: keyIdOf(cert.publicKey) };
}

/** A fresh self-signed EC P-256 root CA. */
export function generateCa(commonName: string, notBefore: Date, notAfter: Date): CertificateAuthority {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const certPem = buildCertificate({
    commonName,
    dnsNames: [],
    ipSans: [],
    publicKey,
    notBefore,
    notAfter,
    selfKey: privateKey,
    isCa: true,
  });
  return {
    certPem,
    cert: new X509Certificate(certPem),
    key: privateKey,
    subject: nameOf(commonName),
    keyId: keyIdOf(publicKey),
  };
}

/** What a certification request asks for. */
export interface ParsedCsr {
  publicKey: KeyObject;
  commonName?: string;
  dnsNames: string[];
  ipSans: string[];
  uriSans: string[];
}

const HASH_OF: Record<string, string | null> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null,
};

function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}

function sanNames(general: DerNode): { dns: string[]; ip: string[]; uri: string[] } {
  const dns: string[] = [];
  const ip: string[] = [];
  const uri: string[] = [];
  for (const n of children(general)) {
    if (n.tag === 0x82) dns.push(n.contents.toString('ascii'));
    else if (n.tag === 0x87) ip.push(ipText(n.contents));
    else if (n.tag === 0x86) uri.push(n.contents.toString('ascii'));
  }
  return { dns, ip, uri };
}

/**
 * Reads a PEM PKCS#10 request and checks its signature.
 * @throws Error with Vault's wording when it is not a request or the signature does not verify.
 */
export function parseCsr(pem: string): ParsedCsr {
  const der = fromPem('CERTIFICATE REQUEST', pem) ?? fromPem('NEW CERTIFICATE REQUEST', pem);
  if (!der) throw new Error('certificate request could not be parsed: no PEM data found');
  let info: DerNode | undefined;
  let algorithm: DerNode | undefined;
  let signature: DerNode | undefined;
  try {
    [info, algorithm, signature] = children(readTlv(der));
  } catch {
    throw new Error('certificate request could not be parsed');
  }
  if (!info || !algorithm || !signature) throw new Error('certificate request could not be parsed');
  const [, name, spki, attributes] = children(info);
  if (!name || !spki) throw new Error('certificate request could not be parsed');
  const publicKey = createPublicKey({ key: Buffer.from(spki.raw), format: 'der', type: 'spki' });
  const algOid = children(algorithm)[0];
  const hash = algOid ? HASH_OF[oidText(algOid.contents)] : undefined;
  if (hash === undefined) throw new Error('certificate request signature algorithm is not supported');
  const ok = cryptoVerify(hash, info.raw, publicKey, signature.contents.subarray(1));
  if (!ok) throw new Error('certificate request signature is invalid');
  let commonName: string | undefined;
  for (const rdn of children(name)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (type && value && oidText(type.contents) === '2.5.4.3') commonName = value.contents.toString('utf8');
    }
  }
  const out: ParsedCsr = { publicKey, dnsNames: [], ipSans: [], uriSans: [] };
  if (commonName !== undefined) out.commonName = commonName;
  for (const attr of attributes ? children(attributes) : []) {
    const [type, values] = children(attr);
    if (!type || !values || oidText(type.contents) !== '1.2.840.113549.1.9.14') continue;
    for (const exts of children(values)) {
      for (const ext of children(exts)) {
        const parts = children(ext);
        const id = parts[0];
        const value = parts[parts.length - 1];
        if (id && value && oidText(id.contents) === '2.5.29.17') {
          const { dns, ip, uri } = sanNames(readTlv(value.contents));
          out.dnsNames.push(...dns);
          out.ipSans.push(...ip);
          out.uriSans.push(...uri);
        }
      }
    }
  }
  return out;
}

/**
 * An empty X.509 v2 CRL (RFC 5280 5.1) signed by the CA, as DER: the dev engine revokes nothing,
 * so the list has no entries; `number` is its cRLNumber.
 */
export function buildCrl(
  ca: CertificateAuthority,
  thisUpdate: Date,
  nextUpdate: Date,
  number: number,
): Buffer {
  const probe = signDer(ca.key, Buffer.alloc(0)).algorithm;
  const tbs = sequence(
    integer(1),
    probe,
    ca.subject,
    time(thisUpdate),
    time(nextUpdate),
    explicit(
      0,
      sequence(
        extension('2.5.29.35', false, sequence(implicitPrimitive(0, ca.keyId))),
        extension('2.5.29.20', false, integer(number)),
      ),
    ),
  );
  const { algorithm, signature } = signDer(ca.key, tbs);
  return sequence(tbs, algorithm, bitString(signature));
}

/** Is the certificate self-signed (its own issuer, and its own key verifies it)? */
export function isSelfSigned(cert: X509Certificate): boolean {
  return cert.issuer === cert.subject && cert.verify(cert.publicKey);
}
