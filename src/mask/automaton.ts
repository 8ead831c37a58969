/** The Aho-Corasick automaton that finds every pattern in one pass over the bytes. */
import type { MaskPattern } from './types.ts';

/** Transition-table entries allowed for dense rows (4 bytes each); deeper states go sparse. */
export const DENSE_BUDGET = 1 << 21;

/** Entries per dense row: one per byte value, so the hot loop needs no byte -> class lookup. */
export const ROW = 256;

/** Aho-Corasick automaton over byte classes; states are numbered in breadth-first order. */
export interface Automaton {
  /** Byte -> class; class 0 is every byte that occurs in no pattern. */
  classes: Uint16Array;
  /** Number of classes. */
  width: number;
  /** A byte of each class (to look a class up in a dense row). */
  classByte: Uint8Array;
  /**
   * Full transition rows of states 0 .. denseStates-1 (the shallowest, by BFS order), {@link ROW}
   * entries each, indexed by a state's code plus a byte. An entry is the target's code
   * ({@link codeOf}), or ~code when a match ends at the target: the hot loop is one load and one
   * sign test per byte.
   */
  dense: Int32Array;
  denseStates: number;
  /** denseStates * ROW: codes below it are row offsets of dense states. */
  denseLimit: number;
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
  /** The shortest pattern's length. */
  minLength: number;
  /**
   * Wu-Manber shifts over hashed 3-byte grams ({@link gramHash}), or undefined when patterns are
   * too short to skip: no pattern starts within `skip[X]` positions of a window whose last m
   * (= minLength) bytes end in X. Lets {@link scan} jump over text that holds no pattern start.
   */
  skip: Uint8Array | undefined;
  /** The shift of a gram that occurs in no pattern's first m bytes (no other entry has it). */
  maxShift: number;
}

/** Hash buckets of the skip table (64 KiB: it stays in cache). */
const SKIP_BITS = 16;

/** The bucket of the 3-byte gram ending at `j` (collisions only shorten shifts). */
export function gramHash(bytes: Uint8Array, j: number): number {
  return ((bytes[j - 2]! << 10) ^ (bytes[j - 1]! << 5) ^ bytes[j]!) & ((1 << SKIP_BITS) - 1);
}

/** A state's code: its row offset in `dense` when it is dense, else past `denseLimit`. */
export function codeOf(a: Automaton, state: number): number {
  return state < a.denseStates ? state * ROW : a.denseLimit + state - a.denseStates;
}

/** The state of a code (see {@link codeOf}). */
export function stateOf(a: Automaton, code: number): number {
  return code < a.denseLimit ? (code / ROW) | 0 : a.denseStates + code - a.denseLimit;
}

/** The state after class `c` from `state`, by rows where they exist and failure links beyond. */
export function step(a: Automaton, state: number, c: number): number {
  const at = edgeOrRow(a, state, c);
  if (at >= 0) return at;
  const t = a.dense[~at * ROW + a.classByte[c]!]!;
  return stateOf(a, t < 0 ? ~t : t);
}

/** The row entry from a sparse state's code: the next code, or ~code when a match ends there. */
export function sparseEntry(a: Automaton, code: number, c: number): number {
  const s = step(a, stateOf(a, code), c);
  const next = codeOf(a, s);
  return a.best[s]! >= 0 ? ~next : next;
}

/**
 * Runs the automaton over `chunk` from `code` and returns the code after it; each match pushes
 * its end (an index into `chunk`, exclusive) and its code onto `found`. The hot loop of masking:
 * a plain function, one load per byte in dense rows, kept small so the JIT keeps it tight.
 */
export function scan(a: Automaton, chunk: Uint8Array, code: number, found: number[]): number {
  const { classes, dense, denseLimit, skip } = a;
  if (skip !== undefined) return scanSkipping(a, skip, chunk, code, found);
  let r = code;
  for (let i = 0, n = chunk.length; i < n; i++) {
    const b = chunk[i]!;
    r = r < denseLimit ? dense[r + b]! : sparseEntry(a, r, classes[b]!);
    if (r < 0) {
      r = ~r;
      found.push(i + 1, r);
    }
  }
  return r;
}

/**
 * {@link scan} with Wu-Manber skips. At byte i in a dense state of depth d, the partial matches
 * held start at i-d or later; the window of m bytes from s = i-d (inside the chunk) ends in a
 * gram whose shift says no pattern starts in [s, s+shift). When that covers i, every partial
 * match is dead and nothing starts before s+shift: the scan jumps there, at the root. Otherwise
 * it steps the automaton one byte. Text without pattern starts costs a few loads per m-2 bytes.
 */
