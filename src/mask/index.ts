import { Transform, type TransformCallback } from 'node:stream';

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

/** Transition-table entries allowed for dense rows (4 bytes each); deeper states go sparse. */
const DENSE_BUDGET = 1 << 21;

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
const WRAPPABLE: ReadonlySet<MaskForm> = new Set(['base64', 'base64-core', 'base64-shift1', 'base64-shift2']);

/**
 * Values this long (bytes) get the wrapped search: their encoding alone fills a 64-column line
 * (48 bytes). A second pass costs about as much as the first, so short values (most passwords),
 * whose encoding only wraps when it happens to straddle a line break, do not pay for it.
 */
export const WRAP_MIN_BYTES = 48;

const LF = 10;
const CR = 13;

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function encodings(text: string): Array<[MaskForm, string]> {
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

function checkOptions(opts: MaskOptions): { minLength: number; flushMs: number } {
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

/** Aho-Corasick automaton over byte classes; states are numbered in breadth-first order. */
interface Automaton {
  /** Byte -> class; class 0 is every byte that occurs in no pattern. */
  classes: Uint16Array;
  width: number;
  /**
   * Full transition rows of states 0 .. denseStates-1 (the shallowest, by BFS order); an entry is
   * ~target when a match ends at the target.
   */
  dense: Int32Array;
  denseStates: number;
  /** Children of every state: edges sparseStart[s] .. sparseStart[s+1]-1. */
  sparseStart: Int32Array;
  sparseClass: Int32Array;
  sparseTarget: Int32Array;
  fail: Int32Array;
  depth: Int32Array;
  /** Longest pattern that is a suffix of the state's string, or -1. */
  best: Int32Array;
  patternLength: Int32Array;
  patternToken: Buffer[];
}

function step(a: Automaton, state: number, c: number): number {
  let s = state;
  for (;;) {
    if (s < a.denseStates) {
      const t = a.dense[s * a.width + c]!;
      return t < 0 ? ~t : t;
    }
    for (let k = a.sparseStart[s]!, end = a.sparseStart[s + 1]!; k < end; k++) {
      if (a.sparseClass[k] === c) return a.sparseTarget[k]!;
    }
    s = a.fail[s]!;
  }
}

function compile(patterns: readonly MaskPattern[]): Automaton {
  const classes = new Uint16Array(256);
  for (const p of patterns) for (const b of p.bytes) classes[b] = 1;
  let width = 1;
  for (let b = 0; b < 256; b++) if (classes[b] === 1) classes[b] = width++;

  const kids: Array<Map<number, number>> = [new Map()];
  const ends: number[] = [-1];
  const depths: number[] = [0];
  patterns.forEach((p, i) => {
    let node = 0;
    for (const b of p.bytes) {
      const c = classes[b]!;
      let next = kids[node]!.get(c);
      if (next === undefined) {
        next = kids.length;
        kids.push(new Map());
        ends.push(-1);
        depths.push(depths[node]! + 1);
        kids[node]!.set(c, next);
      }
      node = next;
    }
    if (ends[node] === -1) ends[node] = i;
  });

  const states = kids.length;
  const order = new Int32Array(states);
  const renumber = new Int32Array(states);
  let tail = 1;
  for (let head = 0; head < tail; head++) {
    for (const child of kids[order[head]!]!.values()) {
      renumber[child] = tail;
      order[tail++] = child;
    }
  }
  const sparseStart = new Int32Array(states + 1);
  const sparseClass = new Int32Array(states - 1);
  const sparseTarget = new Int32Array(states - 1);
  let edge = 0;
  for (let s = 0; s < states; s++) {
    sparseStart[s] = edge;
    for (const [c, child] of kids[order[s]!]!) {
      sparseClass[edge] = c;
      sparseTarget[edge++] = renumber[child]!;
    }
  }
  sparseStart[states] = edge;

  const denseStates = Math.max(1, Math.min(states, Math.floor(DENSE_BUDGET / width)));
  const a: Automaton = {
    classes,
    width,
    dense: new Int32Array(denseStates * width),
    denseStates,
    sparseStart,
    sparseClass,
    sparseTarget,
    fail: new Int32Array(states),
    depth: new Int32Array(states),
    best: new Int32Array(states),
    patternLength: Int32Array.from(patterns, (p) => p.bytes.length),
    patternToken: patterns.map((p) => Buffer.from(`<redacted:${p.name}>`, 'utf8')),
  };
  // In BFS order a state's failure target is shallower, so its row and links are already final.
  for (let s = 0; s < states; s++) {
    const old = order[s]!;
    const fail = a.fail[s]!;
    a.depth[s] = depths[old]!;
    a.best[s] = ends[old]! >= 0 ? ends[old]! : s === 0 ? -1 : a.best[fail]!;
    const row = s * width;
    if (s < denseStates && s !== 0) a.dense.copyWithin(row, fail * width, fail * width + width);
    for (let k = sparseStart[s]!; k < sparseStart[s + 1]!; k++) {
      const c = sparseClass[k]!;
      const child = sparseTarget[k]!;
      a.fail[child] = s === 0 ? 0 : step(a, fail, c);
      if (s < denseStates) a.dense[row + c] = child;
    }
  }
  // Entries leading to a state where a match ends are stored as ~target: one test in the hot loop.
  for (let k = 0; k < a.dense.length; k++) {
    const target = a.dense[k]!;
    if (a.best[target]! >= 0) a.dense[k] = ~target;
  }
  return a;
}

const EMPTY = Buffer.alloc(0);

/** A redaction waiting to be written: the union of overlapping matches found so far. */
interface Span {
  start: number;
  end: number;
  /** The marker of the leftmost match of the union, the longest at that start. */
  token: Buffer;
}

/**
 * The streaming state of one output stream. Bytes in [emitted, consumed) are held; `spans` are
 * sorted, disjoint redactions within them that a later match could still extend.
 */
class Scanner {
  readonly #a: Automaton;
  /** The base64 forms again, matched with CR and LF skipped; undefined when there are none. */
  readonly #w: Automaton | undefined;
  #wState = 0;
  /** Stream offsets of the last non-CR/LF bytes (a ring as long as the longest wrapped form). */
  readonly #wPos: Float64Array;
  #wCount = 0;
  #state = 0;
  #consumed = 0;
  #emitted = 0;
  #queue: Buffer[] = [];
  #queueHead = 0;
  #headOffset = 0;
  #spans: Span[] = [];
  #out: Buffer[] = [];

  constructor(a: Automaton, w?: Automaton) {
    this.#a = a;
    this.#w = w;
    let longest = 1;
    if (w) for (const len of w.patternLength) longest = Math.max(longest, len);
    this.#wPos = new Float64Array(w ? longest : 1);
  }

  /** True while some input has not been written out yet. */
  get holding(): boolean {
    return this.#emitted < this.#consumed;
  }

  /** Scans a chunk and returns what can be written out now. */
  write(chunk: Buffer): Buffer {
    const n = chunk.length;
    if (n === 0) return EMPTY;
    const a = this.#a;
    const { classes, dense, width, denseStates, best } = a;
    const base = this.#consumed;
    this.#queue.push(chunk);
    let s = this.#state;
    for (let i = 0; i < n; i++) {
      const c = classes[chunk[i]!]!;
      if (s < denseStates) {
        s = dense[s * width + c]!;
        if (s < 0) {
          s = ~s;
          this.#match(best[s]!, base + i + 1);
        }
      } else {
        s = step(a, s, c);
        if (best[s]! >= 0) this.#match(best[s]!, base + i + 1);
      }
    }
    const w = this.#w;
    if (w !== undefined) this.#scanWrapped(w, chunk, base);
    this.#state = s;
    this.#consumed = base + n;
    // No later match can start before `safe`: the longest live prefix is depth[s] bytes long.
    let safe = this.#consumed - a.depth[s]!;
    const wDepth = w === undefined ? 0 : w.depth[this.#wState]!;
    if (wDepth > 0) safe = Math.min(safe, this.#wStart(wDepth));
    this.#emitUpTo(safe);
    return this.#take();
  }

  /**
   * The base64 forms again, over the same chunk with CR and LF skipped (wrapped base64 lines);
   * `#wPos` maps what the automaton saw back to stream offsets. A second loop keeps the first one
   * as fast as it was; its matches are merged into the spans afterwards.
   */
  #scanWrapped(w: Automaton, chunk: Buffer, base: number): void {
    const { classes, dense, width, denseStates, best } = w;
    const ring = this.#wPos;
    const size = ring.length;
    let ws = this.#wState;
    let count = this.#wCount;
    let ri = count % size;
    const found: Array<[start: number, end: number, pattern: number]> = [];
    for (let i = 0, n = chunk.length; i < n; i++) {
      const byte = chunk[i]!;
      if (byte === LF || byte === CR) continue;
      ring[ri] = base + i;
      ri = ri + 1 === size ? 0 : ri + 1;
      count++;
      const c = classes[byte]!;
      let m = -1;
      if (ws < denseStates) {
        ws = dense[ws * width + c]!;
        if (ws < 0) {
          ws = ~ws;
          m = best[ws]!;
        }
      } else {
        ws = step(w, ws, c);
        m = best[ws]!;
      }
      if (m >= 0) found.push([ring[(count - w.patternLength[m]!) % size]!, base + i + 1, m]);
    }
    this.#wState = ws;
    this.#wCount = count;
    for (const [start, end, m] of found) this.#spanAnywhere(start, end, w.patternToken[m]!);
  }

  /** Adds a match that may end before spans already recorded: merged with every span it overlaps. */
  #spanAnywhere(matchStart: number, matchEnd: number, token: Buffer): void {
    let start = matchStart;
    let end = matchEnd;
    let label = token;
    const kept: Span[] = [];
    for (const span of this.#spans) {
      if (span.end <= start || span.start >= end) {
        kept.push(span);
        continue;
      }
      if (span.start < start || (span.start === start && span.end > end)) label = span.token;
      start = Math.min(start, span.start);
      end = Math.max(end, span.end);
    }
    let at = kept.findIndex((span) => span.start > start);
    if (at < 0) at = kept.length;
    kept.splice(at, 0, { start, end, token: label });
    this.#spans = kept;
  }

  /** Stream offset of the `count`-th last non-CR/LF byte. */
  #wStart(count: number): number {
    const ring = this.#wPos;
    return ring[(this.#wCount - count) % ring.length]!;
  }

  /**
   * Writes out everything held. Matching state is kept, so a value completed by later input
   * still has its remaining bytes replaced.
   */
  release(): Buffer {
    this.#emitUpTo(this.#consumed);
    return this.#take();
  }

  #match(pattern: number, end: number): void {
    this.#span(end - this.#a.patternLength[pattern]!, end, this.#a.patternToken[pattern]!);
  }

  #span(matchStart: number, end: number, token: Buffer): void {
    // After release() a match may begin in bytes already written out; #advance skips the rest.
    let start = matchStart;
    let label = token;
    const spans = this.#spans;
    // Spans end no later than this match; those ending after its start overlap it.
    for (let top = spans.at(-1); top !== undefined && top.end > start; top = spans.at(-1)) {
      spans.pop();
      // At an equal start this match is the longer one, as it ends later.
      if (top.start < start) {
        start = top.start;
        label = top.token;
      }
    }
    spans.push({ start, end, token: label });
  }

  /** Writes out plain bytes and finished redactions before `safe`. */
  #emitUpTo(safe: number): void {
    const spans = this.#spans;
    let done = 0;
    for (; done < spans.length && spans[done]!.end <= safe; done++) {
      const span = spans[done]!;
      this.#advance(span.start, true);
      this.#out.push(span.token);
      this.#advance(span.end, false);
    }
    if (done > 0) spans.splice(0, done);
    this.#advance(spans.length > 0 ? Math.min(safe, spans[0]!.start) : safe, true);
  }

  #advance(upTo: number, keep: boolean): void {
    while (this.#emitted < upTo) {
      const head = this.#queue[this.#queueHead]!;
      const take = Math.min(head.length - this.#headOffset, upTo - this.#emitted);
      if (keep) {
        this.#out.push(
          take === head.length ? head : head.subarray(this.#headOffset, this.#headOffset + take),
        );
      }
      this.#emitted += take;
      this.#headOffset += take;
      if (this.#headOffset === head.length) {
        this.#queueHead++;
        this.#headOffset = 0;
      }
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 64) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  #take(): Buffer {
    const out = this.#out;
    if (out.length === 0) return EMPTY;
    this.#out = [];
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }
}

