/** The secret's bytes as UTF-8 text; undefined when they are not valid UTF-8. */
export function secretBytesToText(value: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    return undefined;
  }
}

/**
 * Parses secret text as JSON. On failure, `what` says what the secret is instead (never its
 * content, never the parser's message: it quotes the text).
 */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; what: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    const start = text.trimStart()[0];
    return {
      ok: false,
      what:
        start === '{' || start === '['
          ? 'text that starts like JSON but does not parse'
          : 'a plain string, not JSON',
    };
  }
}

/** What a parsed JSON value that is not an object or array is, for messages. */
export function jsonKind(value: unknown): string {
  if (value === null) return 'JSON null';
  if (Array.isArray(value)) return 'a JSON array';
  return `a JSON ${typeof value}`;
}
