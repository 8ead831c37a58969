import type { X509Certificate } from 'node:crypto';
import { nodeCrypto } from './builtins.ts';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** One certificate found in a text, with its end of validity. */
export interface FoundCertificate {
  cert: X509Certificate;
  notAfter: Date;
  /** `CN=a, O=b` (the one-per-line form Node gives, joined). */
  subject: string;
  issuer: string;
}

/** Every PEM certificate in `text` (a bundle holds several); unparsable blocks are skipped. */
export function findCertificates(text: string): FoundCertificate[] {
  const out: FoundCertificate[] = [];
  for (const block of text.match(PEM_CERT) ?? []) {
    let cert: X509Certificate;
    try {
      cert = new (nodeCrypto().X509Certificate)(block);
    } catch {
      continue;
    }
    const notAfter = new Date(cert.validTo);
    if (Number.isNaN(notAfter.getTime())) continue;
    const oneLine = (dn: string): string => dn.split('\n').join(', ');
    out.push({ cert, notAfter, subject: oneLine(cert.subject), issuer: oneLine(cert.issuer) });
  }
  return out;
}

/** Bounds of the JSON look inside a value: a value is parsed only below this size... */
const MAX_JSON_CHARS = 1 << 20;
/** ...and read this many levels down (a string holding JSON counts as one more level)... */
const MAX_JSON_DEPTH = 16;
/** ...visiting at most this many nodes. */
const MAX_JSON_NODES = 20_000;
const MARKER = '-----BEGIN CERTIFICATE-----';

/**
 * The texts of a value that may hold PEM certificates: the value itself, and, when it is JSON
 * (an object, an array, or a JSON-escaped string, where `\n` hides the PEM from a text search),
 * every string inside it that holds a certificate marker, also through strings that are JSON
 * themselves. Bounded in size, depth and nodes; a value that is not JSON is only itself.
 */
export function pemTexts(value: string): string[] {
  const out = [value];
  let nodes = 0;
  const parse = (text: string, depth: number): void => {
    const first = text.trimStart()[0];
    if (depth > MAX_JSON_DEPTH || text.length > MAX_JSON_CHARS) return;
    if (first !== '{' && first !== '[' && first !== '"') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    walk(parsed, depth);
  };
  const walk = (node: unknown, depth: number): void => {
    if (++nodes > MAX_JSON_NODES || depth > MAX_JSON_DEPTH) return;
    if (typeof node === 'string') {
      if (node.includes(MARKER)) out.push(node);
      parse(node, depth + 1);
    } else if (Array.isArray(node)) {
      for (const item of node) walk(item, depth + 1);
    } else if (node !== null && typeof node === 'object') {
      for (const item of Object.values(node)) walk(item, depth + 1);
    }
  };
  parse(value, 0);
  return out;
}

/**
 * Every certificate in a value ({@link findCertificates} over {@link pemTexts}), each once even
 * when it shows both in the text and in a JSON string.
 */
export function findCertificatesInValue(value: string): FoundCertificate[] {
  const seen = new Set<string>();
  const out: FoundCertificate[] = [];
  for (const text of pemTexts(value)) {
    for (const found of findCertificates(text)) {
      if (seen.has(found.cert.fingerprint256)) continue;
      seen.add(found.cert.fingerprint256);
      out.push(found);
    }
  }
  return out;
}
