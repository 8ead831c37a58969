/** The streaming redactor: holds possible prefixes, replaces matches across chunks, flushes on a timer. */
import { Transform, type TransformCallback } from 'node:stream';
import { type Automaton, compile, gramHash, scan, sparseEntry, stateOf } from './automaton.ts';
import { CR, checkOptions, LF, maskPatterns } from './encodings.ts';
import type { MaskOptions, MaskSecret, MaskStats } from './types.ts';

export const EMPTY = Buffer.alloc(0);

/** A redaction waiting to be written: the union of overlapping matches found so far. */
export interface Span {
  start: number;
  end: number;
  /** The marker of the leftmost match of the union, the longest at that start. */
  token: Buffer;
}

/**
 * The streaming state of one output stream. Bytes in [emitted, consumed) are held; `spans` are
 * sorted, disjoint redactions within them that a later match could still extend.
 */
export class Scanner {
  readonly #a: Automaton;
  /** The base64 forms again, matched with CR and LF skipped; undefined when there are none. */
  readonly #w: Automaton | undefined;
  #wState = 0;
  /** Stream offsets of the last non-CR/LF bytes (a ring as long as the longest wrapped form). */
  readonly #wPos: Float64Array;
  #wCount = 0;
  #state = 0;
  /** Match ends and codes of the chunk being scanned (reused). */
  readonly #found: number[] = [];
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
    const base = this.#consumed;
    this.#queue.push(chunk);
    // The state is kept as its code (automaton.ts).
    const found = this.#found;
    const r = scan(a, chunk, this.#state, found);
    for (let k = 0; k < found.length; k += 2) {
      this.#match(a.best[stateOf(a, found[k + 1]!)]!, base + found[k]!);
    }
    found.length = 0;
    const w = this.#w;
    if (w !== undefined) this.#scanWrapped(w, chunk, base);
    this.#state = r;
    this.#consumed = base + n;
    // No later match can start before `safe`: the longest live prefix is depth[s] bytes long.
    let safe = this.#consumed - a.depth[stateOf(a, r)]!;
    const wDepth = w === undefined ? 0 : w.depth[stateOf(w, this.#wState)]!;
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
    const { classes, best, depth, skip, maxShift } = w;
    const ring = this.#wPos;
    const size = ring.length;
    const last = w.minLength - 1;
    let ws = this.#wState;
    let count = this.#wCount;
    let ri = count % size;
    const found: Array<[start: number, end: number, pattern: number]> = [];
    for (let i = 0, n = chunk.length; i < n; i++) {
      // Skips, as scan() does, but line breaks make a match longer than its pattern: a match
      // starting at s or later still covers byte s+m-1, yet at an unknown offset of its pattern,
      // so only a gram found in no pattern (and holding no line break) rules those starts out.
      if (skip !== undefined && ws < w.denseLimit) {
        const d = depth[ws >> 8]!;
        const s = d === 0 ? i : ring[(count - d) % size]! - base;
        if (s >= 0 && s + last < n && skip[gramHash(chunk, s + last)] === maxShift) {
          const j = s + last;
          const next = s + maxShift;
          if (next > i && !isBreak(chunk[j]!) && !isBreak(chunk[j - 1]!) && !isBreak(chunk[j - 2]!)) {
            i = next - 1;
            ws = 0;
            continue;
          }
        }
      }
      const byte = chunk[i]!;
      if (isBreak(byte)) continue;
      ring[ri] = base + i;
      ri = ri + 1 === size ? 0 : ri + 1;
      count++;
      ws = ws < w.denseLimit ? w.dense[ws + byte]! : sparseEntry(w, ws, classes[byte]!);
      if (ws < 0) {
        ws = ~ws;
        const m = best[stateOf(w, ws)]!;
        found.push([ring[(count - w.patternLength[m]!) % size]!, base + i + 1, m]);
      }
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

export class MaskStream extends Transform {
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

function isBreak(byte: number): boolean {
  return byte === LF || byte === CR;
}
