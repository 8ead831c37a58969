import { decodePart, refError, rejectControlChars } from './parse-part.ts';
import type { FieldSelector } from './secret-ref.ts';

/**
 * Parses the text after `#`: a top-level field name (percent-decoded, so `%23` is a `#`), or,
 * when it starts with `/`, a JSON Pointer (RFC 6901, `~1` = `/`, `~0` = `~`).
 *
 * @throws RefError `ref.badField`, `ref.badEncoding`, `ref.controlChar`.
 */
export function parseField(raw: string, text: string): FieldSelector {
  if (text === '')
    throw refError(raw, 'ref.badField', 'the field after "#" is empty; write #<field> or remove "#"');
  if (text.includes('#')) {
    throw refError(
      raw,
      'ref.badField',
      'the field contains a second "#"; write a "#" inside a field name as %23',
    );
  }
  const decoded = decodePart(raw, 'field', text);
  rejectControlChars(raw, 'field', decoded);
  if (!decoded.startsWith('/')) return { kind: 'key', name: decoded };
  const tokens = decoded
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~(?![01])/.test(token)) {
        throw refError(
          raw,
          'ref.badField',
          'bad JSON Pointer escape; in #/a/b write ~0 for "~" and ~1 for "/"',
        );
      }
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
  return { kind: 'pointer', tokens, text: decoded };
}
