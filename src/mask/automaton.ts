/** The Aho-Corasick automaton over byte classes that finds every pattern in one pass. */
import type { MaskPattern } from './types.ts';

/** Transition-table entries allowed for dense rows (4 bytes each); deeper states go sparse. */
export const DENSE_BUDGET = 1 << 21;

/** Aho-Corasick automaton over byte classes; states are numbered in breadth-first order. */
export interface Automaton {
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

export function step(a: Automaton, state: number, c: number): number {
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