class MaskStream extends Transform {
  readonly #scanner: Scanner;
  readonly #flushMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(a: Automaton, w: Automaton | undefined, flushMs: number) {
    super();
    this.#scanner = new Scanner(a, w);
    this.#flushMs = flushMs;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const out = this.#scanner.write(chunk);
    if (out.length > 0) this.push(out);
    this.#arm();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.#disarm();
    const out = this.#scanner.release();
    if (out.length > 0) this.push(out);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#disarm();
    callback(error);
  }

  #arm(): void {
    this.#disarm();
    if (!this.#scanner.holding || this.#flushMs === Number.POSITIVE_INFINITY) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const out = this.#scanner.release();
      if (out.length > 0) this.push(out);
    }, this.#flushMs);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Replaces secret values, and their encodings ({@link MaskForm}), in byte streams by
 * `<redacted:NAME>`. Compile once, then make one {@link Masker.createStream} per output stream.
 *
 * Matching is exact and byte-wise (no regular expressions), in one pass (Aho-Corasick). Where
 * matches overlap, the union of their bytes is replaced by one marker named after the leftmost
 * match, the longest at that position; so no byte of any value survives, and output depends only
 * on the input bytes, not on how they were split into chunks (unless a flush timer fires).
 */
export class Masker {
  /** Names of values shorter than `minLength`, which are not masked; the caller says so once. */
  readonly skipped: readonly string[];
  /** Sizes of the compiled automaton, safe to log. */
  readonly stats: MaskStats;
  readonly #automaton: Automaton;
  readonly #wrapped: Automaton | undefined;
  readonly #flushMs: number;