function scanSkipping(
  a: Automaton,
  skip: Uint8Array,
  chunk: Uint8Array,
  code: number,
  found: number[],
): number {
  const { classes, dense, denseLimit, depth } = a;
  const last = a.minLength - 1;
  const n = chunk.length;
  let r = code;
  let i = 0;
  while (i < n) {
    if (r < denseLimit) {
      const s = i - depth[r >> 8]!;
      if (s >= 0 && s + last < n) {
        const next = s + skip[gramHash(chunk, s + last)]!;
        if (next > i) {
          i = next;
          r = 0;
          continue;
        }
      }
    }
    const b = chunk[i]!;
    r = r < denseLimit ? dense[r + b]! : sparseEntry(a, r, classes[b]!);
    i++;
    if (r < 0) {
      r = ~r;
      found.push(i, r);
    }
  }
  return r;
}

/**
 * From `state` on class `c` along the failure links: the child reached by a sparse edge, or ~s
 * for the first dense state s on the way, whose row holds the answer.
 */
function edgeOrRow(a: Automaton, state: number, c: number): number {
  let s = state;
  for (;;) {
    if (s < a.denseStates) return ~s;
    for (let k = a.sparseStart[s]!, end = a.sparseStart[s + 1]!; k < end; k++) {
      if (a.sparseClass[k] === c) return a.sparseTarget[k]!;
    }
    s = a.fail[s]!;
  }
}

export function compile(patterns: readonly MaskPattern[]): Automaton {
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

  const denseStates = Math.max(1, Math.min(states, Math.floor(DENSE_BUDGET / ROW)));
  const classByte = new Uint8Array(width);
  for (let b = 255; b >= 0; b--) classByte[classes[b]!] = b;
  // Rows by class while building (entries are target states); by byte, as codes, at the end.
  const rows = new Int32Array(denseStates * width);
  const a: Automaton = {
    classes,
    width,
    classByte,
    dense: new Int32Array(denseStates * ROW),
    denseStates,
    denseLimit: denseStates * ROW,
    sparseStart,
    sparseClass,
    sparseTarget,
    fail: new Int32Array(states),
    depth: new Int32Array(states),
    best: new Int32Array(states),
    patternLength: Int32Array.from(patterns, (p) => p.bytes.length),
    patternToken: patterns.map((p) => Buffer.from(`<redacted:${p.name}>`, 'utf8')),
    minLength: 0,
    skip: undefined,
    maxShift: 0,
  };
  a.minLength = patterns.length === 0 ? 0 : Math.min(...a.patternLength);
  a.maxShift = Math.min(a.minLength - 2, 255);
  a.skip = skipTable(patterns, a.minLength, a.maxShift);
  // In BFS order a state's failure target is shallower, so its row and links are already final.
  for (let s = 0; s < states; s++) {
    const old = order[s]!;
    const fail = a.fail[s]!;
    a.depth[s] = depths[old]!;
    a.best[s] = ends[old]! >= 0 ? ends[old]! : s === 0 ? -1 : a.best[fail]!;
    const row = s * width;
    if (s < denseStates && s !== 0) rows.copyWithin(row, fail * width, fail * width + width);
    for (let k = sparseStart[s]!; k < sparseStart[s + 1]!; k++) {
      const c = sparseClass[k]!;
      const child = sparseTarget[k]!;
      const at = s === 0 ? 0 : edgeOrRow(a, fail, c);
      a.fail[child] = at >= 0 ? at : rows[~at * width + c]!;
      if (s < denseStates) rows[row + c] = child;
    }
  }
  // Rows by byte, entries as codes, ~code where a match ends: one load and one test per byte.
  for (let s = 0; s < denseStates; s++) {
    for (let b = 0; b < ROW; b++) {
      const target = rows[s * width + classes[b]!]!;
      a.dense[s * ROW + b] = a.best[target]! >= 0 ? ~codeOf(a, target) : codeOf(a, target);
    }
  }
  return a;
}

/**
 * Wu-Manber shifts for windows of the shortest pattern's length m: a gram X ending at q in a
 * pattern's first m bytes means a pattern may start m-1-q positions after the window's start.
 * A gram that occurs nowhere shifts by `maxShift` (m-2, at most 255), and only such a gram does
 * (shorter shifts are safe, so occurring grams are capped below it). Undefined below m = 4 (a
 * shift of at most 1 does not pay for the lookups).
 */
function skipTable(patterns: readonly MaskPattern[], m: number, maxShift: number): Uint8Array | undefined {
  if (m < 4) return undefined;
  const table = new Uint8Array(1 << SKIP_BITS).fill(maxShift);
  for (const p of patterns) {
    for (let q = 2; q < m; q++) {
      const h = gramHash(p.bytes, q);
      table[h] = Math.min(table[h]!, m - 1 - q, maxShift - 1);
    }
  }
  return table;
}
