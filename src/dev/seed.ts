import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../base/errors.ts';

/** A seed problem, naming the key path and (when known) the line. */
export class SeedError extends ConfigError {
  constructor(message: string) {
    super(message, 'dev.seed');
    this.name = 'SeedError';
  }
}

/** A parsed seed: the plain object plus a way to find the line of a key path. */
export interface Seed {
  data: Record<string, unknown>;
  file: string;
  /** 1-based line of the node at `path`, if it exists. */
  lineOf(path: (string | number)[]): number | undefined;
  /** Builds a SeedError that names the key path and its line. */
  error(path: (string | number)[], message: string): SeedError;
}

/** Parses seed YAML (or JSON) text. Syntax errors name the line. */
export function parseSeed(text: string, file = '<seed>'): Seed {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    throw new SeedError(`${file}${line ? `:${line}` : ''}: invalid YAML: ${first.code}`);
  }
  const data = doc.toJS() ?? {};
  const lineOf = (path: (string | number)[]): number | undefined => {
    let node: unknown = doc.contents;
    let last = node;
    for (const key of path) {
      if (isMap(node)) node = node.get(key, true);
      else if (isSeq(node) && typeof key === 'number') node = node.get(key, true);
      else node = undefined;
      if (node === undefined) break;
      last = node;
    }
    const target = node ?? last;
    const range = (target as { range?: [number, number, number] } | null)?.range;
    if (!range) return undefined;
    return lineCounter.linePos(range[0]).line;
  };
  const seed: Seed = {
    data: {},
    file,
    lineOf,
    error(path, message) {
      const line = lineOf(path);
      const where = path.length > 0 ? path.join('.') : '(root)';
      return new SeedError(`${file}${line ? `:${line}` : ''}: ${where}: ${message}`);
    },
  };
  if (typeof data !== 'object' || Array.isArray(data) || data === null) {
    throw seed.error([], 'the seed must be a mapping with `vault:` and/or `aws:` sections');
  }
  seed.data = data as Record<string, unknown>;
  return seed;
}

/** Reads and parses a seed file. */
export function loadSeedFile(file: string): Seed {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SeedError(`cannot read seed file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return parseSeed(text, file);
}
