/** What the masker is given and reports: secrets, options, patterns, statistics. */
/** A value to redact, and the name shown in its place as `<redacted:NAME>`. */
export interface MaskSecret {
  name: string;
  value: string;
}

/** Options for {@link Masker} and {@link createMasker}. */
export interface MaskOptions {
  /**
   * Values shorter than this many characters (code points) are not masked and are listed in
   * `skipped`; encoded forms shorter than this are not searched for either. Default 4.
   */
  minLength?: number;
  /**
   * How long a stream holds bytes that could still be the start of a value when no more data
   * arrives; default {@link DEFAULT_FLUSH_MS}. The timer restarts with every chunk. `Infinity`
   * holds them until the match is decided or the stream ends.
   *
   * Trade-off: a child that pauses longer than this in the middle of writing a value gets the
   * part written before the pause printed as is. Matching continues across the flush, so the rest
   * of the value is still replaced; the whole value never appears, but that prefix does.
   */
  flushMs?: number;
}

/** Default of {@link MaskOptions.flushMs}: short enough not to be noticed at a prompt. */
export const DEFAULT_FLUSH_MS = 50;

/** Default of {@link MaskOptions.minLength}. */
export const DEFAULT_MIN_LENGTH = 4;

/**
 * How a value appears in output. `base64` is the encoding with its `=` padding removed;
 * `base64-core` drops the last character too when it depends on the bytes that follow the value;
 * `base64-shift1`/`-shift2` are the characters that depend only on the value when it starts 1 or
 * 2 bytes into a 3-byte group of a larger encoded run. `uri` is `encodeURIComponent`, `form` is
 * `application/x-www-form-urlencoded`, `json` is the inside of a JSON string, `json-ascii` the
 * same with non-ASCII escaped as `\uXXXX` (Python's default).
 */
export type MaskForm =
  | 'raw'
  | 'base64'
  | 'base64-core'
  | 'base64-shift1'
  | 'base64-shift2'
  | 'base64url'
  | 'base64url-core'
  | 'base64url-shift1'
  | 'base64url-shift2'
  | 'uri'
  | 'form'
  | 'json'
  | 'json-ascii';

/** One byte sequence the masker searches for. */
export interface MaskPattern {
  /** The secret's name, as shown in `<redacted:NAME>`. */
  name: string;
  form: MaskForm;
  bytes: Buffer;
}

/** Sizes of the compiled search automaton. */
export interface MaskStats {
  /** Distinct byte patterns searched for (values and their encodings). */
  patterns: number;
  /** Automaton states. */
  states: number;
  /** States with a full transition row; the rest follow failure links. */
  denseStates: number;
}