  /** @throws TypeError when a secret or option is malformed. */
  constructor(secrets: readonly MaskSecret[], opts: MaskOptions = {}) {
    const { flushMs } = checkOptions(opts);
    const { patterns, skipped, wrapped } = maskPatterns(secrets, opts);
    this.#automaton = compile(patterns);
    this.#wrapped = wrapped.length > 0 ? compile(wrapped) : undefined;
    this.#flushMs = flushMs;
    this.skipped = skipped;
    this.stats = {
      patterns: patterns.length,
      states: this.#automaton.depth.length,
      denseStates: this.#automaton.denseStates,
    };
  }

  /**
   * A new Transform (bytes in, bytes out) for one stream. It holds back only the trailing bytes
   * that could begin a value, for at most `flushMs` after the last chunk, and all of them at end.
   */
  createStream(): Transform {
    return new MaskStream(this.#automaton, this.#wrapped, this.#flushMs);
  }

  /** Masks a complete text or buffer in one go. */
  mask(data: Uint8Array | string): Buffer {
    const scanner = new Scanner(this.#automaton, this.#wrapped);
    const input = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    const head = scanner.write(input);
    const tail = scanner.release();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  }
}

/**
 * One masking stream, for callers that need just one.
 * @example
 * const { transform, skipped } = createMasker([{ name: 'DB_PASSWORD', value: pw }]);
 * child.stdout.pipe(transform).pipe(process.stdout);
 * @throws TypeError when a secret or option is malformed.
 */
export function createMasker(
  secrets: readonly MaskSecret[],
  opts: MaskOptions = {},
): { transform: Transform; skipped: string[]; masker: Masker } {
  const masker = new Masker(secrets, opts);
  return { transform: masker.createStream(), skipped: [...masker.skipped], masker };
}
