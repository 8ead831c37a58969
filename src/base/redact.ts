/** What replaces a redacted part of server text. */
export const REDACTED = '<redacted>';

/** Longest server text passed on, in characters (after redaction). */
export const MAX_SERVER_TEXT = 300;

// Vault tokens (hvs./hvb./hvr. and the legacy s./b./r. forms), UUIDs (secret ids, accessors),
// AWS access key ids and JWTs: shapes a server may echo back, redacted even when not known.
const SHAPES: readonly RegExp[] = [
  /(?<![A-Za-z0-9_.-])(?:hv[sbr]|[sbr])\.[A-Za-z0-9_-]{16,}/g,
  /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi,
  /(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/g,
  /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g,
];

/**
 * Makes text that came from a server safe to print: every known secret (token, credential,
 * value read in this run; 4 characters or more) and anything shaped like a token, secret id,
 * access key id or JWT becomes `<redacted>`; control characters become spaces; the result is
 * capped at {@link MAX_SERVER_TEXT} characters.
 */
export function redactServerText(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  // Longest first, so a value that contains another is removed whole.
  const known = [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  for (const s of known) out = out.split(s).join(REDACTED);
  for (const shape of SHAPES) out = out.replace(shape, REDACTED);
  out = out.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return out.length > MAX_SERVER_TEXT ? `${out.slice(0, MAX_SERVER_TEXT - 3)}...` : out;
}

/** Adds every string leaf of a JSON value (a secret document, a login answer) to `into`. */
export function collectStrings(value: unknown, into: Set<string>, depth = 0): void {
  if (depth > 32) return;
  if (typeof value === 'string') {
    if (value.length >= 4) into.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collectStrings(v, into, depth + 1);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) collectStrings(v, into, depth + 1);
  }
}
