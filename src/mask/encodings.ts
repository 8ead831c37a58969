/** Every form a value can be printed in (raw, base64 and its shifts, URL, JSON), as byte patterns. */
import {
  DEFAULT_FLUSH_MS,
  DEFAULT_MIN_LENGTH,
  type MaskForm,
  type MaskOptions,
  type MaskPattern,
  type MaskSecret,
} from './types.ts';

/**
 * Expands secrets into the byte patterns to search for: each value (and, when different, the
 * value with surrounding whitespace trimmed) in every {@link MaskForm}. Identical patterns are
 * kept once, for the first name: raw values of all secrets come before any encoded form.
 * `wrapped` are the base64 forms of values of {@link WRAP_MIN_BYTES} or more, searched for a
 * second time with CR and LF skipped (wrapped base64 lines).
 * @throws TypeError when a secret or option is malformed.
 */
export function maskPatterns(
  secrets: readonly MaskSecret[],
  opts: MaskOptions = {},
): { patterns: MaskPattern[]; skipped: string[]; wrapped: MaskPattern[] } {
  const { minLength } = checkOptions(opts);
  if (!Array.isArray(secrets)) {
    throw new TypeError(`mask: secrets must be an array of { name, value }, got ${typeof secrets}`);
  }
  const skipped: string[] = [];
  const texts: Array<{ name: string; text: string }> = [];
  secrets.forEach((secret, i) => {
    if (typeof secret?.name !== 'string' || typeof secret.value !== 'string') {
      throw new TypeError(`mask: secrets[${i}] must have string name and value`);
    }
    if (codePoints(secret.value) < minLength) {
      if (!skipped.includes(secret.name)) skipped.push(secret.name);
      return;
    }
    texts.push({ name: secret.name, text: secret.value });
    const trimmed = secret.value.trim();
    if (trimmed !== secret.value && codePoints(trimmed) >= minLength) {
      texts.push({ name: secret.name, text: trimmed });
    }
  });

  const patterns: MaskPattern[] = [];
  const seen = new Set<string>();
  const add = (name: string, form: MaskForm, bytes: Buffer): void => {
    if (bytes.length < minLength) return;
    const key = bytes.toString('latin1');
    if (seen.has(key)) return;
    seen.add(key);
    patterns.push({ name, form, bytes });
  };
  for (const { name, text } of texts) add(name, 'raw', Buffer.from(text, 'utf8'));
  const wrapped: MaskPattern[] = [];
  const wrappedSeen = new Set<string>();
  for (const { name, text } of texts) {
    for (const [form, encoded] of encodings(text)) {
      const bytes = Buffer.from(encoded, 'utf8');
      add(name, form, bytes);
      const key = bytes.toString('latin1');
      const long = Buffer.byteLength(text, 'utf8') >= WRAP_MIN_BYTES;
      if (long && WRAPPABLE.has(form) && !wrappedSeen.has(key)) {
        wrappedSeen.add(key);
        wrapped.push({ name, form, bytes });
      }
    }
  }
  return { patterns, skipped, wrapped };
}

/**
 * Forms also searched for with line breaks anywhere inside: `base64` wraps at 76 columns
 * (coreutils, MIME with CRLF) or 64 (PEM, `openssl base64`), wherever the value falls in a line.
 */
export const WRAPPABLE: ReadonlySet<MaskForm> = new Set([
  'base64',
  'base64-core',
  'base64-shift1',
  'base64-shift2',
]);

/**
 * Values this long (bytes) get the wrapped search: their encoding alone fills a 64-column line
 * (48 bytes). Short values (most passwords), whose encoding only wraps when it happens to
 * straddle a line break, do not pay for a second pass over every chunk.
 */
export const WRAP_MIN_BYTES = 48;

export const LF = 10;
export const CR = 13;

export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function encodings(text: string): Array<[MaskForm, string]> {
  const bytes = Buffer.from(text, 'utf8');
  const n = bytes.length;
  const b64 = bytes.toString('base64').replace(/=+$/, '');
  const forms: Array<[MaskForm, string]> = [
    ['base64', b64],
    ['base64-core', b64.slice(0, Math.floor((4 * n) / 3))],
  ];
  // Character j of base64 covers bits [6j, 6j+6): it depends on the value alone when those bits
  // lie inside it, whatever bytes precede (k of them in the 3-byte group) or follow.
  for (const k of [1, 2] as const) {
    const shifted = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    forms.push([`base64-shift${k}`, shifted.slice(Math.ceil((4 * k) / 3), Math.floor((4 * (n + k)) / 3))]);
  }
  for (const [form, s] of forms.slice()) {
    forms.push([
      form.replace('base64', 'base64url') as MaskForm,
      s.replaceAll('+', '-').replaceAll('/', '_'),
    ]);
  }
  try {
    forms.push(['uri', encodeURIComponent(text)]);
  } catch {
    // Lone surrogates: encodeURIComponent throws, and no URL encoder would produce them either.
  }
  forms.push(['form', new URLSearchParams([['', text]]).toString().slice(1)]);
  const json = JSON.stringify(text).slice(1, -1);
  forms.push(['json', json]);
  forms.push([
    'json-ascii',
    json.replace(/[^\x00-\x7f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`),
  ]);
  return forms.filter(([, s]) => s !== text);
}

export function checkOptions(opts: MaskOptions): { minLength: number; flushMs: number } {
  const minLength = opts.minLength ?? DEFAULT_MIN_LENGTH;
  if (!Number.isInteger(minLength) || minLength < 1) {
    throw new TypeError(`mask: minLength must be an integer >= 1, got ${String(minLength)}`);
  }
  const flushMs = opts.flushMs ?? DEFAULT_FLUSH_MS;
  if (typeof flushMs !== 'number' || Number.isNaN(flushMs) || flushMs < 0) {
    throw new TypeError(`mask: flushMs must be a number >= 0 or Infinity, got ${String(flushMs)}`);
  }
  return { minLength, flushMs };
}
