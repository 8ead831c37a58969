import { type Document, isMap, isScalar, isSeq, type LineCounter } from 'yaml';

/** A key path into the config, e.g. `['vault', 'auth', 'method']` or `['import', 0]`. */
export type KeyPath = (string | number)[];

type Range = [number, number, number] | undefined;

/**
 * A lookup of the 1-based line of the *key* at a path (for a list item: the item). A path that
 * goes further than the document gives the line of the deepest key found.
 */
export function keyLineFinder(
  doc: Document,
  lineCounter: LineCounter,
): (path: KeyPath) => number | undefined {
  return (path) => {
    let node: unknown = doc.contents;
    let range: Range = (node as { range?: Range } | null)?.range;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
        if (!pair) break;
        range = (pair.key as { range?: Range } | null)?.range ?? range;
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
        range = (node as { range?: Range } | null)?.range ?? range;
      } else {
        break;
      }
    }
    return range ? lineCounter.linePos(range[0]).line : undefined;
  };
}
